package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/webhook"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// A webhook receiver that goes away: every notice due after it is counted
// as a failure with its reason, and the channel's last success stands
// still, so that the rule on it can fire; the status page's record says
// the same.
func TestDeliveryFailuresAreCounted(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	// The deliveries retry in real time until their one-second deadline.
	clock := clockwork.NewRealClock()
	hook, err := webhook.New(webhook.Config{URL: receiver.URL}, receiver.Client(), clock)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	eng := &daemon.Notifications{Store: store, Config: cfg, Replica: "replica-1", SendTimeout: time.Second, ClaimTimeout: time.Hour,
		Channels: map[string]notify.Notifier{"security": hook, "oncall": &inbox{}}, Observe: m.NoticeDelivered, Clock: clock}

	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	tick := func(now time.Time) error {
		return eng.Tick(context.Background(), daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline,
			State: vaultstore.State{LastClass: "ok"}}, now)
	}
	first := deadline.Add(-60 * 24 * time.Hour)
	if err := tick(first); err != nil {
		t.Fatalf("the 60-day reminder: %v", err)
	}
	security := map[string]string{"channel": "security"}
	lastSuccess := metricValue(t, m, "credkeeper_notice_last_success_timestamp_seconds", security)
	if lastSuccess != float64(first.Unix()) {
		t.Fatalf("last success %v, want %v", lastSuccess, first.Unix())
	}

	receiver.Close() // the webhook goes away
	for i, days := range []int{30, 14, 7} {
		if err := tick(deadline.Add(-time.Duration(days) * 24 * time.Hour)); err == nil {
			t.Fatalf("the %d-day reminder was delivered to a closed receiver", days)
		}
		if got := metricValue(t, m, "credkeeper_notice_failures_total", map[string]string{"channel": "security", "reason": "refused"}); got < float64(i+1) {
			t.Errorf("after %d failed reminders: credkeeper_notice_failures_total{channel=security,reason=refused} = %v", i+1, got)
		}
	}
	if got := metricValue(t, m, "credkeeper_notice_last_success_timestamp_seconds", security); got != lastSuccess {
		t.Errorf("the last success moved to %v without a success", got)
	}
	if got := metricValue(t, m, "credkeeper_notices_total", map[string]string{"channel": "security", "kind": "reminder"}); got != 1 {
		t.Errorf("credkeeper_notices_total{channel=security,kind=reminder} = %v, want 1", got)
	}
	chans := m.Channels()
	if len(chans) != 1 || chans[0].Name != "security" || chans[0].Reason != "refused" || !chans[0].LastSuccess.Equal(first) || chans[0].Failed < 3 ||
		!strings.Contains(chans[0].LastError, "refused") {
		t.Errorf("channel record: %+v", chans)
	}
}

