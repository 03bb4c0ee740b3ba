package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/urlcheck"
)

// The ranges a configuration's durations must fall in: values outside
// them make the daemon do something silly (a check that always times out,
// a lease renewed many times a second, a provider asked every second).
const (
	MinCheckInterval   = 10 * time.Second // the shortest @every schedule
	MinCheckTimeout    = time.Second
	MaxCheckTimeout    = 10 * time.Minute
	MinLeaseTTL        = 5 * time.Second
	MaxLeaseTTL        = 10 * time.Minute
	MaxProviderTimeout = 5 * time.Minute
	MaxMaxTokenTTL     = 10 * 365 * 24 * time.Hour
)

// optDurationIn decodes a duration and requires lo <= d <= hi.
func optDurationIn(a *hcl.Attribute, dst *time.Duration, lo, hi time.Duration) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	var d time.Duration
	diags := optDuration(a, &d)
	if diags.HasErrors() {
		return diags
	}
	if d < lo || d > hi {
		return append(diags, errAt(a.Expr.Range(), "Invalid "+a.Name, "%s is %s; it must be from %s to %s.", a.Name, dates.ShortDuration(d), dates.ShortDuration(lo), dates.ShortDuration(hi)))
	}
	*dst = d
	return diags
}

// neverFiresFrom is where a schedule is tried from: any fixed time will do,
// since a schedule that can fire at all fires within robfig/cron's
// five-year search from any start.
var neverFiresFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// checkSchedule refuses a schedule that never fires and an @every
// shorter than MinCheckInterval.
func checkSchedule(sched cron.Schedule, spec string, r hcl.Range) hcl.Diagnostics {
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < MinCheckInterval {
		return hcl.Diagnostics{errAt(r, "Check schedule too frequent", "%q checks more often than every %s, which only wears out the provider's rate limit; use @every %s or longer.", spec, dates.ShortDuration(MinCheckInterval), dates.ShortDuration(MinCheckInterval))}
	}
	if sched.Next(neverFiresFrom).IsZero() {
		return hcl.Diagnostics{errAt(r, "Check schedule never fires", "%q matches no date (the credential would never be checked): use a schedule such as \"*/30 * * * *\" or @every 1h.", spec)}
	}
	return nil
}

// checkEndpointURL requires an http(s) URL, and https unless the host is
// loopback or the provider says insecure_http = true: a client secret or a
// bearer token must not cross a network in clear text.
func checkEndpointURL(a *hcl.Attribute, raw, what string, insecure bool) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	if problem := urlcheck.EndpointProblem(raw, what, insecure); problem != "" {
		summary := "Invalid " + what
		if strings.Contains(problem, "plain http") {
			summary = "Cleartext " + what
		}
		return hcl.Diagnostics{errAt(a.Expr.Range(), summary, "%s.", problem)}
	}
	return nil
}

// checkTimeouts requires the daemon's check_timeout to be longer than the
// timeout of every provider in use: the token request must end before the
// check's deadline does.
func checkTimeouts(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, c := range cfg.Credentials {
		if seen[c.Provider] {
			continue
		}
		seen[c.Provider] = true
		if p, ok := cfg.Provider(c.Provider); ok && p.Timeout >= cfg.Daemon.CheckTimeout {
			diags = append(diags, timeoutDiag(cfg, p))
		}
	}
	for name, p := range cfg.Providers {
		if !seen[name] && p.Timeout >= cfg.Daemon.CheckTimeout {
			diags = append(diags, timeoutDiag(cfg, p))
		}
	}
	return diags
}

func timeoutDiag(cfg *Config, p *Provider) *hcl.Diagnostic {
	r := cfg.checkTimeoutRange
	if r == nil {
		r = p.timeoutRange
	}
	d := errAt(hcl.Range{}, "check_timeout too short", "check_timeout (%s) must be longer than provider %q's timeout (%s), which it bounds: raise check_timeout or lower the provider's timeout.",
		dates.ShortDuration(cfg.Daemon.CheckTimeout), p.Name, dates.ShortDuration(p.Timeout))
	d.Subject = r
	return d
}

// renewWarning warns when renew_before is not shorter than the life the
// provider's tokens are known to have: renewal then falls back to a tenth
// of each token's life.
func renewWarning(c *Credential, p *Provider, r hcl.Range) *hcl.Diagnostic {
	life := p.TokenLifetime
	if life == 0 {
		life = p.MaxTokenTTL
	}
	if life == 0 || c.PublishToken == nil || c.PublishToken.RenewBefore < life {
		return nil
	}
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "renew_before not shorter than the token's life",
		Detail: fmt.Sprintf("renew_before (%s) is not shorter than the %s that provider %q's tokens live; the published token is renewed a tenth of its life after issue instead. Use a renew_before below %s.",
			dates.ShortDuration(c.PublishToken.RenewBefore), dates.ShortDuration(life), p.Name, dates.ShortDuration(life)),
		Subject: r.Ptr()}
}
