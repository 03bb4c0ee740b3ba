package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
)

// assertionTap keeps every client assertion sent to the emulator, for the
// scanner to look for.
type assertionTap struct {
	next http.Handler
	mu   sync.Mutex
	seen []string
}

func (a *assertionTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.ParseForm() == nil {
		if v := r.PostForm.Get("client_assertion"); v != "" {
			a.mu.Lock()
			a.seen = append(a.seen, v)
			a.mu.Unlock()
		}
	}
	a.next.ServeHTTP(w, r)
}

func (a *assertionTap) assertions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// registeredKeys reads the JWKS keygen printed as the emulator's client keys.
func registeredKeys(t *testing.T, jwks string, now time.Time) []emulator.ClientKey {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwks), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("keygen's stdout is not a JWKS of one key: %v\n%s", err, jwks)
	}
	k := set.Keys[0]
	if !k.IsPublic() || k.Use != "sig" || k.KeyID == "" || (k.Algorithm != "ES256" && k.Algorithm != "RS256") {
		t.Fatalf("JWK %+v", k)
	}
	return []emulator.ClientKey{{ID: k.KeyID, JWK: k, Status: emulator.KeyActive, Created: now}}
}

func checkClass(t *testing.T, name string) (string, string) {
	t.Helper()
	r := credkeeper(t, "", "check", name, "--json")
	var out []struct{ Class, Detail string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("check %s --json: exit %d: %v\n%s", name, r.code, err, r.all())
	}
	return out[0].Class, out[0].Detail
}