// metricValue reads one series of the registry (0 when absent).
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			switch {
			case s.GetCounter() != nil:
				return s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				return s.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// hookReceiver is a webhook receiver that keeps what it is sent, per path,
// with the (fake) time it arrived. Each path can be told to fail: to
// answer 503 (down), 500 forever, or to hang, holding the request until
// the sender gives it up (its context ends).
type hookReceiver struct {
	now   func() time.Time
	mu    sync.Mutex
	mode  receiverMode            // every path's, unless modes names it
	modes map[string]receiverMode // by path
	held  int                     // requests hanging now
	got   []received
}

// receiverMode is how a hookReceiver answers.
type receiverMode int

const (
	receiverUp        receiverMode = iota // 204, and the notice is kept
	receiverDown                          // 503
	receiverFailing                       // 500, forever
	receiverHanging                       // no answer until the request's context ends
	receiverUnchanged                     // setPathMode: back to the receiver's mode
)

type received struct {
	path, key string
	at        time.Time
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n notify.Notice
	_ = json.NewDecoder(r.Body).Decode(&n)
	h.mu.Lock()
	mode, ok := h.modes[r.URL.Path]
	if !ok {
		mode = h.mode
	}
	switch mode {
	case receiverDown:
		h.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	case receiverFailing:
		h.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	case receiverHanging:
		h.held++
		h.mu.Unlock()
		<-r.Context().Done()
		h.mu.Lock()
		h.held--
		h.mu.Unlock()
	default:
		h.got = append(h.got, received{path: r.URL.Path, key: n.Key, at: h.now()})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *hookReceiver) setDown(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mode = receiverUp
	if down {
		h.mode = receiverDown
	}
}

// setPathMode makes one path answer as mode says.
func (h *hookReceiver) setPathMode(path string, mode receiverMode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.modes == nil {
		h.modes = map[string]receiverMode{}
	}
	if mode == receiverUnchanged {
		delete(h.modes, path)
		return
	}
	h.modes[path] = mode
}

// hanging is how many requests the receiver holds open now.
func (h *hookReceiver) hanging() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

func (h *hookReceiver) deliveries() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// count is how many times key reached path.
func (h *hookReceiver) count(path, key string) int {
	n := 0
	for _, r := range h.deliveries() {
		if r.path == path && r.key == key {
			n++
		}
	}
	return n
}

// The fault: the webhook is down for an hour in which three notices fall
// due: two reminder tiers at midnight and, twenty minutes later, a
// production credential refused. Every one is delivered once after it comes
// back, each credential's in the order they fell due, and the failures
// counter and the last-success timestamp show the hour.
func TestAWebhookDownForAnHourDeliversEveryNoticeAfterInOrder(t *testing.T) {
	f := newFakeTime(t)
	h := &hookReceiver{now: f.Now}
	recv := httptest.NewServer(h)
	t.Cleanup(recv.Close)
	w := credtest.NewWorld(t, func(string) string {
		return fmt.Sprintf(`
notifier "webhook" "security" {
  url = "%[1]s/security"
}
notifier "webhook" "oncall" {
  url = "%[1]s/oncall"
}
credential "alpha" {
  provider = "okta-prod"
  check    = "@every 10m"
  notify   = ["security"]
  page     = ["oncall"]
}
credential "beta" {
  provider = "okta-stage"
  check    = "@every 10m"
  notify   = ["security"]
}
`, recv.URL)
	}, func(o *emulator.Options) { o.Clock = f.fc })
	day := 24 * time.Hour
	midnight := f.Now().Truncate(day).Add(day)
	// At midnight alpha's 14-day tier and beta's 7-day tier fall due.
	alphaBy, betaBy := midnight.Add(14*day), midnight.Add(7*day)
	for _, c := range []struct {
		name, provider, env string
		by                  time.Time
	}{{"alpha", "okta-prod", "prod", alphaBy}, {"beta", "okta-stage", "stage", betaBy}} {
		w.Emu.AddClient(emulator.Client{ID: "0oa-" + c.name, Secrets: []string{"Secret-Of-" + c.name}})
		if _, err := w.Store.PutCredential(context.Background(), &vaultstore.Credential{Name: c.name, ClientID: "0oa-" + c.name, ClientSecret: secret.New("Secret-Of-" + c.name),
			Metadata: vaultstore.CredentialMetadata{Provider: c.provider, Environment: c.env, RotateBy: c.by}}, 0); err != nil {
			t.Fatal(err)
		}
	}

	m := metrics.New()
	channels := map[string]notify.Notifier{}
	for _, name := range []string{"security", "oncall"} {
		hook, err := webhook.New(webhook.Config{URL: recv.URL + "/" + name}, recv.Client(), f.fc)
		if err != nil {
			t.Fatal(err)
		}
		channels[name] = hook
	}
	f.start(w.Store, w.Cfg, "replica-1", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-1", Logger: d.Logger, Channels: channels, Observe: m.NoticeDelivered,
			SendTimeout: 100 * time.Millisecond}
	})
	f.advanceTo(midnight.Add(-10 * time.Minute))
	before := len(h.deliveries()) // the tiers due at the start: 30 days for alpha, 14 for beta
	if before != 2 {
		t.Fatalf("before midnight: %v, want alpha's 30-day and beta's 14-day reminders", h.deliveries())
	}

	h.setDown(true)
	downAt := f.Now()
	f.advanceTo(midnight.Add(20 * time.Minute))
	w.Emu.AddClient(emulator.Client{ID: "0oa-alpha", Secrets: []string{"Another-Secret"}}) // alpha's secret revoked at the provider
	f.advanceTo(downAt.Add(time.Hour))
	if got := len(h.deliveries()); got != before {
		t.Fatalf("delivered while down: %v", h.deliveries()[before:])
	}
	failures := metricValue(t, m, "credkeeper_notice_failures_total", map[string]string{"channel": "security", "reason": "server_error"})
	lastSuccess := metricValue(t, m, "credkeeper_notice_last_success_timestamp_seconds", map[string]string{"channel": "security"})
	if failures < 3 || lastSuccess >= float64(downAt.Unix()) {
		t.Errorf("after the hour down: %v server_error failures on security (want one or more per notice due), last success %v (before %v)",
			failures, time.Unix(int64(lastSuccess), 0).UTC(), downAt)
	}

	h.setDown(false)
	upAt := f.Now()
	f.advance(3 * time.Hour)
	var keys []string
	for _, r := range h.deliveries()[before:] {
		keys = append(keys, r.path+" "+r.key)
		if r.at.Before(upAt) {
			t.Errorf("%s delivered at %v, while down", r.key, r.at)
		}
	}
	alphaReminder := "/security reminder/alpha/" + alphaBy.Format("2006-01-02") + "/14d"
	want := []string{
		alphaReminder,
		"/security reminder/beta/" + betaBy.Format("2006-01-02") + "/7d",
		"/security incident/alpha/invalid_client",
		"/oncall incident/alpha/invalid_client",
	}
	if !sameItems(keys, want) {
		t.Errorf("after the webhook came back:\n got %q\nwant %q, each once", keys, want)
	}
	if i, j := slices.Index(keys, alphaReminder), slices.Index(keys, "/security incident/alpha/invalid_client"); i > j {
		t.Errorf("alpha's incident went out before its reminder, which fell due first: %q", keys)
	}
	if got := metricValue(t, m, "credkeeper_notice_last_success_timestamp_seconds", map[string]string{"channel": "security"}); got < float64(upAt.Unix()) {
		t.Errorf("last success %v, want after %v: a notice retried after an outage is delivered when it is sent", time.Unix(int64(got), 0).UTC(), upAt)
	}
	if got := metricValue(t, m, "credkeeper_notices_total", map[string]string{"channel": "oncall", "kind": "incident"}); got != 1 {
		t.Errorf("credkeeper_notices_total{channel=oncall,kind=incident} = %v, want 1", got)
	}
}

