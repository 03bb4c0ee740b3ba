package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// inbox is a channel that keeps what it is sent, and can be made to fail.
type inbox struct {
	mu       sync.Mutex
	got      []notify.Notice
	failures int // fail (retryably) this many more times
}

func (b *inbox) Notify(_ context.Context, n notify.Notice) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures > 0 {
		b.failures--
		return true, errors.New("receiver down")
	}
	b.got = append(b.got, n)
	return false, nil
}

func (b *inbox) keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, n := range b.got {
		out = append(out, n.Key)
	}
	return out
}

func notifyConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(`
notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  notify   = ["security"]
  page     = ["oncall"]
}
`), "notify.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// engine is a replica's notices outside a daemon, whose deliveries keep
// their deadlines in real time.
func engine(store *vaultstore.Store, cfg *config.Config, replica string, security, oncall *inbox) *daemon.Notifications {
	return &daemon.Notifications{Store: store, Config: cfg, Replica: replica, SendTimeout: 200 * time.Millisecond,
		Channels: map[string]notify.Notifier{"security": security, "oncall": oncall}, Clock: clockwork.NewRealClock()}
}

// Two yearly cycles against the real Vault core, with a fake clock and the
// daemon restarted (its memory lost) at random points: every tier of every
// deadline goes out exactly once, in order.
func TestNoticesOverTwoYearlyCyclesWithRestarts(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{}, &inbox{}
	first := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	second := first.AddDate(1, 0, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	eng := engine(store, cfg, "replica-1", security, oncall)
	restarts := 0
	ctx := context.Background()
	for now := first.AddDate(-1, 0, 0); now.Before(second.Add(36 * time.Hour)); now = now.Add(6 * time.Hour) {
		if rng.IntN(100) < 2 {
			eng = engine(store, cfg, "replica-1", security, oncall)
			restarts++
		}
		rotateBy := first
		if now.After(first.Add(30 * time.Hour)) { // rotated the day after the deadline
			rotateBy = second
		}
		f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: rotateBy, State: vaultstore.State{LastClass: "ok"}}
		if err := eng.Tick(ctx, f, now); err != nil {
			t.Fatalf("tick at %v: %v", now, err)
		}
	}
	var got []string
	for _, k := range security.keys() {
		got = append(got, strings.TrimPrefix(k, "reminder/ctrp-prod/"))
	}
	want := []string{
		"2027-03-01/60d", "2027-03-01/30d", "2027-03-01/14d", "2027-03-01/7d", "2027-03-01/3d", "2027-03-01/1d",
		"2027-03-01/overdue/2027-03-01", "2027-03-01/overdue/2027-03-02",
		"2028-03-01/60d", "2028-03-01/30d", "2028-03-01/14d", "2028-03-01/7d", "2028-03-01/3d", "2028-03-01/1d",
		"2028-03-01/overdue/2028-03-01", "2028-03-01/overdue/2028-03-02",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reminders, in order (%d restarts):\n%v\nwant:\n%v", restarts, got, want)
	}
	if restarts == 0 {
		t.Error("the simulation never restarted the daemon")
	}
	if len(oncall.keys()) != 0 {
		t.Errorf("reminders must not page: %v", oncall.keys())
	}
	l, err := store.GetLedger(ctx, "ctrp-prod")
	if err != nil || len(l.Entries) != len(want) {
		t.Errorf("ledger: %d entries, %v", len(l.Entries), err)
	}
}

