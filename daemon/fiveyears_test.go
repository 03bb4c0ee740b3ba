package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The five-year simulation drives the real daemon (the real Vault core,
// the emulator, the real ledger) on the fake clock through five yearly
// rotations of a dozen credentials under four rotation policies, while
// the process is killed at random moments (idle, after a provider's answer
// and before its record, between a notice's claim and its send, between a
// send and its mark; at most one crash a day, see crashGap), Vault is unreachable for random hours, secrets are
// revoked and providers go down. The operator rotates each credential
// once its last reminder has come, and fixes a revoked one once told.
//
// One channel, chat (prod-0's second notify channel), fails for three
// days: it answers 500 for two, then hangs until each request gives up,
// and a production secret is revoked as it starts, so that a page falls
// due while it fails.
//
// It asserts: every reminder tier of every deadline delivered exactly
// once, but for duplicates from crashes between a send and its mark (at
// most one per such crash); no deadline without all its reminders; every
// revoked secret paged (prod) or told (stage) once and resolved once; no
// page for a provider outage; the page due while chat failed went out
// before chat recovered, and chat's notices went out once it had.
func TestFiveYearsOfRotationsThroughCrashesAndOutages(t *testing.T) {
	t.Parallel() // half a minute of real time, mostly Vault's
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CREDKEEPER_SIM_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (CREDKEEPER_SIM_SEED=%[1]d replays it)", seed)
	s := newFiveYears(t, seed)
	s.run(5 * 365 * 24 * time.Hour)
	s.verify()
}

// simCred is one credential of the simulation and what happened to it.
type simCred struct {
	name, provider, clientID, policy string
	environment                      string
	paged                            bool // prod: its failures page on-call
	secret                           string
	n                                int // secrets issued, for fresh ones
	deadline                         time.Time
	deadlines                        []time.Time // every deadline met (rotated for)
	failures                         []*simFailure
	outageUntil                      time.Time // its provider answers 503 until then
}

// simFailure is a revoked secret: when, and when the operator fixed it.
type simFailure struct {
	at, told, fixed, resolved time.Time
}

type delivery struct {
	key, channel string
	at           time.Time
}

// simInbox keeps every notice delivered to a channel.
type simInbox struct {
	mu    sync.Mutex
	got   []delivery
	byKey map[string][]time.Time
}

func (b *simInbox) add(d delivery) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, d)
	if b.byKey == nil {
		b.byKey = map[string][]time.Time{}
	}
	b.byKey[d.key] = append(b.byKey[d.key], d.at)
}

// since reports whether key came at or after t.
func (b *simInbox) since(key string, t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.byKey[key], func(at time.Time) bool { return !at.Before(t) })
}

func (b *simInbox) all() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// simLog keeps an incarnation's warnings and errors, and its notices
// sent, in the simulation's event log.
type simLog struct {
	s   *fiveYears
	inc int
}

func (h simLog) Enabled(_ context.Context, l slog.Level) bool { return true }
func (h simLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && r.Message != "notice sent" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s: %s", h.inc, r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h.s.event("%s", b.String())
	return nil
}
func (h simLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h simLog) WithGroup(string) slog.Handler      { return h }

// incarnation is one run of the daemon's process.
type incarnation struct {
	d      *daemon.Daemon
	proxy  *testutil.Proxy // its path to Vault
	dead   atomic.Bool
	cancel func()
	done   chan struct{}

	mu       sync.Mutex
	unmarked map[string]int // notices delivered and not yet marked sent, by key
}

func (inc *incarnation) addUnmarked(key string, n int) {
	inc.mu.Lock()
	if inc.unmarked == nil {
		inc.unmarked = map[string]int{}
	}
	inc.unmarked[key] += n
	inc.mu.Unlock()
}

// simChannel delivers for one incarnation: a dead process sends nothing.
type simChannel struct {
	inc  *incarnation
	name string
	box  *simInbox
	now  func() time.Time
	// fault, when set, says how the channel is broken now; held counts
	// the requests it holds open while it hangs.
	fault func() simFault
	held  *atomic.Int64
}

// simFault is how a simChannel is broken.
type simFault int

const (
	simWorking simFault = iota
	simFailing          // 500, every time
	simHanging          // no answer until the request gives up
)

