package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
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
const StopTimeout = ShutdownGrace + rotation.RecordTimeout + MarkTimeout + LeaseReleaseTimeout

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
	// Clock is the time the lease is judged by (time.Now when nil).
	Clock func() time.Time
	// Notices, when set, sends reminders and alerts after each check.
	Notices *Notifications

	mu        sync.Mutex
	cfg       *policies.Config
	cron      *cron.Cron
	runner    *rotation.Runner
	published map[string]*vaultstore.Token // what tokens/NAME holds, as last seen
	timers    map[string]*time.Timer       // token renewals
	running   map[string]bool
	pending   map[string]bool // credentials with a staged pair, refreshed with the lease
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
	// scheduled are the credentials this daemon has scheduled; firstCheck,
	// those whose first check is still to come.
	scheduled  map[string]bool
	firstCheck map[string]bool
	stopping   bool // no new checks start once set

	leader   atomic.Bool
	sem      chan struct{}
	work     context.Context // checks run under it; cancelled after the grace period
	inflight sync.WaitGroup
	ready    atomic.Bool
}

// NewDaemon returns a daemon for cfg.
func NewDaemon(store *vaultstore.Store, cfg *policies.Config, logger *slog.Logger, obs Observer, id string) *Daemon {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if obs == nil {
		obs = nopObserver{}
	}
	checker := &oauthcheck.Checker{}
	return &Daemon{
		Store: store, Checker: checker, Logger: logger, Observer: obs, ID: id,
		cfg: cfg, runner: &rotation.Runner{Store: store, Config: cfg, Cache: &rotation.Cache{}, Checker: checker},
		published: map[string]*vaultstore.Token{}, timers: map[string]*time.Timer{}, running: map[string]bool{}, firstCheck: map[string]bool{},
		sem: make(chan struct{}, max(cfg.Daemon.Parallel, 1)),
	}
}

// observe notes when, by this replica's clock, the lease record last
// changed, and returns that time.
func (d *Daemon) observe(cur *vaultstore.Lease, now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	version := 0
	if cur != nil {
		version = cur.Version
	}
	if version != d.observedVersion || d.observedAt.IsZero() {
		d.observedVersion, d.observedAt = version, now
	}
	return d.observedAt
}

func (d *Daemon) clock() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

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
// up to ShutdownGrace and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	d.work = work

	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		d.keepLease(ctx)
	}()
	d.schedule()
	d.ready.Store(true)
	d.Logger.Info("daemon started", "replica", d.ID, "credentials", len(d.config().Credentials))

	<-ctx.Done()
	d.ready.Store(false)
	d.mu.Lock()
	d.stopping = true
	stopped := d.cron.Stop()
	for _, t := range d.timers {
		t.Stop()
	}
	d.mu.Unlock()
	<-leaseDone

	done := make(chan struct{})
	go func() { <-stopped.Done(); d.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(ShutdownGrace):
		d.Logger.Warn("checks still running after the grace period; cancelling them", "grace", ShutdownGrace)
		cancelWork()
		<-done
	}
	d.releaseLease()
	d.Logger.Info("daemon stopped", "replica", d.ID)
	return nil
}

// RunOnce takes the leader lease and checks every credential once, with
// the daemon's concurrency, outside any schedule. It is one cycle of the
// daemon, for benchmarks and one-shot runs.
//
// It returns each credential's result in the config's order; a credential
// whose check could not run (a Vault error) has none.
func (d *Daemon) RunOnce(ctx context.Context) ([]oauthcheck.Result, error) {
	if d.work == nil {
		d.work = ctx
	}
	d.tryLease(ctx, d.config().Daemon.LeaseTTL)
	if !d.IsLeader() {
		return nil, errors.New("another replica holds the leader lease: it is checking the credentials")
	}
	creds := d.config().Credentials
	results := make([]oauthcheck.Result, len(creds))
	ran := make([]bool, len(creds))
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], ran[i] = d.runCheck(c.Name, true) }()
	}
	wg.Wait()
	out := results[:0]
	for i, r := range results {
		if ran[i] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Release gives the leader lease up, as a clean stop does.
func (d *Daemon) Release() { d.releaseLease() }

// Reload switches to a new config (and its channels, when notices are
// on): schedules change without a restart.
func (d *Daemon) Reload(cfg *policies.Config, channels map[string]notify.Notifier) {
	d.mu.Lock()
	d.cfg = cfg
	if d.Notices != nil {
		d.Notices.SetConfig(cfg, channels)
	}
	d.runner = &rotation.Runner{Store: d.Store, Config: cfg, Cache: d.runner.Cache, Checker: d.Checker}
	d.mu.Unlock()
	d.schedule()
	d.Logger.Info("configuration reloaded", "credentials", len(cfg.Credentials))
}

func (d *Daemon) config() *policies.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// snapshot is what one check runs under: one configuration, the runner
// built for it, and the notices' setup, taken together so that a reload
// never splits a check.
type snapshot struct {
	cfg     *policies.Config
	runner  *rotation.Runner
	notices Setup
}

func (d *Daemon) snapshot() snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := snapshot{cfg: d.cfg, runner: d.runner}
	if d.Notices != nil {
		s.notices = d.Notices.setup()
	}
	return s
}

