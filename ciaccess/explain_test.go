package ciaccess

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/policies"
)

func jwtOf(t *testing.T, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
}

// Explain reads Vault's reasons, as the JWT plugin and the Kubernetes
// plugin word them, into plain words naming expected and actual values.
func TestExplainNamesWhatIsWrongAndTheValues(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	gh := policies.CIRole{Name: "deploy", Method: policies.CIMethodJWT, Mount: "jwt-github", Data: map[string]any{
		"bound_audiences": []string{"https://github.com/acme"},
		"bound_claims":    map[string]any{"repository": "acme/app", "ref": "refs/heads/main", "environment": "production"},
	}}
	k8s := policies.CIRole{Name: "deploy", Method: policies.CIMethodKubernetes, Mount: "kubernetes", Data: map[string]any{
		"bound_service_account_names": []string{"app"}, "bound_service_account_namespaces": []string{"prod"},
	}}
	job := map[string]any{"repository": "acme/app", "ref": "refs/heads/dev", "aud": []any{"sts.amazonaws.com"},
		"iss": "https://token.actions.githubusercontent.com", "exp": now.Add(-90 * time.Second).Unix(), "nbf": now.Add(time.Hour).Unix()}
	pod := map[string]any{"kubernetes.io": map[string]any{"namespace": "dev", "serviceaccount": map[string]any{"name": "intruder"}}}
	cases := []struct {
		name   string
		reason string
		role   policies.CIRole
		claims map[string]any
		cause  Cause
		says   []string
	}{
		{"a claim mismatch names every bound claim the JWT fails, Vault's first", `error validating claims: claim "ref" does not match any associated bound claim values`, gh, job,
			CauseClaim, []string{`claim mismatch: claim ref: the role expects "refs/heads/main"; the JWT holds "refs/heads/dev"; claim environment: the role expects "production"; the JWT has no environment claim`}},
		{"an audience", "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience", gh, job,
			CauseAudience, []string{`the JWT's aud is "sts.amazonaws.com"; the role accepts "https://github.com/acme"`}},
		{"an expiry", "error validating token: invalid expiration time (exp) claim: token is expired", gh, job,
			CauseExpired, []string{"expired at 2026-11-26T11:58:30Z, 1m30s before now"}},
		{"a token not valid yet", "error validating token: invalid not before (nbf) claim: token not yet valid", gh, job,
			CauseNotYetValid, []string{"valid only from 2026-11-26T13:00:00Z"}},
		{"an unknown key", "error validating token: error verifying token signature: failed to verify id token signature", gh, job,
			CauseUnknownKey, []string{`issuer "https://token.actions.githubusercontent.com" and key "k1"`}},
		{"an issuer", "error validating token: invalid issuer (iss) claim", gh, job,
			CauseIssuer, []string{`issued by "https://token.actions.githubusercontent.com"`}},
		{"a missing role", `role "deploy" could not be found`, gh, job,
			CauseRole, []string{`no role "deploy" at auth/jwt-github`}},
		{"a service account", "service account name not authorized", k8s, pod,
			CauseServiceAccount, []string{`expects service account "app"; the token names "intruder"`}},
		{"a namespace", "namespace not authorized", k8s, pod,
			CauseServiceAccount, []string{`expects namespace "prod"; the token names "dev"`}},
		{"an unauthenticated pod token", "permission denied", k8s, pod,
			CauseUnauthenticated, []string{"did not authenticate"}},
		{"anything else keeps Vault's words", "something new \x1b[31m", gh, job,
			CauseOther, []string{"Vault refused the login: something new"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, ok := DecodeUnverified(jwtOf(t, c.claims))
			if !ok {
				t.Fatal("decode")
			}
			r := Explain(c.reason, c.role, cl, true, now)
			if r.Cause != c.cause {
				t.Errorf("cause %q, want %q: %s", r.Cause, c.cause, r.Explanation)
			}
			for _, s := range c.says {
				if !strings.Contains(r.Explanation, s) {
					t.Errorf("%q does not say %q", r.Explanation, s)
				}
			}
			if strings.ContainsRune(r.Explanation, 0x1b) || strings.ContainsRune(r.Vault, 0x1b) {
				t.Error("an escape sequence passed through")
			}
		})
	}
}

func TestDecodeUnverifiedRefusesWhatIsNotAJWT(t *testing.T) {
	for _, s := range []string{"", "a.b", "a.b.c", "!!.!!.!!", base64.RawURLEncoding.EncodeToString([]byte("null")) + ".e30.x"} {
		if _, ok := DecodeUnverified(s); ok {
			t.Errorf("%q decoded", s)
		}
	}
}

// A JWT is untrusted input: decoding and explaining any of it neither
// panics nor lets a control character through.
func FuzzDecodeUnverified(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJyZWYiOiJtYWluIn0.c2ln")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := DecodeUnverified(s)
		r := Explain(`claim "ref" does not match`, policies.CIRole{Data: map[string]any{"bound_claims": map[string]any{"ref": "main"}}}, c, ok, time.Unix(0, 0))
		if strings.ContainsAny(r.Explanation, "\x1b\r\n") {
			t.Errorf("control character in %q", r.Explanation)
		}
	})
}
