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
		select {
		case <-ctx.Done():
			if lastErr != "" {
				return fmt.Errorf("%s after %d attempts: %s", channel, attempt-1, lastErr)
			}
			return ctxErr(ctx)
		default:
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
		jittered := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		timer := clock.NewTimer(jittered)
		until := clock.Now().Add(jittered)
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		f.enter(stateWaiting, until)
		select {
		case <-stop.Done():
			timer.Stop()
			f.enter(stateBusy, time.Time{})
			return fmt.Errorf("%s after %d attempts: %w", channel, attempt, err)
		case <-ctx.Done():
			timer.Stop()
			f.enter(stateBusy, time.Time{})
			return fmt.Errorf("%s after %d attempts: %w", channel, attempt, err)
		case <-timer.Chan():
		}
		f.enter(stateBusy, time.Time{})
		wait = min(wait*2, MaxBackoff)
	}
}
