package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/rotation"
)

// A key credential rotates by itself through Okta's JWKS API: keygen,
// register, `rotate auto --now` promotes a new key while the old works,
// `rotate status` shows the step; after the overlap the run ends with the
// old key deleted. Then no private key Vault held, and no assertion sent,
// appears in anything printed, in rotations/NAME, pending/NAME or state.
func TestAKeyCredentialRotatesThroughOktasJWKSAPI(t *testing.T) {
	env := cliEnv(t)
	ctx := context.Background()
	const apiToken = "00Rotate-Keys-Api-Token-0123456789"
	clock := clockwork.NewFakeClockAt(testNow)
	emu := emulator.New(emulator.Options{Clock: clock, APIToken: apiToken})
	tap := &assertionTap{next: emu}
	srv := httptest.NewServer(tap)
	t.Cleanup(srv.Close)
	if err := os.WriteFile("okta-api-token", []byte(apiToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	head, _ := ctrpConfig(env, srv.URL)
	writeConfig(t, head+fmt.Sprintf(`provider "acme-okta" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "private_key_jwt"
}
credential "svc-keys" {
  provider = "acme-okta"
  auto_rotate {
    okta_org_url   = "%[1]s"
    app_id         = "0oa-app-keys"
    api_token_file = "okta-api-token"
  }
}
`, srv.URL, emulator.AuthServerStage))
	s := newScanner()
	s.secret("Okta API token", apiToken)
	run := func(args ...string) result {
		t.Helper()
		r := credkeeper(t, "", args...)
		s.saw("credkeeper "+strings.Join(args, " "), r.all())
		return r
	}

	gen := run("keygen", "svc-keys", "--client-id", "0oa-keys", "--rotate-by", testNow.AddDate(0, 0, 10).Format("2006-01-02"))
	if gen.code != 0 {
		t.Fatalf("keygen: exit %d\n%s", gen.code, gen.all())
	}
	first := registeredKeys(t, gen.stdout, testNow)
	emu.AddClient(emulator.Client{ID: "0oa-keys", AppID: "0oa-app-keys", Keys: first})
	if class, detail := checkClass(t, "svc-keys"); class != "ok" {
		t.Fatalf("the registered key: %s %s", class, detail)
	}

	auto := run("rotate", "auto", "svc-keys", "--now")
	if auto.code != 0 || !strings.Contains(auto.stdout, "Did: found the current key in Okta ("+first[0].ID+")") || !strings.Contains(auto.stdout, "generated a new key pair") || !strings.Contains(auto.stdout, "promoted it: credentials/svc-keys is version 2") {
		t.Fatalf("rotate auto: exit %d\n%s", auto.code, auto.all())
	}
	if keys := emu.AppKeys("0oa-keys"); len(keys) != 2 {
		t.Fatalf("during the overlap Okta holds both keys: %v", keys)
	}
	newKid := ""
	for _, k := range emu.AppKeys("0oa-keys") {
		if f := strings.Fields(k); f[1] != first[0].ID {
			newKid = f[1]
		}
	}
	if st := run("rotate", "status", "svc-keys"); st.code != 0 || !strings.Contains(st.stdout, "promoted, started ") || !strings.Contains(st.stdout, ", new key "+newKid) {
		t.Errorf("rotate status: %s", st.all())
	}
	if class, detail := checkClass(t, "svc-keys"); class != "ok" {
		t.Fatalf("the new key: %s %s", class, detail)
	}

	// After the overlap (the CLI's clock is fixed: a runner on a later one).
	clock.Advance(8 * 24 * time.Hour)
	cfg, err := config.Load("credkeeper.hcl")
	if err != nil {
		t.Fatal(err)
	}
	r := &rotation.Runner{Store: env.Store(t), Config: cfg, Clock: clock}
	rep, err := r.AutoRotate(ctx, "svc-keys", rotation.AutoRotateOptions{Owner: "test"})
	if err != nil || rep.Step != rotation.StepDone {
		t.Fatalf("after the overlap: %+v %v", rep, err)
	}
	s.saw("the report after the overlap", strings.Join(rep.Did, "\n"))
	if keys := emu.AppKeys("0oa-keys"); len(keys) != 1 || strings.Contains(keys[0], first[0].ID) {
		t.Errorf("Okta holds the new key alone: %v", keys)
	}

	// The scan: every private key Vault held, and every assertion sent.
	store := env.Store(t)
	for v := 1; v <= 2; v++ {
		c, err := store.GetCredentialVersion(ctx, "svc-keys", v)
		if err != nil || !c.HasKey() {
			t.Fatalf("credentials/svc-keys v%d: %v", v, err)
		}
		pem := c.PrivateKey.Reveal()
		s.secret(fmt.Sprintf("private key v%d", v), pem)
		lines := strings.Split(strings.TrimSpace(pem), "\n")
		s.secret(fmt.Sprintf("base64 body of the private key v%d", v), strings.Join(lines[1:len(lines)-1], ""))
		for i, l := range lines[1 : len(lines)-1] {
			if len(l) >= 32 {
				s.secret(fmt.Sprintf("line %d of the private key v%d", i+1, v), l)
			}
		}
	}
	assertions := tap.assertions()
	if len(assertions) < 4 {
		t.Fatalf("%d assertions seen", len(assertions))
	}
	for i, a := range assertions {
		s.secret(fmt.Sprintf("assertion %d", i+1), a)
		s.secret(fmt.Sprintf("signature of assertion %d", i+1), a[strings.LastIndex(a, ".")+1:])
	}
	for _, kind := range []string{"rotations", "state", "pending", "tokens"} {
		sec, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/"+kind+"/svc-keys")
		if err == nil && sec != nil {
			b, _ := json.Marshal(sec.Data)
			s.saw(kind+"/svc-keys", string(b))
		}
	}
	s.check(t)
}