func TestIncidentPagesOnceAndResolves(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, cfg, "replica-1", security, oncall)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	facts := func(class string, failures int) daemon.CredentialFacts {
		return daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: now.AddDate(1, 0, 0),
			State: vaultstore.State{LastClass: class, ConsecutiveFailures: failures}}
	}
	for i := 1; i <= 4; i++ { // four failing checks: one incident
		if err := eng.Tick(ctx, facts("invalid_client", i), now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if k := oncall.keys(); len(k) != 1 || k[0] != "incident/ctrp-prod/invalid_client" || !oncall.got[0].Page {
		t.Errorf("pages: %v", k)
	}
	if !strings.Contains(security.got[0].Action, "CTRP support") {
		t.Errorf("the notice should say what to do: %q", security.got[0].Action)
	}
	if err := eng.Tick(ctx, facts("ok", 0), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if k := oncall.keys(); len(k) != 2 || k[1] != "resolve/incident/ctrp-prod/invalid_client" {
		t.Errorf("after recovery: %v", k)
	}
	// A provider outage: an ops notice after three failures, never a page.
	for i := 1; i <= 3; i++ {
		if err := eng.Tick(ctx, facts("unavailable", i), now.Add(2*time.Hour+time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if k := security.keys(); k[len(k)-1] != "ops/ctrp-prod/unavailable" || len(oncall.keys()) != 2 {
		t.Errorf("ops: security %v, oncall %v", k, oncall.keys())
	}
}

func TestAReceiverDownForAWhileGetsTheNoticeOnce(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{failures: 1000}, &inbox{}
	eng := engine(store, cfg, "replica-1", security, oncall)
	ctx := context.Background()
	deadline := credtest.Deadline
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
	now := deadline.Add(-13 * 24 * time.Hour)
	for i := 0; i < 3; i++ {
		_ = eng.Tick(ctx, f, now.Add(time.Duration(i)*time.Hour)) // the send fails: retried on later ticks
	}
	if len(security.keys()) != 0 {
		t.Fatal("delivered while down")
	}
	security.mu.Lock()
	security.failures = 0
	security.mu.Unlock()
	for i := 3; i < 6; i++ {
		if err := eng.Tick(ctx, f, now.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if k := security.keys(); len(k) != 1 || k[0] != "reminder/ctrp-prod/2027-03-01/14d" {
		t.Errorf("after the receiver came back: %v", k)
	}
}

func TestALapsedClaimIsRetried(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{}, &inbox{}
	ctx := context.Background()
	deadline := credtest.Deadline
	now := deadline.Add(-13 * 24 * time.Hour)
	// A replica claimed the reminder and died before sending it.
	if _, err := store.PutLedger(ctx, "ctrp-prod", &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{{
		Key: "reminder/ctrp-prod/2027-03-01/14d", Channel: "security", ClaimedAt: now.Add(-10 * time.Minute), ClaimedBy: "crashed", Attempts: 1,
		Notice: []byte(`{"key":"reminder/ctrp-prod/2027-03-01/14d","kind":"reminder","credential":"ctrp-prod","summary":"s"}`)}}}, 0); err != nil {
		t.Fatal(err)
	}
	eng := engine(store, cfg, "replica-2", security, oncall)
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
	if err := eng.Tick(ctx, f, now); err != nil {
		t.Fatal(err)
	}
	if k := security.keys(); len(k) != 1 {
		t.Errorf("the lapsed claim should be sent once by the live replica: %v", k)
	}
}

// A process killed between its claim and its send is restarted under the
// same replica ID (systemd, a StatefulSet): the claim is its dead
// predecessor's, so the new process sends the notice at once rather than
// waiting out the claim timeout as it must for a live replica's claim.
func TestARestartedProcessSendsWhatItsPredecessorClaimed(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	ctx := context.Background()
	deadline := credtest.Deadline
	now := deadline.Add(-13 * 24 * time.Hour)
	claimed := vaultstore.LedgerEntry{Key: "reminder/ctrp-prod/2027-03-01/14d", Channel: "security", ClaimedBy: "replica-1", Attempts: 1,
		Notice: []byte(`{"key":"reminder/ctrp-prod/2027-03-01/14d","kind":"reminder","credential":"ctrp-prod","summary":"s"}`)}
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}

	// Claimed a minute ago by this replica's previous process.
	claimed.ClaimedAt = now.Add(-time.Minute)
	if _, err := store.PutLedger(ctx, "ctrp-prod", &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{claimed}}, 0); err != nil {
		t.Fatal(err)
	}
	security := &inbox{}
	restarted := engine(store, cfg, "replica-1", security, &inbox{})
	restarted.Since = now.Add(-10 * time.Second)
	if err := restarted.Tick(ctx, f, now); err != nil {
		t.Fatal(err)
	}
	if k := security.keys(); len(k) != 1 {
		t.Errorf("the restarted process should send its predecessor's claim at once: %v", k)
	}

	// Claimed a minute ago by this very process: a send in flight, not resent.
	l, err := store.GetLedger(ctx, "ctrp-prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutLedger(ctx, "ctrp-prod", &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{claimed}}, l.Version); err != nil {
		t.Fatal(err)
	}
	security = &inbox{}
	same := engine(store, cfg, "replica-1", security, &inbox{})
	same.Since = now.Add(-time.Hour)
	if err := same.Tick(ctx, f, now); err != nil {
		t.Fatal(err)
	}
	if k := security.keys(); len(k) != 0 {
		t.Errorf("a claim this process made a minute ago was sent again: %v", k)
	}
}

func TestTwoReplicasSendEachNoticeOnce(t *testing.T) {
	env := vaulttest.New(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{}, &inbox{}
	a := engine(env.Store(t), cfg, "replica-a", security, oncall)
	b := engine(env.Store(t), cfg, "replica-b", security, oncall)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", RotateBy: now.AddDate(0, 0, 5), State: vaultstore.State{LastClass: "expired", ConsecutiveFailures: 1}}
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		for _, e := range []*daemon.Notifications{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); _ = e.Tick(ctx, f, now.Add(time.Duration(round)*time.Minute)) }()
		}
		wg.Wait()
	}
	want := map[string]int{"reminder/ctrp-prod/2026-11-28/7d": 1, "incident/ctrp-prod/expired": 1}
	counts := map[string]int{}
	for _, k := range security.keys() {
		counts[k]++
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s delivered %d times to security, want %d (all: %v)", k, counts[k], n, security.keys())
		}
	}
	if n := len(oncall.keys()); n != 1 {
		t.Errorf("pages: %v, want one", oncall.keys())
	}
}

// slowChannel delivers, but only after the check that sent it has run out
// of time: it cancels the caller's context as it returns.
type slowChannel struct {
	inbox
	cancel context.CancelFunc
}

func (s *slowChannel) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	retry, err := s.inbox.Notify(ctx, n)
	s.cancel()
	return retry, err
}

