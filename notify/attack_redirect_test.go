package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/pagerduty"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// ATTACK: notify channels are built with http.DefaultClient (internal/app
// passes nil), which follows redirects. (1) A webhook URL that answers a
// 301/302 (http moved to https, a load balancer) has the POST turned into
// a GET without the notice; the target answers 200 and the notice counts
// as delivered: it is marked sent and never arrives. (2) A 307 to another
// host carries the notice, its signature and PagerDuty's routing key there.
func TestAttackNotifierFollowsRedirects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("302 turns the POST into an empty GET that counts as delivered", func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r.Method+" "+string(b))
			mu.Unlock()
			w.WriteHeader(200)
		}))
		defer target.Close()
		moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/hook", http.StatusFound)
		}))
		defer moved.Close()
		hook, err := webhook.New(webhook.Config{URL: moved.URL + "/hook"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		retry, err := hook.Notify(ctx, notify.Notice{Key: "incident/x/invalid_client", Kind: notify.KindIncident})
		t.Logf("Notify: retry=%v err=%v; the target saw %q", retry, err, got)
		if err == nil && (len(got) == 0 || !strings.Contains(got[0], "incident/x")) {
			t.Errorf("the notice counts as delivered, but no receiver got it (the target saw %q)", got)
		}
	})

	t.Run("307 to another host carries PagerDuty's routing key there", func(t *testing.T) {
		const routingKey = "R0UTINGKEY0123456789abcdef012345"
		var mu sync.Mutex
		var stolen string
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			stolen = string(b)
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"k"}`))
		}))
		defer other.Close()
		events := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		defer events.Close()
		keyFile := filepath.Join(t.TempDir(), "rk")
		if err := os.WriteFile(keyFile, []byte(routingKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		pd, err := pagerduty.New(pagerduty.Config{RoutingKeyFile: keyFile, EventsURL: events.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pd.Notify(ctx, notify.Notice{Key: "incident/x/invalid_client", Kind: notify.KindIncident, Page: true})
		t.Logf("Notify: err=%v", err)
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(stolen, routingKey) {
			t.Errorf("the routing key went to the redirect's host %s: %.200s", other.URL, stolen)
		}
	})
}
