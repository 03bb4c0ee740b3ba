package daemon

import (
	"container/heap"
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/oauthcheck"
)

// The run loop is the daemon's one scheduler (consul-template's and Vault
// Agent's shape): a single goroutine owns every credential's next check,
// the token renewals, the provider budgets' queues, the parallelism and
// the lease's timing. It sleeps on one timer, set for the earliest thing
// due, and wakes for that timer, for a finished job, a reload, a lease
// change or a stop. Jobs (a check, a lease renewal) run on other
// goroutines (checks on the loop's workers) and report back; nothing else
// in the daemon waits on time.

// jobKind is what a queue item starts when it is due.
type jobKind uint8

const (
	// jobCheck is a scheduled check.
	jobCheck jobKind = iota
	// jobFirst is the first check after a start, a reload that added the
	// credential, or a change of leader: it reads the credential's state
	// and becomes a check now when the last one is older than an interval.
	jobFirst
	// jobRenewal is a check made because the published token is due for
	// renewal before the credential's schedule comes round.
	jobRenewal
)

// item is one credential's next check, or its next renewal, in the queue.
type item struct {
	name  string
	kind  jobKind
	sched cron.Schedule // a check's spread schedule; nil for a renewal
	at    time.Time
	held  hold // how much of its provider's budget is taken for it
	index int  // in the queue; -1 when out of it
	// job is the credential resolved from the configuration in force
	// (resolve), kept until a reload replaces it.
	job *job
}

// queue is a min-heap of items by due time.
type queue []*item

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	it := x.(*item)
	it.index = len(*q)
	*q = append(*q, it)
}
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	it.index = -1
	return it
}

// jobDone is what a finished job tells the loop.
type jobDone struct {
	it  *item
	res oauthcheck.Result
	ran bool
	// due: a jobFirst found the credential unchecked for an interval.
	due bool
	// renewAt, when set, is when the token just published is to be renewed;
	// remindAt, when the credential's next reminder falls due.
	renewAt, remindAt time.Time
	// retryNotices: a notice is left unsent (its send failed, or its
	// claimer died); the credential is looked at again once claims lapse.
	retryNotices bool
	// lease: a lease renewal finished; leaseFailed: Vault could not be reached.
	lease, leaseFailed bool
}

// loop is the run loop's state, owned by its goroutine.
type loop struct {
	d    *Daemon
	once bool // RunOnce: every credential once, nothing rescheduled

	q        queue
	checks   map[string]*item // each credential's next check
	renewals map[string]*item // each published token's next renewal
	// ready are the items whose budget is taken, waiting for a slot, by
	// provider; it counts each provider's checks in flight, which are at
	// most its share of the slots (Config.MaxInFlight). slotOf is the
	// provider each running check counts against.
	ready     *readyQueue
	running   map[string]bool
	slotOf    map[string]string
	unrun     map[string]int // checks in a row that could not run
	unsent    map[string]int // checks in a row that left a notice unsent
	inflight  int            // checks running
	leaseBusy bool           // a lease renewal running
	leaseAt   time.Time
	wasLeader bool
	results   map[string]oauthcheck.Result // RunOnce's
	stopping  bool

	idle []chan time.Duration // WaitIdle's callers

	// start runs a job under the leader's context on one of the loop's
	// workers, which reports to the loop through d.done.
	start   func(leading context.Context, it item)
	workers workers
}

// workers are the goroutines that run the loop's jobs. Each lives as long
// as the loop and takes job after job: a check's HTTP and JSON calls grow
// a goroutine's stack several times, and a goroutine made for each job
// would grow (copy) it again for every check. There are never more of
// them than jobs ran at once.
type workers struct {
	jobs    chan func()
	started int // workers made so far
}

// run runs job on a worker waiting for one, or on a new worker when none
// is waiting. It never blocks; one goroutine calls it.
func (w *workers) run(job func()) {
	select {
	case w.jobs <- job:
	default:
		w.started++
		go w.work(job)
	}
}