// Marking a sent notice has a deadline of its own: a channel slow enough
// to outlast the check still leaves the notice marked, so it is not sent
// again as a duplicate.
func TestASentNoticeIsMarkedEvenWhenTheCheckRanOutOfTime(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	deadline := credtest.Deadline
	now := deadline.Add(-13 * 24 * time.Hour)
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
	ctx, cancel := context.WithCancel(context.Background())
	security := &slowChannel{cancel: cancel}
	eng := &daemon.Notifications{Store: store, Config: cfg, Replica: "replica-1", SendTimeout: time.Second,
		Channels: map[string]notify.Notifier{"security": security, "oncall": &inbox{}}, Clock: clockwork.NewRealClock()}
	_ = eng.Tick(ctx, f, now)
	if got := security.keys(); len(got) != 1 {
		t.Fatalf("sent: %v", got)
	}
	if err := eng.Tick(context.Background(), f, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := security.keys(); len(got) != 1 {
		t.Errorf("the notice went out again: %v", got)
	}
}

// A notice delivered while Vault cannot take its mark (unreachable just
// then) is marked by the next tick, not sent again: only a crash between
// a send and its mark may repeat a notice.
func TestASendWhoseMarkFailedIsMarkedNotRepeated(t *testing.T) {
	env := vaulttest.New(t)
	proxy := testutil.NewProxy(t, strings.TrimPrefix(env.Addr, "http://"))
	cfg := env.Config()
	cfg.Address = "http://" + proxy.Addr()
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, notifyConfig(t), "replica-1", security, oncall)
	eng.SetCrashHooks(nil, func(string) { proxy.SetDown(true) }, nil) // Vault goes away right after the send
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	facts := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
	now := deadline.Add(-60 * 24 * time.Hour)
	if err := eng.Tick(context.Background(), facts, now); err == nil {
		t.Fatal("the mark reached a Vault that was down")
	}
	eng.SetCrashHooks(nil, nil, nil)
	proxy.SetDown(false)
	for _, later := range []time.Duration{10 * time.Minute, 24 * time.Hour} { // past the claim timeout
		if err := eng.Tick(context.Background(), facts, now.Add(later)); err != nil {
			t.Fatal(err)
		}
	}
	if keys := security.keys(); len(keys) != 1 {
		t.Errorf("delivered %v, want the 60-day reminder once", keys)
	}
	l, err := env.Store(t).GetLedger(context.Background(), "ctrp-prod")
	if err != nil || len(l.Entries) != 1 || !l.Entries[0].SentAt.Equal(now) {
		t.Errorf("the ledger after the late mark: %+v %v", l, err)
	}
}

