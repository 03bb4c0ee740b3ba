package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/plan"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// newDaemonWorld is a world whose config declares creds, on a fake clock
// the daemons started by f run on and the emulator answers by.
func newDaemonWorld(t *testing.T, creds ...string) (*credtest.World, *fakeTime) {
	t.Helper()
	f := newFakeTime(t)
	w := credtest.NewWorld(t, func(url string) string {
		s := "daemon {\n  check_timeout = \"15s\"\n}\n"
		for _, c := range creds {
			s += strings.ReplaceAll(c, "EMULATOR_URL", url)
		}
		return s
	}, func(o *emulator.Options) { o.Clock = f.fc })
	return w, f
}

func credBlock(name, provider string, publish bool) string {
	s := fmt.Sprintf("credential %q {\n  provider = %q\n  check = \"@every 10s\"\n", name, provider)
	if publish {
		s += "  publish_token {\n    renew_before = \"10m\"\n  }\n"
	}
	return s + "}\n"
}

func TestDaemonChecksPublishesAndFollowsANewSecret(t *testing.T) {
	w, f := newDaemonWorld(t,
		credBlock("good", "okta-stage", true),
		credBlock("dmp", "doorkeeper", true),
		credBlock("bad", "okta-stage", true),
		credBlock("down", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-good", Secrets: []string{"good-secret"}})
	w.Emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{"dmp-secret"}, Scopes: []string{"public", "read_dmps"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-bad", Secrets: []string{"right-secret"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-down", Secrets: []string{"down-secret"}})
	w.Emu.InjectFault("0oa-down", emulator.Fault{Kind: emulator.FaultStatus, Status: 503})
	w.Put("good", "okta-stage", "0oa-good", "good-secret", credtest.Deadline)
	w.Put("dmp", "doorkeeper", "12345", "dmp-secret", credtest.Deadline)
	w.Put("bad", "okta-stage", "0oa-bad", "wrong-secret", credtest.Deadline)
	w.Put("down", "okta-stage", "0oa-down", "down-secret", credtest.Deadline)
	ctx := context.Background()

	d, _ := f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Second)
	if !d.IsLeader() {
		t.Fatal("the only replica does not lead")
	}
	state := func(name string) *vaultstore.State {
		st, err := w.Store.GetState(ctx, name)
		if err != nil {
			return &vaultstore.State{}
		}
		return st
	}
	f.advance(10*time.Second + time.Minute) // the first checks, then the schedule
	good := state("good")
	if n := len(good.History); n < 6 || n > 8 {
		t.Fatalf("good checked %d times in 71s on @every 10s", n)
	}
	if good.LastClass != "ok" || good.ConsecutiveFailures != 0 || good.LastSuccess.IsZero() {
		t.Errorf("good: %+v", good)
	}
	oldest := good.History[len(good.History)-1].At
	for _, c := range good.Conditions {
		if c.Status != "True" || !c.LastTransition.Equal(oldest) {
			t.Errorf("good's %s condition moved without a flip: %+v (first check %v)", c.Type, c, oldest)
		}
	}
	tok, err := w.Store.GetToken(ctx, "good")
	if err != nil {
		t.Fatalf("published token for good: %v", err)
	}
	if tok.Version != 1 || tok.ExpiresAt.Sub(tok.IssuedAt) != 8*time.Hour || tok.TokenType != "Bearer" || tok.CredentialVersion != 1 {
		t.Errorf("token for good: version %d, lifetime %v, %+v (one publish; the next are not due for hours)", tok.Version, tok.ExpiresAt.Sub(tok.IssuedAt), tok)
	}
	if _, err := w.Store.GetToken(ctx, "dmp"); err != nil {
		t.Errorf("published token for dmp: %v", err)
	}
	if _, err := w.Store.GetToken(ctx, "bad"); err == nil {
		t.Error("a token was published for a credential that fails")
	}
	if n := w.Emu.Requests("0oa-bad"); n != 1 {
		t.Errorf("the refused secret was sent %d times, want once", n)
	}
	if st := state("bad"); st.LastClass != "invalid_client" || st.RejectedVersion != 1 {
		t.Errorf("bad: %+v", st)
	}
	// Backoff: a provider that is down is asked less and less often.
	if n := w.Emu.Requests("0oa-down"); n < 2 || n > 3 {
		t.Errorf("down was asked %d times in 71s, want 2 or 3 (backing off from 30s)", n)
	}

	w.Put("bad", "okta-stage", "0oa-bad", "right-secret", credtest.Deadline)
	f.advance(10 * time.Second)
	if st := state("bad"); st.LastClass != "ok" || st.RejectedVersion != 0 {
		t.Errorf("bad after its new secret: %+v", st)
	}
	if _, err := w.Store.GetToken(ctx, "bad"); err != nil {
		t.Errorf("no token for bad after it recovered: %v", err)
	}
}