// work runs job, then every job handed to it until stop.
func (w *workers) work(job func()) {
	for ok := true; ok; job, ok = <-w.jobs {
		job()
	}
}

// stop lets every waiting worker end; run must not be called after it.
func (w *workers) stop() { close(w.jobs) }

func newLoop(d *Daemon, once bool) *loop {
	l := &loop{d: d, once: once, checks: map[string]*item{}, renewals: map[string]*item{},
		running: map[string]bool{}, ready: newReadyQueue(), slotOf: map[string]string{}, unrun: map[string]int{}, unsent: map[string]int{}, results: map[string]oauthcheck.Result{},
		workers: workers{jobs: make(chan func())}}
	l.start = func(leading context.Context, it item) {
		l.workers.run(func() { d.done <- d.runJob(leading, it) })
	}
	return l
}

// run is the loop. It returns when ctx ends and every job has finished (a
// grace period later, checks are cancelled), or, once, when every
// credential has been checked.
func (l *loop) run(ctx context.Context, cancelWork context.CancelFunc) {
	d := l.d
	l.reschedule(d.now(), true)
	var graceC <-chan time.Time
	timer := d.clock.NewTimer(time.Hour)
	defer func() { timer.Stop() }()
	defer l.workers.stop()
	for {
		now := d.now()
		l.dispatch(now)
		if l.stopping || (l.once && l.finished()) {
			if l.inflight == 0 && !l.leaseBusy {
				return
			}
		}
		wake := l.nextWake(now)
		l.answerIdle(now, wake)
		timer.Stop()
		timer = d.clock.NewTimer(max(wake.Sub(now), 0))
		select {
		case <-timer.Chan():
		case r := <-d.done:
			l.finish(r)
		case <-d.reloaded:
			l.reschedule(d.now(), false)
		case ch := <-d.idleQ:
			l.idle = append(l.idle, ch)
		case <-ctx.Done():
			if !l.stopping {
				l.stopping = true
				d.beginStop()
				graceC = d.clock.After(ShutdownGrace)
			}
			ctx = context.Background() // seen: wait for the jobs below
		case <-graceC:
			d.Logger.Warn("checks still running after the grace period; cancelling them", "grace", ShutdownGrace)
			cancelWork()
			graceC = nil
		}
	}
}

// finished reports whether RunOnce's work is done.
func (l *loop) finished() bool {
	return l.q.Len() == 0 && l.ready.Len() == 0 && l.inflight == 0
}

// nextWake is when the loop must next look at the queue or the lease.
func (l *loop) nextWake(now time.Time) time.Time {
	wake := now.Add(24 * time.Hour)
	if l.q.Len() > 0 && !l.stopping {
		wake = l.q[0].at
	}
	if !l.leaseBusy && !l.stopping && l.leaseAt.Before(wake) {
		wake = l.leaseAt
	}
	if l.d.IsLeader() && !l.stopping {
		if overdue := l.d.renewalDeadline(); overdue.Before(wake) {
			wake = overdue
		}
	}
	return wake
}

// answerIdle tells WaitIdle's callers, once nothing runs and nothing is
// due, how long until the loop next wakes.
func (l *loop) answerIdle(now, wake time.Time) {
	if len(l.idle) == 0 || l.inflight > 0 || l.leaseBusy || !wake.After(now) {
		return
	}
	for _, ch := range l.idle {
		ch <- wake.Sub(now)
	}
	l.idle = nil
}

