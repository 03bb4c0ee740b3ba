package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkeeper/credkeeper/oauthcheck"
)

// credentials is the per-credential series, kept as one small struct per
// credential and made into metrics only when scraped: a daemon with
// 10,000 credentials would otherwise hold 40,000 series objects, label
// pairs and all, between scrapes (the pattern client_golang recommends
// for exporters of state held elsewhere).
type credentials struct {
	deadline, checks, lastSuccess, up, tokenExpiry *prometheus.Desc

	mu sync.Mutex
	by map[string]*credential
}

// credential is one credential's series; a zero timestamp is no series.
type credential struct {
	environment string
	deadline    float64
	lastSuccess float64
	tokenExpiry float64
	up          float64
	checked     bool // up is known
	classes     []classCount
}

type classCount struct {
	class oauthcheck.Class
	n     float64
}

func (c *credential) count(class oauthcheck.Class) {
	for i := range c.classes {
		if c.classes[i].class == class {
			c.classes[i].n++
			return
		}
	}
	c.classes = append(c.classes, classCount{class: class, n: 1})
}

func newCredentials() *credentials {
	return &credentials{
		deadline: prometheus.NewDesc("credkeeper_credential_rotation_deadline_timestamp_seconds",
			"When the credential must be rotated, in seconds since the epoch.", []string{"credential", "environment"}, nil),
		checks: prometheus.NewDesc("credkeeper_check_total",
			"Checks of a credential, by class.", []string{"credential", "class"}, nil),
		lastSuccess: prometheus.NewDesc("credkeeper_credential_last_success_timestamp_seconds",
			"When a check of the credential last ended ok, in seconds since the epoch.", []string{"credential"}, nil),
		up: prometheus.NewDesc("credkeeper_credential_up",
			"1 when the credential's last check ended ok, else 0.", []string{"credential"}, nil),
		tokenExpiry: prometheus.NewDesc("credkeeper_token_expiry_timestamp_seconds",
			"When the access token published for CI expires, in seconds since the epoch.", []string{"credential"}, nil),
		by: map[string]*credential{},
	}
}

func (cs *credentials) update(name string, f func(*credential)) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.by[name]
	if c == nil {
		c = &credential{}
		cs.by[name] = c
	}
	f(c)
}

// Describe implements prometheus.Collector.
func (cs *credentials) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cs.deadline, cs.checks, cs.lastSuccess, cs.up, cs.tokenExpiry} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (cs *credentials) Collect(ch chan<- prometheus.Metric) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for name, c := range cs.by {
		if c.deadline != 0 {
			ch <- prometheus.MustNewConstMetric(cs.deadline, prometheus.GaugeValue, c.deadline, name, c.environment)
		}
		for _, cc := range c.classes {
			ch <- prometheus.MustNewConstMetric(cs.checks, prometheus.CounterValue, cc.n, name, string(cc.class))
		}
		if c.lastSuccess != 0 {
			ch <- prometheus.MustNewConstMetric(cs.lastSuccess, prometheus.GaugeValue, c.lastSuccess, name)
		}
		if c.checked {
			ch <- prometheus.MustNewConstMetric(cs.up, prometheus.GaugeValue, c.up, name)
		}
		if c.tokenExpiry != 0 {
			ch <- prometheus.MustNewConstMetric(cs.tokenExpiry, prometheus.GaugeValue, c.tokenExpiry, name)
		}
	}
}
