package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
)

// send is the send stage, a fan-out: every channel is delivered on its own
// goroutine, so that a channel that fails, answers slowly or hangs never
// holds another back. Each notice through each channel has its own
// deadline (SendTimeout, on the Clock) and its own retries (retry.go), and
// is marked on its own (mark.go) as soon as it is done. A channel's notices
// of one round go in the order they came, one after another.
func (p *Pipeline) send(base context.Context, name string, now time.Time, items []item, channels map[string]Notifier) *Delivery {
	d := &Delivery{}
	var order []string
	byChannel := map[string][]item{}
	for _, it := range items {
		if _, seen := byChannel[it.channel]; !seen {
			order = append(order, it.channel)
		}
		byChannel[it.channel] = append(byChannel[it.channel], it)
	}
	for _, ch := range order {
		d.wg.Add(1)
		p.all.Add(1)
		f := p.traffic.start()
		go func() {
			defer p.all.Done()
			defer d.wg.Done()
			defer f.end()
			if name != "" {
				defer p.land(name, ch)
			}
			for _, it := range byChannel[ch] {
				if err := p.sendOne(base, name, now, it, channels[ch], f); err != nil {
					d.fail(err)
				}
			}
		}()
	}
	return d
}

// sendOne delivers one notice through its channel, retries included,
// within the channel's own deadline, tells Observe, and marks the outcome
// in the ledger (unless it is an announcement). Once base ends no attempt
// starts, but one under way runs to its answer or its deadline: only the
// answer tells whether the notice arrived.
func (p *Pipeline) sendOne(base context.Context, name string, now time.Time, it item, nf Notifier, f *flight) error {
	claimed := it.entry.Key != ""
	if claimed && p.Hooks.AfterClaim != nil {
		p.Hooks.AfterClaim(it.entry.Key)
	}
	var err error
	if nf == nil {
		err = fmt.Errorf("no notifier named %q", it.channel)
	} else {
		clock := p.Clock
		deadline := clock.Now().Add(p.sendTimeout())
		ctx, cancel := withClockDeadline(context.WithoutCancel(base), clock, deadline)
		err = retry(ctx, base, clock, nf, it.channel, it.notice, p.logger(), f, deadline)
		cancel()
		if p.Observe != nil {
			p.Observe(it.channel, it.notice.Kind, err, now)
		}
	}
	if !claimed {
		if err != nil {
			p.logger().Warn("announcement not delivered", "channel", it.channel, "key", it.notice.Key, "reason", Reason(err), "error", err)
		}
		return err
	}
	if err == nil {
		p.rememberUnmarked(it.entry, now)
		p.logger().Info("notice sent", "credential", name, "key", it.entry.Key, "channel", it.channel)
		if p.Hooks.AfterSend != nil {
			p.Hooks.AfterSend(it.entry.Key)
		}
	} else {
		p.logger().Warn("notice not delivered: retried on a later round", "credential", name, "key", it.entry.Key, "channel", it.channel,
			"reason", Reason(err), "error", err)
	}
	merr := p.mark(base, name, now, it, err)
	if merr != nil {
		p.logger().Error("delivery not marked in the ledger", "credential", name, "key", it.entry.Key, "channel", it.channel, "sent", err == nil, "error", merr)
	}
	return errors.Join(err, merr)
}

// withClockDeadline is ctx ending at deadline by clock, so that a fake
// clock's time bounds a delivery. Its Deadline method reports none:
// the network must not compare the clock's time with its own.
func withClockDeadline(parent context.Context, clock clockwork.Clock, deadline time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	timer := clock.AfterFunc(deadline.Sub(clock.Now()), func() { cancel(context.DeadlineExceeded) })
	return &clockContext{Context: ctx}, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}

// clockContext reports context.DeadlineExceeded once its clock's deadline
// passed, as a context.WithDeadline does.
type clockContext struct{ context.Context }

func (c *clockContext) Err() error {
	if err := c.Context.Err(); err != nil {
		if cause := context.Cause(c.Context); errors.Is(cause, context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return err
	}
	return nil
}

// ctxErr is why ctx ended.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Canceled
}
