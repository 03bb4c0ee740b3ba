package daemon

import (
	"context"
	"time"
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
