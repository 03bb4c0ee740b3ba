package oauthcheck

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// Token endpoints that misbehave in ways nobody writes down: each check
// ends in its documented class within the provider's timeout (the test's
// own deadline would catch a hang), and the secret appears in nothing the
// result says.
func TestMisbehavingTokenEndpoints(t *testing.T) {
	const clientSecret = "Misbehave-Secret-0123456789"
	// The endpoints that never answer end at a short timeout; the ones
	// that answer get a long one, so that a loaded machine reading 10 MB
	// slowly is not taken for a provider that hangs.
	const short, long = 700 * time.Millisecond, 30 * time.Second
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tokenBody := func(expiresIn string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"tok-123","token_type":"Bearer","expires_in":%s}`, expiresIn)
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler // nil: serve raw TCP with stall
		stall   bool         // accept, never answer (a TLS handshake that never completes)
		hangs   bool         // ends at the short timeout
		tls     bool
		want    Class
		check   func(t *testing.T, r Result)
	}{
		{name: "a TLS handshake that never completes", stall: true, tls: true, hangs: true, want: ClassUnavailable},
		{name: "a response that trickles one byte a second", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			for _, c := range []byte(`{"access_token":"tok","token_type":"Bearer","expires_in":3600}`) {
				if _, err := w.Write([]byte{c}); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(time.Second):
				}
			}
		}), hangs: true, want: ClassUnavailable},
		{name: "a 10 MB body", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 10<<20) + `"}`))
		}), want: ClassProtocol},
		{name: "a redirect loop", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}), want: ClassMisconfigured},
		{name: "a 200 with text/html", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
		}), want: ClassProtocol},
		// Not a credential failure: an OAuth2 endpoint says invalid_client in
		// JSON, and a bare 401 is refused credentials; a 401 with some other
		// body (a proxy's, a WAF's) must not lock a secret out or page.
		{name: "a 401 whose body is not JSON", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("Unauthorized"))
		}), want: ClassProtocol},
		{name: "expires_in -1", handler: tokenBody("-1"), want: ClassOK, check: func(t *testing.T, r Result) {
			if !r.NoExpiry {
				t.Errorf("expires_in -1: expiry %v, want none", r.ExpiresAt)
			}
		}},
		{name: "expires_in 0", handler: tokenBody("0"), want: ClassOK, check: func(t *testing.T, r Result) {
			if !r.NoExpiry {
				t.Errorf("expires_in 0: expiry %v, want none", r.ExpiresAt)
			}
		}},
		{name: `expires_in "3600"`, handler: tokenBody(`"3600"`), want: ClassOK, check: func(t *testing.T, r Result) {
			if !r.ExpiresAt.Equal(now.Add(time.Hour)) {
				t.Errorf(`expires_in "3600": expiry %v, want %v`, r.ExpiresAt, now.Add(time.Hour))
			}
		}},
		{name: "expires_in 10^12", handler: tokenBody("1000000000000"), want: ClassProtocol},
		// The fields are read as x/oauth2 decoded the answer: keys exactly
		// as RFC 6749 spells them, and a form-encoded answer as well.
		{name: "Expires_In, not expires_in", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok-123","token_type":"Bearer","Expires_In":3600,"Scope":"x"}`))
		}), want: ClassOK, check: func(t *testing.T, r Result) {
			if !r.NoExpiry || r.Scope != "" {
				t.Errorf("Expires_In and Scope: expiry %v, scope %q; want neither read", r.ExpiresAt, r.Scope)
			}
		}},
		{name: "expires_in 2^63-1", handler: tokenBody("9223372036854775807"), want: ClassProtocol},
		{name: "a form-encoded expires_in of 1e308", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			_, _ = w.Write([]byte("access_token=tok-123&token_type=bearer&expires_in=1e308"))
		}), want: ClassProtocol},
		// x/oauth2 refuses an expires_in that is not an integer; the answer
		// carries an access_token all the same, yet there is no token to use.
		{name: "expires_in 3600.9", handler: tokenBody("3600.9"), want: ClassProtocol, check: func(t *testing.T, r Result) {
			if !strings.Contains(r.Detail, "OAuth2 clients cannot read") || !r.AccessToken.IsZero() {
				t.Errorf("detail %q, token kept %v", r.Detail, !r.AccessToken.IsZero())
			}
		}},
		// Neither parser reads a token answer behind a byte-order mark: its
		// snippet must not show the token it carries.
		{name: "a token answer behind a byte-order mark", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("\ufeff" + `{"token_type":"Bearer","access_token":"tok-issued-0123456789","expires_in":3600}`))
		}), want: ClassProtocol, check: func(t *testing.T, r Result) {
			if strings.Contains(fmt.Sprintf("%+v", r), "tok-issued") || !strings.Contains(r.Detail, "token_type") {
				t.Errorf("the detail shows the token, or nothing before it: %q", r.Detail)
			}
		}},
		{name: "a form-encoded token", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			_, _ = w.Write([]byte("access_token=tok-123&token_type=bearer&expires_in=3600&scope=read+write"))
		}), want: ClassOK, check: func(t *testing.T, r Result) {
			if !r.ExpiresAt.Equal(now.Add(time.Hour)) || r.Scope != "read write" {
				t.Errorf("form-encoded: expiry %v, scope %q; want %v and %q", r.ExpiresAt, r.Scope, now.Add(time.Hour), "read write")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var url string
			switch {
			case tc.stall:
				addr := rawServer(t, func(net.Conn) {}) // held open, never answered
				url = "https://" + addr + "/oauth2/default/v1/token"
			default:
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				url = srv.URL + "/oauth2/default/v1/token"
			}
			timeout := long
			if tc.hangs {
				timeout = short
			}
			c := &Checker{}
			res := c.RequestToken(context.Background(), Client{ID: "0oa-misbehave", Secret: secret.New(clientSecret), Name: "x"},
				Endpoint{Name: "p", TokenURL: url, AuthStyle: AuthStyleHeader, Timeout: timeout}, time.Time{}, now)
			if res.Class != tc.want {
				t.Errorf("class %s (%s), want %s", res.Class, res.Detail, tc.want)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			for _, s := range []string{res.Detail, res.Description, res.ErrorCode, fmt.Sprintf("%+v", res)} {
				if strings.Contains(s, clientSecret) {
					t.Errorf("the result shows the secret: %q", s)
				}
			}
		})
	}
}