// schedule (re)builds the cron schedules: one per credential, each shifted
// by a stable part of its interval (Offset of its name) so that thousands
// do not fire at once, and every replica and restart agrees. A credential
// this daemon has not scheduled before (all of them at start, new ones at
// a reload) is first checked within first_check_within, spread the same
// way, unless its last check is younger than its interval.
func (d *Daemon) schedule() {
	cfg := d.config()
	c := cron.New(cron.WithLocation(time.UTC))
	now := time.Now()
	within := cfg.Daemon.FirstCheckWithin
	if within <= 0 {
		within = policies.DefaultFirstCheckWithin
	}
	d.mu.Lock()
	if d.scheduled == nil {
		d.scheduled = map[string]bool{}
	}
	for _, cred := range cfg.Credentials {
		name := cred.Name
		sched := Spread(cred.Schedule, Offset(name, Interval(cred.Schedule, now)))
		if !d.scheduled[name] {
			d.scheduled[name] = true
			d.firstCheck[name] = true
			sched = StartingAt(sched, now.Add(Offset(name, within)))
		}
		c.Schedule(sched, cron.FuncJob(func() { _, _ = d.runCheck(name, false) }))
	}
	old := d.cron
	d.cron = c
	d.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	c.Start()
}

// runCheck runs one check of name, unless this replica is not the leader,
// the same check is still running, or the stored state asks for backoff.
func (d *Daemon) runCheck(name string, renewal bool) (res oauthcheck.Result, ran bool) {
	snap := d.snapshot()
	decl, ok := snap.cfg.Credential(name)
	if !ok {
		return
	}
	leading, ok := d.admit(name)
	if !ok {
		return
	}
	defer d.release(name)
	if st := snap.runner.Cache.State(name); st != nil && !renewal {
		if nb := NotBefore(*st); time.Now().Before(nb) {
			d.Logger.Debug("check skipped: backing off", "credential", name, "until", dates.FormatTime(nb), "class", st.LastClass)
			return
		}
	}
	if d.takeFirstCheck(name) && !renewal && d.recentlyChecked(d.work, name, decl) {
		return
	}
	// The provider's budget first, then a slot: a check waiting for one
	// provider never holds a slot another provider's checks could use. The
	// wait is outside the check's deadline: waiting is not failing.
	budget := d.budgetFor(snap.cfg, decl)
	if budget != nil && budget.Wait(leading, requestsPerCheck(snap.cfg, decl)) != nil {
		return
	}
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-leading.Done():
		return
	}

	ctx, cancel := context.WithTimeout(leading, snap.cfg.Daemon.CheckTimeout)
	defer cancel()
	out, err := snap.runner.Check(ctx, name, false)
	if err != nil {
		d.Logger.Error("check failed", "credential", name, "error", err)
		return
	}
	if budget != nil {
		budget.Observe(out.Result, time.Now())
	}
	res, ran = out.Result, true
	d.report(ctx, out.Result, out.State)
	if decl.PublishToken != nil {
		if err := d.publish(ctx, snap.cfg, decl, out.Result); err != nil {
			d.Logger.Error("token not published", "credential", name, "error", err)
		}
	}
	if d.Notices != nil {
		res := out.Result
		facts := CredentialFacts{Name: name, Environment: res.Environment, Provider: res.Provider, RotateBy: res.RotateBy, Rotation: out.Metadata.Rotation, State: out.State}
		if err := d.Notices.TickUnder(ctx, snap.notices, facts, time.Now()); err != nil {
			d.Logger.Error("notices", "credential", name, "error", err)
		}
	}
	if !renewal {
		d.checkStaged(ctx, snap.runner, name)
		if decl.AutoRotate != nil {
			d.advanceRotation(ctx, snap, decl)
		}
	}
	return res, ran
}

