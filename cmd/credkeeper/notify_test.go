package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

func (r *receiver) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notices {
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
	if k := recv.kinds(); len(k) != 1 || !strings.HasPrefix(k[0], "test test/siem/") || recv.bad != 0 {
		t.Errorf("received %v (bad signatures %d)", k, recv.bad)
	}
	if r := credkeeper(t, "", "notify", "test", "nope"); r.code != 1 || !strings.Contains(r.stderr, `no notifier named "nope"`) {
		t.Errorf("unknown notifier: %d %q", r.code, r.stderr)
	}
	if strings.Contains(recv.bodies[0], key) {
		t.Error("the HMAC key is in the notice")
	}
}
