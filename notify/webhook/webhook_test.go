package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

func TestWebhookIsSigned(t *testing.T) {
	const key = "hmac-key-for-the-siem"
	var got notify.Notice
	var verified bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(TimestampHeader)
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			t.Errorf("timestamp %q", ts)
		}
		verified = hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign([]byte(key), ts, body)))
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "hmac")
	_ = os.WriteFile(file, []byte(key), 0o600)
	w, err := New(Config{URL: srv.URL, HMACSecretFile: file}, nil, clockwork.NewFakeClockAt(time.Unix(1795435200, 0)))
	if err != nil {
		t.Fatal(err)
	}
	n := notify.Notice{Key: "reminder/ctrp-stage/2027-03-01/14d", Kind: "reminder", Credential: "ctrp-stage", DaysLeft: 14, Summary: "s"}
	if _, err := w.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if !verified || got.Key != n.Key || got.DaysLeft != 14 {
		t.Errorf("verified %v, notice %+v", verified, got)
	}
	// The signature covers the timestamp: a replayed body with another one fails.
	if Sign([]byte(key), "1795435201", []byte("{}")) == Sign([]byte(key), "1795435200", []byte("{}")) {
		t.Error("the timestamp is not signed")
	}
}

// A receiver that refuses, echoing the key, or that is down: the error
// shows neither the HMAC key nor the URL's secret path.
func TestWebhookFailuresLeakNoSecret(t *testing.T) {
	const key = "hmac-key-for-the-siem"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "bad signature for key "+key+" at "+r.URL.Path)
	}))
	file := filepath.Join(t.TempDir(), "hmac")
	_ = os.WriteFile(file, []byte(key), 0o600)
	hook := srv.URL + "/hooks/s3cr3t-path-token"
	w, err := New(Config{URL: hook, HMACSecretFile: file}, nil, clockwork.NewFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	n := notify.Notice{Key: "k", Kind: "test", Credential: "c", Summary: "s"}
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), w, n, key, "s3cr3t-path-token")
	srv.Close()
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), w, n, key, "s3cr3t-path-token")
}