func TestDaemonRemovesTheTokenOfAFailingCredential(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("flaky", "okta-stage", true))
	w.Emu.AddClient(emulator.Client{ID: "0oa-f", Secrets: []string{"s1"}})
	w.Put("flaky", "okta-stage", "0oa-f", "s1", credtest.Deadline)
	ctx := context.Background()
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(10 * time.Second)
	if _, err := w.Store.GetToken(ctx, "flaky"); err != nil {
		t.Fatalf("no token published: %v", err)
	}
	w.Emu.SetSecrets("0oa-f", "s2") // the provider retired the secret
	f.advance(10 * time.Second)
	if _, err := w.Store.GetToken(ctx, "flaky"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("the token of a refused credential is still published: %v", err)
	}
}

// A published token is renewed when due even when the credential's
// schedule is longer than the token's life.
func TestDaemonRenewsATokenBeforeItsScheduleComes(t *testing.T) {
	w, f := newDaemonWorld(t, `credential "daily" {
  provider = "okta-stage"
  check    = "@every 24h"
  publish_token {
    renew_before = "1h"
  }
}
`)
	w.Cfg.Daemon.LeaseTTL = time.Hour // fewer renewals to step through
	w.Emu.AddClient(emulator.Client{ID: "0oa-d", Secrets: []string{"s"}})
	w.Put("daily", "okta-stage", "0oa-d", "s", credtest.Deadline)
	ctx := context.Background()
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Minute)
	first, err := w.Store.GetToken(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	f.advance(12 * time.Hour) // Okta's tokens live 8h, renewed from 8h-max(1h, a third) on
	tok, err := w.Store.GetToken(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Version < 2 || !tok.ExpiresAt.After(f.Now()) {
		t.Errorf("after 12h: token version %d expiring %v (the first expired %v); want it renewed and live", tok.Version, tok.ExpiresAt, first.ExpiresAt)
	}
	if n := w.Emu.Requests("0oa-d"); n > 4 {
		t.Errorf("%d token requests in 12h for an 8h token: renewals spin", n)
	}
}

func TestSteadyStateCheckCostsAtMostTwoVaultRequests(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("steady", "okta-stage", true))
	w.Cfg.Daemon.LeaseTTL = time.Hour // count checks, not lease renewals
	w.Emu.AddClient(emulator.Client{ID: "0oa-s", Secrets: []string{"s"}})
	w.Put("steady", "okta-stage", "0oa-s", "s", credtest.Deadline)
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(10 * time.Second) // the first check reads the secret and publishes

	checks0, requests0 := w.Emu.Requests("0oa-s"), w.Store.Requests()
	f.advance(5 * time.Minute)
	checks, requests := w.Emu.Requests("0oa-s")-checks0, w.Store.Requests()-requests0
	if checks != 30 {
		t.Errorf("%d checks in 5m on @every 10s, want 30", checks)
	}
	if float64(requests)/float64(checks) > 2 {
		t.Errorf("%d Vault requests for %d checks: more than two per check", requests, checks)
	}
}

