package daemon

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// A 429 pauses the provider until its reset; so does a rate limit nearly
// spent; neither for longer than MaxRetryAfter; an ordinary answer does not.
func TestBudgetObservesTheProvidersLimits(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		res  oauthcheck.Result
		want time.Time
	}{
		{"ok, plenty left", oauthcheck.Result{Class: oauthcheck.ClassOK, RateLimit: oauthcheck.RateLimit{Seen: true, Limit: 600, Remaining: 500, Reset: now.Add(time.Minute)}}, time.Time{}},
		{"ok, under a tenth left", oauthcheck.Result{Class: oauthcheck.ClassOK, RateLimit: oauthcheck.RateLimit{Seen: true, Limit: 600, Remaining: 59, Reset: now.Add(time.Minute)}}, now.Add(time.Minute)},
		{"a 429", oauthcheck.Result{Class: oauthcheck.ClassRateLimited, RetryAt: now.Add(30 * time.Second)}, now.Add(30 * time.Second)},
		{"a 429 without a reset", oauthcheck.Result{Class: oauthcheck.ClassRateLimited}, now.Add(time.Minute)},
		{"a reset far away", oauthcheck.Result{Class: oauthcheck.ClassRateLimited, RetryAt: now.Add(30 * 24 * time.Hour)}, now.Add(oauthcheck.MaxRetryAfter)},
	} {
		var bs Budgets
		b := bs.For(&config.Provider{Name: "p"})
		b.Observe(tc.res, now)
		if !b.pausedUntil.Equal(tc.want) {
			t.Errorf("%s: paused until %v, want %v", tc.name, b.pausedUntil, tc.want)
		}
	}
}
