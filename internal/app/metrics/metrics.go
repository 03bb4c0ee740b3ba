package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/credkeeper/credkeeper/oauthcheck"
)

// Metrics implements daemon.Observer and the Vault request hook.
type Metrics struct {
	Registry *prometheus.Registry

	creds    *credentials
	notices  *deliveries
	duration prometheus.Histogram
	vault    *prometheus.CounterVec
	leader   prometheus.Gauge
	// budgetTaken and budget are each budget group's requests and
	// budget, labelled by the group (a token host or a budget_group).
	budgetTaken *prometheus.CounterVec
	budget      *prometheus.GaugeVec
}

// New registers credkeeper's metrics, and the Go and process collectors,
// on a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		creds:    newCredentials(),
		notices:  newDeliveries(),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "credkeeper_check_duration_seconds",
			Help:    "How long a token request (and probe) took.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		vault: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_vault_requests_total",
			Help: "Requests to Vault, by operation and outcome.",
		}, []string{"op", "outcome"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "credkeeper_leader",
			Help: "1 on the replica that holds the leader lease and runs the checks.",
		}),
		budgetTaken: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_budget_requests_total",
			Help: "Provider requests let out of each request budget group (providers on one token host, or naming one budget_group).",
		}, []string{"group"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_budget_requests_per_second",
			Help: "Each request budget group's budget: the most requests its providers send in any one second.",
		}, []string{"group"}),
	}
	m.Registry.MustRegister(m.creds, m.duration, m.vault, m.leader, m.budgetTaken, m.budget, m.notices.sent, m.notices.failures, m.notices.lastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CheckDone implements daemon.Observer.
func (m *Metrics) CheckDone(r oauthcheck.Result, lastSuccess time.Time) {
	if !r.NotSent {
		m.duration.Observe(r.Latency.Seconds())
	}
	m.creds.update(r.Name, func(c *credential) {
		c.count(r.Class)
		if !r.RotateBy.IsZero() {
			c.environment, c.deadline = r.Environment, float64(r.RotateBy.Unix())
		}
		if !lastSuccess.IsZero() {
			c.lastSuccess = float64(lastSuccess.Unix())
		}
		c.up, c.checked = 0, true
		if r.Class == oauthcheck.ClassOK {
			c.up = 1
		}
	})
}

// TokenPublished implements daemon.Observer.
func (m *Metrics) TokenPublished(name string, expires time.Time) {
	m.creds.update(name, func(c *credential) {
		c.tokenExpiry = 0
		if !expires.IsZero() {
			c.tokenExpiry = float64(expires.Unix())
		}
	})
}

// Leader implements daemon.Observer.
func (m *Metrics) Leader(leader bool) {
	v := 0.0
	if leader {
		v = 1
	}
	m.leader.Set(v)
}

// BudgetTaken implements daemon.BudgetObserver.
func (m *Metrics) BudgetTaken(group string, requestsPerSecond float64, n int) {
	m.budgetTaken.WithLabelValues(group).Add(float64(n))
	m.budget.WithLabelValues(group).Set(requestsPerSecond)
}

// VaultRequest counts one request to Vault; it is vaultstore's Observe hook.
func (m *Metrics) VaultRequest(op, outcome string) {
	m.vault.WithLabelValues(op, outcome).Inc()
}