// advanceRotation runs a credential's automated rotation as far as it can
// go now: from start_before its deadline, step by step, on the credential's
// schedule. A step that fails is reported to the credential's channels
// with the step and the provider's answer; the old secret still works.
func (d *Daemon) advanceRotation(ctx context.Context, snap snapshot, decl *policies.Credential) {
	rep, err := snap.runner.AutoRotate(ctx, decl.Name, rotation.AutoRotateOptions{Transport: d.Checker.Transport})
	if rep != nil {
		for _, did := range rep.Did {
			d.Logger.Info("automated rotation", "credential", decl.Name, "step", rep.Step, "did", did)
		}
	}
	d.mu.Lock()
	if d.rotationErrs == nil {
		d.rotationErrs = map[string]string{}
	}
	prev := d.rotationErrs[decl.Name]
	if err == nil {
		delete(d.rotationErrs, decl.Name)
	} else {
		d.rotationErrs[decl.Name] = err.Error()
	}
	d.mu.Unlock()
	if err == nil {
		return
	}
	d.Logger.Error("automated rotation stopped", "credential", decl.Name, "error", err)
	targets := append(append([]string{}, decl.Notify...), decl.Page...)
	if d.Notices == nil || len(targets) == 0 || prev == err.Error() {
		return // told once per failure, not at every check
	}
	nt := notify.Notice{Key: "rotation_failed/" + decl.Name, Kind: notify.KindRotationFailed, Credential: decl.Name, Environment: decl.Environment,
		Provider: decl.Provider, Summary: err.Error(), Action: "fix what the summary names, then run credkeeper rotate auto " + decl.Name + " to resume.", At: time.Now()}
	if err := d.Notices.Announce(ctx, targets, nt); err != nil {
		d.Logger.Error("the rotation notice was not sent everywhere", "credential", decl.Name, "error", err)
	}
}

// budgetFor is the request budget of the credential's provider.
func (d *Daemon) budgetFor(cfg *policies.Config, decl *policies.Credential) *Budget {
	p, ok := cfg.Provider(decl.Provider)
	if !ok {
		return nil // misconfigured: the check sends nothing
	}
	return d.budgets.For(p)
}

// requestsPerCheck is how many requests one check of decl sends: the token
// request, and the probe when the provider has one (a user grant: the
// probe alone).
func requestsPerCheck(cfg *policies.Config, decl *policies.Credential) int {
	p, ok := cfg.Provider(decl.Provider)
	switch {
	case !ok:
		return 0
	case decl.Grant == policies.GrantAuthorizationCode:
		return 1
	case p.Probe != nil:
		return 2
	}
	return 1
}

// takeFirstCheck reports whether this is name's first check since it was
// scheduled, and marks it taken.
func (d *Daemon) takeFirstCheck(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	first := d.firstCheck[name]
	delete(d.firstCheck, name)
	return first
}

// recentlyChecked reports whether name's last check, as Vault records it,
// is younger than its interval: then its first check after a start waits
// for its schedule.
func (d *Daemon) recentlyChecked(ctx context.Context, name string, decl *policies.Credential) bool {
	st, err := d.Store.GetState(ctx, name)
	if err != nil || st.LastCheck.IsZero() {
		return false
	}
	now := time.Now()
	if now.Sub(st.LastCheck) < Interval(decl.Schedule, now) {
		d.Logger.Debug("first check skipped: checked recently", "credential", name, "last_check", dates.FormatTime(st.LastCheck))
		return true
	}
	return false
}

