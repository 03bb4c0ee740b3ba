package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	emu *Server
	now *clockwork.FakeClock
}

func newFixture(t *testing.T, opts Options) *fixture {
	f := &fixture{t: t, now: clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}
	opts.Clock = f.now
	f.emu = New(opts)
	f.srv = httptest.NewServer(f.emu)
	t.Cleanup(f.srv.Close)
	return f
}

// post sends a token request; basic puts the credentials in HTTP Basic,
// otherwise they go in the form.
func (f *fixture) post(path, id, secret string, basic bool, form url.Values) (int, http.Header, string) {
	f.t.Helper()
	if form == nil {
		form = url.Values{"grant_type": {"client_credentials"}}
	}
	if !basic && id != "" {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (f *fixture) get(path, token string) (int, http.Header, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func seedBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../oauthcheck/testdata/bodies/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const stagePath = "/oauth2/" + AuthServerStage + "/v1/token"

func TestOktaAnswersTheDocumentedBodiesByteForByte(t *testing.T) {
	f := newFixture(t, Options{LockoutAfter: 2})
	f.emu.AddClient(Client{ID: "0oa1", Secrets: []string{"right"}})
	for _, tc := range []struct {
		name, id, secret string
		status           int
		body             string
	}{
		{"unknown client", "0oa-nobody", "x", 401, seedBody(t, "okta-unknown-client.json")},
		{"wrong secret", "0oa1", "wrong", 401, seedBody(t, "okta-wrong-secret.json")},
		{"wrong secret again", "0oa1", "wrong", 401, seedBody(t, "okta-wrong-secret.json")},
		{"locked after two failures, even with the right secret", "0oa1", "right", 400, seedBody(t, "okta-invalid-grant.json")},
	} {
		status, h, body := f.post(stagePath, tc.id, tc.secret, true, nil)
		if status != tc.status || body != tc.body || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q\nwant %d %q", tc.name, status, body, tc.status, tc.body)
		}
	}
	// The lockout ends.
	f.now.Advance(16 * time.Minute)
	if status, _, body := f.post(stagePath, "0oa1", "right", true, nil); status != 200 {
		t.Errorf("after the lockout: %d %s", status, body)
	}
	if n := f.emu.Requests("0oa1"); n != 4 {
		t.Errorf("requests counted for 0oa1 = %d, want 4", n)
	}
}

func TestOktaLifetimesPerEnvironmentAndBasicOnly(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "0oa1", Secrets: []string{"s"}})
	for server, want := range map[string]int{AuthServerInt: 1800, AuthServerStage: 28800, AuthServerProd: 14400} {
		status, _, body := f.post("/oauth2/"+server+"/v1/token", "0oa1", "s", true, nil)
		var tok struct {
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); err != nil || status != 200 || tok.ExpiresIn != want || tok.TokenType != "Bearer" || tok.AccessToken == "" {
			t.Errorf("%s: %d %s", server, status, body)
		}
		if !strings.HasPrefix(body, `{"token_type":"Bearer","expires_in":`) {
			t.Errorf("field order as documented: %s", body)
		}
	}
	if status, _, body := f.post(stagePath, "0oa1", "s", false, nil); status != 401 || body != OktaUnknownClientBody {
		t.Errorf("credentials in the body: %d %s", status, body)
	}
	if status, _, _ := f.post("/oauth2/ausNOPE/v1/token", "0oa1", "s", true, nil); status != 404 {
		t.Errorf("unknown authorization server: %d", status)
	}
}

func TestTwoSecretsWorkDuringTheRotationOverlap(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "0oa1", Secrets: []string{"old"}})
	f.emu.SetSecrets("0oa1", "old", "new")
	for _, s := range []string{"old", "new"} {
		if status, _, _ := f.post(stagePath, "0oa1", s, true, nil); status != 200 {
			t.Errorf("secret %s: %d", s, status)
		}
	}
	f.emu.SetSecrets("0oa1", "new")
	if status, _, _ := f.post(stagePath, "0oa1", "old", true, nil); status != 401 {
		t.Errorf("the old secret after the overlap: %d", status)
	}
}

