package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const jwksToken = "00Jwks-Api-Token-For-Tests"

// api sends one request to Okta's management API with the SSWS token.
func (f *fixture) api(method, path, token string, body any) (int, string) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	req.Header.Set("Authorization", "SSWS "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// newJWK is a public EC P-256 signing JWK with kid, and its private key.
func newJWK(t *testing.T, kid string) (jose.JSONWebKey, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}, priv
}

// addBody is the request body adding jwk with status ("" leaves it out).
func addBody(t *testing.T, jwk jose.JSONWebKey, status string) map[string]any {
	t.Helper()
	b, err := jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	if status != "" {
		m["status"] = status
	}
	return m
}

type keyAnswer struct {
	ID, Status, Kid, Kty, Created, LastUpdated string
	D                                          string `json:"d"`
}

func TestOktaJWKSAPI(t *testing.T) {
	f := newFixture(t, Options{APIToken: jwksToken})
	f.emu.AddClient(Client{ID: "0oa-svc", AppID: "0oa-app"})
	const base = "/api/v1/apps/0oa-app/credentials/jwks"

	if st, body := f.api("GET", base, "wrong", nil); st != 401 || !strings.Contains(body, `"errorCode":"E0000011"`) {
		t.Errorf("a wrong API token: %d %s", st, body)
	}
	if st, body := f.api("GET", "/api/v1/apps/0oa-other/credentials/jwks", jwksToken, nil); st != 404 || !strings.Contains(body, `"errorCode":"E0000007"`) {
		t.Errorf("an unknown app: %d %s", st, body)
	}

	first, _ := newJWK(t, "key-1")
	st, body := f.api("POST", base, jwksToken, addBody(t, first, "INACTIVE"))
	var a keyAnswer
	_ = json.Unmarshal([]byte(body), &a)
	if st != 201 || a.Status != "INACTIVE" || a.Kid != "key-1" || a.Kty != "EC" || !strings.HasPrefix(a.ID, "pks") || a.Created != "2026-11-23T12:00:00Z" || a.LastUpdated != a.Created {
		t.Fatalf("add a key INACTIVE: %d %s", st, body)
	}
	if got := f.emu.AppKeys("0oa-svc"); len(got) != 1 || got[0] != a.ID+" key-1 INACTIVE" {
		t.Errorf("the client holds the key, inactive: %v", got)
	}
	if st, body := f.api("POST", base+"/"+a.ID+"/lifecycle/activate", jwksToken, nil); st != 200 || !strings.Contains(body, `"status":"ACTIVE"`) {
		t.Errorf("activate: %d %s", st, body)
	}
	if st, body := f.api("POST", base+"/"+a.ID+"/lifecycle/deactivate", jwksToken, nil); st != 400 || !strings.Contains(body, "must keep one active") {
		t.Errorf("deactivating the last active key: %d %s", st, body)
	}

	second, _ := newJWK(t, "key-2")
	st, body = f.api("POST", base, jwksToken, addBody(t, second, ""))
	var b keyAnswer
	_ = json.Unmarshal([]byte(body), &b)
	if st != 201 || b.Status != "ACTIVE" {
		t.Fatalf("a key added without a status is active: %d %s", st, body)
	}
	if st, body := f.api("POST", base, jwksToken, addBody(t, second, "")); st != 400 || !strings.Contains(body, "already exists") {
		t.Errorf("a kid twice: %d %s", st, body)
	}
	if st, body := f.api("DELETE", base+"/"+a.ID, jwksToken, nil); st != 400 || !strings.Contains(body, "Deactivate the JSON Web Key before deleting it") {
		t.Errorf("deleting an active key: %d %s", st, body)
	}
	f.now.Advance(90_000_000_000)
	if st, body := f.api("POST", base+"/"+a.ID+"/lifecycle/deactivate", jwksToken, nil); st != 200 || !strings.Contains(body, `"status":"INACTIVE"`) || !strings.Contains(body, `"lastUpdated":"2026-11-23T12:01:30Z"`) {
		t.Errorf("deactivate: %d %s", st, body)
	}
	if st, _ := f.api("DELETE", base+"/"+a.ID, jwksToken, nil); st != 204 {
		t.Errorf("deleting an inactive key: %d", st)
	}
	if st, _ := f.api("DELETE", base+"/"+a.ID, jwksToken, nil); st != 404 {
		t.Errorf("deleting it again: %d", st)
	}
	st, body = f.api("GET", base, jwksToken, nil)
	var list []keyAnswer
	if err := json.Unmarshal([]byte(body), &list); err != nil || st != 200 || len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("the list after: %d %s", st, body)
	}
	if st, body := f.api("GET", base+"/"+b.ID, jwksToken, nil); st != 200 || !strings.Contains(body, `"kid":"key-2"`) {
		t.Errorf("get one key: %d %s", st, body)
	}
}