func (c simChannel) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	if c.inc.dead.Load() {
		return false, errors.New("the process is dead")
	}
	if c.fault != nil {
		switch c.fault() {
		case simFailing:
			return true, &notify.StatusError{Service: c.name, Status: http.StatusInternalServerError}
		case simHanging:
			c.held.Add(1)
			defer c.held.Add(-1)
			<-ctx.Done()
			return true, fmt.Errorf("post to %s: %w", c.name, ctx.Err())
		}
	}
	c.box.add(delivery{key: n.Key, channel: c.name, at: c.now()})
	return false, nil
}

// simTransport carries one incarnation's provider requests, and may kill
// it between a provider's answer and the record of it.
type simTransport struct {
	inc *incarnation
	sim *fiveYears
}

func (t simTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.inc.dead.Load() {
		return nil, errors.New("the process is dead")
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && t.sim.crashes(0.002) {
		t.sim.kill(t.inc, &t.sim.answerCrashes)
	}
	return resp, err
}

type fiveYears struct {
	t     *testing.T
	f     *fakeTime
	w     *credtest.World
	cfg   *config.Config
	op    *rotation.Runner // the operator's, on the operator's own path to Vault
	creds []*simCred

	rngMu    sync.Mutex
	rng      *rand.Rand
	lastKill time.Time // guarded by rngMu

	security, oncall, chat *simInbox
	inc                    *incarnation

	// chat's outage: it fails from chatFrom, hangs from chatHangAt, and
	// works again from chatUntil; pagedFor is the secret revoked as it began.
	chatMu                          sync.Mutex
	chatFault                       simFault
	chatHeld                        atomic.Int64
	chatFrom, chatHangAt, chatUntil time.Time
	pagedFor                        *simFailure
	restartAt                       time.Time
	vaultDownUntil                  time.Time

	eventsMu sync.Mutex
	events   []string // what happened, when: shown around a failure

	incarnations                               int
	idleCrashes, answerCrashes                 atomic.Int64
	claimCrashes, sendCrashes                  atomic.Int64
	caughtUnmarked                             atomic.Int64 // notices sent, not marked, at a crash
	caughtMu                                   sync.Mutex
	caughtKeys                                 map[string]int // the same, by notice key
	vaultOutages, providerOutages, revocations int
}

func newFiveYears(t *testing.T, seed uint64) *fiveYears {
	s := &fiveYears{t: t, rng: rand.New(rand.NewPCG(seed, 5)), security: &simInbox{}, oncall: &simInbox{}, chat: &simInbox{}, caughtKeys: map[string]int{}}
	s.f = newFakeTime(t)
	s.f.hold(func() int { return int(s.chatHeld.Load()) })
	var hcl strings.Builder
	hcl.WriteString(`
notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "chat" {
  url = "http://127.0.0.1:1/unused"
}
rotation_policy "relaxed" {
  period = "365d"
  remind = ["30d", "14d", "7d"]
}
rotation_policy "sparse" {
  period = "365d"
  remind = ["60d", "30d", "14d", "7d"]
}
rotation_policy "long-notice" {
  period = "365d"
  remind = ["90d", "45d", "21d", "10d"]
}
`)
	add := func(name, provider, policy, check string, paged bool) {
		c := &simCred{name: name, provider: provider, clientID: "client-" + name, policy: policy, paged: paged, environment: "stage"}
		if paged {
			c.environment = "prod"
		}
		s.creds = append(s.creds, c)
		notifyTo := `"` + strings.Join(notifiedChannels(c), `", "`) + `"`
		fmt.Fprintf(&hcl, "credential %q {\n  provider = %q\n  rotation = %q\n  check    = %q\n  notify   = [%s]\n  page     = [\"oncall\"]\n}\n", name, provider, policy, check, notifyTo)
	}
	// One credential is checked daily; the others weekly, so that their
	// reminders, due between checks, go out at their moment only because
	// the daemon checks then (and a restarted daemon knows it from Vault).
	add("prod-0", "okta-prod", "yearly", "0 9 * * *", true)
	add("prod-1", "okta-prod", "yearly", "@every 168h", true)
	for i := range 4 {
		add(fmt.Sprintf("prod-sparse-%d", i), "okta-prod", "sparse", "@every 168h", true)
	}
	for i := range 3 {
		add(fmt.Sprintf("stage-%d", i), "okta-stage", "relaxed", "@every 168h", false)
		add(fmt.Sprintf("dmp-%d", i), "doorkeeper", "long-notice", "@every 168h", false)
	}
	s.w = credtest.NewWorld(t, func(string) string { return hcl.String() }, func(o *emulator.Options) { o.Clock = s.f.fc })
	s.cfg = s.w.Cfg
	// A 12-hour lease keeps five years of renewals to a few thousand (the
	// lease's own tests run it at its real length). A restarted process
	// keeps its replica ID, but not its predecessor's nonce: it takes the
	// lease over once the dead process's lease lapses, in less than the
	// shortest reminder tier (a day), so no reminder is lost to a restart.
	s.cfg.Daemon.LeaseTTL = 12 * time.Hour
	s.op = &rotation.Runner{Store: s.w.Store, Config: s.cfg, Cache: &check.Cache{}, Clock: s.f.fc}
	for _, c := range s.creds {
		c.secret = s.freshSecret(c)
		s.w.Emu.AddClient(emulator.Client{ID: c.clientID, Secrets: []string{c.secret}, Scopes: []string{"public", "read_dmps"}})
		c.deadline = s.f.Now().Add(time.Duration(100+s.intN(200)) * 24 * time.Hour)
		if _, err := s.w.Store.PutCredential(context.Background(), &vaultstore.Credential{Name: c.name, ClientID: c.clientID, ClientSecret: secret.New(c.secret),
			Metadata: vaultstore.CredentialMetadata{Provider: c.provider, Environment: c.environment, Rotation: c.policy, RotateBy: c.deadline}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.startProcess()
	return s
}

func (s *fiveYears) event(format string, args ...any) {
	s.eventsMu.Lock()
	defer s.eventsMu.Unlock()
	s.events = append(s.events, s.f.Now().Format(time.DateTime)+" "+fmt.Sprintf(format, args...))
}

// eventsAround are the events within a few days of t.
func (s *fiveYears) eventsAround(t time.Time) []string {
	s.eventsMu.Lock()
	defer s.eventsMu.Unlock()
	var out []string
	for _, e := range s.events {
		at, _ := time.Parse(time.DateTime, e[:len(time.DateTime)])
		if at.After(t.Add(-8*24*time.Hour)) && at.Before(t.Add(24*time.Hour)) {
			out = append(out, e)
		}
	}
	return out
}

func (s *fiveYears) chance(p float64) bool {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

// crashGap is the least time between two crashes. The simulation's lease
// lasts 12 hours, not 30 seconds, so a restarted process waits up to 12
// hours to lead; two crashes within a day could leave no leader for longer
// than the shortest reminder tier (a day), which no lease could survive.
const crashGap = 24 * time.Hour

// crashes reports whether the process crashes now, with chance p, and
// never within crashGap of the last crash.
func (s *fiveYears) crashes(p float64) bool {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	if s.rng.Float64() >= p || (!s.lastKill.IsZero() && s.f.Now().Sub(s.lastKill) < crashGap) {
		return false
	}
	s.lastKill = s.f.Now()
	return true
}

func (s *fiveYears) intN(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

func (s *fiveYears) hours(lo, hi int) time.Duration {
	return time.Duration(lo+s.intN(hi-lo+1)) * time.Hour
}

func (s *fiveYears) freshSecret(c *simCred) string {
	c.n++
	return fmt.Sprintf("%s-Secret-%d", c.name, c.n)
}

// startProcess starts a new incarnation of the daemon's process.
func (s *fiveYears) startProcess() {
	s.incarnations++
	inc := &incarnation{proxy: testutil.NewProxy(s.t, strings.TrimPrefix(s.w.Env.Addr, "http://"))}
	cfg := s.w.Env.Config()
	cfg.Address = "http://" + inc.proxy.Addr()
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		s.t.Fatalf("incarnation %d: %v", s.incarnations, err)
	}
	d := daemon.NewDaemon(store, s.cfg, slog.New(simLog{s: s, inc: s.incarnations}), nil, "replica-1", s.f.fc)
	d.Checker.Transport = simTransport{inc: inc, sim: s}
	n := &daemon.Notifications{Store: store, Config: s.cfg, Replica: "replica-1", Logger: d.Logger, Channels: map[string]notify.Notifier{
		"security": simChannel{inc: inc, name: "security", box: s.security, now: s.f.Now},
		"oncall":   simChannel{inc: inc, name: "oncall", box: s.oncall, now: s.f.Now},
		"chat":     simChannel{inc: inc, name: "chat", box: s.chat, now: s.f.Now, fault: s.chatNow, held: &s.chatHeld},
	}}
	n.SetCrashHooks(
		func(string) {
			if s.crashes(0.02) {
				s.kill(inc, &s.claimCrashes)
			}
		},
		func(key string) {
			s.sent(inc, key)
			if s.crashes(0.02) {
				s.kill(inc, &s.sendCrashes)
			}
		},
		func(key string) { inc.addUnmarked(key, -1) })
	d.Notices = n
	inc.d = d
	inc.cancel, inc.done = s.f.launch(d)
	s.inc = inc
	s.event("process started")
}

// sent counts a delivery not yet marked: in its incarnation's count while
// the incarnation lives, and as caught by its crash once it is dead. A
// send can return after another goroutine killed its process (channels
// send side by side): it was delivered, and its mark can no longer reach
// Vault, so it may go out again like any other caught between its send
// and its mark.
func (s *fiveYears) sent(inc *incarnation, key string) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.dead.Load() {
		s.caughtMu.Lock()
		s.caughtUnmarked.Add(1)
		s.caughtKeys[key]++
		s.caughtMu.Unlock()
		return
	}
	if inc.unmarked == nil {
		inc.unmarked = map[string]int{}
	}
	inc.unmarked[key]++
}

// kill ends an incarnation at once, as a crash does: from this moment it
// reaches neither Vault nor the providers nor the channels, and it gives
// nothing back (the lease is left to lapse or to be taken back).
func (s *fiveYears) kill(inc *incarnation, count *atomic.Int64) {
	if inc.dead.Swap(true) {
		return
	}
	count.Add(1)
	s.event("process killed")
	inc.proxy.SetDown(true)
	inc.cancel()
	// Whichever hook killed it, every notice delivered and not yet marked
	// was caught between its send and its mark: each may go out again.
	inc.mu.Lock()
	s.caughtMu.Lock()
	for key, n := range inc.unmarked {
		s.caughtUnmarked.Add(int64(n))
		s.caughtKeys[key] += n
	}
	s.caughtMu.Unlock()
	inc.mu.Unlock()
}

// step is how often the world outside the daemon changes: the operator
// looks, outages begin and end, processes restart. Within a step the
// daemon sees every moment it asked for.
const step = 4 * time.Hour

// perStep is the chance of what happens n times a year, in one step.
func perStep(n float64) float64 { return n * float64(step) / float64(365*24*time.Hour) }

// run simulates until d has passed, a step at a time.
func (s *fiveYears) run(d time.Duration) {
	end := s.f.Now().Add(d)
	for s.f.Now().Before(end) {
		s.tick()
		s.f.advance(step)
	}
}

// tick does what happens to the world at the start of a step.
func (s *fiveYears) tick() {
	now := s.f.Now()
	// The process: reap a dead incarnation, restart it a little later.
	if s.inc != nil && s.inc.dead.Load() {
		s.f.forget(s.inc.d)
		<-s.inc.done
		s.inc = nil
		s.restartAt = now.Add(s.hours(0, 2))
	}
	if s.inc == nil && !now.Before(s.restartAt) && !now.Before(s.vaultDownUntil) {
		s.startProcess()
	}
	if s.inc != nil && s.crashes(perStep(8)) {
		s.kill(s.inc, &s.idleCrashes)
	}
	// Vault, as this process reaches it.
	if now.Before(s.vaultDownUntil) {
		if s.inc != nil {
			s.inc.proxy.SetDown(true)
		}
	} else {
		if s.inc != nil && !s.inc.dead.Load() {
			s.inc.proxy.SetDown(false)
		}
		if s.chance(perStep(6)) {
			s.vaultDownUntil = now.Add(s.hours(1, 8))
			s.vaultOutages++
			s.event("Vault unreachable until %s", s.vaultDownUntil.Format(time.DateTime))
		}
	}
	s.chatStep(now)
	for _, c := range s.creds {
		s.credentialStep(c, now)
	}
}

func (s *fiveYears) chatNow() simFault {
	s.chatMu.Lock()
	defer s.chatMu.Unlock()
	return s.chatFault
}

func (s *fiveYears) setChat(f simFault) {
	s.chatMu.Lock()
	s.chatFault = f
	s.chatMu.Unlock()
}

// chatStep breaks chat for three days, once, in the second year, when
// prod-0 is healthy and far from its deadline, and revokes prod-0's secret
// as it breaks: a page falls due while chat fails.
func (s *fiveYears) chatStep(now time.Time) {
	c := s.creds[0] // prod-0
	switch {
	case s.chatFrom.IsZero():
		open := len(c.failures) > 0 && c.failures[len(c.failures)-1].resolved.IsZero()
		if now.Before(simStart.AddDate(1, 0, 0)) || open || !c.outageUntil.IsZero() || c.deadline.Sub(now) < 20*24*time.Hour {
			return
		}
		s.chatFrom, s.chatHangAt, s.chatUntil = now, now.Add(48*time.Hour), now.Add(72*time.Hour)
		s.setChat(simFailing)
		s.event("chat answers 500 until %s, then hangs until %s", s.chatHangAt.Format(time.DateTime), s.chatUntil.Format(time.DateTime))
		s.w.Emu.SetSecrets(c.clientID, "revoked-"+s.freshSecret(c))
		s.pagedFor = &simFailure{at: now}
		c.failures = append(c.failures, s.pagedFor)
		s.revocations++
		s.event("%s: secret revoked", c.name)
	case !now.Before(s.chatUntil):
		if s.chatNow() != simWorking {
			s.setChat(simWorking)
			s.event("chat works again")
		}
	case !now.Before(s.chatHangAt):
		s.setChat(simHanging)
	}
}

// credentialStep: the provider, the operator and fate, for one credential.
func (s *fiveYears) credentialStep(c *simCred, now time.Time) {
	if !c.outageUntil.IsZero() && !now.Before(c.outageUntil) {
		s.w.Emu.ClearFault(c.clientID)
		c.outageUntil = time.Time{}
	}
	if c.outageUntil.IsZero() && s.chance(perStep(1)) {
		c.outageUntil = now.Add(s.hours(2, 120))
		s.w.Emu.InjectFault(c.clientID, emulator.Fault{Kind: emulator.FaultStatus, Status: 503})
		s.providerOutages++
		s.event("%s: provider down until %s", c.name, c.outageUntil.Format(time.DateTime))
	}
	if !c.outageUntil.IsZero() {
		return // the operator waits for the provider to come back
	}
	var open *simFailure
	if n := len(c.failures); n > 0 && c.failures[n-1].resolved.IsZero() {
		open = c.failures[n-1]
	}
	switch {
	case open != nil:
		// The operator fixes a revoked secret some hours after being told,
		// keeping its deadline.
		if open.told.IsZero() && s.delivered("incident/"+c.name+"/invalid_client", "security", open.at) {
			open.told = now.Add(s.hours(1, 12))
		}
		if open.fixed.IsZero() && !open.told.IsZero() && !now.Before(open.told) {
			s.replaceSecret(c, c.deadline)
			open.fixed = now
		}
		if !open.fixed.IsZero() && s.delivered("resolve/incident/"+c.name+"/invalid_client", "security", open.fixed) {
			open.resolved = now
		}
	case c.deadline.Sub(now) > 10*24*time.Hour && s.chance(perStep(0.5)):
		// The provider revokes the secret (an admin, a leak response).
		s.w.Emu.SetSecrets(c.clientID, "revoked-"+s.freshSecret(c))
		s.event("%s: secret revoked", c.name)
		c.failures = append(c.failures, &simFailure{at: now})
		s.revocations++
	default:
		// The operator rotates once the last reminder has come (on every
		// channel the credential notifies), or at the latest a step before
		// the deadline.
		pol := s.cfg.RotationPolicyFor(c.name, "")
		last := policies.ReminderKey(c.name, c.deadline, slices.Min(pol.Remind))
		came := true
		for _, ch := range notifiedChannels(c) {
			came = came && s.delivered(last, ch, time.Time{})
		}
		if came || c.deadline.Sub(now) <= step {
			met := c.deadline
			s.event("%s: rotated for the deadline %s", c.name, met.Format(time.DateOnly))
			s.replaceSecret(c, time.Time{})
			c.deadlines = append(c.deadlines, met)
		}
	}
}

// delivered reports whether key went to channel at or after since.
func (s *fiveYears) delivered(key, channel string, since time.Time) bool {
	return s.box(channel).since(key, since)
}

// replaceSecret is the operator's rotation: a new secret at the provider,
// staged, checked and promoted through credkeeper. rotateBy zero gives the
// policy's period from today.
func (s *fiveYears) replaceSecret(c *simCred, rotateBy time.Time) {
	ctx := context.Background()
	fresh := s.freshSecret(c)
	s.w.Emu.SetSecrets(c.clientID, c.secret, fresh)
	if res, err := s.op.Stage(ctx, rotation.StageRequest{Name: c.name, ClientID: c.clientID, ClientSecret: secret.New(fresh), RotateBy: rotateBy}); err != nil || res.Class != "ok" {
		s.t.Fatalf("%s: stage at %v: %v %s %s", c.name, s.f.Now(), err, res.Class, res.Detail)
	}
	if _, err := s.op.Promote(ctx, c.name, rotation.PromoteOptions{}); err != nil {
		s.t.Fatalf("%s: promote at %v: %v", c.name, s.f.Now(), err)
	}
	s.w.Emu.SetSecrets(c.clientID, fresh)
	c.secret = fresh
	cred, err := s.w.Store.GetCredential(ctx, c.name)
	if err != nil {
		s.t.Fatal(err)
	}
	c.deadline = cred.Metadata.RotateBy
}

func (s *fiveYears) verify() {
	t := s.t
	if s.inc != nil {
		s.f.forget(s.inc.d)
		s.inc.cancel()
		<-s.inc.done
	}
	t.Logf("%d incarnations; crashes: %d idle, %d after a provider's answer, %d between claim and send, %d between send and mark; %d Vault outages, %d provider outages, %d revoked secrets",
		s.incarnations, s.idleCrashes.Load(), s.answerCrashes.Load(), s.claimCrashes.Load(), s.sendCrashes.Load(), s.vaultOutages, s.providerOutages, s.revocations)

	count := map[string]int{} // key \x00 channel → deliveries
	for _, d := range append(append(s.security.all(), s.oncall.all()...), s.chat.all()...) {
		count[d.key+"\x00"+d.channel]++
	}
	duplicates := 0
	for _, c := range s.creds {
		if len(c.deadlines) < 5 {
			t.Errorf("%s: %d deadlines met in five years, want 5", c.name, len(c.deadlines))
		}
		pol := s.cfg.RotationPolicyFor(c.name, "")
		notified := notifiedChannels(c)
		for _, dl := range c.deadlines {
			for _, tier := range pol.Remind {
				key := policies.ReminderKey(c.name, dl, tier)
				for _, ch := range notified {
					switch n := count[key+"\x00"+ch]; {
					case n == 0:
						t.Errorf("%s: the deadline %s came without its %s reminder on %s; around then:\n%s\ndelivered: %v", c.name, dl.Format(time.DateOnly), key, ch,
							strings.Join(s.eventsAround(dl), "\n"), s.keysAround(c.name, dl))
					case n > 1:
						duplicates += n - 1
						t.Logf("duplicate: %s to %s %d times: %v", key, ch, n, s.box(ch).byKey[key])
					}
				}
			}
		}
		for i, f := range c.failures {
			if s.f.Now().Sub(f.at) < 21*24*time.Hour {
				continue // too near the end to have been told, fixed and resolved on a weekly check
			}
			until := s.f.Now()
			if i+1 < len(c.failures) {
				until = c.failures[i+1].at
			}
			channels := slices.Clone(notified)
			if c.paged {
				channels = append(channels, "oncall")
			}
			for _, ch := range channels {
				for _, key := range []string{"incident/" + c.name + "/invalid_client", "resolve/incident/" + c.name + "/invalid_client"} {
					n := s.countBetween(key, ch, f.at, until)
					switch {
					case n == 0:
						t.Errorf("%s: the secret revoked at %v: no %s to %s", c.name, f.at, key, ch)
					case n > 1:
						duplicates += n - 1
						t.Logf("duplicate: %s to %s %d times since %v", key, ch, n, f.at)
					}
				}
			}
			if f.fixed.IsZero() {
				t.Errorf("%s: the secret revoked at %v was never fixed", c.name, f.at)
			}
		}
	}
	for _, d := range s.oncall.all() {
		incident := strings.TrimPrefix(d.key, "resolve/")
		if !strings.HasPrefix(incident, "incident/prod-") && !strings.HasPrefix(d.key, "reminder/") {
			t.Errorf("paged for what is no credential failure in prod: %s at %v", d.key, d.at)
		}
	}
	s.verifyChatOutage()
	caught := int(s.caughtUnmarked.Load())
	t.Logf("%d duplicate notices; %d notices were between their send and their mark at a crash", duplicates, caught)
	if duplicates > caught {
		t.Errorf("%d duplicate notices, more than the %d caught between a send and its mark by a crash", duplicates, caught)
	}
	if s.idleCrashes.Load()+s.answerCrashes.Load()+s.claimCrashes.Load()+s.sendCrashes.Load() == 0 || s.vaultOutages == 0 {
		t.Error("the simulation had no crash or no Vault outage")
	}
}

// keysAround are the notices about name delivered to security in the
// days before t.
func (s *fiveYears) keysAround(name string, t time.Time) []string {
	var out []string
	for _, d := range s.security.all() {
		if strings.Contains(d.key, "/"+name+"/") && d.at.After(t.Add(-15*24*time.Hour)) && d.at.Before(t.Add(24*time.Hour)) {
			out = append(out, d.at.Format(time.DateTime)+" "+d.key)
		}
	}
	return out
}

// notifiedChannels are the channels a credential notifies: security, and
// chat for prod-0.
func notifiedChannels(c *simCred) []string {
	if c.name == "prod-0" {
		return []string{"security", "chat"}
	}
	return []string{"security"}
}

// box is a channel's inbox.
func (s *fiveYears) box(channel string) *simInbox {
	switch channel {
	case "oncall":
		return s.oncall
	case "chat":
		return s.chat
	}
	return s.security
}

// countBetween counts deliveries of key to channel in [from, until).
func (s *fiveYears) countBetween(key, channel string, from, until time.Time) int {
	n := 0
	for _, d := range s.box(channel).all() {
		if d.key == key && !d.at.Before(from) && d.at.Before(until) {
			n++
		}
	}
	return n
}

// verifyChatOutage: the page due while chat failed went out before chat
// recovered; chat took nothing while broken, and took every notice it had
// missed once it worked again.
func (s *fiveYears) verifyChatOutage() {
	t := s.t
	if s.chatFrom.IsZero() || s.pagedFor == nil {
		t.Error("chat never failed: the simulation had no page due while a channel failed")
		return
	}
	t.Logf("chat failed from %v (hung from %v) until %v", s.chatFrom, s.chatHangAt, s.chatUntil)
	incident := "incident/prod-0/invalid_client"
	// One page, or one more for each time a crash caught it between its
	// send and its mark (the next process cannot tell it went out).
	s.caughtMu.Lock()
	again := s.caughtKeys[incident]
	s.caughtMu.Unlock()
	if n := s.countBetween(incident, "oncall", s.pagedFor.at, s.chatUntil); n < 1 || n > 1+again {
		t.Errorf("the page for prod-0 revoked at %v: %d pages while chat failed, want one (and %d more caught unmarked by a crash); around then:\n%s", s.pagedFor.at, n, again,
			strings.Join(s.eventsAround(s.chatUntil), "\n"))
	}
	for _, d := range s.chat.all() {
		if !d.at.Before(s.chatFrom) && d.at.Before(s.chatUntil) {
			t.Errorf("chat took %s at %v, while it was broken", d.key, d.at)
		}
	}
	if n := s.countBetween(incident, "chat", s.chatUntil, s.f.Now()); n == 0 {
		t.Errorf("chat never got the incident it missed while broken")
	}
	for _, d := range s.security.all() {
		if strings.Contains(d.key, "/prod-0/") && !d.at.Before(s.chatFrom) && d.at.Before(s.chatUntil) && !s.chat.since(d.key, s.chatUntil) &&
			!strings.Contains(d.key, "/overdue/") {
			t.Errorf("%s went to security at %v, and never to chat after it recovered", d.key, d.at)
		}
	}
}
