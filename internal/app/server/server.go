package server

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness says whether the daemon can do its work, and as what.
type Readiness interface {
	// Ready returns this replica's role ("leader" or "standby") or why it
	// is not ready.
	Ready(ctx context.Context) (role string, err error)
}

// New returns the handler for the daemon's endpoints; pages, when not
// nil, serves every other path. With auth, /metrics and the pages ask for
// a user and password; /healthz and /readyz stay open for probes. Every
// answer carries the security headers (SecurityHeaders).
func New(reg *prometheus.Registry, ready Readiness, pages http.Handler, auth *BasicAuth) http.Handler {
	guard := func(h http.Handler) http.Handler {
		if auth == nil {
			return h
		}
		return auth.Wrap(h)
	}
	mux := http.NewServeMux()
	if pages != nil {
		mux.Handle("/", guard(pages))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		role, err := ready.Ready(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "role": role})
	})
	mux.Handle("GET /metrics", guard(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	for _, endpoint := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.HandleFunc(endpoint, func(w http.ResponseWriter, r *http.Request) { // another method than GET (or HEAD)
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " is not served at " + endpoint + ": read it with GET"})
		})
	}
	return SecurityHeaders(cleanAPIPaths(mux))
}

// cleanAPIPaths answers an unclean path under /api/ (a doubled slash, a
// dot segment) in JSON, as the API answers everything: 404, naming the
// clean path to ask for, where the mux would redirect with an HTML body.
func cleanAPIPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/api/") {
			clean := path.Clean(p)
			if strings.HasSuffix(p, "/") && clean != "/" {
				clean += "/"
			}
			if clean != p {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "nothing is served at an unclean path: ask for " + clean})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ContentSecurityPolicy lets a page load only what the daemon serves: no
// inline script, no other origin.
const ContentSecurityPolicy = "default-src 'self'"

// SecurityHeaders sets the Content-Security-Policy and nosniff headers on
// every answer of next, before next writes anything: an error page or a
// refusal carries them as a page does.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
