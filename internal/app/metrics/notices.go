package metrics

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkeeper/credkeeper/notify"
)

// ChannelStatus is one notifier's delivery record, for the status page.
type ChannelStatus struct {
	Name        string
	LastSuccess time.Time
	LastError   string
	LastErrorAt time.Time
	Reason      string
	Delivered   int
	Failed      int
}

// deliveries counts notices per channel, so that a broken relay or
// webhook is seen (and alerted on) instead of reminders stopping quietly.
type deliveries struct {
	sent        *prometheus.CounterVec
	failures    *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec

	mu       sync.Mutex
	channels map[string]*ChannelStatus
}

func newDeliveries() *deliveries {
	return &deliveries{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_notices_total",
			Help: "Notices delivered, by channel and kind.",
		}, []string{"channel", "kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_notice_failures_total",
			Help: "Notices a channel failed to deliver (after its retries), by channel and reason.",
		}, []string{"channel", "reason"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_notice_last_success_timestamp_seconds",
			Help: "When a channel last delivered a notice, in seconds since the epoch.",
		}, []string{"channel"}),
		channels: map[string]*ChannelStatus{},
	}
}

// NoticeDelivered records one delivery attempt through a channel (its
// retries done): err nil is a delivery. It is daemon.Notifications'
// Observe hook.
func (m *Metrics) NoticeDelivered(channel, kind string, err error, at time.Time) {
	d := m.notices
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.channels[channel]
	if c == nil {
		c = &ChannelStatus{Name: channel}
		d.channels[channel] = c
	}
	if err == nil {
		d.sent.WithLabelValues(channel, kind).Inc()
		d.lastSuccess.WithLabelValues(channel).Set(float64(at.Unix()))
		c.LastSuccess = at
		c.Delivered++
		return
	}
	reason := notify.Reason(err)
	d.failures.WithLabelValues(channel, reason).Inc()
	c.LastError, c.LastErrorAt, c.Reason = err.Error(), at, reason
	c.Failed++
}

// Channels is every channel's delivery record so far, by name.
func (m *Metrics) Channels() []ChannelStatus {
	d := m.notices
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]ChannelStatus, 0, len(d.channels))
	for _, c := range d.channels {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ChannelStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}