// admit lets one check of name start: this replica leads, is not stopping,
// and is not already checking name. It returns the leader's context, which
// ends when this replica stops leading. release undoes it.
func (d *Daemon) admit(name string) (context.Context, bool) {
	if !d.IsLeader() || d.work.Err() != nil {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[name] || d.stopping || d.leaderCtx == nil {
		return nil, false
	}
	d.running[name] = true
	d.inflight.Add(1)
	return d.leaderCtx, true
}

func (d *Daemon) release(name string) {
	d.mu.Lock()
	delete(d.running, name)
	d.mu.Unlock()
	d.inflight.Done()
}

// report tells the observer and the log what a check found.
func (d *Daemon) report(ctx context.Context, res oauthcheck.Result, st vaultstore.State) {
	d.Observer.CheckDone(res, st.LastSuccess)
	level := slog.LevelInfo
	if res.Class != oauthcheck.ClassOK {
		level = slog.LevelWarn
	}
	d.Logger.Log(ctx, level, "check", "credential", res.Name, "environment", res.Environment, "class", string(res.Class),
		"status", res.Status, "latency_ms", res.Latency.Milliseconds(), "not_sent", res.NotSent, "detail", res.Detail)
}

// checkStaged checks the pair staged for name, when there is one.
func (d *Daemon) checkStaged(ctx context.Context, runner *rotation.Runner, name string) {
	d.mu.Lock()
	staged := d.pending[name]
	d.mu.Unlock()
	if !staged {
		return
	}
	if decl, ok := runner.Config.Credential(name); ok {
		if b := d.budgetFor(runner.Config, decl); b != nil && b.Wait(ctx, 1) != nil {
			return
		}
	}
	pr, err := runner.CheckPending(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		d.mu.Lock()
		delete(d.pending, name)
		d.mu.Unlock()
	case err != nil:
		d.Logger.Error("staged pair not checked", "credential", name, "error", err)
	default:
		d.Logger.Info("staged pair checked", "credential", name, "class", string(pr.Class), "not_sent", pr.NotSent, "detail", pr.Detail)
	}
}

// refreshPending learns which credentials have a staged pair: one list
// request for all of them, made with each lease renewal.
func (d *Daemon) refreshPending(ctx context.Context) {
	set, err := d.Store.Staged(ctx)
	if err != nil {
		d.Logger.Debug("staged pairs not listed", "error", err)
		return
	}
	d.mu.Lock()
	d.pending = set
	d.mu.Unlock()
}

// publish keeps tokens/NAME live: it writes the check's fresh token when
// the published one is missing or due for renewal, and deletes the
// published token when the credential failed, so CI never reads a token
// that cannot work.
func (d *Daemon) publish(ctx context.Context, cfg *policies.Config, decl *policies.Credential, res oauthcheck.Result) error {
	name := decl.Name
	cur, err := d.publishedToken(ctx, name)
	if err != nil {
		return err
	}
	now := time.Now()
	switch {
	case res.Class.IsCredentialFailure():
		if cur == nil {
			return nil
		}
		if err := d.Store.DeleteTokenIf(ctx, name, cur.Version); err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
			return err
		}
		d.setPublished(name, nil)
		d.Observer.TokenPublished(name, time.Time{})
		d.Logger.Warn("published token removed: the credential failed", "credential", name, "class", string(res.Class))
		return nil
	case res.Class != oauthcheck.ClassOK || res.AccessToken.IsZero():
		return nil // not the credential's fault: the published token may still work
	}
	if cur != nil && now.Before(RenewAt(cur.IssuedAt, cur.ExpiresAt, decl.PublishToken.RenewBefore)) {
		return nil
	}
	var maxTTL time.Duration
	if p, ok := cfg.Provider(res.Provider); ok {
		maxTTL = p.MaxTokenTTL
	}
	tok, err := rotation.PublishToken(ctx, d.Store, res, cur, maxTTL)
	if err != nil {
		d.setPublished(name, nil) // re-read next time
		return err
	}
	d.setPublished(name, tok)
	d.Observer.TokenPublished(name, tok.ExpiresAt)
	d.scheduleRenewal(name, RenewAt(tok.IssuedAt, tok.ExpiresAt, decl.PublishToken.RenewBefore))
	d.Logger.Info("token published", "credential", name, "expires_at", dates.FormatTime(tok.ExpiresAt))
	return nil
}

func (d *Daemon) publishedToken(ctx context.Context, name string) (*vaultstore.Token, error) {
	d.mu.Lock()
	tok, known := d.published[name]
	d.mu.Unlock()
	if known {
		return tok, nil
	}
	tok, err := d.Store.GetToken(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		tok = nil
	case errors.Is(err, vaultstore.ErrMalformed) && tok != nil:
		// Replace it on the next write.
	case err != nil:
		return nil, err
	}
	d.setPublished(name, tok)
	return tok, nil
}

func (d *Daemon) setPublished(name string, tok *vaultstore.Token) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tok == nil {
		delete(d.published, name)
		return
	}
	d.published[name] = tok
}