// A silenced overdue credential gets no overdue notice until the silence
// lapses, then gets one; the silence is read from Vault.
func TestASilenceHoldsBackOverdueNoticesUntilItLapses(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, notifyConfig(t), "replica-1", security, oncall)
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if _, err := store.PutSilence(ctx, "ctrp-prod", &vaultstore.Silence{Until: deadline.Add(3 * 24 * time.Hour), Reason: "the new pair is on its way (CTRP-1234)",
		Kinds: []string{"overdue"}, CreatedBy: "token-alice", CreatedAt: deadline}, 0); err != nil {
		t.Fatal(err)
	}
	if err := eng.RefreshSilences(ctx); err != nil {
		t.Fatal(err)
	}
	facts := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
	overdue := func() []string {
		var out []string
		for _, k := range security.keys() {
			if strings.Contains(k, "/overdue/") {
				out = append(out, k)
			}
		}
		return out
	}
	for day := 0; day < 3; day++ {
		if err := eng.Tick(ctx, facts, deadline.Add(time.Duration(day)*24*time.Hour+9*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if got := overdue(); len(got) != 0 {
		t.Errorf("overdue notices while silenced: %v", got)
	}
	if err := eng.Tick(ctx, facts, deadline.Add(3*24*time.Hour+9*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := overdue(); len(got) != 1 || got[0] != "reminder/ctrp-prod/2027-03-01/overdue/2027-03-04" {
		t.Errorf("after the silence lapsed: %v, want today's overdue notice", got)
	}
}

// flakyLedger fails PutLedger while fail is set (a Vault blip).
type flakyLedger struct {
	*vaultstore.Store
	fail atomic.Bool
}

func (f *flakyLedger) PutLedger(ctx context.Context, name string, l *vaultstore.Ledger, cas int) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("vault: connection reset")
	}
	return f.Store.PutLedger(ctx, name, l, cas)
}

// pager records pages; it fails while down is set.
type pager struct {
	mu   sync.Mutex
	down bool
	got  []string
}

func (p *pager) Notify(_ context.Context, n notify.Notice) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false, errors.New("pagerduty: 400")
	}
	p.got = append(p.got, n.Key)
	return false, nil
}

func (p *pager) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.got) }

// A replica remembers a delivery whose mark failed for that very claim,
// not for the notice's key: replica A pages incident K and cannot mark it
// (a Vault blip); B takes over, re-sends and marks it, K resolves, and
// weeks later K reopens under the same key and B's page fails. When A
// leads again it sends the reopened page, never marking it sent with the
// first incident's time.
func TestAReopenedIncidentIsPagedThoughAnEarlierPageOfItsKeyWentUnmarked(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	led := &flakyLedger{Store: store}
	t0 := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	pa, pb := &pager{}, &pager{}
	wall := clockwork.NewRealClock() // the deliveries keep their deadlines in real time
	a := &notify.Pipeline{Ledger: led, Clock: wall, Replica: "a", Since: t0.Add(-time.Hour), SendTimeout: time.Second, MarkTimeout: time.Second}
	b := &notify.Pipeline{Ledger: store, Clock: wall, Replica: "b", Since: t0.Add(-time.Hour), SendTimeout: time.Second}
	a.Hooks.AfterSend = func(string) { led.fail.Store(true) } // the blip comes right after A's send
	const K = "incident/ctrp-prod/invalid_client"
	ctx := context.Background()
	round := func(p *notify.Pipeline, ch notify.Notifier, now time.Time, due ...notify.Due) {
		t.Helper()
		d, err := p.Deliver(ctx, ctx, notify.Round{Credential: "ctrp-prod", Now: now, Channels: map[string]notify.Notifier{"oncall": ch},
			Decide: func(*vaultstore.Ledger) []notify.Due { return due }})
		if err != nil {
			t.Fatal(err)
		}
		_ = d.Wait()
	}
	incident := notify.Due{Key: K, Kind: notify.KindIncident, Channels: []string{"oncall"}, Page: true, Class: "invalid_client"}
	round(a, pa, t0, incident) // paged; mark failed
	a.Hooks.AfterSend = nil
	led.fail.Store(false)
	a.Forget() // A lost the lease

	round(b, pb, t0.Add(6*time.Minute)) // B re-sends A's lapsed claim (the documented repeat) and marks it
	round(b, pb, t0.Add(time.Hour), notify.Due{Key: "resolve/" + K, Kind: notify.KindResolve, Channels: []string{"oncall"}, Resolves: K})
	pb.mu.Lock()
	pb.down = true // PagerDuty refuses for a while
	pb.mu.Unlock()
	reopened := t0.Add(21 * 24 * time.Hour)
	round(b, pb, reopened, incident) // the incident reopens; its page fails, to be retried
	pb.mu.Lock()
	pb.down = false
	pb.mu.Unlock()
	before := pa.count()
	again := reopened.Add(10 * time.Minute)
	round(a, pa, again) // A leads again: it retries the failed page
	l, err := store.GetLedger(ctx, "ctrp-prod")
	if err != nil {
		t.Fatal(err)
	}
	if got := pa.count() - before; got != 1 {
		t.Errorf("the reopened incident was paged %d times by the replica leading again, want once", got)
	}
	if last := l.Entries[len(l.Entries)-1]; last.Key != K || !last.SentAt.Equal(again) {
		t.Errorf("the reopened incident's entry: %s sent at %v, want sent at %v", last.Key, last.SentAt, again)
	}
}