func TestDoorkeeper(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "12345", Secrets: []string{"ABCDEFG"}, Scopes: []string{"public", "read_dmps"}})

	status, _, body := f.post("/oauth/token", "12345", "ABCDEFG", false, nil)
	var tok map[string]any
	_ = json.Unmarshal([]byte(body), &tok)
	if status != 200 || tok["scope"] != "public" || tok["expires_in"] != float64(7200) || tok["created_at"] != float64(f.now.Now().Unix()) {
		t.Errorf("default scope public, 7200 s, created_at: %d %s", status, body)
	}
	if f.emu.AuthMethod("12345") != "body" {
		t.Errorf("auth method %q", f.emu.AuthMethod("12345"))
	}
	if status, _, body := f.post("/oauth/token", "12345", "nope", false, nil); status != 401 || body != seedBody(t, "doorkeeper-invalid-client.json") {
		t.Errorf("wrong secret: %d %q", status, body)
	}
	if status, _, body := f.post("/oauth/token", "12345", "ABCDEFG", false, url.Values{}); status != 400 || body != seedBody(t, "doorkeeper-invalid-request.json") {
		t.Errorf("missing grant_type: %d %q", status, body)
	}
	if status, _, body := f.post("/oauth/token", "12345", "ABCDEFG", false, url.Values{"grant_type": {"client_credentials"}, "scope": {"create_dmps"}}); status != 400 || !strings.Contains(body, `"invalid_scope"`) {
		t.Errorf("a scope not allowed: %d %s", status, body)
	}
	if status, _, body := f.post("/oauth/token", "12345", "ABCDEFG", false, url.Values{"grant_type": {"password"}}); status != 400 || !strings.Contains(body, `"unsupported_grant_type"`) {
		t.Errorf("an unsupported grant: %d %s", status, body)
	}
	if status, _, body := f.post("/oauth/token", "12345", "ABCDEFG", false, url.Values{"grant_type": {"authorization_code"}}); status != 400 || !strings.Contains(body, `"unauthorized_client"`) {
		t.Errorf("a grant the client may not use: %d %s", status, body)
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "a", Secrets: []string{"s"}})
	f.emu.AddClient(Client{ID: "b", Secrets: []string{"s"}})

	f.emu.InjectFault("a", Fault{Kind: FaultRateLimit, ResetIn: time.Minute})
	status, h, _ := f.post(stagePath, "a", "s", true, nil)
	if status != 429 || h.Get("X-Rate-Limit-Limit") != "600" || h.Get("X-Rate-Limit-Remaining") != "0" || h.Get("X-Rate-Limit-Reset") != "1795435260" {
		t.Errorf("rate limit: %d %v", status, h)
	}
	if status, _, _ := f.post(stagePath, "b", "s", true, nil); status != 200 {
		t.Errorf("a fault for one client leaves the others alone: %d", status)
	}

	f.emu.InjectFault("", Fault{Kind: FaultHTML})
	status, h, body := f.post(stagePath, "b", "s", true, nil)
	if status != 502 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "<title>502 Bad Gateway</title>") {
		t.Errorf("html: %d %s", status, body)
	}
	f.emu.InjectFault("", Fault{Kind: FaultStatus, Status: 500})
	if status, _, _ := f.post(stagePath, "b", "s", true, nil); status != 500 {
		t.Errorf("status fault: %d", status)
	}
	f.emu.InjectFault("", Fault{Kind: FaultNoToken})
	if status, _, body := f.post(stagePath, "b", "s", true, nil); status != 200 || strings.Contains(body, "access_token") {
		t.Errorf("no token: %d %s", status, body)
	}
	f.emu.ClearFaults()
	if status, _, _ := f.post(stagePath, "b", "s", true, nil); status != 200 {
		t.Errorf("after ClearFaults: %d", status)
	}
}

