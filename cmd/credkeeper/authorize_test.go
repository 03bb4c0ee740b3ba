package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// grantEnv: DMPTool in the emulator with a registered loopback redirect
// URI, and a user-grant credential whose app secret is already in Vault.
type grantEnv struct {
	env      *vaulttest.Env
	emu      *emulator.Server
	emuURL   string
	redirect string
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

const appSecret = "App-Secret-Dmp-0099"

func newGrantEnv(t *testing.T, registered, configured string) *grantEnv {
	t.Helper()
	g := &grantEnv{env: cliEnv(t), emu: emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})}
	srv := httptest.NewServer(g.emu)
	t.Cleanup(srv.Close)
	g.emuURL = srv.URL
	port := freePort(t)
	g.redirect = strings.ReplaceAll(configured, "PORT", fmt.Sprint(port))
	g.emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{appSecret}, Scopes: []string{"public", "read_dmps", "create_dmps"},
		Grants: []string{"client_credentials", "authorization_code"}, RedirectURIs: []string{strings.ReplaceAll(registered, "PORT", fmt.Sprint(port))}})
	writeConfig(t, fmt.Sprintf(`vault {
  prefix = %q
}
provider "dmptool" {
  token_url     = "%[2]s/oauth/token"
  authorize_url = "%[2]s/oauth/authorize"
  probe { url = "%[2]s/api/v2/templates" }
}
credential "dmp-alice" {
  provider     = "dmptool"
  grant        = "authorization_code"
  scopes       = ["read_dmps"]
  redirect_uri = %[3]q
  owner        = "alice@example.org"
}
`, g.env.Prefix, g.emuURL, g.redirect))
	setSecret(t, "dmp-alice", "dmptool", "12345", appSecret)
	return g
}

// runAuthorize starts `credkeeper authorize` at testNow and returns the
// URL it printed and a function that waits for it to end.
func runAuthorize(t *testing.T, args ...string) (string, func() result) {
	t.Helper()
	return runAuthorizeOn(t, clockwork.NewFakeClockAt(testNow), args...)
}

// runAuthorizeOn is runAuthorize on clock, which the test advances.
func runAuthorizeOn(t *testing.T, clock clockwork.Clock, args ...string) (string, func() result) {
	t.Helper()
	pr, pw := io.Pipe()
	var errb strings.Builder
	done := make(chan result, 1)
	var out strings.Builder
	go func() {
		code := runWith(context.Background(), clock, append([]string{"authorize", "dmp-alice", "--no-browser"}, args...),
			streams{In: strings.NewReader(""), Out: pw, Err: &errb}, nil)
		pw.Close()
		done <- result{code: code}
	}()
	urls := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "/oauth/authorize?") {
				urls <- strings.TrimSpace(sc.Text())
			}
		}
		close(urls)
		_, _ = io.Copy(io.Discard, pr)
	}()
	wait := func() result {
		r := <-done
		<-drained // the pipe is closed: the reader has seen every line
		r.stdout, r.stderr = out.String(), errb.String()
		return r
	}
	select {
	case u, ok := <-urls:
		if !ok {
			return "", wait
		}
		return u, wait
	case <-time.After(10 * time.Second):
		t.Fatal("authorize printed no URL")
		return "", nil
	}
}

// noRedirects is a browser that shows where it is sent instead of going.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (g *grantEnv) storedToken(t *testing.T) string {
	t.Helper()
	sec, err := g.env.Root.KVv2("secret").Get(context.Background(), g.env.Prefix+"/credentials/dmp-alice")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := sec.Data["access_token"].(string)
	return tok
}

