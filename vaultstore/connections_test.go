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

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// connCounter is a proxy in front of the real Vault that counts the
// connections a store opens to it; hold, when set, runs before each
// request is forwarded; answer, when set and it returns true, has
// answered the request itself.
type connCounter struct {
	opened atomic.Int64
	hold   func(*http.Request)
	answer func(w http.ResponseWriter, r *http.Request, proxy string) bool
}

func (c *connCounter) store(t *testing.T) *vaultstore.Store {
	t.Helper()
	env := vaulttest.New(t)
	target, err := url.Parse(env.Addr)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.hold != nil {
			c.hold(r)
		}
		if c.answer != nil && c.answer(w, r, "http://"+r.Host) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	proxy.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.opened.Add(1)
		}
	}
	proxy.Start()
	t.Cleanup(proxy.Close)
	cfg := env.Config()
	cfg.Address = proxy.URL
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// TestACheckReusesItsConnection makes the requests of a check one after
// the other (the metadata read, the secret read, the state write and
// read) and counts the connections they open: one, whatever each answer's
// decoder left unread.
func TestACheckReusesItsConnection(t *testing.T) {
	var c connCounter
	store := c.store(t)
	ctx := context.Background()
	if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: "reuse", ClientID: "0oa-reuse", ClientSecret: secret.New("Reuse-Secret-000"),
		Metadata: vaultstore.CredentialMetadata{Provider: "p"}}, 0); err != nil {
		t.Fatal(err)
	}
	c.opened.Store(0)
	version := 0
	for range 10 {
		if _, err := store.CredentialInfo(ctx, "reuse"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetCredential(ctx, "reuse"); err != nil {
			t.Fatal(err)
		}
		v, err := store.PutState(ctx, "reuse", &vaultstore.State{LastClass: "ok"}, version)
		if err != nil {
			t.Fatal(err)
		}
		version = v
		if _, err := store.GetState(ctx, "reuse"); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.opened.Load(); got > 1 {
		t.Errorf("40 requests one after the other opened %d connections, want 1: an answer closed before its end took its connection with it", got)
	}
}

// TestParallelReadsReuseTheirConnections reads from Vault in bursts side
// by side, as the daemon's parallel checks do, through a proxy that holds
// each burst until all of it is in flight: the first burst opens one
// connection per read, the next ones reuse them instead of dialing again.
func TestParallelReadsReuseTheirConnections(t *testing.T) {
	const inFlight, bursts = 8, 3
	var arrived sync.WaitGroup
	c := connCounter{hold: func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/state/reuse") { // a read of the bursts
			arrived.Done()
			arrived.Wait()
		}
	}}
	store := c.store(t)
	c.opened.Store(0) // Open's own requests are not part of the bursts
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
	if got := c.opened.Load(); got > inFlight {
		t.Errorf("%d bursts of %d reads opened %d connections, want at most %d: the reads after the first burst dialed again instead of reusing the idle connections", bursts, inFlight, got, inFlight)
	}
}

// A Vault that redirects a write (a standby pointing at the active node,
// a proxy) gets the whole record again at the new address: the body the
// client rebuilds for a redirect is the record, not null.
func TestARedirectedWriteSendsItsRecordAgain(t *testing.T) {
	var redirected atomic.Int64
	c := connCounter{answer: func(w http.ResponseWriter, r *http.Request, proxy string) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/data/") && redirected.Add(1) == 1 {
			w.Header().Set("Location", proxy+r.URL.Path)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return true
		}
		return false
	}}
	store := c.store(t)
	ctx := context.Background()
	if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: "moved", ClientID: "0oa-moved", ClientSecret: secret.New("Moved-Secret-000"),
		Metadata: vaultstore.CredentialMetadata{Provider: "p"}}, 0); err != nil {
		t.Fatalf("a write redirected once: %v", err)
	}
	if redirected.Load() < 2 {
		t.Fatalf("the write was not redirected (%d PUTs seen)", redirected.Load())
	}
	got, err := store.GetCredential(ctx, "moved")
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "0oa-moved" || got.ClientSecret.Reveal() != "Moved-Secret-000" {
		t.Errorf("the redirected write stored client ID %q and a secret of %d bytes", got.ClientID, len(got.ClientSecret.Reveal()))
	}
}
