package daemon_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/metrics"
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
	hook, err := webhook.New(webhook.Config{URL: receiver.URL}, receiver.Client())
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	eng := &daemon.Notifications{Store: store, Config: cfg, Replica: "replica-1", SendTimeout: time.Second, ClaimTimeout: time.Hour,
		Channels: map[string]notify.Notifier{"security": hook, "oncall": &inbox{}}, Observe: m.NoticeDelivered}

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
