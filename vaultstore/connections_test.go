package vaultstore_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// TestParallelReadsReuseTheirConnections reads from Vault in bursts side
// by side, as the daemon's parallel checks do, through a proxy that holds
// each burst until all of it is in flight and counts the connections the
// store opens: the first burst opens one per read, the next ones reuse
// them instead of dialing again.
func TestParallelReadsReuseTheirConnections(t *testing.T) {
	const inFlight, bursts = 8, 3
	env := vaulttest.New(t)
	target, err := url.Parse(env.Addr)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var arrived sync.WaitGroup
	var opened atomic.Int64
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/state/reuse") { // a read of the bursts
			arrived.Done()
			arrived.Wait()
		}
		rp.ServeHTTP(w, r)
	}))
	proxy.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	proxy.Start()
	defer proxy.Close()

	cfg := env.Config()
	cfg.Address = proxy.URL
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	opened.Store(0) // Open's own requests are not part of the bursts
	for burst := range bursts {
		arrived.Add(inFlight)
		var done sync.WaitGroup
		for range inFlight {
			done.Go(func() {
				if _, err := store.GetState(context.Background(), "reuse"); err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
					t.Errorf("burst %d: %v", burst, err)
				}
			})
		}
		done.Wait()
	}
	if got := opened.Load(); got > inFlight {
		t.Errorf("%d bursts of %d reads opened %d connections, want at most %d: the reads after the first burst dialed again instead of reusing the idle connections", bursts, inFlight, got, inFlight)
	}
}