// scheduleRenewal runs an extra check when the published token is due,
// in case the credential's schedule is longer than the token's life.
func (d *Daemon) scheduleRenewal(name string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.timers[name]; t != nil {
		t.Stop()
	}
	d.timers[name] = time.AfterFunc(time.Until(at)+time.Second, func() { _, _ = d.runCheck(name, true) })
}

// keepLease takes and renews the leader lease every third of its TTL until
// ctx ends. A leader that cannot renew stops its checks before the lease
// it holds expires.
func (d *Daemon) keepLease(ctx context.Context) {
	for {
		ttl := d.config().Daemon.LeaseTTL
		d.tryLease(ctx, ttl)
		if d.IsLeader() {
			d.refreshPending(ctx)
		}
		// Until the next renewal, step down the moment the last one is
		// too old, even if no renewal has failed yet.
		next := time.After(ttl / 3)
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-next:
				waiting = false
			case <-time.After(ttl / 10):
				d.mu.Lock()
				last := d.lastRenewed
				d.mu.Unlock()
				if d.IsLeader() && RenewalOverdue(last, d.clock(), ttl) {
					d.loseLease("the last renewal is older than the lease allows", errors.New("no renewal in time"))
				}
			}
		}
	}
}

func (d *Daemon) tryLease(ctx context.Context, ttl time.Duration) {
	now := d.clock()
	cur, err := d.Store.GetLease(ctx)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		cur = nil
	case err != nil:
		d.loseLease("the lease could not be read", err)
		return
	}
	observedAt := d.observe(cur, now)
	if !CanTakeLease(cur, d.ID, observedAt, now, ttl) {
		d.setLeader(false, cur.Holder)
		return
	}
	cas := 0
	if cur != nil {
		cas = cur.Version
	}
	if _, err := d.Store.PutLease(ctx, &vaultstore.Lease{Holder: d.ID, ExpiresAt: now.Add(ttl)}, cas); err != nil {
		if errors.Is(err, vaultstore.ErrCASConflict) {
			d.setLeader(false, "another replica")
			return
		}
		d.loseLease("the lease could not be renewed", err)
		return
	}
	if RenewalOverdue(now, d.clock(), ttl) {
		d.loseLease("the renewal took most of the lease's life", errors.New("a slow Vault"))
		return
	}
	d.mu.Lock()
	d.lastRenewed = now
	d.mu.Unlock()
	d.setLeader(true, d.ID)
}

// loseLease steps down at once: the next renewal would come after a third
// of the TTL, and the lease must not expire while checks still run here.
func (d *Daemon) loseLease(why string, err error) {
	if d.leader.Load() {
		d.Logger.Error("stepping down: "+why, "error", err)
	}
	d.setLeader(false, "")
}

func (d *Daemon) setLeader(leader bool, holder string) {
	if d.leader.Swap(leader) != leader {
		if d.Notices != nil {
			d.Notices.Forget() // another replica may have written the ledgers meanwhile
		}
		d.mu.Lock()
		if d.leaderCancel != nil {
			d.leaderCancel() // nothing started as leader outlives the lease
		}
		if leader {
			// Start from Vault, not from what was cached when this replica
			// last led: another leader may have moved state, refusals,
			// published tokens and ledgers meanwhile.
			d.runner.Cache.ForgetVault()
			d.published = map[string]*vaultstore.Token{}
			base := d.work
			if base == nil {
				base = context.Background()
			}
			d.leaderCtx, d.leaderCancel = context.WithCancel(base)
		} else {
			d.leaderCtx, d.leaderCancel = nil, nil
		}
		d.mu.Unlock()
		if leader {
			d.Logger.Info("this replica is now the leader: running checks", "replica", d.ID)
		} else {
			d.Logger.Info("this replica is standby", "replica", d.ID, "leader", holder)
		}
	}
	d.Observer.Leader(leader)
}

// releaseLease gives the lease up on a clean stop, so another replica can
// take over at once instead of waiting for it to expire.
func (d *Daemon) releaseLease() {
	if !d.leader.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), LeaseReleaseTimeout)
	defer cancel()
	cur, err := d.Store.GetLease(ctx)
	if err != nil || cur.Holder != d.ID {
		return
	}
	_, _ = d.Store.PutLease(ctx, &vaultstore.Lease{Holder: "", ExpiresAt: d.clock()}, cur.Version)
	d.setLeader(false, "")
}