// A scheduled check resolves its credential from the configuration once,
// in the loop: the check, the budget, publishing, the notices and the
// staged pair's check all take what the loop resolved, and the loop keeps
// it while the configuration holds. A step that looked the credential or
// its provider up again by name would show here once per check.
func TestAScheduledCheckLooksItsConfigurationUpOnce(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("once", "okta-stage", true))
	w.Cfg.Daemon.LeaseTTL = time.Hour // count checks, not lease renewals
	w.Emu.AddClient(emulator.Client{ID: "0oa-once", Secrets: []string{"s"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-once-next", Secrets: []string{"next"}})
	w.Put("once", "okta-stage", "0oa-once", "s", credtest.Deadline)
	op := &rotation.Runner{Store: w.Store, Config: w.Cfg, Clock: f.fc}
	if res, err := op.Stage(context.Background(), rotation.StageRequest{Name: "once", ClientID: "0oa-once-next", ClientSecret: secret.New("next")}); err != nil || res.Class != "ok" {
		t.Fatalf("stage: %v %s", err, res.Class)
	}
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{}}
	})
	f.advance(10 * time.Second) // the first look and the first check resolve it

	checks0, staged0 := w.Emu.Requests("0oa-once"), w.Emu.Requests("0oa-once-next")
	cred0, prov0 := w.Cfg.Lookups()
	f.advance(5 * time.Minute)
	checks, staged := w.Emu.Requests("0oa-once")-checks0, w.Emu.Requests("0oa-once-next")-staged0
	cred, prov := w.Cfg.Lookups()
	cred, prov = cred-cred0, prov-prov0
	if checks != 30 || staged != 30 {
		t.Fatalf("%d checks and %d checks of the staged pair in 5m on @every 10s, want 30 of each", checks, staged)
	}
	if cred > 1 || prov > 1 {
		t.Errorf("%d checks looked the credential up %d times and its provider %d times: want at most once each, by the loop", checks, cred, prov)
	}
}