// A key credential end to end: keygen, register the JWKS at the provider
// (the emulator), check ok; a key it does not know is invalid_client; a
// staged key promoted and rolled back; a clock two hours off is
// misconfigured. Then no private key and no assertion appears in anything
// the commands printed or wrote, nor in state/NAME.
func TestAKeyCredentialEndToEnd(t *testing.T) {
	env := cliEnv(t)
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(testNow)
	emu := emulator.New(emulator.Options{Clock: clock})
	tap := &assertionTap{next: emu}
	srv := httptest.NewServer(tap)
	t.Cleanup(srv.Close)
	head, _ := ctrpConfig(env, srv.URL)
	writeConfig(t, head+fmt.Sprintf(`provider "acme-okta" {
  token_url  = "%s/oauth2/%s/v1/token"
  auth_style = "private_key_jwt"
}
credential "svc-keys" {
  provider = "acme-okta"
}
credential "svc-stranger" {
  provider = "acme-okta"
}
`, srv.URL, emulator.AuthServerStage))
	s := newScanner()
	run := func(args ...string) result {
		t.Helper()
		r := credkeeper(t, "", args...)
		s.saw("credkeeper "+strings.Join(args, " "), r.all())
		return r
	}

	gen := run("keygen", "svc-keys", "--client-id", "0oa-keys")
	if gen.code != 0 || !strings.Contains(gen.stderr, "Wrote a new ES256 key for svc-keys") {
		t.Fatalf("keygen: exit %d\n%s", gen.code, gen.all())
	}
	first := registeredKeys(t, gen.stdout, testNow)
	if strings.Contains(gen.stdout, `"d"`) {
		t.Fatal("the JWKS carries the private key")
	}
	emu.AddClient(emulator.Client{ID: "0oa-keys", Keys: first})
	if class, detail := checkClass(t, "svc-keys"); class != "ok" {
		t.Fatalf("the registered key: %s %s", class, detail)
	}
	show := run("secret", "show", "svc-keys")
	for _, want := range []string{"key_alg", "ES256", first[0].ID} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("secret show lacks %q:\n%s", want, show.stdout)
		}
	}

	// A key the provider does not know: same client, a key never registered.
	if r := run("keygen", "svc-stranger", "--client-id", "0oa-keys", "--alg", "RS256"); r.code != 0 {
		t.Fatalf("keygen: %s", r.all())
	}
	if class, detail := checkClass(t, "svc-stranger"); class != "invalid_client" || !strings.Contains(detail, "key") {
		t.Errorf("an unknown key: %s %s", class, detail)
	}

	// A staged rotation: a new key staged, registered beside the old, promoted, rolled back.
	staged := run("keygen", "svc-keys", "--client-id", "0oa-keys", "--alg", "RS256", "--stage")
	if staged.code != 0 || !strings.Contains(staged.stderr, "Staged a new RS256 key") {
		t.Fatalf("keygen --stage: %s", staged.all())
	}
	registeredKeys(t, staged.stdout, testNow) // a JWKS, left unregistered
	if promote := run("rotate", "promote", "svc-keys"); promote.code != 1 || !strings.Contains(promote.all(), "invalid_client") {
		t.Errorf("promote of a key not yet registered: exit %d\n%s", promote.code, promote.all())
	}
	// Staged anew after registering (a refused staged key is not sent again).
	staged = run("keygen", "svc-keys", "--client-id", "0oa-keys", "--alg", "RS256", "--stage")
	second := registeredKeys(t, staged.stdout, testNow)
	emu.AddClient(emulator.Client{ID: "0oa-keys", Keys: append(first, second...)})
	if promote := run("rotate", "promote", "svc-keys"); promote.code != 0 {
		t.Fatalf("promote: exit %d\n%s", promote.code, promote.all())
	}
	if show := run("secret", "show", "svc-keys"); !strings.Contains(show.stdout, second[0].ID) || !strings.Contains(show.stdout, "RS256") {
		t.Errorf("after promote, secret show:\n%s", show.stdout)
	}
	if class, detail := checkClass(t, "svc-keys"); class != "ok" {
		t.Fatalf("the promoted key: %s %s", class, detail)
	}
	if rb := run("rotate", "rollback", "svc-keys"); rb.code != 0 {
		t.Fatalf("rollback: exit %d\n%s", rb.code, rb.all())
	}
	if show := run("secret", "show", "svc-keys"); !strings.Contains(show.stdout, first[0].ID) {
		t.Errorf("after rollback, secret show:\n%s", show.stdout)
	}
	if class, detail := checkClass(t, "svc-keys"); class != "ok" {
		t.Fatalf("the key rolled back to: %s %s", class, detail)
	}
	run("status")
	run("rotate", "status", "svc-keys")

	// This host's clock two hours behind the provider's.
	clock.Advance(2 * time.Hour)
	if class, detail := checkClass(t, "svc-keys"); class != "misconfigured" || !strings.Contains(detail, "clock") {
		t.Errorf("a skewed clock: %s %s", class, detail)
	}

	// The scan: every private key Vault held, as PEM and as its base64
	// body, and every assertion sent.
	store := env.Store(t)
	for v := 1; v <= 3; v++ {
		for _, name := range []string{"svc-keys", "svc-stranger"} {
			c, err := store.GetCredentialVersion(ctx, name, v)
			if err != nil || !c.HasKey() {
				continue
			}
			scanKey(s, fmt.Sprintf("%s v%d", name, v), c.PrivateKey.Reveal())
		}
	}
	assertions := tap.assertions()
	if len(assertions) < 6 {
		t.Fatalf("%d assertions seen", len(assertions))
	}
	for i, a := range assertions {
		scanAssertion(s, i+1, a)
	}
	for _, name := range []string{"svc-keys", "svc-stranger"} {
		st, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/state/"+name)
		if err == nil {
			b, _ := json.Marshal(st.Data)
			s.saw("state/"+name, string(b))
		}
	}
	work, _ := os.Getwd()
	_ = filepath.WalkDir(work, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := os.ReadFile(p)
			s.saw("the file "+strings.TrimPrefix(p, work+"/"), string(b))
		}
		return nil
	})
	if len(s.secrets) < 10 {
		t.Fatalf("only %d secrets to scan for", len(s.secrets))
	}
	s.check(t)
}

// scanKey adds a private key to the scanner's list: its PEM, its base64
// body on one line, and each full line of the body.
func scanKey(s *scanner, what, pem string) {
	s.secret("private key of "+what, pem)
	lines := strings.Split(strings.TrimSpace(pem), "\n")
	body := lines[1 : len(lines)-1]
	s.secret("base64 body of the private key of "+what, strings.Join(body, ""))
	for i, l := range body {
		if len(l) >= 32 {
			s.secret(fmt.Sprintf("line %d of the private key of %s", i+1, what), l)
		}
	}
}

// scanAssertion adds a client assertion to the scanner's list, and its
// signature alone.
func scanAssertion(s *scanner, n int, a string) {
	s.secret(fmt.Sprintf("client assertion %d", n), a)
	s.secret(fmt.Sprintf("signature of client assertion %d", n), a[strings.LastIndex(a, ".")+1:])
}
