package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// Every answer of the daemon's server carries the security headers: the
// probes', /metrics', a refusal's and a 404's as much as a page's.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("Correct-Horse-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := LoadBasicAuthFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("the status page")) })
	for _, tc := range []struct {
		name   string
		pages  http.Handler
		auth   *BasicAuth
		path   string
		user   string
		status int
	}{
		{"the liveness probe", pages, nil, "/healthz", "", 200},
		{"the readiness probe", pages, nil, "/readyz", "", 200},
		{"the metrics", pages, nil, "/metrics", "", 200},
		{"a refusal to sign in", pages, auth, "/", "", 401},
		{"the metrics, signed in", pages, auth, "/metrics", "alice", 200},
		{"a path served by nobody, without pages", nil, nil, "/no-such-page", "", 404},
		{"the probes' wrong method", nil, nil, "/healthz?method=POST", "", 405},
	} {
		srv := httptest.NewServer(New(prometheus.NewRegistry(), readyStub{}, tc.pages, tc.auth))
		method, url := http.MethodGet, srv.URL+tc.path
		if u, ok := strings.CutSuffix(url, "?method=POST"); ok {
			method, url = http.MethodPost, u
		}
		req, _ := http.NewRequest(method, url, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, "Correct-Horse-1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'self'" {
			t.Errorf("%s: Content-Security-Policy %q, want default-src 'self'", tc.name, got)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tc.name, got)
		}
	}
}