func sameItems(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The fault as filed: a production credential refused by its provider,
// notify = ["sl"], page = ["pd"], and the notify channel broken. Every
// channel is delivered on its own, with its own deadline, retries and
// failure record: the page goes out within one retry interval of the check
// that found the failure, whatever the broken channel does, and the broken
// channel's notice goes out once, when it recovers.
func TestAFailingChannelNeverHoldsBackThePage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   receiverMode
		reason string // what the broken channel's failures are counted as
	}{
		{"the notify channel is down for an hour (503)", receiverDown, notify.ReasonServerError},
		{"the notify channel answers 500 for an hour", receiverFailing, notify.ReasonServerError},
		{"the notify channel hangs for an hour, until each request gives up", receiverHanging, notify.ReasonTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTime(t)
			h := &hookReceiver{now: f.Now}
			recv := httptest.NewServer(h)
			t.Cleanup(recv.Close)
			f.hold(h.hanging)
			w := credtest.NewWorld(t, func(string) string {
				return fmt.Sprintf(`
notifier "webhook" "sl" {
  url = "%[1]s/sl"
}
notifier "webhook" "pd" {
  url = "%[1]s/pd"
}
credential "ctrp-prod" {
  provider = "okta-prod"
  check    = "@every 10m"
  notify   = ["sl"]
  page     = ["pd"]
}
`, recv.URL)
			}, func(o *emulator.Options) { o.Clock = f.fc })
			w.Emu.AddClient(emulator.Client{ID: "0oa-prod", Secrets: []string{"Secret-Of-Prod"}})
			if _, err := w.Store.PutCredential(context.Background(), &vaultstore.Credential{Name: "ctrp-prod", ClientID: "0oa-prod", ClientSecret: secret.New("Secret-Of-Prod"),
				Metadata: vaultstore.CredentialMetadata{Provider: "okta-prod", Environment: "prod", RotateBy: f.Now().AddDate(0, 0, 200)}}, 0); err != nil {
				t.Fatal(err)
			}
			channels := map[string]notify.Notifier{}
			for _, name := range []string{"sl", "pd"} {
				hook, err := webhook.New(webhook.Config{URL: recv.URL + "/" + name}, recv.Client(), f.fc)
				if err != nil {
					t.Fatal(err)
				}
				channels[name] = hook
			}
			m := metrics.New()
			f.start(w.Store, w.Cfg, "replica-1", func(d *daemon.Daemon) {
				d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-1", Logger: d.Logger, Channels: channels, Observe: m.NoticeDelivered}
			})
			f.advance(20 * time.Minute) // checked, and fine

			brokenAt := f.Now()
			h.setPathMode("/sl", tc.mode)
			w.Emu.AddClient(emulator.Client{ID: "0oa-prod", Secrets: []string{"Another-Secret"}}) // revoked at the provider
			f.advance(15 * time.Minute)
			const incident = "incident/ctrp-prod/invalid_client"
			st, err := w.Store.GetState(context.Background(), "ctrp-prod")
			if err != nil || st.RejectedAt.IsZero() {
				t.Fatalf("the refusal was not recorded: %+v %v", st, err)
			}
			var paged []time.Time
			for _, r := range h.deliveries() {
				if r.path == "/pd" && r.key == incident {
					paged = append(paged, r.at)
				}
			}
			if len(paged) != 1 || paged[0].Sub(st.RejectedAt) > notify.FirstBackoff {
				t.Fatalf("the page went out at %v, want once within %v of the check at %v", paged, notify.FirstBackoff, st.RejectedAt)
			}
			if n := h.count("/sl", incident); n != 0 {
				t.Fatalf("the broken channel took the notice %d times", n)
			}
			l, err := w.Store.GetLedger(context.Background(), "ctrp-prod")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Entries {
				switch {
				case e.Channel == "pd" && e.SentAt.IsZero():
					t.Errorf("the page is not marked sent: %+v", e)
				case e.Channel == "sl" && (!e.SentAt.IsZero() || e.LastError == ""):
					t.Errorf("the broken channel's entry should say why it is unsent: %+v", e)
				}
			}

			f.advanceTo(brokenAt.Add(time.Hour))
			if n := h.count("/sl", incident); n != 0 {
				t.Fatalf("the broken channel took the notice %d times", n)
			}
			if got := metricValue(t, m, "credkeeper_notice_failures_total", map[string]string{"channel": "sl", "reason": tc.reason}); got < 1 {
				t.Errorf("credkeeper_notice_failures_total{channel=sl,reason=%s} = %v after an hour broken", tc.reason, got)
			}
			if got := metricValue(t, m, "credkeeper_notice_failures_total", map[string]string{"channel": "pd"}); got != 0 {
				t.Errorf("the page's channel counted %v failures of another's", got)
			}
			h.setPathMode("/sl", receiverUnchanged) // it recovers
			f.advance(3 * time.Hour)
			if n, p := h.count("/sl", incident), h.count("/pd", incident); n != 1 || p != 1 {
				t.Errorf("after the channel recovered: %d notices on sl, %d pages, want one each", n, p)
			}
		})
	}
}