// dispatch starts what is due at now: the lease renewal, then checks, as
// far as the budgets and the parallelism allow.
func (l *loop) dispatch(now time.Time) {
	d := l.d
	if l.stopping {
		return
	}
	if !l.leaseBusy && !now.Before(l.leaseAt) {
		l.leaseBusy = true
		ttl := d.config().Daemon.LeaseTTL
		go func() {
			err := d.renewLease(ttl)
			d.done <- jobDone{lease: true, leaseFailed: err != nil}
		}()
	}
	if d.IsLeader() && d.renewalOverdueNow() {
		d.loseLease("the last renewal is older than the lease allows", errNoRenewal)
	}
	leader := d.IsLeader()
	if leader && !l.wasLeader && !l.once {
		l.becameLeader(now)
	}
	l.wasLeader = leader
	for l.q.Len() > 0 && !l.q[0].at.After(now) {
		it := heap.Pop(&l.q).(*item)
		l.due(it, now, leader)
	}
	l.fillSlots()
}

// due handles one item whose time has come.
func (l *loop) due(it *item, now time.Time, leader bool) {
	d := l.d
	j := l.resolve(it)
	switch {
	case j == nil:
		l.forget(it.name)
		return
	case !leader || l.running[it.name]:
		// Another replica checks, or this one still is: the schedule goes on.
		l.next(it, now)
		return
	}
	if it.kind == jobCheck {
		if st, ok := j.snap.engine.Cache.Brief(it.name); ok {
			if nb := NotBefore(st); now.Before(nb) {
				d.Logger.Debug("check skipped: backing off", "credential", it.name, "until", nb.UTC().Format(time.RFC3339), "class", st.LastClass)
				l.next(it, now)
				l.bringForward(it.name, nb) // held back, not skipped: a reminder may be due
				return
			}
		}
	}
	if it.kind != jobFirst {
		// The provider's budget first, then a slot: a check waiting for one
		// provider never holds a slot another provider's checks could use.
		// Waiting is queueing, not failing.
		if b := j.budget; b != nil {
			n, before := l.requests(j), it.held
			wait, held := b.Reserve(now, n, it.held)
			if held == holdTaken && before != holdTaken {
				d.budgetTaken(b.Group(), n)
			}
			if wait > 0 {
				it.at, it.held = now.Add(wait), held
				heap.Push(&l.q, it)
				return
			}
		}
		it.held = holdTaken
	}
	provider, counted := l.providerOf(it)
	l.ready.push(it, provider, counted)
}

// resolve is the item's credential resolved from the configuration in
// force: the job kept on the item while that configuration holds, else
// resolved anew (the one lookup of its configuration a check makes). nil:
// the configuration no longer declares it.
func (l *loop) resolve(it *item) *job {
	snap := l.d.snapshot()
	if it.job != nil && it.job.snap.cfg == snap.cfg {
		return it.job
	}
	it.job = l.d.resolveJob(snap, it.name)
	return it.job
}

// requests is how many provider requests a check of j may send.
func (l *loop) requests(j *job) int {
	n := j.requests
	if n > 0 && l.d.hasStaged(j.Name) {
		n++
	}
	return n
}

// fillSlots starts ready jobs while the parallelism allows, in the order
// they became ready, except that a provider holding its share of the
// slots (max_in_flight) starts no more until one of its checks ends: its
// checks wait, and the other providers' go first, so that a provider that
// hangs delays only itself.
func (l *loop) fillSlots() {
	d := l.d
	cfg := d.config()
	limit := max(cfg.Daemon.Parallel, 1)
	for l.inflight < limit {
		it, pq, ok := l.ready.pop()
		if !ok {
			return
		}
		now := d.now()
		leading := d.leaderContext()
		if leading == nil || l.running[it.name] {
			l.next(it, now)
			continue
		}
		l.inflight++
		l.running[it.name] = true
		if pq.counted {
			l.ready.started(pq)
			l.slotOf[it.name] = pq.name
		}
		l.start(leading, *it)
		if it.kind != jobFirst {
			l.next(it, now)
		}
	}
}

// providerOf is the provider whose share a job counts against: a check's
// or a renewal's. A first look reads Vault only and counts against none.
func (l *loop) providerOf(it *item) (string, bool) {
	if it.kind == jobFirst || it.job == nil {
		return "", false
	}
	return it.job.Decl.Provider, true
}

