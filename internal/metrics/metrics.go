// Package metrics exposes what the daemon does as Prometheus metrics, on a
// registry of its own. Timestamps are absolute (seconds since the epoch),
// as Prometheus conventions ask, so that alert rules compute days left.
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

	deadline    *prometheus.GaugeVec
	checks      *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess *prometheus.GaugeVec
	up          *prometheus.GaugeVec
	tokenExpiry *prometheus.GaugeVec
	vault       *prometheus.CounterVec
	leader      prometheus.Gauge
}

// New registers credkeeper's metrics, and the Go and process collectors,
// on a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		deadline: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_credential_rotation_deadline_timestamp_seconds",
			Help: "When the credential must be rotated, in seconds since the epoch.",
		}, []string{"credential", "environment"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_check_total",
			Help: "Checks of a credential, by class.",
		}, []string{"credential", "class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "credkeeper_check_duration_seconds",
			Help:    "How long a token request (and probe) took.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_credential_last_success_timestamp_seconds",
			Help: "When a check of the credential last ended ok, in seconds since the epoch.",
		}, []string{"credential"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_credential_up",
			Help: "1 when the credential's last check ended ok, else 0.",
		}, []string{"credential"}),
		tokenExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "credkeeper_token_expiry_timestamp_seconds",
			Help: "When the access token published for CI expires, in seconds since the epoch.",
		}, []string{"credential"}),
		vault: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeeper_vault_requests_total",
			Help: "Requests to Vault, by operation and outcome.",
		}, []string{"op", "outcome"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "credkeeper_leader",
			Help: "1 on the replica that holds the leader lease and runs the checks.",
		}),
	}
	m.Registry.MustRegister(m.deadline, m.checks, m.duration, m.lastSuccess, m.up, m.tokenExpiry, m.vault, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CheckDone implements daemon.Observer.
func (m *Metrics) CheckDone(r oauthcheck.Result, lastSuccess time.Time) {
	m.checks.WithLabelValues(r.Name, string(r.Class)).Inc()
	if !r.NotSent {
		m.duration.Observe(r.Latency.Seconds())
	}
	if !r.RotateBy.IsZero() {
		m.deadline.WithLabelValues(r.Name, r.Environment).Set(float64(r.RotateBy.Unix()))
	}
	if !lastSuccess.IsZero() {
		m.lastSuccess.WithLabelValues(r.Name).Set(float64(lastSuccess.Unix()))
	}
	up := 0.0
	if r.Class == oauthcheck.ClassOK {
		up = 1
	}
	m.up.WithLabelValues(r.Name).Set(up)
}

// TokenPublished implements daemon.Observer.
func (m *Metrics) TokenPublished(name string, expires time.Time) {
	if expires.IsZero() {
		m.tokenExpiry.DeleteLabelValues(name)
		return
	}
	m.tokenExpiry.WithLabelValues(name).Set(float64(expires.Unix()))
}

// Leader implements daemon.Observer.
func (m *Metrics) Leader(leader bool) {
	v := 0.0
	if leader {
		v = 1
	}
	m.leader.Set(v)
}

// VaultRequest counts one request to Vault; it is vaultstore's Observe hook.
func (m *Metrics) VaultRequest(op, outcome string) {
	m.vault.WithLabelValues(op, outcome).Inc()
}
