package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Observer hears what the daemon does, for metrics. Every method must be
// safe for concurrent use.
type Observer interface {
	// CheckDone reports a check's result and the credential's last success.
	CheckDone(r oauthcheck.Result, lastSuccess time.Time)
	// TokenPublished reports a token published for CI, or removed (zero expiry).
	TokenPublished(name string, expires time.Time)
	// Leader reports whether this replica holds the leader lease.
	Leader(bool)
}

// BudgetObserver, when the Observer is one too, hears the requests let out
// of each budget group (config.BudgetGroup): a provider's request budget is
// its share of its group's.
type BudgetObserver interface {
	// BudgetTaken reports n requests taken from the group's budget of
	// requestsPerSecond.
	BudgetTaken(group string, requestsPerSecond float64, n int)
}

// budgetTaken tells the observer, if it listens, of n requests taken
// from g.
func (d *Daemon) budgetTaken(g *GroupBudget, n int) {
	if o, ok := d.Observer.(BudgetObserver); ok {
		o.BudgetTaken(g.Name, g.RequestsPerSecond(), n)
	}
}

type nopObserver struct{}

func (nopObserver) CheckDone(oauthcheck.Result, time.Time) {}
func (nopObserver) TokenPublished(string, time.Time)       {}
func (nopObserver) Leader(bool)                            {}

// ShutdownGrace is how long running checks may finish after a stop.
const ShutdownGrace = 10 * time.Second

// LeaseReleaseTimeout bounds giving the leader lease up on a clean stop.
const LeaseReleaseTimeout = 5 * time.Second

// StopTimeout is the longest Run takes to return once its context ends:
// the grace period, then a cancelled check's state write and its notices'
// marks (each on a deadline of its own: RecordTimeout, MarkTimeout), then
// releasing the lease. A service manager's stop timeout must be longer
// (deploy/ tests that it is).
const StopTimeout = ShutdownGrace + check.RecordTimeout + MarkTimeout + LeaseReleaseTimeout

// Daemon checks every credential on its schedule, publishes tokens for CI
// and keeps the leader lease, so that of several replicas sharing one
// Vault exactly one runs the checks.
type Daemon struct {
	Store    *vaultstore.Store
	Checker  *oauthcheck.Checker
	Logger   *slog.Logger
	Observer Observer
	// ID names this replica in the leader lease.
	ID string
	// Notices, when set, sends reminders and alerts after each check.
	Notices *Notifications

	// clock is the daemon's time: its schedule, the lease, the records it
	// writes, its checks' and its notices' (NewDaemon's). Tests give a
	// fake one and advance it instead of sleeping.
	clock clockwork.Clock

	mu      sync.Mutex
	cfg     *config.Config
	engine  *check.Engine
	rotator *rotation.Runner
	pending map[string]bool // credentials with a staged pair, refreshed with the lease
	// budgets are the providers' request budgets.
	budgets Budgets
	// rotationErrs is each automated rotation's last failure, announced once.
	rotationErrs map[string]string
	// lastRenewed is when (by Clock) this replica's last renewal was read.
	lastRenewed time.Time
	// leaderCtx is the context everything started as leader runs under;
	// leaderCancel ends it the moment this replica stops leading.
	leaderCtx    context.Context
	leaderCancel context.CancelFunc
	// observedVersion is the lease record's version as this replica last
	// saw it, and observedAt when (by its own clock) it saw it change.
	observedVersion int
	observedAt      time.Time
	// nonce names this process in the lease beside ID (processNonce);
	// sharedIDWarned: the log said another process holds the lease under ID.
	nonce          string
	sharedIDWarned bool

	// The run loop's channels: finished jobs, reloads, WaitIdle's callers.
	done     chan jobDone
	reloaded chan struct{}
	idleQ    chan chan time.Duration

	leader atomic.Bool
	work   context.Context // jobs run under it; cancelled after the grace period
	ready  atomic.Bool
}

// NewDaemon returns a daemon for cfg that runs on clock: everything it
// schedules, waits for, records and judges goes by clock's time.
func NewDaemon(store *vaultstore.Store, cfg *config.Config, logger *slog.Logger, obs Observer, id string, clock clockwork.Clock) *Daemon {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if obs == nil {
		obs = nopObserver{}
	}
	d := &Daemon{
		Store: store, Checker: &oauthcheck.Checker{Clock: clock}, Logger: logger, Observer: obs, ID: id, clock: clock,
		cfg:  cfg,
		done: make(chan jobDone), reloaded: make(chan struct{}, 1), idleQ: make(chan chan time.Duration),
	}
	d.build(cfg, &check.Cache{})
	return d
}

// build makes the check engine and the rotation runner for cfg, sharing
// cache (under d.mu, or before the daemon runs).
func (d *Daemon) build(cfg *config.Config, cache *check.Cache) {
	d.engine = &check.Engine{Store: d.Store, Config: cfg, Cache: cache, Checker: d.Checker, Clock: d.clock}
	d.rotator = &rotation.Runner{Store: d.Store, Config: cfg, Cache: cache, Checker: d.Checker, Clock: d.clock}
}

func (d *Daemon) now() time.Time { return d.clock.Now() }