// slowReceiver answers each notice once the test releases it, after
// advancing the fake clock by its answer time; it counts deliveries and
// the most it was ever asked at once.
type slowReceiver struct {
	started chan string
	release chan struct{}

	mu         sync.Mutex
	got        map[string]int
	open, most int
}

func (s *slowReceiver) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	s.mu.Lock()
	s.open++
	s.most = max(s.most, s.open)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.open--; s.mu.Unlock() }()
	s.started <- n.Key
	select {
	case <-s.release:
	case <-ctx.Done():
		return true, ctx.Err()
	}
	s.mu.Lock()
	s.got[n.Key]++
	s.mu.Unlock()
	return false, nil
}

// A backlog on a slow channel goes out once each: the notices queued
// behind slow ones are never claimed again by the next check of the
// credential (five minutes on, past ClaimTimeout), and one process never
// sends through one channel twice at once.
func TestABacklogOnASlowChannelIsDeliveredOnceEach(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer time.Duration
	}{
		{name: "a channel answering after 25 s, within its send timeout", answer: 25 * time.Second},
		{name: "a channel answering after 10 s", answer: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := vaulttest.New(t).Store(t)
			start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := clockwork.NewFakeClockAt(start)
			ch := &slowReceiver{started: make(chan string, 100), release: make(chan struct{}), got: map[string]int{}}
			p := &notify.Pipeline{Ledger: store, Clock: clock, Replica: "r1", Since: start.Add(-time.Hour)}
			const backlog = 15
			var dues []notify.Due
			for i := range backlog {
				dues = append(dues, notify.Due{Key: fmt.Sprintf("ops/c/k%02d", i), Kind: notify.KindOps, Channels: []string{"slow"}})
			}
			ctx := context.Background()
			done := make(chan struct{})
			inflight := 0
			round := func(decide []notify.Due) { // one check of the credential
				t.Helper()
				d, err := p.Deliver(ctx, ctx, notify.Round{Credential: "c", Now: clock.Now(), Channels: map[string]notify.Notifier{"slow": ch},
					Decide: func(*vaultstore.Ledger) []notify.Due { return decide }})
				if err != nil {
					t.Fatal(err)
				}
				if d != nil {
					inflight++
					go func() { _ = d.Wait(); done <- struct{}{} }()
				}
			}
			delivered := func() int { ch.mu.Lock(); defer ch.mu.Unlock(); return len(ch.got) }
			round(dues)
			nextRound := start.Add(notify.DefaultClaimTimeout)
			for delivered() < backlog && clock.Now().Before(start.Add(3*time.Hour)) {
				if inflight == 0 {
					clock.Advance(nextRound.Sub(clock.Now()))
				}
				if !clock.Now().Before(nextRound) {
					round(nil)
					nextRound = nextRound.Add(notify.DefaultClaimTimeout)
					continue
				}
				select {
				case <-ch.started:
					clock.Advance(tc.answer)
					if !clock.Now().Before(nextRound) { // a check while the channel is still answering
						round(nil)
						nextRound = nextRound.Add(notify.DefaultClaimTimeout)
					}
					ch.release <- struct{}{}
				case <-done:
					inflight--
				}
			}
			for inflight > 0 {
				select {
				case <-ch.started:
					ch.release <- struct{}{}
				case <-done:
					inflight--
				}
			}
			p.Wait()
			ch.mu.Lock()
			defer ch.mu.Unlock()
			if len(ch.got) != backlog {
				t.Errorf("%d of the %d notices delivered", len(ch.got), backlog)
			}
			for k, n := range ch.got {
				if n != 1 {
					t.Errorf("%s delivered %d times, want once", k, n)
				}
			}
			if ch.most > 1 {
				t.Errorf("the channel was asked %d notices at once, want one at a time", ch.most)
			}
		})
	}
}