func TestResourceAPIsAcceptOnlyLiveTokens(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "0oa1", Secrets: []string{"s"}})
	f.emu.AddClient(Client{ID: "12345", Secrets: []string{"s"}})
	_, _, body := f.post(stagePath, "0oa1", "s", true, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tok)

	const ctrp = "/accrual-services/trials/nci/NCI-2026-00001/sites/po/1"
	if status, _, _ := f.get(ctrp, tok.AccessToken); status != 200 {
		t.Errorf("a live token: %d", status)
	}
	status, h, _ := f.get(ctrp, "emu_forged")
	if status != 401 || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("an unknown token: %d %v", status, h)
	}
	f.now.Advance(9 * time.Hour) // past Stage's 8 h
	if status, _, _ := f.get(ctrp, tok.AccessToken); status != 401 {
		t.Errorf("an expired token: %d", status)
	}

	_, _, body = f.post("/oauth/token", "12345", "s", false, nil)
	_ = json.Unmarshal([]byte(body), &tok)
	if status, _, _ := f.get("/api/v2/templates", tok.AccessToken); status != 200 {
		t.Errorf("DMPTool API with a live token: %d", status)
	}
	f.emu.RevokeAll("12345")
	status, _, body = f.get("/api/v2/templates", tok.AccessToken)
	want := strings.Replace(seedBody(t, "dmptool-api-unauthorized.json"), "2021-05-18T09:34:47-07:00", f.now.Now().Format(time.RFC3339), 1)
	if status != 401 || body != want {
		t.Errorf("DMPTool API with a revoked token: %d\n%s\nwant\n%s", status, body, want)
	}
}

func TestAuthorizationCodeGrant(t *testing.T) {
	f := newFixture(t, Options{})
	const redirect = "http://127.0.0.1:3001/oauth2/callback"
	f.emu.AddClient(Client{ID: "12345", Secrets: []string{"s"}, Scopes: []string{"read_dmps"}, Grants: []string{"authorization_code"}, RedirectURIs: []string{redirect}})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "a-verifier-of-enough-length-for-rfc-7636-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	code := func(redirectURI string) string {
		t.Helper()
		q := url.Values{"client_id": {"12345"}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"read_dmps"},
			"state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		resp, err := noFollow.Get(f.srv.URL + "/oauth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" {
			t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
		}
		return loc.Query().Get("code")
	}
	exchange := func(c, redirectURI, v string) (int, string) {
		status, _, body := f.post("/oauth/token", "12345", "s", false, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {v}})
		return status, body
	}

	if status, body := exchange(code(redirect), redirect, "wrong-verifier"); status != 400 || !strings.Contains(body, `"invalid_grant"`) {
		t.Errorf("a wrong PKCE verifier: %d %s", status, body)
	}
	if status, body := exchange(code(redirect), "http://127.0.0.1:3001/other", verifier); status != 400 || !strings.Contains(body, `"invalid_grant"`) {
		t.Errorf("a different redirect_uri at the exchange: %d %s", status, body)
	}
	late := code(redirect)
	f.now.Advance(CodeLifetime + time.Second)
	if status, _ := exchange(late, redirect, verifier); status != 400 {
		t.Errorf("an expired code: %d", status)
	}
	good := code(redirect)
	status, body := exchange(good, redirect, verifier)
	var tok map[string]any
	_ = json.Unmarshal([]byte(body), &tok)
	if status != 200 || tok["scope"] != "read_dmps" || tok["created_at"] == nil || tok["expires_in"] != nil {
		t.Errorf("the exchange: %d %s (a long-lived token, no expires_in, as DMPTool documents)", status, body)
	}
	if status, _ := exchange(good, redirect, verifier); status != 400 {
		t.Errorf("a code used twice: %d", status)
	}
	// An unregistered redirect_uri gets an error page, not a redirect.
	resp, err := noFollow.Get(f.srv.URL + "/oauth/authorize?" + url.Values{"client_id": {"12345"}, "redirect_uri": {"http://evil.example/cb"}, "response_type": {"code"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("an unregistered redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