// Only a public signing key with a kid is added; a private part is refused
// and never shown back.
func TestOktaJWKSRefusesWhatIsNotAPublicSigningKey(t *testing.T) {
	f := newFixture(t, Options{APIToken: jwksToken})
	f.emu.AddClient(Client{ID: "0oa-svc", AppID: "0oa-app"})
	const base = "/api/v1/apps/0oa-app/credentials/jwks"
	pub, priv := newJWK(t, "k")
	private := jose.JSONWebKey{Key: priv, KeyID: "k", Algorithm: "ES256", Use: "sig"}
	noKid := pub
	noKid.KeyID = ""
	enc := pub
	enc.Use = "enc"
	for name, body := range map[string]map[string]any{
		"a private key":     addBody(t, private, ""),
		"a key with no kid": addBody(t, noKid, ""),
		"an encryption key": addBody(t, enc, ""),
		"not a JWK":         {"kty": "RSA", "n": "!!", "e": "AQAB", "kid": "x"},
	} {
		st, answer := f.api("POST", base, jwksToken, body)
		if st != 400 || !strings.Contains(answer, `"errorCode":"E0000001"`) {
			t.Errorf("%s: %d %s", name, st, answer)
		}
		if d, _ := body["d"].(string); d != "" && strings.Contains(answer, d) {
			t.Errorf("%s: the answer shows the private part", name)
		}
	}
	if got := f.emu.AppKeys("0oa-svc"); len(got) != 0 {
		t.Errorf("nothing was added: %v", got)
	}
}

// An app holds at most MaxAppKeys keys (Okta's documented 50): the next is
// refused with Okta's validation error until one is deleted.
func TestOktaJWKSLimitsKeysPerApp(t *testing.T) {
	f := newFixture(t, Options{APIToken: jwksToken})
	f.emu.AddClient(Client{ID: "0oa-svc", AppID: "0oa-app"})
	const base = "/api/v1/apps/0oa-app/credentials/jwks"
	var last keyAnswer
	for i := range MaxAppKeys {
		k, _ := newJWK(t, fmt.Sprint("key-", i))
		st, body := f.api("POST", base, jwksToken, addBody(t, k, ""))
		if st != 201 {
			t.Fatalf("key %d of %d: %d %s", i+1, MaxAppKeys, st, body)
		}
		_ = json.Unmarshal([]byte(body), &last)
	}
	extra, _ := newJWK(t, "one-too-many")
	st, body := f.api("POST", base, jwksToken, addBody(t, extra, "INACTIVE"))
	if st != 400 || !strings.Contains(body, `"errorSummary":"Api validation failed: jwks"`) || !strings.Contains(body, "maximum of 50") {
		t.Fatalf("key %d: %d %s", MaxAppKeys+1, st, body)
	}
	if n := len(f.emu.AppKeys("0oa-svc")); n != MaxAppKeys {
		t.Fatalf("the app holds %d keys", n)
	}
	f.api("POST", base+"/"+last.ID+"/lifecycle/deactivate", jwksToken, nil)
	if st, _ := f.api("DELETE", base+"/"+last.ID, jwksToken, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, body := f.api("POST", base, jwksToken, addBody(t, extra, "INACTIVE")); st != 201 {
		t.Errorf("after a delete there is room again: %d %s", st, body)
	}
}

// A fault injected into one operation of the API applies to the JWKS API
// as to the secrets API: the work done, its answer lost.
func TestOktaJWKSFaults(t *testing.T) {
	f := newFixture(t, Options{APIToken: jwksToken})
	f.emu.AddClient(Client{ID: "0oa-svc", AppID: "0oa-app"})
	const base = "/api/v1/apps/0oa-app/credentials/jwks"
	f.emu.InjectFault(OktaFaultKey(OktaCreate), Fault{Kind: FaultDoneThenStatus})
	k, _ := newJWK(t, "k")
	if st, _ := f.api("POST", base, jwksToken, addBody(t, k, "")); st != 500 {
		t.Errorf("the answer is lost: %d", st)
	}
	f.emu.ClearFaults()
	if got := f.emu.AppKeys("0oa-svc"); len(got) != 1 || !strings.HasSuffix(got[0], " k ACTIVE") {
		t.Errorf("but the key was added: %v", got)
	}
	f.emu.InjectFault("okta-api", Fault{Kind: FaultRateLimit})
	if st, _ := f.api("GET", base, jwksToken, nil); st != 429 {
		t.Errorf("rate limited: %d", st)
	}
}
