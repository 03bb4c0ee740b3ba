package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// settle waits until every delivery of p waits on the clock, and returns
// the earliest moment one wakes.
func settle(t *testing.T, p *notify.Pipeline, clock *clockwork.FakeClock, held func() int) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recheck := time.NewTicker(time.Millisecond)
	defer recheck.Stop()
	wake, err := p.WaitSettled(ctx, clock, held, recheck.C)
	if err != nil {
		t.Fatal("the deliveries never settled")
	}
	return wake
}

// The send stage delivers every channel on its own: with one channel
// broken, the other has the notice before the clock has moved at all, and
// the broken one gives up at its own deadline, saying why.
func TestABrokenChannelNeverHoldsBackAnother(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broken func(*notifytest.Receiver) string // breaks it; returns the URL to post to
		reason string
	}{
		{"a channel answering 500 forever", func(r *notifytest.Receiver) string { r.Fail(http.StatusInternalServerError); return r.URL }, notify.ReasonServerError},
		{"a channel that hangs until the sender gives up", func(r *notifytest.Receiver) string { r.Hang(true); return r.URL }, notify.ReasonTimeout},
		{"a channel that is down", func(*notifytest.Receiver) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL
		}, notify.ReasonRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sl, pd := notifytest.StartReceiver(t), notifytest.StartReceiver(t)
			clock := clockwork.NewFakeClock()
			slack, err := webhook.New(webhook.Config{URL: tc.broken(sl) + "/sl"}, nil, clock)
			if err != nil {
				t.Fatal(err)
			}
			pager, err := webhook.New(webhook.Config{URL: pd.URL + "/pd"}, nil, clock)
			if err != nil {
				t.Fatal(err)
			}
			start := clock.Now()
			var failed []string
			p := &notify.Pipeline{Clock: clock, Observe: func(channel, kind string, err error, at time.Time) {
				if err != nil {
					failed = append(failed, channel+" "+notify.Reason(err))
				}
			}}
			d := p.Announce(context.Background(), []string{"sl", "pd"}, map[string]notify.Notifier{"sl": slack, "pd": pager},
				notify.Notice{Key: "incident/ctrp-prod/invalid_client", Kind: notify.KindIncident, Page: true, At: start})
			settle(t, p, clock, sl.Held)
			if got := len(pd.Bodies()); got != 1 || !clock.Now().Equal(start) {
				t.Fatalf("the page: %d delivered by %v, want one at once", got, clock.Since(start))
			}
			for {
				wake := settle(t, p, clock, sl.Held)
				if wake.IsZero() {
					break
				}
				clock.Advance(wake.Sub(clock.Now()))
			}
			err = d.Wait()
			if err == nil || notify.Reason(err) != tc.reason {
				t.Errorf("the broken channel's error: %v (reason %q), want reason %q", err, notify.Reason(err), tc.reason)
			}
			if len(failed) != 1 || failed[0] != "sl "+tc.reason {
				t.Errorf("failures observed: %q, want one on sl", failed)
			}
			if spent := clock.Since(start); spent > notify.DefaultSendTimeout {
				t.Errorf("the broken channel was tried for %v, past its own deadline of %v", spent, notify.DefaultSendTimeout)
			}
		})
	}
}
