package daemon

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// A 429 pauses the provider's group until its reset; so does a rate limit nearly
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
		b := bs.For(&config.Provider{Name: "p"}, config.BudgetGroup{Name: "idp.example.org", RequestsPerSecond: 10})
		b.Observe(tc.res, now)
		if got := b.Group().paused(); !got.Equal(tc.want) {
			t.Errorf("%s: paused until %v, want %v", tc.name, got, tc.want)
		}
	}
}

// busiestSecond is the most of times in any one-second window [t, t+1s).
func busiestSecond(times []time.Time) int {
	busiest := 0
	for i := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(times[i]) < time.Second {
				n++
			}
		}
		busiest = max(busiest, n)
	}
	return busiest
}

// A group's window lets at most its budget out in any one second, however
// the requests come (at once, in pairs, late), and keeps the budget's pace.
func TestAGroupsWindowKeepsEverySecondWithinItsBudget(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		rps   float64
		asks  []time.Duration // when each request asks, from now
		n     int             // requests each ask takes
		most  int             // in any second
		until time.Duration   // the last is let out by then
	}{
		{"a hundred at once at 10 a second", 10, make([]time.Duration, 100), 1, 10, 10 * time.Second},
		{"pairs at once", 10, make([]time.Duration, 50), 2, 10, 10 * time.Second},
		{"2.5 a second rounds down", 2.5, make([]time.Duration, 10), 1, 2, 5 * time.Second},
		{"below one a second, one per 1/rps", 0.5, make([]time.Duration, 3), 1, 1, 4 * time.Second},
		{"asks spread and late", 10, func() []time.Duration {
			var out []time.Duration
			for i := range 60 {
				out = append(out, time.Duration(i*i)*time.Millisecond*3)
			}
			return out
		}(), 1, 10, 11 * time.Second},
	} {
		w := newWindow(tc.rps)
		var times []time.Time
		for _, ask := range tc.asks {
			at := now.Add(ask)
			let := at.Add(w.reserve(at, tc.n))
			if let.Before(at) {
				t.Fatalf("%s: let out at %v, before it asked at %v", tc.name, let, at)
			}
			for range tc.n {
				times = append(times, let)
			}
		}
		if got := busiestSecond(times); got != tc.most {
			t.Errorf("%s: %d in the busiest second, want %d", tc.name, got, tc.most)
		}
		if last := times[len(times)-1].Sub(now); last > tc.until {
			t.Errorf("%s: the last let out %v after the first ask, want by %v", tc.name, last, tc.until)
		}
	}
}

// Three providers of one group asking together, two with a share as
// large as the group's budget: the group's budget holds in every second,
// and a provider whose share is smaller is paced by it.
func TestProvidersOfOneGroupShareItsBudget(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var bs Budgets
	g := config.BudgetGroup{Name: "bioappdev.okta.com", RequestsPerSecond: 10}
	var all []time.Time
	byProvider := map[string][]time.Time{}
	type ask struct {
		b    *Budget
		name string
		at   time.Time
		held hold
	}
	var queue []ask
	for _, p := range []*config.Provider{{Name: "ctrp-int", RequestsPerSecond: 2}, {Name: "ctrp-stage"}, {Name: "ctrp-prod"}} {
		b := bs.For(p, g)
		for range 40 {
			queue = append(queue, ask{b: b, name: p.Name, at: now})
		}
	}
	// The run loop's way: ask at the item's time, wait, ask again with
	// what it holds, in time order.
	for len(queue) > 0 {
		first := 0
		for i, a := range queue {
			if a.at.Before(queue[first].at) {
				first = i
			}
		}
		a := queue[first]
		queue = append(queue[:first], queue[first+1:]...)
		wait, held := a.b.Reserve(a.at, 1, a.held)
		if wait > 0 {
			queue = append(queue, ask{b: a.b, name: a.name, at: a.at.Add(wait), held: held})
			continue
		}
		if held != holdTaken {
			t.Fatalf("%s let out holding %d", a.name, held)
		}
		all = append(all, a.at)
		byProvider[a.name] = append(byProvider[a.name], a.at)
	}
	if got := busiestSecond(all); got > 10 {
		t.Errorf("the group let %d out in one second, its budget is 10", got)
	}
	// ctrp-int's share paces it: 40 at 2 a second, after a burst of 2.
	if int := byProvider["ctrp-int"]; len(int) != 40 || int[len(int)-1].Sub(int[0]) < 19*time.Second {
		t.Errorf("ctrp-int let %d out over %v, want 40 over 19s at least (2 a second)", len(int), int[len(int)-1].Sub(int[0]))
	}
	if len(all) != 120 {
		t.Errorf("%d let out, want 120", len(all))
	}
}
