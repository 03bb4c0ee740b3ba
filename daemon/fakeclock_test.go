package daemon_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// simStart is when the daemon tests' fake clock starts.
var simStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fakeTime drives daemons on one fake clock: it advances the clock only
// when every daemon's run loop is idle, and stops at every moment one of
// them wakes, so that each sees every moment it asked for.
type fakeTime struct {
	t  testing.TB
	fc *clockwork.FakeClock

	mu      sync.Mutex
	daemons map[*daemon.Daemon]chan struct{} // closed when Run returns
	// holds count the requests the test's receivers hold open (a channel
	// that hangs): a delivery waiting on one waits for its deadline.
	holds []func() int
}

// hold tells the clock of a receiver that may hold requests open.
func (f *fakeTime) hold(hanging func() int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holds = append(f.holds, hanging)
}

func newFakeTime(t testing.TB) *fakeTime {
	return &fakeTime{t: t, fc: clockwork.NewFakeClockAt(simStart), daemons: map[*daemon.Daemon]chan struct{}{}}
}

func (f *fakeTime) Now() time.Time { return f.fc.Now() }

// start runs a daemon on the fake clock until the test ends or stop is
// called; stop returns once Run has.
func (f *fakeTime) start(store *vaultstore.Store, cfg *config.Config, id string, setup ...func(*daemon.Daemon)) (*daemon.Daemon, func()) {
	f.t.Helper()
	return f.startOn(f.fc, store, cfg, id, setup...)
}

// startOn is start with the daemon on clock, a view of the fake clock
// (one that runs ahead, say).
func (f *fakeTime) startOn(clock clockwork.Clock, store *vaultstore.Store, cfg *config.Config, id string, setup ...func(*daemon.Daemon)) (*daemon.Daemon, func()) {
	f.t.Helper()
	d := daemon.NewDaemon(store, cfg, nil, nil, id, clock)
	for _, s := range setup {
		s(d)
	}
	cancel, done := f.launch(d)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			f.forget(d)
			cancel()
			<-done
		})
	}
	f.t.Cleanup(stop)
	return d, stop
}

// launch runs d, made on the fake clock; cancel stops it, and done is
// closed when Run returns.
func (f *fakeTime) launch(d *daemon.Daemon) (cancel func(), done chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	f.mu.Lock()
	f.daemons[d] = done
	f.mu.Unlock()
	return cancel, done
}

// forget stops waiting for d.
func (f *fakeTime) forget(d *daemon.Daemon) {
	f.mu.Lock()
	delete(f.daemons, d)
	f.mu.Unlock()
}

// settle waits until every daemon is idle, and returns the earliest time
// one of them will wake.
func (f *fakeTime) settle() time.Time {
	f.t.Helper()
	f.mu.Lock()
	ds := make(map[*daemon.Daemon]chan struct{}, len(f.daemons))
	for d, done := range f.daemons {
		ds[d] = done
	}
	f.mu.Unlock()
	next := f.fc.Now().Add(365 * 24 * time.Hour)
	for d, done := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		go func() {
			select {
			case <-done: // a daemon that stopped by itself is not waited for
				cancel()
			case <-ctx.Done():
			}
		}()
		in, err := d.WaitIdle(ctx)
		var deliveryWake time.Time
		if err == nil && d.Notices != nil {
			deliveryWake, err = d.Notices.SettleNotices(ctx, f.fc, f.held)
		}
		cancel()
		if err != nil {
			select {
			case <-done:
				continue
			default:
			}
			f.t.Fatalf("daemon %s never became idle: %v", d.ID, err)
		}
		if wake := f.fc.Now().Add(in); wake.Before(next) {
			next = wake
		}
		if !deliveryWake.IsZero() && deliveryWake.Before(next) {
			next = deliveryWake
		}
	}
	return next
}

// held is how many requests the test's receivers hold open now.
func (f *fakeTime) held() int {
	f.mu.Lock()
	holds := slices.Clone(f.holds)
	f.mu.Unlock()
	n := 0
	for _, h := range holds {
		n += h()
	}
	return n
}

// advance moves the clock forward by dur, through every moment a daemon
// wakes, and returns once they are idle again.
func (f *fakeTime) advance(dur time.Duration) {
	f.t.Helper()
	f.advanceTo(f.fc.Now().Add(dur))
}

func (f *fakeTime) advanceTo(end time.Time) {
	f.t.Helper()
	for {
		next := f.settle()
		if !next.Before(end) {
			if end.After(f.fc.Now()) {
				f.fc.Advance(end.Sub(f.fc.Now()))
			}
			f.settle()
			return
		}
		f.fc.Advance(next.Sub(f.fc.Now()))
	}
}

// skewed is a replica's view of the fake clock through a clock that runs
// ahead (or behind) by a fixed amount: timers run at the same pace.
type skewed struct {
	*clockwork.FakeClock
	by time.Duration
}

func (s skewed) Now() time.Time { return s.FakeClock.Now().Add(s.by) }

// runOnce runs d.RunOnce (d made on the fake clock), advancing the clock
// whenever the daemon waits (for a provider's budget, say), and returns
// its results.
func (f *fakeTime) runOnce(d *daemon.Daemon) []oauthcheck.Result {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		results []oauthcheck.Result
		err     error
	)
	go func() { results, err = d.RunOnce(context.Background()); cancel() }()
	for {
		in, werr := d.WaitIdle(ctx)
		if werr != nil {
			break // RunOnce returned
		}
		f.fc.Advance(in)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return results
}