// finish takes a finished job's report.
func (l *loop) finish(r jobDone) {
	if r.lease {
		// Every third of the TTL; after a failure, sooner: a replica that
		// stepped down for a Vault blip leads again as soon as Vault is back.
		l.leaseBusy = false
		every := l.d.config().Daemon.LeaseTTL / 3
		if r.leaseFailed {
			every = min(every, BackoffBase)
		}
		l.leaseAt = l.d.now().Add(every)
		return
	}
	l.inflight--
	delete(l.running, r.it.name)
	if p, ok := l.slotOf[r.it.name]; ok {
		l.ready.ended(p)
		delete(l.slotOf, r.it.name)
	}
	if l.once && r.ran {
		l.results[r.it.name] = r.res
	}
	now := l.d.now()
	if r.it.kind == jobFirst {
		if it := l.checks[r.it.name]; it != nil && it.index < 0 && it.kind == jobFirst {
			if r.due {
				it.at, it.kind = now, jobCheck
			} else {
				it.kind = jobCheck
				it.at = it.sched.Next(now)
			}
			heap.Push(&l.q, it)
		}
	}
	if !r.renewAt.IsZero() && !l.once {
		l.setRenewal(r.it.name, r.renewAt.Add(time.Second))
	}
	if r.it.kind == jobCheck && !l.once {
		l.retryUnrun(r, now)
	}
	if !r.remindAt.IsZero() && !l.once {
		l.bringForward(r.it.name, r.remindAt)
	}
	if r.ran && !l.once {
		l.retryNotices(r, now)
	}
}

// retryNotices brings a credential with a notice left unsent forward to
// when claims have lapsed, then less and less often (at most hourly), so
// that a notice a dead process claimed, or a channel that failed, does
// not wait for the next scheduled check and its next reminder tier.
func (l *loop) retryNotices(r jobDone, now time.Time) {
	name := r.it.name
	if !r.retryNotices || l.d.Notices == nil {
		delete(l.unsent, name)
		return
	}
	l.unsent[name]++
	wait := l.d.Notices.claimTimeout() << min(l.unsent[name]-1, 6)
	l.bringForward(name, now.Add(min(wait, time.Hour)))
}

// bringForward moves a credential's next check to at, when at comes first.
func (l *loop) bringForward(name string, at time.Time) {
	if it := l.checks[name]; it != nil && it.index >= 0 && at.Before(it.at) {
		it.at, it.kind, it.held = at, jobCheck, holdNone
		heap.Fix(&l.q, it.index)
	}
}

// retryUnrun brings a check that could not run (Vault unreachable or
// sealed, the leadership lost) forward from its schedule's next run to a
// backoff from now: a Vault outage of an hour must not cost a day's check,
// and with it the reminder due that day.
func (l *loop) retryUnrun(r jobDone, now time.Time) {
	name := r.it.name
	if r.ran {
		delete(l.unrun, name)
		return
	}
	l.unrun[name]++
	l.bringForward(name, now.Add(Backoff(l.unrun[name])))
}

// next puts the item back for its next time: a check at its schedule's
// next run; a renewal is done with (the check it led to renews again when
// due); RunOnce reschedules nothing.
func (l *loop) next(it *item, now time.Time) {
	it.held = holdNone
	if l.once || it.kind == jobRenewal {
		if it.kind == jobRenewal && l.renewals[it.name] == it {
			delete(l.renewals, it.name)
		}
		return
	}
	if it.kind == jobFirst {
		it.kind = jobCheck
	}
	if it.sched == nil {
		return
	}
	it.at = nextRun(it.sched, now)
	heap.Push(&l.q, it)
}

// nextRun is the schedule's next run after a check at now, skipping a run
// less than half an interval away: a first check, or one the budget
// delayed, is not followed at once by the next.
func nextRun(sched cron.Schedule, now time.Time) time.Time {
	next := sched.Next(now)
	if following := sched.Next(next); next.Sub(now) < following.Sub(next)/2 {
		return following
	}
	return next
}

