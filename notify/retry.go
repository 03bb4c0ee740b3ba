package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
)

// Backoff bounds of the retry stage: the first wait between attempts, and
// the longest.
const (
	FirstBackoff = 500 * time.Millisecond
	MaxBackoff   = 10 * time.Second
)

// Send delivers n through nf, retrying with exponential backoff and
// jitter, waiting on clock, while the error is retryable and ctx has time
// left. A failed attempt is logged only when its error differs from the
// previous one.
func Send(ctx context.Context, clock clockwork.Clock, nf Notifier, channel string, n Notice, logger *slog.Logger) error {
	return retry(ctx, ctx, clock, nf, channel, n, logger, nil, time.Time{})
}

// retry is the retry stage: the one loop that waits between attempts.
// It tells f (when set) what it does, so that a test on a fake clock
// knows when every delivery waits on the clock: an attempt may last until
// deadline, a backoff until its end. Once stop ends, no new attempt
// starts, but an attempt under way (bounded by ctx) finishes: its answer
// is what tells whether the notice arrived.
func retry(ctx, stop context.Context, clock clockwork.Clock, nf Notifier, channel string, n Notice, logger *slog.Logger, f *flight, deadline time.Time) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wait := FirstBackoff
	lastErr := ""
	for attempt := 1; ; attempt++ {
		if stop.Err() != nil && ctx.Err() == nil {
			ctx = stop // no new attempt once stopped
		}
		if ctx.Err() != nil {
			if lastErr != "" {
				return fmt.Errorf("%s after %d attempts: %s", channel, attempt-1, lastErr)
			}
			return ctxErr(ctx)
		}
		f.enter(stateAttempt, deadline)
		retry, err := nf.Notify(ctx, n)
		f.enter(stateBusy, time.Time{})
		if err == nil {
			return nil
		}
		if err.Error() != lastErr {
			logger.Warn("notice not delivered", "channel", channel, "key", n.Key, "attempt", attempt, "retry", retry, "error", err)
			lastErr = err.Error()
		}
		if !retry {
			return fmt.Errorf("%s: %w", channel, err)
		}
		if !backoff(ctx, stop, clock, f, jitter(wait), deadline) {
			return fmt.Errorf("%s after %d attempts: %w", channel, attempt, err)
		}
		wait = min(wait*2, MaxBackoff)
	}
}

// jitter is a wait drawn at random between half of wait and one and a
// half times wait.
func jitter(wait time.Duration) time.Duration {
	return wait/2 + time.Duration(rand.Int64N(int64(wait)))
}

// backoff waits d on clock, telling f it waits until the earlier of d's
// end and deadline. It reports false when stop or ctx ended first.
func backoff(ctx, stop context.Context, clock clockwork.Clock, f *flight, d time.Duration, deadline time.Time) bool {
	timer := clock.NewTimer(d)
	defer func() {
		timer.Stop()
		f.enter(stateBusy, time.Time{})
	}()
	until := clock.Now().Add(d)
	if !deadline.IsZero() && deadline.Before(until) {
		until = deadline
	}
	f.enter(stateWaiting, until)
	select {
	case <-stop.Done():
		return false
	case <-ctx.Done():
		return false
	case <-timer.Chan():
		return true
	}
}
