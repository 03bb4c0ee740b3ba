package notify

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// What a delivery in flight is doing, as far as time is concerned.
type deliveryState uint8

const (
	stateBusy    deliveryState = iota // working: reading or writing the ledger, deciding
	stateAttempt                      // an attempt through its channel, which may last until the deadline
	stateWaiting                      // waiting on the clock between attempts
)

// traffic keeps what every delivery in flight is doing, so that a test on
// a fake clock can tell when all of them wait on the clock (Settled).
type traffic struct {
	mu      sync.Mutex
	flights map[*flight]struct{}
	changed chan struct{}
}

// flight is one delivery's entry in traffic. A nil flight keeps nothing.
type flight struct {
	t     *traffic
	state deliveryState
	at    time.Time // the deadline of an attempt; the end of a wait
}

func (t *traffic) start() *flight {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flights == nil {
		t.flights = map[*flight]struct{}{}
	}
	f := &flight{t: t}
	t.flights[f] = struct{}{}
	t.signal()
	return f
}

// signal wakes Settled's callers; t.mu is held.
func (t *traffic) signal() {
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
}

func (f *flight) enter(s deliveryState, at time.Time) {
	if f == nil {
		return
	}
	f.t.mu.Lock()
	defer f.t.mu.Unlock()
	f.state, f.at = s, at
	f.t.signal()
}

func (f *flight) end() {
	if f == nil {
		return
	}
	f.t.mu.Lock()
	defer f.t.mu.Unlock()
	delete(f.t.flights, f)
	f.t.signal()
}

// Settled reports whether every delivery in flight waits on the clock:
// between attempts, or in an attempt that one of the held requests (a
// receiver that hangs until its sender gives up) keeps open until its
// deadline. wake is the earliest moment one of them wakes (zero when none
// is in flight); changed is closed at the next change. For tests that
// drive the Clock by hand.
func (p *Pipeline) Settled(now time.Time, held int) (settled bool, wake time.Time, changed <-chan struct{}) {
	t := &p.traffic
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.changed == nil {
		t.changed = make(chan struct{})
	}
	attempts := 0
	settled = true
	for f := range t.flights {
		switch f.state {
		case stateBusy:
			settled = false
		case stateAttempt:
			attempts++
		}
		if f.state != stateBusy && !f.at.IsZero() {
			if !f.at.After(now) {
				settled = false // its time has come: it is about to wake
			}
			if wake.IsZero() || f.at.Before(wake) {
				wake = f.at
			}
		}
	}
	if attempts > held {
		settled = false
	}
	return settled, wake, t.changed
}

// WaitSettled waits until Settled says every delivery waits on clock, and
// returns the earliest moment one of them wakes. held is asked again at
// each look: a test's receivers take and drop requests without telling
// the pipeline, so it also looks again at each tick of recheck (a ticker
// of the test's, in real time: the receivers run in real time).
func (p *Pipeline) WaitSettled(ctx context.Context, clock clockwork.Clock, held func() int, recheck <-chan time.Time) (time.Time, error) {
	for {
		settled, wake, changed := p.Settled(clock.Now(), held())
		if settled {
			return wake, nil
		}
		select {
		case <-changed:
		case <-recheck:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
