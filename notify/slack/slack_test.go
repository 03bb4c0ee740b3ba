package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

func TestSlackPostsBlockKitAndKeepsTheURLSecret(t *testing.T) {
	var got Payload
	answer, status := "ok", 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/T000/B000/XXXX" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s", r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("not JSON: %s", b)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	hook := srv.URL + "/services/T000/B000/XXXX"
	file := filepath.Join(t.TempDir(), "slack-url")
	if err := os.WriteFile(file, []byte(hook+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{WebhookURLFile: file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := notify.Notice{Key: "incident/ctrp-prod/invalid_client", Kind: "incident", Credential: "ctrp-prod", Environment: "prod", Class: "invalid_client", Summary: "ctrp-prod is refused"}
	if retry, err := s.Notify(context.Background(), n); err != nil || retry {
		t.Fatalf("Notify: %v %v", retry, err)
	}
	if got.Text == "" || len(got.Blocks) != 3 || got.Blocks[0].Type != "header" || got.Blocks[1].Text.Type != "mrkdwn" || !strings.Contains(got.Blocks[1].Text.Text, "ctrp-prod") {
		t.Errorf("payload: %+v", got)
	}

	answer = "invalid_payload"
	if retry, err := s.Notify(context.Background(), n); err == nil || retry {
		t.Errorf("a 200 that is not ok is a failure, not retried: %v %v", retry, err)
	}
	status, answer = 500, "oops"
	retry, err := s.Notify(context.Background(), n)
	if err == nil || !retry {
		t.Errorf("a 500 is retried: %v %v", retry, err)
	}
	status, answer = 400, "no_service: "+hook // a receiver that echoes the URL
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), s, n, hook, "/services/T000/B000/XXXX")
	srv.Close()
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), s, n, hook, "/services/T000/B000/XXXX")
}
