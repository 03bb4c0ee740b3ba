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

// Beside the status page, the daemon's own endpoints refuse another
// method with 405, and an unclean path under /api/ is answered in JSON, as
// the API answers everything, never with an HTML redirect.
func TestOddMethodsAndUncleanAPIPathsAreAnsweredPlainly(t *testing.T) {
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<p>nothing here</p>"))
	})
	srv := httptest.NewServer(New(prometheus.NewRegistry(), readyStub{}, pages, nil))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, method, path string
		status             int
		json               bool
	}{
		{name: "POST to the liveness probe is refused as a method", method: "POST", path: "/healthz", status: 405, json: true},
		{name: "POST to the metrics is refused as a method", method: "POST", path: "/metrics", status: 405, json: true},
		{name: "DELETE of the readiness probe is refused as a method", method: "DELETE", path: "/readyz", status: 405, json: true},
		{name: "a doubled slash under /api/ is a JSON 404", method: "GET", path: "/api/v1//credentials", status: 404, json: true},
		{name: "a dot segment under /api/ is a JSON 404", method: "GET", path: "/api/v1/credentials/a/../nope", status: 404, json: true},
		{name: "the liveness probe still answers GET", method: "GET", path: "/healthz", status: 200, json: true},
		{name: "a page path is still the pages'", method: "GET", path: "/no-such-page", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%d, want %d", resp.StatusCode, tc.status)
			}
			if got := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"); got != tc.json {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}