// A flaky provider (down three checks, then up) opens and resolves an ops
// notice again and again, past the ledger's cap: the cap drops those
// settled notices first, never the sent 30-day reminder the decision
// reads, so the reminder goes out once.
func TestAReminderGoesOutOnceThoughFlappingOpsNoticesFillTheLedger(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := notifyConfig(t)
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, cfg, "replica-1", security, oncall)
	ctx := context.Background()
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	now := deadline.Add(-30 * 24 * time.Hour).Add(time.Hour)
	tick := func(class string, fails int) {
		t.Helper()
		f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline,
			State: vaultstore.State{LastClass: class, ConsecutiveFailures: fails}}
		if err := eng.Tick(ctx, f, now); err != nil {
			t.Fatalf("tick at %v: %v", now, err)
		}
		now = now.Add(10 * time.Minute)
	}
	tick("ok", 0) // the 30-day reminder
	for i := 0; i < 60; i++ {
		tick("unavailable", 3) // ops notice opened
		tick("ok", 0)          // resolved
	}
	n := 0
	for _, k := range security.keys() {
		if strings.HasSuffix(k, "/2027-03-01/30d") {
			n++
		}
	}
	if l, err := store.GetLedger(ctx, "ctrp-prod"); err != nil || len(l.Entries) > daemon.LedgerKeep {
		t.Errorf("the ledger holds %d entries (%v), want at most %d", len(l.Entries), err, daemon.LedgerKeep)
	}
	if n != 1 {
		t.Errorf("the 30-day reminder went out %d times, want 1", n)
	}
}

// A silence holds notices back at most max_silence from when it was set,
// whoever wrote silences/NAME: a record written straight to Vault with an
// end years away is honoured only that long.
func TestASilenceLastsAtMostMaxSilenceFromWhenItWasSet(t *testing.T) {
	set := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	now := set.Add(24 * time.Hour)
	for _, tc := range []struct {
		name      string
		silence   *vaultstore.Silence
		max       time.Duration
		wantUntil time.Time
	}{
		{name: "a silence within max_silence holds until its end",
			silence: &vaultstore.Silence{Until: set.Add(10 * 24 * time.Hour), CreatedAt: set}, max: 90 * 24 * time.Hour, wantUntil: set.Add(10 * 24 * time.Hour)},
		{name: "a silence set for ten years ends max_silence after it was set",
			silence: &vaultstore.Silence{Until: set.AddDate(10, 0, 0), CreatedAt: set}, max: 30 * 24 * time.Hour, wantUntil: set.Add(30 * 24 * time.Hour)},
		{name: "with no max_silence configured the default bounds it",
			silence: &vaultstore.Silence{Until: set.AddDate(10, 0, 0), CreatedAt: set}, wantUntil: set.Add(config.DefaultMaxSilence)},
		{name: "a silence that does not say when it was set holds nothing back",
			silence: &vaultstore.Silence{Until: set.AddDate(10, 0, 0)}, max: 90 * 24 * time.Hour},
		{name: "a silence that says it was set in the future holds nothing back",
			silence: &vaultstore.Silence{Until: set.AddDate(10, 0, 0), CreatedAt: set.AddDate(9, 0, 0)}, max: 90 * 24 * time.Hour},
		{name: "no silence holds nothing back", max: 90 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := daemon.BoundedSilence(tc.silence, tc.max, now); !got.Until.Equal(tc.wantUntil) {
				t.Errorf("until %v, want %v", got.Until, tc.wantUntil)
			}
		})
	}
}

