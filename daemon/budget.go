package daemon

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// Budget is one provider's request budget, because the binding limit of
// this product is the provider's rate limit, not its CPU: a token bucket
// at the provider's requests_per_second that its checks, probes, renewals
// and staged-pair checks share. It adapts to what the provider says: when
// X-Rate-Limit-Remaining falls below a tenth of X-Rate-Limit-Limit, and
// after a 429, the provider's requests wait for its reset (at most
// oauthcheck.MaxRetryAfter). It takes the time it is asked at, never the
// wall clock's: the run loop queues the work that must wait, never drops
// it.
type Budget struct {
	limiter *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
}

// Reserve takes n requests' worth of the budget at now and returns how
// long the caller must wait before sending them: zero to send now. A
// provider paused by its rate limit gives the time left of the pause and
// takes nothing (reserved is false); otherwise the requests are taken,
// and the wait is their place in the bucket's queue. held says the caller
// reserved already and waited its turn: only a pause holds it back.
func (b *Budget) Reserve(now time.Time, n int, held bool) (wait time.Duration, reserved bool) {
	b.mu.Lock()
	until := b.pausedUntil
	b.mu.Unlock()
	if now.Before(until) {
		return until.Sub(now), false
	}
	if held {
		return 0, true
	}
	r := b.limiter.ReserveN(now, min(n, b.limiter.Burst()))
	return r.DelayFrom(now), true
}

// Observe learns from a check's answer: a 429, or a rate limit nearly
// spent, pauses the provider until its reset.
func (b *Budget) Observe(res oauthcheck.Result, now time.Time) {
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
	b.mu.Lock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	b.mu.Unlock()
}

// Budgets are the budgets of every provider, made on first use.
type Budgets struct {
	mu sync.Mutex
	by map[string]*Budget
}

// For is provider p's budget.
func (bs *Budgets) For(p *config.Provider) *Budget {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.by == nil {
		bs.by = map[string]*Budget{}
	}
	rps := p.RequestsPerSecond
	if rps <= 0 {
		rps = config.DefaultRequestsPerSecond
	}
	if b, ok := bs.by[p.Name]; ok && b.limiter.Limit() == rate.Limit(rps) {
		return b
	}
	// A small burst: in any one second at most rps plus a quarter of it go
	// out, so a provider's per-second limit set at 1.25x the budget holds.
	b := &Budget{limiter: rate.NewLimiter(rate.Limit(rps), max(2, int(rps/4)))}
	bs.by[p.Name] = b
	return b
}