func TestAuthorizeStoresAGrantThatCheckThenValidates(t *testing.T) {
	g := newGrantEnv(t, "http://127.0.0.1:PORT/oauth2/callback", "http://127.0.0.1:PORT/oauth2/callback")
	authURL, wait := runAuthorize(t)
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("client_id") != "12345" || q.Get("redirect_uri") != g.redirect || q.Get("response_type") != "code" || q.Get("scope") != "read_dmps" ||
		q.Get("state") == "" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Errorf("authorization URL: %s", authURL)
	}
	// The browser follows it: the provider approves and redirects to credkeeper.
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "You can close this tab") {
		t.Errorf("the browser shows %d %s", resp.StatusCode, page)
	}
	r := wait()
	if r.code != 0 || !strings.Contains(r.stdout, "Granted scopes: read_dmps") || !strings.Contains(r.stdout, "Token: no expiry given") {
		t.Fatalf("authorize: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	token := g.storedToken(t)
	if token == "" {
		t.Fatal("no token in Vault")
	}

	ok := credkeeper(t, "", "check", "dmp-alice", "--json")
	if ok.code != 0 || !strings.Contains(ok.stdout, `"class": "ok"`) {
		t.Errorf("check of the grant: %d\n%s%s", ok.code, ok.stdout, ok.stderr)
	}
	g.emu.RevokeAll("12345")
	gone := credkeeper(t, "", "check", "dmp-alice")
	if gone.code != 2 || !strings.Contains(gone.stdout, "expired") || !strings.Contains(gone.stdout, "re-run credkeeper authorize dmp-alice") {
		t.Errorf("check after revocation: %d\n%s%s", gone.code, gone.stdout, gone.stderr)
	}
	for _, out := range []result{r, ok, gone} {
		if strings.Contains(out.all(), token) || strings.Contains(out.all(), appSecret) {
			t.Errorf("the token or the app secret appears in output:\n%s", out.all())
		}
	}
}

func TestAuthorizeFailuresWriteNothing(t *testing.T) {
	g := newGrantEnv(t, "http://127.0.0.1:PORT/oauth2/callback", "http://127.0.0.1:PORT/oauth2/callback")
	nothingStored := func(what string) {
		t.Helper()
		if tok := g.storedToken(t); tok != "" {
			t.Errorf("%s: a token was stored", what)
		}
	}

	// The code exchange is redirected elsewhere: the secret does not follow.
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	authURL, wait := runAuthorize(t)
	g.emu.InjectFault("12345", emulator.Fault{Kind: emulator.FaultRedirect, Location: other.URL + "/oauth/token"})
	if resp, err := http.Get(authURL); err == nil {
		resp.Body.Close()
	}
	if r := wait(); r.code != 1 || !strings.Contains(r.stderr, "redirected (307) to "+other.URL+"/oauth/token") || !strings.Contains(r.stderr, "set token_url to the final URL") {
		t.Errorf("a redirected code exchange: exit %d %q", r.code, r.stderr)
	}
	if elsewhere.Load() != 0 {
		t.Error("the code exchange followed the redirect")
	}
	nothingStored("a redirected code exchange")
	g.emu.ClearFaults()

	// The user says no.
	g.emu.SetDeny("12345", true)
	authURL, wait = runAuthorize(t)
	if resp, err := http.Get(authURL); err == nil {
		resp.Body.Close()
	}
	if r := wait(); r.code != 1 || !strings.Contains(r.stderr, "the user declined the request (access_denied)") {
		t.Errorf("access_denied: exit %d %q", r.code, r.stderr)
	}
	nothingStored("access_denied")
	g.emu.SetDeny("12345", false)

	// A code used once cannot be used again.
	authURL, wait = runAuthorize(t)
	first, err := noRedirects.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	callback := first.Header.Get("Location")
	if resp, err := http.Get(callback); err == nil {
		resp.Body.Close()
	}
	if r := wait(); r.code != 0 {
		t.Fatalf("first authorize: %d %s", r.code, r.stderr)
	}
	firstToken := g.storedToken(t)
	authURL, wait = runAuthorize(t)
	u, _ := url.Parse(authURL)
	cb, _ := url.Parse(callback)
	replay := cb.Query()
	replay.Set("state", u.Query().Get("state"))
	cb.RawQuery = replay.Encode()
	if resp, err := http.Get(cb.String()); err == nil {
		resp.Body.Close()
	}
	if r := wait(); r.code != 1 || !strings.Contains(r.stderr, "refused the code with 400 invalid_grant") {
		t.Errorf("reused code: exit %d %q", r.code, r.stderr)
	}
	if g.storedToken(t) != firstToken {
		t.Error("a refused code must not change the stored grant")
	}
}

// An answer with the wrong state (a stale tab, a forged link) is refused in
// the browser and ignored: authorize keeps waiting for the real one.
func TestAuthorizeIgnoresAnAnswerWithTheWrongState(t *testing.T) {
	g := newGrantEnv(t, "http://127.0.0.1:PORT/oauth2/callback", "http://127.0.0.1:PORT/oauth2/callback")
	authURL, wait := runAuthorize(t)
	forged, err := http.Get(g.redirect + "?code=forged&state=not-the-state")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(forged.Body)
	forged.Body.Close()
	if forged.StatusCode != 400 || !strings.Contains(string(page), "state does not match") {
		t.Errorf("the forged answer's page: %d %s", forged.StatusCode, page)
	}
	if tok := g.storedToken(t); tok != "" {
		t.Error("the forged answer stored a token")
	}
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := wait(); r.code != 0 || resp.StatusCode != 200 || !strings.Contains(r.stdout, "ignored an answer whose state does not match") {
		t.Errorf("after a forged answer, the real one: exit %d, browser %d\n%s%s", r.code, resp.StatusCode, r.stdout, r.stderr)
	}
	if tok := g.storedToken(t); tok == "" {
		t.Error("the real answer stored no token")
	}
}

func TestAuthorizeRefusesARedirectTheProviderDoesNotKnowOrCannotReach(t *testing.T) {
	g := newGrantEnv(t, "http://127.0.0.1:PORT/registered", "http://127.0.0.1:PORT/oauth2/callback")
	clock := clockwork.NewFakeClockAt(testNow)
	authURL, wait := runAuthorizeOn(t, clock, "--timeout", "1s")
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("the provider should refuse a redirect_uri it does not know: %d", resp.StatusCode)
	}
	// No answer comes: the wait for one ends when its second has passed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal("authorize never waited for the browser's answer")
	}
	clock.Advance(time.Second)
	if r := wait(); r.code != 1 || !strings.Contains(r.stderr, "no answer from the browser within 1s") {
		t.Errorf("mismatched redirect_uri: exit %d %q", r.code, r.stderr)
	}
	if tok := g.storedToken(t); tok != "" {
		t.Error("a token was stored")
	}

	writeConfig(t, strings.Replace(readFile(t, "credkeeper.hcl"), g.redirect, "http://dmp.example.org:3001/callback", 1))
	r := credkeeper(t, "", "authorize", "dmp-alice", "--no-browser")
	if r.code != 1 || !strings.Contains(r.stderr, "is not on a loopback address") {
		t.Errorf("a non-loopback redirect_uri: exit %d %q", r.code, r.stderr)
	}
}