// A production incident pages on-call 200 days into a silence of every
// kind written straight to Vault for ten years: max_silence (90 days by
// default) ended it long before.
func TestAnIncidentPagesPastMaxSilenceThoughTheSilenceSaysTenYears(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, notifyConfig(t), "replica-1", security, oncall)
	ctx := context.Background()
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := store.PutSilence(ctx, "ctrp-prod", &vaultstore.Silence{Until: now.AddDate(10, 0, 0), Reason: "written straight to Vault",
		Kinds: []string{"incident", "ops", "overdue", "reminder"}, CreatedBy: "someone", CreatedAt: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := eng.RefreshSilences(ctx); err != nil {
		t.Fatal(err)
	}
	f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: now.AddDate(1, 0, 0),
		State: vaultstore.State{LastClass: "invalid_client", ConsecutiveFailures: 1}}
	if err := eng.Tick(ctx, f, now.Add(200*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := oncall.keys(); len(got) != 1 || got[0] != "incident/ctrp-prod/invalid_client" {
		t.Errorf("on-call got %v, want the incident's page", got)
	}
}

// lateAnswer takes each notice at once but answers only after the sender's
// deadline: the sender cannot know the notice arrived.
type lateAnswer struct {
	mu      sync.Mutex
	got     []string
	started chan struct{}
}

func (l *lateAnswer) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	l.mu.Lock()
	l.got = append(l.got, n.Key)
	l.mu.Unlock()
	l.started <- struct{}{}
	<-ctx.Done()
	return true, ctx.Err()
}

// Delivery is at least once: a receiver that took a notice but answered
// after the channel's deadline gets it again on the next tick, and the
// ledger says why the first send counted as failed. Only a receiver that
// drops repeats by key sees it once.
func TestAReceiverAnsweringAfterTheDeadlineGetsTheNoticeAgain(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sendTimeout time.Duration
		ticks       int
		want        int
	}{
		{name: "two ticks ten minutes apart reach a late receiver twice", sendTimeout: 30 * time.Second, ticks: 2, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := vaulttest.New(t).Store(t)
			deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
			now := deadline.Add(-30 * 24 * time.Hour)
			clock := clockwork.NewFakeClockAt(now)
			late := &lateAnswer{started: make(chan struct{})}
			eng := &daemon.Notifications{Store: store, Config: notifyConfig(t), Replica: "replica-1", SendTimeout: tc.sendTimeout, Clock: clock,
				Channels: map[string]notify.Notifier{"security": late, "oncall": &inbox{}}}
			f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"}}
			for i := range tc.ticks {
				done := make(chan error, 1)
				go func() { done <- eng.Tick(context.Background(), f, now.Add(time.Duration(i)*10*time.Minute)) }()
				<-late.started
				if err := clock.BlockUntilContext(context.Background(), 1); err != nil { // the send's deadline
					t.Fatal(err)
				}
				clock.Advance(tc.sendTimeout)
				if err := <-done; err == nil {
					t.Fatalf("tick %d: a send past its deadline counted as delivered", i)
				}
			}
			late.mu.Lock()
			defer late.mu.Unlock()
			if len(late.got) != tc.want {
				t.Errorf("the receiver got %v, want the 30-day reminder %d times", late.got, tc.want)
			}
			l, err := store.GetLedger(context.Background(), "ctrp-prod")
			if err != nil || len(l.Entries) != 1 || !l.Entries[0].SentAt.IsZero() || l.Entries[0].LastError == "" {
				t.Errorf("the ledger: %+v %v, want the reminder unsent with the channel's error", l, err)
			}
		})
	}
}

// downChannel refuses every attempt (retryably), counts them, and tells
// the test of each.
type downChannel struct {
	mu       sync.Mutex
	attempts int
	tried    chan struct{}
}

func (c *downChannel) Notify(context.Context, notify.Notice) (bool, error) {
	c.mu.Lock()
	c.attempts++
	c.mu.Unlock()
	c.tried <- struct{}{}
	return true, errors.New("receiver down")
}

// A process that stops leading stops its background deliveries at once,
// before another process (the next leader, perhaps under the same replica
// ID) may take the claim over: a delivery waiting to retry gives up without
// another attempt and releases its claim in the ledger for the next leader,
// and leading again delivers anew.
func TestAProcessThatStopsLeadingStopsItsDeliveries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		again bool // lead again after stepping down
	}{
		{name: "stepping down ends a delivery waiting to retry and releases its claim"},
		{name: "leading again delivers the released notice", again: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := vaulttest.New(t).Store(t)
			t0 := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
			clock := clockwork.NewFakeClockAt(t0)
			down := &downChannel{tried: make(chan struct{}, 10)}
			cfg := notifyConfig(t)
			d := daemon.NewDaemon(store, cfg, nil, nil, "replica-1", clock)
			d.Notices = &daemon.Notifications{Store: store, Config: cfg, Replica: "replica-1", Channels: map[string]notify.Notifier{"security": down, "oncall": down}}
			d.Notices.StartBackground(t0.Add(-time.Hour), clock)
			d.SetLeader(true)
			f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: t0.AddDate(1, 0, 0),
				State: vaultstore.State{LastClass: "invalid_client", ConsecutiveFailures: 1}}
			if err := d.Notices.Tick(context.Background(), f, t0); err != nil {
				t.Fatal(err)
			}
			<-down.tried
			<-down.tried                                                             // security and the page both failed once
			if err := clock.BlockUntilContext(context.Background(), 4); err != nil { // each waits to retry, within its deadline
				t.Fatal(err)
			}
			d.SetLeader(false)
			d.Notices.Wait()
			down.mu.Lock()
			attempts := down.attempts
			down.mu.Unlock()
			if attempts != 2 {
				t.Errorf("%d attempts, want one per channel: no attempt after the process stopped leading", attempts)
			}
			l, err := store.GetLedger(context.Background(), "ctrp-prod")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Entries {
				if !e.ClaimedAt.IsZero() || !e.SentAt.IsZero() {
					t.Errorf("%s through %s: claimed at %v, sent at %v; want the claim released", e.Key, e.Channel, e.ClaimedAt, e.SentAt)
				}
			}
			if tc.again {
				d.SetLeader(true)
				if err := d.Notices.Tick(context.Background(), f, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				<-down.tried
				<-down.tried // both delivered anew
				d.SetLeader(false)
				d.Notices.Wait()
			}
		})
	}
}

