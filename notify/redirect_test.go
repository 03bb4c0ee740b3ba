package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/pagerduty"
	"github.com/credkeeper/credkeeper/notify/slack"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// Every HTTP channel takes a redirect as a failure: a 302 would turn the
// POST into an empty GET that counts as delivered, and a 307 would carry
// the notice and its secret (a routing key, a webhook URL's token) to
// another host. The error says what happened without naming where the
// redirect pointed.
func TestNoChannelFollowsARedirect(t *testing.T) {
	const secret = "R0UTINGKEY0123456789abcdef012345"
	writeFile := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		status  int
		channel func(t *testing.T, url string) notify.Notifier
	}{
		{name: "a webhook answering 302 is not delivered", status: http.StatusFound, channel: func(t *testing.T, url string) notify.Notifier {
			n, err := webhook.New(webhook.Config{URL: url + "/hook/" + secret}, nil, clockwork.NewFakeClock())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{name: "a webhook answering 307 sends nothing to the other host", status: http.StatusTemporaryRedirect, channel: func(t *testing.T, url string) notify.Notifier {
			n, err := webhook.New(webhook.Config{URL: url + "/hook/" + secret}, nil, clockwork.NewFakeClock())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{name: "Slack answering 301 is not delivered", status: http.StatusMovedPermanently, channel: func(t *testing.T, url string) notify.Notifier {
			n, err := slack.New(slack.Config{WebhookURLFile: writeFile(t, url+"/services/T0/B0/"+secret)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{name: "PagerDuty's events URL answering 307 never carries the routing key elsewhere", status: http.StatusTemporaryRedirect, channel: func(t *testing.T, url string) notify.Notifier {
			n, err := pagerduty.New(pagerduty.Config{RoutingKeyFile: writeFile(t, secret), EventsURL: url}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reached atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte("ok"))
			}))
			defer other.Close()
			moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, tc.status)
			}))
			defer moved.Close()
			retry, err := tc.channel(t, moved.URL).Notify(context.Background(), notify.Notice{Key: "incident/x/invalid_client", Kind: notify.KindIncident, Page: true})
			if err == nil {
				t.Fatal("the redirect counted as a delivery")
			}
			if retry {
				t.Errorf("a redirect is retried: %v", err)
			}
			if n := reached.Load(); n != 0 {
				t.Errorf("the redirect's target got %d requests", n)
			}
			msg := err.Error()
			if !strings.Contains(msg, "redirect") || strings.Contains(msg, secret) || strings.Contains(msg, strings.TrimPrefix(other.URL, "http://")) {
				t.Errorf("the error %q should say a redirect was refused, without the secret or where it pointed", msg)
			}
			if got := notify.Reason(err); got != notify.ReasonRejected {
				t.Errorf("reason %q, want %q", got, notify.ReasonRejected)
			}
		})
	}
}
