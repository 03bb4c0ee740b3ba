package daemon

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// Budget is one provider's request budget, because the binding limit of
// this product is the providers' rate limits, not its CPU. Okta limits an
// org, not an authorization server, so the budget is taken in two steps:
// the provider's share (a token bucket at its requests_per_second that its
// checks, probes, renewals and staged-pair checks share), then its
// group's (config.BudgetGroup: the providers on one token host, or named
// by budget_group), which never lets more than the group's budget out in
// any one second, whichever of its providers asks. It adapts to what the
// provider says: when X-Rate-Limit-Remaining falls below a tenth of
// X-Rate-Limit-Limit, and after a 429, every provider of the group waits
// for the reset (at most oauthcheck.MaxRetryAfter). It takes the time it
// is asked at, never the wall clock's: the run loop queues the work that
// must wait, never drops it.
type Budget struct {
	limiter *rate.Limiter
	group   *GroupBudget
}

// GroupBudget is the request budget the providers of one budget group
// share: at most its budget in any one second (a sliding window of the
// times its requests were let out), and the pause a rate limit asks for.
type GroupBudget struct {
	// Name is the group's (config.BudgetGroup.Name): the metric's label.
	Name string

	mu          sync.Mutex
	rps         float64
	pausedUntil time.Time
	window      window
}

// RequestsPerSecond is the group's budget.
func (g *GroupBudget) RequestsPerSecond() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rps
}

// setRate makes rps the group's budget from now on. The requests already
// let out stay in its window, and a pause a rate limit asked for holds:
// the provider counts what it was sent and what it said, whatever this
// daemon's configuration calls the budget.
func (g *GroupBudget) setRate(rps float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rps == rps {
		return
	}
	g.rps = rps
	g.window = g.window.resized(newWindow(rps))
}

// hold is how much of its budget an item waiting for a slot has taken.
type hold uint8

const (
	// holdNone: nothing taken yet.
	holdNone hold = iota
	// holdShare: the provider's share is taken, the group's is next.
	holdShare
	// holdTaken: both are taken; only a pause holds it back.
	holdTaken
)

// Reserve takes n requests' worth of the budget at now, as far as held
// says is left to take, and returns how long the caller must wait and what
// it holds then. n requests take n of the budget, however small it is:
// what a burst or a second cannot hold is owed, and the requests after
// them wait until it is paid. The caller calls again it calls again when the wait is over, with what it
// holds, until the wait is zero and it holds the budget (holdTaken). A
// group paused by a rate limit gives the time left of the pause and
// takes the caller back to the start (holdNone): the requests it had
// taken may have been the ones that went out during the pause.
func (b *Budget) Reserve(now time.Time, n int, held hold) (wait time.Duration, holds hold) {
	if until := b.group.paused(); now.Before(until) {
		return until.Sub(now), holdNone
	}
	switch held {
	case holdTaken:
		return 0, holdTaken
	case holdNone:
		if wait := b.reserveShare(now, n); wait > 0 {
			return wait, holdShare
		}
	}
	return b.group.reserve(now, n), holdTaken
}

// reserveShare takes n requests from the provider's share, a burst at a
// time, and returns how long until the first burst may go: the rest is
// owed, and the requests after them wait for it.
func (b *Budget) reserveShare(now time.Time, n int) time.Duration {
	burst := b.limiter.Burst()
	wait := b.limiter.ReserveN(now, min(max(n, 1), burst)).DelayFrom(now)
	for left := n - burst; left > 0; left -= burst {
		b.limiter.ReserveN(now, min(left, burst))
	}
	return wait
}

// Group is the budget group the provider's budget is part of.
func (b *Budget) Group() *GroupBudget { return b.group }

// Observe learns from a check's answer: a 429, or a rate limit nearly
// spent, pauses the provider's group until its reset.
func (b *Budget) Observe(res oauthcheck.Result, now time.Time) {
	b.group.observe(res, now)
}

func (g *GroupBudget) paused() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pausedUntil
}

func (g *GroupBudget) reserve(now time.Time, n int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.window.reserve(now, n)
}

