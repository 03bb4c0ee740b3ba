package daemon

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// WaitIdle waits until the daemon's run loop has nothing running and
// nothing due, and returns how long until it next wakes: a test on a fake
// clock advances it that far, and no further, before it looks again.
func (d *Daemon) WaitIdle(ctx context.Context) (time.Duration, error) {
	ch := make(chan time.Duration, 1)
	select {
	case d.idleQ <- ch:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// SetCrashHooks calls afterClaim before each claimed notice is sent,
// afterSend after each is delivered, before it is marked (where a test
// kills the process), and afterMark once a delivered one is marked.
func (n *Notifications) SetCrashHooks(afterClaim, afterSend, afterMark func(key string)) {
	n.afterClaim, n.afterSend, n.afterMark = afterClaim, afterSend, afterMark
}

// SettleNotices waits until every delivery the notices have in flight
// waits on the clock (held says how many attempts the test's receivers
// hold open until their deadline), and returns the earliest moment one of
// them wakes: zero when none is in flight.
func (n *Notifications) SettleNotices(ctx context.Context, clock clockwork.Clock, held func() int) (time.Time, error) {
	n.mu.Lock()
	p := n.pipe
	n.mu.Unlock()
	if p == nil {
		return time.Time{}, nil
	}
	recheck := time.NewTicker(time.Millisecond)
	defer recheck.Stop()
	return p.WaitSettled(ctx, clock, held, recheck.C)
}

// BoundedSilence is boundedSilence, for the silence tests.
var BoundedSilence = boundedSilence

// SetLeader makes the daemon lead, or stop leading, as the lease would.
func (d *Daemon) SetLeader(leader bool) { d.setLeader(leader, d.ID) }

// StartBackground readies the notices as Run does: deliveries in the
// background on clock.
func (n *Notifications) StartBackground(since time.Time, clock clockwork.Clock) {
	n.start(since, "", clock, nil, true)
}

// Wait waits for every delivery in flight.
func (n *Notifications) Wait() { n.pipeline().Wait() }