func TestTwoDaemonsOneLeaderAndHandover(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("shared", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-sh", Secrets: []string{"s"}})
	w.Put("shared", "okta-stage", "0oa-sh", "s", credtest.Deadline)
	other := w.Env.Store(t) // a second replica: its own client, the same Vault and prefix

	a, stopA := f.start(w.Store, w.Cfg, "replica-a")
	b, stopB := f.start(other, w.Cfg, "replica-b")
	f.advance(time.Second)
	if a.IsLeader() == b.IsLeader() {
		t.Fatalf("leaders: a=%v b=%v", a.IsLeader(), b.IsLeader())
	}
	start := w.Emu.Requests("0oa-sh")
	f.advance(3 * time.Minute)
	if a.IsLeader() == b.IsLeader() {
		t.Fatalf("leaders: a=%v b=%v", a.IsLeader(), b.IsLeader())
	}
	if n := w.Emu.Requests("0oa-sh") - start; n < 18 || n > 19 {
		t.Errorf("%d checks in 3m on @every 10s, want 18 or 19: none doubled, none lost", n)
	}

	leader, follower, stopLeader := a, b, stopA
	if b.IsLeader() {
		leader, follower, stopLeader = b, a, stopB
	}
	stopLeader()
	if leader.IsLeader() {
		t.Error("a stopped daemon still leads")
	}
	f.advance(w.Cfg.Daemon.LeaseTTL / 3) // its next look at the released lease
	if !follower.IsLeader() {
		t.Fatal("the standby did not take the released lease")
	}
	before := w.Emu.Requests("0oa-sh")
	f.advance(time.Minute)
	if w.Emu.Requests("0oa-sh") == before {
		t.Error("the new leader does not check")
	}
}

func TestALapsedLeaseIsTakenOver(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("x", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-x", Secrets: []string{"s"}})
	w.Put("x", "okta-stage", "0oa-x", "s", credtest.Deadline)
	// A replica that crashed holding the lease: no release, it just lapses.
	if _, err := w.Store.PutLease(context.Background(), &vaultstore.Lease{Holder: "crashed", ExpiresAt: f.Now().Add(30 * time.Second)}, 0); err != nil {
		t.Fatal(err)
	}
	d, _ := f.start(w.Store, w.Cfg, "replica-a")
	ttl := w.Cfg.Daemon.LeaseTTL
	f.advance(ttl - time.Second)
	if d.IsLeader() {
		t.Fatal("took a lease that has not lapsed")
	}
	f.advance(ttl/3 + time.Second)
	if !d.IsLeader() {
		t.Error("the lapsed lease was not taken over")
	}
}

func TestDaemonChecksAStagedPairOnSchedule(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("rot", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-old", Secrets: []string{"old"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-new", Secrets: []string{"new"}})
	w.Put("rot", "okta-stage", "0oa-old", "old", credtest.Deadline)
	ctx := context.Background()
	if _, err := w.Store.PutPending(ctx, "rot", &vaultstore.Pending{ClientID: "0oa-new", ClientSecret: secret.New("new"), StagedAt: f.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(10 * time.Second)
	if p, err := w.Store.GetPending(ctx, "rot"); err != nil || p.LastClass != "ok" {
		t.Fatalf("the staged pair was not checked: %+v %v", p, err)
	}
	p, err := plan.MakePlan(ctx, w.Store, parseRotConfig(t), f.Now())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range p.Notes {
		found = found || n.Name == "rot" && strings.HasPrefix(n.Message, "pending: ok, checked")
	}
	if !found {
		t.Errorf("the plan should show the staged pair: %+v", p.Notes)
	}
}

func parseRotConfig(t *testing.T) *config.Config {
	cfg, diags := config.Parse([]byte("credential \"rot\" {\n  provider = \"ctrp-stage\"\n}\n"), "rot.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// The daemon starts an automated rotation start_before the deadline and
// takes it, on the credential's schedule, as far as the overlap.
func TestDaemonRunsAnAutomatedRotation(t *testing.T) {
	tokenFile := oktaTokenFile(t)
	w, f := newDaemonWorld(t, fmt.Sprintf(`credential "svc" {
  provider = "okta-stage"
  check    = "@every 10s"
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-svc"
    api_token_file = %q
  }
}
`, tokenFile))
	w.Emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: []string{"Svc-Secret-Old"}})
	w.Put("svc", "okta-stage", "0oa-svc", "Svc-Secret-Old", f.Now().Add(10*24*time.Hour)) // inside start_before (14d)
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(2 * time.Minute)
	rot, err := w.Store.GetRotation(context.Background(), "svc")
	if err != nil || rot.Step != rotation.StepPromoted {
		t.Fatalf("the rotation, after 2m on @every 10s: %+v %v; want it promoted", rot, err)
	}
	cred, err := w.Store.GetCredential(context.Background(), "svc")
	if err != nil || cred.ClientSecret.Reveal() == "Svc-Secret-Old" || len(w.Emu.AppSecrets("0oa-svc")) != 2 {
		t.Errorf("promoted, both secrets active through the overlap: %v %v", err, w.Emu.AppSecrets("0oa-svc"))
	}
}

// A rotation that cannot proceed (Okta refuses a third secret) is told to
// the credential's channels once, not at every check, and changes nothing.
func TestDaemonAnnouncesAStoppedRotationOnce(t *testing.T) {
	tokenFile := oktaTokenFile(t)
	w, f := newDaemonWorld(t, fmt.Sprintf(`notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
credential "svc" {
  provider = "okta-stage"
  check    = "@every 10s"
  notify   = ["security"]
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-svc"
    api_token_file = %q
  }
}
`, tokenFile))
	w.Emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: []string{"Svc-Secret-Old", "Svc-Secret-Other"}})
	w.Put("svc", "okta-stage", "0oa-svc", "Svc-Secret-Old", f.Now().Add(10*24*time.Hour))
	security := &inbox{}
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{"security": security}}
	})
	f.advance(2 * time.Minute)
	var failed []string
	for _, k := range security.keys() {
		if strings.HasPrefix(k, "rotation_failed/") {
			failed = append(failed, k)
		}
	}
	if n := w.Emu.Requests("0oa-svc"); n < 10 {
		t.Errorf("%d checks in 2m on @every 10s", n)
	}
	if len(failed) != 1 || failed[0] != "rotation_failed/svc" {
		t.Errorf("notices: %v, want one rotation_failed", failed)
	}
	if _, err := w.Store.GetRotation(context.Background(), "svc"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("nothing recorded: %v", err)
	}
	if got := w.Emu.AppSecrets("0oa-svc"); len(got) != 2 {
		t.Errorf("Okta's secrets changed: %v", got)
	}
}