// IsLeader reports whether this replica runs the checks.
func (d *Daemon) IsLeader() bool { return d.leader.Load() }

// Ready reports this replica's role when it is ready to work: started,
// with Vault reachable and the login good; otherwise why it is not.
func (d *Daemon) Ready(ctx context.Context) (string, error) {
	if !d.ready.Load() {
		return "", errors.New("starting or stopping")
	}
	if _, err := d.Store.GetLease(ctx); err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
		return "", err
	}
	return d.Role(), nil
}

// Role is "leader" or "standby".
func (d *Daemon) Role() string {
	if d.IsLeader() {
		return "leader"
	}
	return "standby"
}

// Run runs the daemon until ctx ends, then lets running checks finish for
// up to ShutdownGrace, gives the lease up and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	d.work = work
	d.markStart(true)
	d.ready.Store(true)
	d.Logger.Info("daemon started", "replica", d.ID, "credentials", len(d.config().Credentials))
	newLoop(d, false).run(ctx, cancelWork)
	if d.Notices != nil {
		d.Notices.stop() // deliveries still retrying give up, and say so in the ledger
	}
	d.releaseLease()
	d.Logger.Info("daemon stopped", "replica", d.ID)
	return nil
}

// markStart tells the notices when this process started (claims this
// replica made before then are a killed process's, to be sent again now)
// and the daemon's clock; under Run (background), checks only feed the
// delivery pipeline, which delivers on its own.
func (d *Daemon) markStart(background bool) {
	if d.Notices != nil {
		var ledger notify.LedgerStore
		if d.Store != nil {
			ledger = d.checks().Records()
		}
		d.Notices.start(d.now(), d.processNonce(), d.clock, ledger, background)
	}
}

// beginStop is the start of a clean stop: no new work, not ready.
func (d *Daemon) beginStop() { d.ready.Store(false) }

// RunOnce takes the leader lease and checks every credential once, now,
// with the daemon's parallelism and budgets, outside any schedule: one
// cycle of the daemon, for one-shot runs and benchmarks. It keeps the
// lease while it runs and leaves it held (Release gives it up).
//
// It returns each credential's result in the config's order; a credential
// whose check could not run (a Vault error) has none.
func (d *Daemon) RunOnce(ctx context.Context) ([]oauthcheck.Result, error) {
	work, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	d.work = work
	d.markStart(false)
	ttl := d.config().Daemon.LeaseTTL
	if err := d.tryLease(ctx, ttl); err != nil {
		return nil, err
	}
	if !d.IsLeader() {
		return nil, errors.New("another replica holds the leader lease: it is checking the credentials")
	}
	d.rebaseLeadership()
	d.refreshPending(ctx)
	l := newLoop(d, true)
	l.leaseAt = d.now().Add(ttl / 3)
	l.run(ctx, cancelWork)
	var out []oauthcheck.Result
	for _, c := range d.config().Credentials {
		if r, ok := l.results[c.Name]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// rebaseLeadership puts a leadership kept from an earlier RunOnce under
// this run's context.
func (d *Daemon) rebaseLeadership() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leaderCancel != nil {
		d.leaderCancel()
	}
	d.leaderCtx, d.leaderCancel = context.WithCancel(d.work)
}

// Release gives the leader lease up, as a clean stop does.
func (d *Daemon) Release() { d.releaseLease() }

// Reload switches to a new config (and its channels, when notices are
// on): schedules change without a restart.
func (d *Daemon) Reload(cfg *config.Config, channels map[string]notify.Notifier) {
	d.mu.Lock()
	d.cfg = cfg
	if d.Notices != nil {
		d.Notices.SetConfig(cfg, channels)
	}
	d.build(cfg, d.engine.Cache)
	d.mu.Unlock()
	select {
	case d.reloaded <- struct{}{}:
	default: // a reload is already waiting for the loop
	}
	d.Logger.Info("configuration reloaded", "credentials", len(cfg.Credentials))
}

// Config is the configuration in force (a reload replaces it).
func (d *Daemon) Config() *config.Config { return d.config() }

func (d *Daemon) config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// HeldRecords is what this replica holds of the credentials' records
// (its check engine's Cache) while it leads, for the status page to
// answer from; nil when it does not lead (then what it holds may be old).
func (d *Daemon) HeldRecords() *check.Cache {
	if !d.IsLeader() {
		return nil
	}
	return d.checks().Cache
}

func (d *Daemon) checks() *check.Engine {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.engine
}

func (d *Daemon) hasStaged(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending[name]
}

// leaderContext is the context of this replica's leadership, nil when it
// does not lead or is stopping.
func (d *Daemon) leaderContext() context.Context {
	if !d.IsLeader() || d.work == nil || d.work.Err() != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.leaderCtx
}

// snapshot is what one check runs under: one configuration, the check
// engine and rotation runner built for it, and the notices' setup, taken
// together so that a reload never splits a check.
type snapshot struct {
	cfg     *config.Config
	engine  *check.Engine
	runner  *rotation.Runner
	notices Setup
}

func (d *Daemon) snapshot() snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := snapshot{cfg: d.cfg, engine: d.engine, runner: d.rotator}
	if d.Notices != nil {
		s.notices = d.Notices.setup()
	}
	return s
}