func (g *GroupBudget) observe(res oauthcheck.Result, now time.Time) {
	var until time.Time
	rl := res.RateLimit
	switch {
	case res.Class == oauthcheck.ClassRateLimited:
		until = res.RetryAt
		if until.IsZero() {
			until = now.Add(time.Minute)
		}
	case rl.Seen && rl.Limit > 0 && rl.Remaining*10 < rl.Limit && !rl.Reset.IsZero():
		until = rl.Reset
	}
	if limit := now.Add(oauthcheck.MaxRetryAfter); until.After(limit) {
		until = limit
	}
	g.mu.Lock()
	if until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
	g.mu.Unlock()
}

// window lets at most max requests out in any period: a ring of the
// times it let the last ones out, oldest first. It is asked at times that
// never go back (the run loop's), and lets requests out in the order they
// ask.
type window struct {
	max    int
	period time.Duration
	sent   []time.Time // the ring, made on first use
	head   int         // the oldest's index
	count  int
	last   time.Time
}

// newWindow is the window of a budget of rps requests a second: at most
// rps (rounded down) in any one second, or, below one a second, one in
// each 1/rps seconds.
func newWindow(rps float64) window {
	if rps >= 1 {
		return window{max: int(math.Floor(rps)), period: time.Second}
	}
	return window{max: 1, period: time.Duration(float64(time.Second) / rps)}
}

// reserve lets n requests out together at the earliest time from now
// that keeps every period's count within max (as many as max can go
// together), after every request let out before, and returns how long
// from now that is. Requests beyond max are owed: each is counted at the
// earliest time the window could have let it out after the others, so
// the requests after them wait until every one of the n is paid.
func (w *window) reserve(now time.Time, n int) time.Duration {
	if w.sent == nil {
		w.sent = make([]time.Time, w.max)
	}
	n = max(1, n)
	together := min(n, w.max)
	at := now
	if at.Before(w.last) {
		at = w.last
	}
	if over := w.count + together - w.max; over > 0 {
		// The over-th oldest must be a period before the new ones; it and
		// those before it are out of every window from then on.
		if t := w.sent[(w.head+over-1)%w.max].Add(w.period); t.After(at) {
			at = t
		}
		w.head, w.count = (w.head+over)%w.max, w.count-over
	}
	for range together {
		w.push(at)
	}
	owed := at
	for range n - together {
		// The window is full: the oldest must be a period before.
		if t := w.sent[w.head].Add(w.period); t.After(owed) {
			owed = t
		}
		w.head, w.count = (w.head+1)%w.max, w.count-1
		w.push(owed)
	}
	w.last = owed
	return at.Sub(now)
}

func (w *window) push(at time.Time) {
	w.sent[(w.head+w.count)%w.max] = at
	w.count++
}

// resized is the window of another budget holding the requests this one
// let out: the newest of them it has room for, and the time of the last.
func (w *window) resized(to window) window {
	to.last = w.last
	if w.count == 0 {
		return to
	}
	to.sent = make([]time.Time, to.max)
	for i := max(0, w.count-to.max); i < w.count; i++ {
		to.push(w.sent[(w.head+i)%w.max])
	}
	return to
}

// Budgets are the providers' budgets and their groups', made on first use.
// A provider's budget is made again when the configuration changes its
// rate or its group; a group is kept across a change of its rate (its
// window and its pause hold), so a reload never lets a second's requests
// out twice or forgets a rate limit.
type Budgets struct {
	mu     sync.Mutex
	by     map[string]*Budget
	groups map[string]*GroupBudget
}

// For is provider p's budget, within g, its group's.
func (bs *Budgets) For(p *config.Provider, g config.BudgetGroup) *Budget {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.by == nil {
		bs.by, bs.groups = map[string]*Budget{}, map[string]*GroupBudget{}
	}
	grp := bs.groups[g.Name]
	if grp == nil {
		grp = &GroupBudget{Name: g.Name, rps: g.RequestsPerSecond, window: newWindow(g.RequestsPerSecond)}
		bs.groups[g.Name] = grp
	}
	grp.setRate(g.RequestsPerSecond)
	rps := p.RequestsPerSecondOrDefault()
	if b, ok := bs.by[p.Name]; ok && b.limiter.Limit() == rate.Limit(rps) && b.group == grp {
		return b
	}
	// A small burst for the provider's share; the group's window keeps
	// the whole group within its budget in every second.
	b := &Budget{limiter: rate.NewLimiter(rate.Limit(rps), max(2, int(rps/4))), group: grp}
	bs.by[p.Name] = b
	return b
}
