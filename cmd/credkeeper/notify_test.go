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

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// receiver is a webhook endpoint that verifies signatures and keeps notices.
type receiver struct {
	mu      sync.Mutex
	notices []notify.Notice
	bodies  []string
	bad     int
}

func newReceiver(t *testing.T, key string) (*receiver, string) {
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Header.Get(webhook.SignatureHeader) != webhook.Sign([]byte(key), req.Header.Get(webhook.TimestampHeader), body) {
			r.bad++
		}
		var n notify.Notice
		_ = json.Unmarshal(body, &n)
		r.notices = append(r.notices, n)
		r.bodies = append(r.bodies, string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

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
