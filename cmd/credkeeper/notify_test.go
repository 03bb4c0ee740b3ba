package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// receiver is a webhook endpoint that verifies signatures and keeps
// notices, with the path each came to (a channel per path).
type receiver struct {
	mu      sync.Mutex
	notices []notify.Notice
	paths   []string
	bodies  []string
	bad     int
	delay   time.Duration
}

func newReceiver(t *testing.T, key string) (*receiver, string) {
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		if req.Header.Get(webhook.SignatureHeader) != webhook.Sign([]byte(key), req.Header.Get(webhook.TimestampHeader), body) {
			r.bad++
		}
		var n notify.Notice
		_ = json.Unmarshal(body, &n)
		r.notices = append(r.notices, n)
		r.paths = append(r.paths, req.URL.Path)
		r.bodies = append(r.bodies, string(body))
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay) // a slow endpoint: it has the notice before the sender hears so
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// answerAfter makes the receiver answer each notice d after it has it.
func (r *receiver) answerAfter(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// delivered counts the notices received by "channel key", the channel
// being the path they came to.
func (r *receiver) delivered() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[string]int{}
	for i, n := range r.notices {
		got[strings.TrimPrefix(r.paths[i], "/")+" "+n.Key]++
	}
	return got
}

// count is how many times the notice key came to path "/"+channel.
func (r *receiver) count(channel, key string) int { return r.delivered()[channel+" "+key] }

// snapshot is a copy of what the receiver got, taken under its lock: the
// daemon may still be posting.
func (r *receiver) snapshot() (notices []notify.Notice, bodies []string, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notices), slices.Clone(r.bodies), r.bad
}

func (r *receiver) kinds() []string {
	notices, _, _ := r.snapshot()
	return kindsOf(notices)
}

func kindsOf(notices []notify.Notice) []string {
	var out []string
	for _, n := range notices {
		out = append(out, n.Kind+" "+n.Key)
	}
	return out
}

func TestNotifyTestCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CREDKEEPER_CONFIG", "")
	const key = "Webhook-HMAC-Key-42"
	keyFile := filepath.Join(t.TempDir(), "hmac")
	_ = os.WriteFile(keyFile, []byte(key), 0o600)
	recv, url := newReceiver(t, key)
	writeConfig(t, "notifier \"webhook\" \"siem\" {\n  url = \""+url+"\"\n  hmac_secret_file = \""+keyFile+"\"\n}\n")

	r := credkeeper(t, "", "notify", "test", "siem")
	if r.code != 0 || r.stdout != "Sent a test notice through siem.\n" {
		t.Fatalf("notify test: %d %q %q", r.code, r.stdout, r.stderr)
	}
	_, bodies, bad := recv.snapshot()
	if k := recv.kinds(); len(k) != 1 || !strings.HasPrefix(k[0], "test test/siem/") || bad != 0 {
		t.Errorf("received %v (bad signatures %d)", k, bad)
	}
	if r := credkeeper(t, "", "notify", "test", "nope"); r.code != 1 || !strings.Contains(r.stderr, `no notifier named "nope"`) {
		t.Errorf("unknown notifier: %d %q", r.code, r.stderr)
	}
	if len(bodies) > 0 && strings.Contains(bodies[0], key) {
		t.Error("the HMAC key is in the notice")
	}
}
