package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/emulator"
)

// The Okta endpoint verifies each claim of a client assertion, and
// answers a refusal with Okta's invalid_client description.
func TestOktaVerifiesClientAssertions(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(now)
	emu := emulator.New(emulator.Options{Clock: clock})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tokenURL := srv.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token"
	key, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	inactive, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	emu.AddClient(emulator.Client{ID: "0oa-k", Keys: []emulator.ClientKey{
		{ID: key.KeyID, JWK: key.PublicJWK(), Status: emulator.KeyActive},
		{ID: inactive.KeyID, JWK: inactive.PublicJWK(), Status: emulator.KeyInactive},
	}})
	good := clientkey.Claims{Issuer: "0oa-k", Subject: "0oa-k", Audience: tokenURL, IssuedAt: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix()}
	with := func(f func(c *clientkey.Claims)) clientkey.Claims { c := good; f(&c); return c }
	post := func(k *clientkey.Key, c clientkey.Claims) (int, string) {
		t.Helper()
		a, err := k.AssertionWith(c)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"0oa-k"},
			"client_assertion_type": {emulator.AssertionType}, "client_assertion": {a}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Desc string `json:"error_description"`
		}
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Desc
	}
	cases := []struct {
		name   string
		key    *clientkey.Key
		claims clientkey.Claims
		want   string // "" for a token
	}{
		{"a good assertion gets a token", key, good, ""},
		{"an INACTIVE key's kid is invalid", inactive, good, emulator.OktaAssertionKidInvalid},
		{"another audience is refused", key, with(func(c *clientkey.Claims) { c.Audience = srv.URL + "/oauth2/v1/token" }), emulator.OktaAssertionAudience},
		{"another issuer is refused", key, with(func(c *clientkey.Claims) { c.Issuer = "0oa-other" }), emulator.OktaAssertionIssuer},
		{"an expired assertion is refused", key, with(func(c *clientkey.Claims) { c.Expiry = now.Add(-2 * time.Minute).Unix() }), emulator.OktaAssertionExpired},
		{"an exp over an hour ahead is refused", key, with(func(c *clientkey.Claims) { c.Expiry = now.Add(61 * time.Minute).Unix() }), emulator.OktaAssertionTooFar},
		{"an iat in the future is refused", key, with(func(c *clientkey.Claims) { c.IssuedAt = now.Add(5 * time.Minute).Unix() }), emulator.OktaAssertionNotYetValid},
		{"a jti used before is refused", key, with(func(c *clientkey.Claims) { c.ID = "jti-once" }), ""},
		{"the same jti again is refused", key, with(func(c *clientkey.Claims) { c.ID = "jti-once" }), emulator.OktaAssertionJTIReused},
	}
	for _, c := range cases {
		status, desc := post(c.key, c.claims)
		if c.want == "" && status != http.StatusOK || c.want != "" && (status != http.StatusUnauthorized || desc != c.want) {
			t.Errorf("%s: %d %q, want %q", c.name, status, desc, c.want)
		}
	}

	// A signature that does not verify under the kid it names.
	a, _ := key.Assertion("0oa-k", tokenURL, now)
	parts := strings.Split(a, ".")
	forged, _ := inactive.Assertion("0oa-k", tokenURL, now)
	tampered := parts[0] + "." + parts[1] + "." + strings.Split(forged, ".")[2]
	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"0oa-k"},
		"client_assertion_type": {emulator.AssertionType}, "client_assertion": {tampered}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), emulator.OktaAssertionSignature) {
		t.Errorf("a forged signature: %d %s", resp.StatusCode, b)
	}
}
