package daemon

import (
	"fmt"
	"slices"
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
// letOut is when b lets one request out, asked at at and again after
// each wait it says, keeping what it holds.
func letOut(b *Budget, at time.Time) time.Time {
	held := holdNone
	for {
		wait, h := b.Reserve(at, 1, held)
		if wait == 0 {
			return at
		}
		at, held = at.Add(wait), h
	}
}

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

// Attack: the org answers 429 ("retry in 30 s") and the group pauses; an
// operator then reloads a configuration that raises one provider's
// requests_per_second (and so the group's budget). For makes the group
// anew, and the pause is forgotten: checks go out into the rate limit.
func TestAReloadThatChangesTheGroupsBudgetKeepsItsRateLimitPause(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var bs Budgets
	b := bs.For(&config.Provider{Name: "ctrp-prod", RequestsPerSecond: 10}, config.BudgetGroup{Name: "bioappdev.okta.com", RequestsPerSecond: 10})
	b.Observe(oauthcheck.Result{Class: oauthcheck.ClassRateLimited, RetryAt: now.Add(30 * time.Second)}, now)
	// The reload.
	b = bs.For(&config.Provider{Name: "ctrp-prod", RequestsPerSecond: 12}, config.BudgetGroup{Name: "bioappdev.okta.com", RequestsPerSecond: 12})
	at := now.Add(time.Second)
	if wait, held := b.Reserve(at, 1, holdNone); wait < 29*time.Second {
		t.Errorf("after a reload, a check of the rate-limited group waits %v (holding %d), though Okta said to retry at %v", wait, held, now.Add(30*time.Second))
	}
}

// Attack: the group has just let its whole budget (10) out; a reload
// raises it to 11. The new group's window is empty, so 21 requests reach
// the org within one second, against a budget of 11.
func TestAReloadThatChangesTheGroupsBudgetKeepsTheSecondAlreadySpent(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var bs Budgets
	var out []time.Time
	drain := func(rps float64, n int) {
		for i := range n {
			p := &config.Provider{Name: fmt.Sprintf("p%d", i), RequestsPerSecond: rps}
			b := bs.For(p, config.BudgetGroup{Name: "bioappdev.okta.com", RequestsPerSecond: rps})
			out = append(out, letOut(b, now))
		}
	}
	drain(10, 10)
	drain(11, 11) // the reload
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	if got := busiestSecond(out); got > 11 {
		t.Errorf("the group let %d requests out in one second across a reload; its budget was 10, then 11", got)
	}
}

// Attack: a group whose budget is 1 request a second, and a check that
// sends 3 (the check, its probe, the staged pair's check). The window
// counts it as 1 (n is cut to its max), so the next provider's check goes
// out a second later: 4 requests in just over a second, budget 1.
func TestACheckOfSeveralRequestsTakesThemAllFromItsGroupsBudget(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var bs Budgets
	g := config.BudgetGroup{Name: "idp.example.org", RequestsPerSecond: 1}
	a := bs.For(&config.Provider{Name: "a", RequestsPerSecond: 1}, g)
	b := bs.For(&config.Provider{Name: "b", RequestsPerSecond: 1}, g)
	if wait, _ := a.Reserve(now, 3, holdNone); wait != 0 {
		t.Fatalf("setup: the first check waits %v", wait)
	}
	at := letOut(b, now)
	if at.Sub(now) < 3*time.Second {
		t.Errorf("after a check of 3 requests at %v, the group lets the next out %v later: 4 requests in %v, budget 1 a second", now.Format("15:04:05"), at.Sub(now), at.Sub(now)+time.Nanosecond)
	}
}

// Below one request a second, a check of several requests owes a period
// for each: at half a request a second, a check of 2 holds the next one
// back 4 seconds; and a provider's share, whose burst is smaller than a
// check, owes what its burst cannot hold.
func TestAnOwedBudgetHoldsTheNextRequestsBack(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	next := func(b *Budget) time.Duration { return letOut(b, now).Sub(now) }
	var bs Budgets
	g := config.BudgetGroup{Name: "slow.example.org", RequestsPerSecond: 0.5}
	a := bs.For(&config.Provider{Name: "a", RequestsPerSecond: 0.5}, g)
	if wait, _ := a.Reserve(now, 2, holdNone); wait != 0 {
		t.Fatalf("setup: the first check waits %v", wait)
	}
	if got := next(bs.For(&config.Provider{Name: "b", RequestsPerSecond: 0.5}, g)); got < 4*time.Second {
		t.Errorf("at half a request a second, a check of 2 lets the next request out %v later, want 4s", got)
	}

	var own Budgets
	p := &config.Provider{Name: "p", RequestsPerSecond: 4} // burst 2
	b := own.For(p, config.BudgetGroup{Name: "big.example.org", RequestsPerSecond: 100})
	if wait, _ := b.Reserve(now, 6, holdNone); wait != 0 {
		t.Fatalf("setup: the first check waits %v", wait)
	}
	if got := next(b); got < time.Second {
		t.Errorf("at 4 a second with a burst of 2, a check of 6 lets the provider's next request out %v later, want 1s", got)
	}
}