func (l *loop) setRenewal(name string, at time.Time) {
	it := l.renewals[name]
	if it == nil {
		it = &item{name: name, kind: jobRenewal, index: -1}
		l.renewals[name] = it
	}
	it.at, it.held = at, holdNone
	if it.index >= 0 {
		heap.Fix(&l.q, it.index)
	} else {
		heap.Push(&l.q, it)
	}
}

// forget drops a credential the configuration no longer declares.
func (l *loop) forget(name string) {
	for _, it := range []*item{l.checks[name], l.renewals[name]} {
		if it != nil && it.index >= 0 {
			heap.Remove(&l.q, it.index)
		}
	}
	delete(l.checks, name)
	delete(l.renewals, name)
}

// reschedule (re)builds the queue from the configuration: one item per
// credential, each shifted by a stable part of its interval (Offset of
// its name) so that thousands do not fire at once and every replica and
// restart agrees. A credential not scheduled before (all of them at
// start, new ones at a reload) is first looked at within
// first_check_within, spread the same way. RunOnce checks everything now.
func (l *loop) reschedule(now time.Time, start bool) {
	cfg := l.d.config()
	within := cfg.Daemon.FirstCheckWithin // config applies its default
	declared := make(map[string]bool, len(cfg.Credentials))
	for _, cred := range cfg.Credentials {
		name := cred.Name
		declared[name] = true
		sched := Spread(cred.Schedule, Offset(name, Interval(cred.Schedule, now)))
		it := l.checks[name]
		switch {
		case l.once:
			it = &item{name: name, kind: jobCheck, sched: sched, at: now, index: -1}
			l.checks[name] = it
			heap.Push(&l.q, it)
		case it == nil:
			it = &item{name: name, sched: sched, index: -1}
			l.checks[name] = it
			it.kind, it.at = jobFirst, FirstCheckAt(sched, name, within, now)
			heap.Push(&l.q, it)
		case it.index >= 0 && it.kind == jobCheck:
			it.at = sched.Next(now) // the schedule may have changed
			heap.Fix(&l.q, it.index)
		}
		it.sched = sched
	}
	if start {
		return
	}
	for name := range l.checks {
		if !declared[name] {
			l.forget(name)
		}
	}
	l.requeueReady()
}

// requeueReady resolves the items waiting for a slot under the
// configuration just loaded: one the configuration no longer declares is
// dropped, one whose provider changed waits for the new provider's share,
// and each keeps its place in the order.
func (l *loop) requeueReady() {
	for _, it := range l.ready.drain() {
		if l.resolve(it) == nil {
			continue
		}
		provider, counted := l.providerOf(it)
		l.ready.push(it, provider, counted)
	}
}

// becameLeader starts from Vault: every credential is looked at within
// first_check_within, as at a start, since the replica that led before
// may have left some unchecked for longer than their interval.
func (l *loop) becameLeader(now time.Time) {
	cfg := l.d.config()
	within := cfg.Daemon.FirstCheckWithin // config applies its default
	for name, it := range l.checks {
		if it.index < 0 {
			continue
		}
		if first := FirstCheckAt(it.sched, name, within, now); it.kind == jobCheck && first.Before(it.at) {
			it.kind, it.at, it.held = jobFirst, first, holdNone
			heap.Fix(&l.q, it.index)
		}
	}
}

// FirstCheckAt is when a credential not checked since a start is first
// looked at: within first_check_within of now, at its name's stable place
// in that window, or at its schedule's own next run if that comes sooner.
func FirstCheckAt(s cron.Schedule, name string, within time.Duration, now time.Time) time.Time {
	first := now.Add(Offset(name, within))
	if next := s.Next(now); next.Before(first) {
		return next
	}
	return first
}
