package testutil

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// CountingProxy is an HTTP reverse proxy on loopback in front of a real
// server (Vault) that counts the requests passing through it, reads
// (GET, LIST, or GET with list=true) apart from the rest, so that a test
// or benchmark can say how many requests a piece of work costs at the
// wire, whatever client sent them.
type CountingProxy struct {
	srv           *httptest.Server
	reads, writes atomic.Int64
}

// NewCountingProxy forwards to target (a base URL such as
// http://127.0.0.1:8200) until the test ends.
func NewCountingProxy(t testing.TB, target string) *CountingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	p := &CountingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "LIST" || r.Method == http.MethodGet {
			p.reads.Add(1)
		} else {
			p.writes.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL, to give the client instead of the target's.
func (p *CountingProxy) URL() string { return p.srv.URL }

// Reads is how many GET and LIST requests have passed.
func (p *CountingProxy) Reads() int64 { return p.reads.Load() }

// Writes is how many other requests (PUT, POST, DELETE…) have passed.
func (p *CountingProxy) Writes() int64 { return p.writes.Load() }
