package oauthcheck_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// TestParallelChecksReuseTheirConnections sends bursts of checks to one
// provider side by side, as the daemon does with max_in_flight, and counts
// the connections the provider accepts: the first burst opens one per
// check, and the next ones reuse them instead of dialing again.
func TestParallelChecksReuseTheirConnections(t *testing.T) {
	const inFlight, bursts = 8, 3
	var arrived sync.WaitGroup
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// hold each request until the whole burst is in flight, so that
		// the burst needs inFlight connections at once
		arrived.Done()
		arrived.Wait()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-reuse-0123456789","token_type":"Bearer","expires_in":3600}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	e := oauthcheck.Endpoint{Name: "reuse", TokenURL: srv.URL + "/token", AuthStyle: oauthcheck.AuthStyleHeader}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for burst := range bursts {
		arrived.Add(inFlight)
		var done sync.WaitGroup
		for range inFlight {
			done.Go(func() {
				r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-reuse", Secret: secret.New("Reuse-Secret-000"), Name: "reuse"}, e, time.Time{}, now)
				if r.Class != oauthcheck.ClassOK {
					t.Errorf("burst %d: class %s, want ok", burst, r.Class)
				}
			})
		}
		done.Wait()
	}
	if got := opened.Load(); got != inFlight {
		t.Errorf("%d bursts of %d checks opened %d connections, want %d: the checks after the first burst dialed again instead of reusing the idle connections", bursts, inFlight, got, inFlight)
	}
}