// A daemon that starts checks each credential within first_check_within,
// not an interval later, unless Vault says it was checked within its
// interval; then its schedule brings it round.
func TestFirstCheckComesSoonAfterStart(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("stale", "okta-stage", false), credBlock("fresh", "okta-stage", false))
	for _, c := range w.Cfg.Credentials {
		c.Schedule = cron.Every(time.Hour)
	}
	w.Emu.AddClient(emulator.Client{ID: "0oa-stale", Secrets: []string{"s"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-fresh", Secrets: []string{"s"}})
	w.Put("stale", "okta-stage", "0oa-stale", "s", credtest.Deadline)
	w.Put("fresh", "okta-stage", "0oa-fresh", "s", credtest.Deadline)
	if _, err := w.Store.PutState(context.Background(), "fresh", &vaultstore.State{LastClass: "ok", LastCheck: f.Now().Add(-time.Minute)}, 0); err != nil {
		t.Fatal(err)
	}
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(w.Cfg.Daemon.FirstCheckWithin)
	if n := w.Emu.Requests("0oa-stale"); n != 1 {
		t.Errorf("the stale credential was asked %d times within first_check_within, want once", n)
	}
	if n := w.Emu.Requests("0oa-fresh"); n != 0 {
		t.Errorf("a credential checked a minute ago was checked again at start: %d requests", n)
	}
	f.advance(time.Hour)
	if n := w.Emu.Requests("0oa-fresh"); n != 1 {
		t.Errorf("the fresh credential, an hour on: %d requests, want 1", n)
	}
}

// Another replica's lease is judged by the local time this replica saw it
// change, not by comparing clocks: a replica whose clock runs an hour
// ahead does not take a lease its holder keeps renewing.
func TestClockSkewDoesNotMakeTwoLeaders(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("shared", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-sh", Secrets: []string{"s"}})
	w.Put("shared", "okta-stage", "0oa-sh", "s", credtest.Deadline)
	a, _ := f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Second)
	if !a.IsLeader() {
		t.Fatal("a does not lead")
	}
	b, _ := f.startOn(skewed{f.fc, time.Hour}, w.Env.Store(t), w.Cfg, "replica-b")
	for range 3 * 30 { // three lease lifetimes
		f.advance(time.Second)
		if b.IsLeader() {
			t.Fatalf("the replica whose clock runs an hour ahead took the lease (a leads: %v)", a.IsLeader())
		}
	}
	if !a.IsLeader() {
		t.Error("the holder lost its lease")
	}
}

// Leadership is a context: when another replica takes the lease while a
// check is in flight, the check is cancelled and writes nothing.
func TestADeposedLeadersCheckIsCancelledAndWritesNothing(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("slow", "okta-prod", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-slow", Secrets: []string{"s"}})
	w.Emu.InjectFault("0oa-slow", emulator.Fault{Kind: emulator.FaultDelay, Delay: 3 * time.Second})
	w.Put("slow", "okta-prod", "0oa-slow", "s", credtest.Deadline)
	ctx := context.Background()
	a, _ := f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Second)
	// Step to each moment the daemon wakes until the first check is in
	// flight (its answer takes 3s of real time), without waiting for it.
	for w.Emu.Requests("0oa-slow") == 0 {
		if f.Now().Sub(simStart) > time.Minute {
			t.Fatal("no check within first_check_within")
		}
		f.fc.Advance(f.settle().Sub(f.Now()))
		deadline := time.Now().Add(300 * time.Millisecond)
		for w.Emu.Requests("0oa-slow") == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Another replica takes the lease (as after a partition), by check-and-set.
	cur, err := w.Store.GetLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.PutLease(ctx, &vaultstore.Lease{Holder: "replica-b", ExpiresAt: f.Now().Add(time.Hour)}, cur.Version); err != nil {
		t.Fatal(err)
	}
	f.fc.Advance(w.Cfg.Daemon.LeaseTTL / 3) // a's next renewal finds it
	testutil.Eventually(t, 5*time.Second, "a steps down", func() bool { return !a.IsLeader() })
	f.settle() // the check has ended, cancelled
	if st, err := w.Store.GetState(ctx, "slow"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("the deposed leader wrote state/slow: %+v %v", st, err)
	}
}

// oktaTokenFile holds the API token the emulator's Okta API accepts.
func oktaTokenFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "okta-api-token")
	if err := os.WriteFile(path, []byte(credtest.OktaAPIToken), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Two processes started with the same --replica-id do not both lead: the
// lease names the process, not only the replica, so the second waits as a
// standby, and leadership stays where it is.
func TestTwoProcessesWithOneReplicaIDMakeOneLeader(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("shared", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-sh", Secrets: []string{"s"}})
	w.Put("shared", "okta-stage", "0oa-sh", "s", credtest.Deadline)
	a, _ := f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Second)
	b, _ := f.start(w.Env.Store(t), w.Cfg, "replica-a")
	start := w.Emu.Requests("0oa-sh")
	for range 3 * 60 {
		f.advance(time.Second)
		if !a.IsLeader() || b.IsLeader() {
			t.Fatalf("at %v: the first process leads: %v, the second: %v; want the first only, all along", f.Now().Sub(simStart), a.IsLeader(), b.IsLeader())
		}
	}
	if n := w.Emu.Requests("0oa-sh") - start; n < 18 || n > 19 {
		t.Errorf("%d checks in 3m on @every 10s, want 18 or 19: none doubled, none lost", n)
	}
}

// A process restarted under its replica ID after a crash (its predecessor
// gone, its lease left behind, not released) takes the lease over once it
// lapses, and not before.
func TestARestartedProcessTakesItsPredecessorsLapsedLease(t *testing.T) {
	w, f := newDaemonWorld(t, credBlock("x", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-x", Secrets: []string{"s"}})
	w.Put("x", "okta-stage", "0oa-x", "s", credtest.Deadline)
	if _, err := w.Store.PutLease(context.Background(), &vaultstore.Lease{Holder: "replica-a", Nonce: "a-process-killed", ExpiresAt: f.Now().Add(30 * time.Second)}, 0); err != nil {
		t.Fatal(err)
	}
	d, _ := f.start(w.Store, w.Cfg, "replica-a")
	ttl := w.Cfg.Daemon.LeaseTTL
	f.advance(ttl - time.Second)
	if d.IsLeader() {
		t.Fatal("took its predecessor's lease before it lapsed")
	}
	f.advance(ttl/3 + time.Second)
	if !d.IsLeader() {
		t.Error("the restarted process did not take its predecessor's lapsed lease over")
	}
}