// Only another process's claim under this replica's ID, made before this
// process started, is taken over at once as a stopped predecessor's: a
// process never takes its own claim for one, whatever the claim's time,
// and it waits ClaimTimeout for a claim of another replica.
func TestOnlyAPredecessorsClaimIsTakenOverAtOnce(t *testing.T) {
	t0 := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name             string
		replica, nonce   string // the claimer's
		sendsAgainAtOnce bool
	}{
		{name: "a previous process under this replica ID is a predecessor", replica: "replica-1", nonce: "before", sendsAgainAtOnce: true},
		{name: "this process's own claim from before its recorded start is not", replica: "replica-1", nonce: "this"},
		{name: "another replica's claim waits for ClaimTimeout", replica: "replica-2", nonce: "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := vaulttest.New(t).Store(t)
			due := notify.Due{Key: "incident/ctrp-prod/invalid_client", Kind: notify.KindIncident, Channels: []string{"oncall"}, Page: true, Class: "invalid_client"}
			round := func(p *notify.Pipeline, ch notify.Notifier, now time.Time, dues ...notify.Due) {
				t.Helper()
				d, err := p.Deliver(context.Background(), context.Background(), notify.Round{Credential: "ctrp-prod", Now: now,
					Channels: map[string]notify.Notifier{"oncall": ch}, Decide: func(*vaultstore.Ledger) []notify.Due { return dues }})
				if err != nil {
					t.Fatal(err)
				}
				_ = d.Wait()
			}
			// The claimer claimed at t0 and stopped before its send.
			payload, _ := json.Marshal(notify.Notice{Key: due.Key, Kind: due.Kind, Page: true})
			claimed := &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{{Key: due.Key, Channel: "oncall", ClaimedAt: t0,
				ClaimedBy: tc.replica, ClaimNonce: tc.nonce, Attempts: 1, Notice: payload}}}
			if _, err := store.PutLedger(context.Background(), "ctrp-prod", claimed, 0); err != nil {
				t.Fatal(err)
			}
			oncall := &inbox{}
			this := &notify.Pipeline{Ledger: store, Clock: clockwork.NewRealClock(), Replica: "replica-1", Nonce: "this", Since: t0.Add(time.Minute)}
			round(this, oncall, t0.Add(2*time.Minute)) // within ClaimTimeout of the claim
			if got := len(oncall.keys()) == 1; got != tc.sendsAgainAtOnce {
				t.Errorf("sent again at once: %v, want %v", got, tc.sendsAgainAtOnce)
			}
		})
	}
}

// A process killed after its check was recorded and before the reminder
// it decided on was claimed leaves a state whose last check is at the
// reminder's moment and a ledger without the reminder. The next process's
// first look goes by the ledger, not by the last check's time: the 7-day
// reminder goes out within first_check_within, not superseded by the 3-day
// tier four days later.
func TestAReminderDecidedBeforeACrashIsSentByTheNextProcess(t *testing.T) {
	w, f := newDaemonWorld(t, `notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
credential "weekly" {
  provider = "okta-stage"
  check    = "@every 168h"
  notify   = ["security"]
}
`)
	w.Emu.AddClient(emulator.Client{ID: "0oa-weekly", Secrets: []string{"s"}})
	deadline := f.Now().Add(7 * 24 * time.Hour).Truncate(24 * time.Hour).Add(24 * time.Hour)
	w.Put("weekly", "okta-stage", "0oa-weekly", "s", deadline)
	reminderAt := deadline.Add(-7 * 24 * time.Hour)
	f.advanceTo(reminderAt)
	// The crashed process's check at the reminder's moment, recorded;
	// its claim never written.
	if _, err := w.Store.PutState(context.Background(), "weekly", &vaultstore.State{LastClass: "ok", LastCheck: reminderAt, LastSuccess: reminderAt}, 0); err != nil {
		t.Fatal(err)
	}
	security := &inbox{}
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{"security": security}}
	})
	f.advance(w.Cfg.Daemon.FirstCheckWithin + time.Minute)
	want := "reminder/weekly/" + dates.Format(deadline) + "/7d"
	if got := security.keys(); !slices.Contains(got, want) {
		t.Errorf("within first_check_within of the restart: %v, want %s", got, want)
	}
}
