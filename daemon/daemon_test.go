package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/plan"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// newDaemonWorld is a world whose config declares creds, with every
// schedule shortened to one second and the leader lease to leaseTTL: the
// daemon runs on the wall clock, and these tests would otherwise wait for
// the language's floors (MinCheckInterval, MinLeaseTTL), which are there to
// protect providers, not to slow tests.
func newDaemonWorld(t *testing.T, leaseTTL time.Duration, creds ...string) *credtest.World {
	t.Helper()
	w := credtest.NewWorld(t, func(url string) string {
		s := "daemon {\n  check_timeout = \"15s\"\n}\n"
		for _, c := range creds {
			s += strings.ReplaceAll(c, "EMULATOR_URL", url)
		}
		return s
	})
	w.Cfg.Daemon.LeaseTTL = leaseTTL
	for _, c := range w.Cfg.Credentials {
		c.Schedule = cron.Every(time.Second)
	}
	return w
}

func credBlock(name, provider string, publish bool) string {
	s := fmt.Sprintf("credential %q {\n  provider = %q\n  check = \"@every 10s\"\n", name, provider)
	if publish {
		s += "  publish_token {\n    renew_before = \"10m\"\n  }\n"
	}
	return s + "}\n"
}

// startDaemon runs a daemon until the test ends (or stop is called).
func startDaemon(t *testing.T, store *vaultstore.Store, cfg *policies.Config, id string, setup ...func(*daemon.Daemon)) (*daemon.Daemon, func()) {
	t.Helper()
	d := daemon.NewDaemon(store, cfg, nil, nil, id)
	for _, f := range setup {
		f(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return d, stop
}

func TestDaemonChecksPublishesAndFollowsANewSecret(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 30*time.Second,
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

	d, _ := startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 10*time.Second, "the daemon leads", d.IsLeader)
	state := func(name string) *vaultstore.State {
		st, err := w.Store.GetState(ctx, name)
		if err != nil {
			return &vaultstore.State{}
		}
		return st
	}
	testutil.Eventually(t, 15*time.Second, "three checks of good", func() bool { return len(state("good").History) >= 3 })

	good := state("good")
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

	bad := state("bad")
	if bad.LastClass != "invalid_client" || bad.RejectedVersion != 1 {
		t.Errorf("bad: %+v", bad)
	}
	if n := w.Emu.Requests("0oa-bad"); n != 1 {
		t.Errorf("a refused version was sent %d times, want once", n)
	}
	if _, err := w.Store.GetToken(ctx, "bad"); err == nil {
		t.Error("no token may be published for a failing credential")
	}
	down := state("down")
	if down.LastClass != "unavailable" || w.Emu.Requests("0oa-down") != 1 {
		t.Errorf("down: %+v after %d requests; the daemon should back off for 30s", down, w.Emu.Requests("0oa-down"))
	}

	// The right secret arrives in Vault: the next check uses it.
	w.Put("bad", "okta-stage", "0oa-bad", "right-secret", credtest.Deadline)
	testutil.Eventually(t, 10*time.Second, "bad recovers with its new secret", func() bool { return state("bad").LastClass == "ok" })
	testutil.Eventually(t, 5*time.Second, "a token for bad", func() bool { _, err := w.Store.GetToken(ctx, "bad"); return err == nil })
	if st := state("bad"); st.RejectedVersion != 0 {
		t.Errorf("bad after recovery: %+v", st)
	}
}

func TestDaemonRemovesTheTokenOfAFailingCredential(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 30*time.Second, credBlock("flaky", "okta-stage", true))
	w.Emu.AddClient(emulator.Client{ID: "0oa-f", Secrets: []string{"s1"}})
	w.Put("flaky", "okta-stage", "0oa-f", "s1", credtest.Deadline)
	ctx := context.Background()
	startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 10*time.Second, "a published token", func() bool { _, err := w.Store.GetToken(ctx, "flaky"); return err == nil })

	w.Emu.SetSecrets("0oa-f", "s2") // the provider retired the secret
	testutil.Eventually(t, 10*time.Second, "the token removed", func() bool { _, err := w.Store.GetToken(ctx, "flaky"); return err != nil })
}

func TestSteadyStateCheckCostsAtMostTwoVaultRequests(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 1*time.Hour, credBlock("steady", "okta-stage", true))
	w.Emu.AddClient(emulator.Client{ID: "0oa-s", Secrets: []string{"s"}})
	w.Put("steady", "okta-stage", "0oa-s", "s", credtest.Deadline)
	ctx := context.Background()
	startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 10*time.Second, "a published token", func() bool { _, err := w.Store.GetToken(ctx, "steady"); return err == nil })
	time.Sleep(500 * time.Millisecond) // let the first check's writes settle

	// The test's own reads above went through the same store: count from here.
	checks0, requests0 := w.Emu.Requests("0oa-s"), w.Store.Requests()
	time.Sleep(4 * time.Second)
	checks, requests := w.Emu.Requests("0oa-s")-checks0, w.Store.Requests()-requests0
	if checks < 2 {
		t.Fatalf("only %d checks in 4s", checks)
	}
	if float64(requests)/float64(checks) > 2 {
		t.Errorf("%d Vault requests for %d checks: more than two per check", requests, checks)
	}
	t.Logf("%d checks, %d Vault requests", checks, requests)
}

func TestTwoDaemonsOneLeaderAndHandover(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 2*time.Second, credBlock("shared", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-sh", Secrets: []string{"s"}})
	w.Put("shared", "okta-stage", "0oa-sh", "s", credtest.Deadline)
	other := w.Env.Store(t) // a second replica: its own client, the same Vault and prefix

	a, stopA := startDaemon(t, w.Store, w.Cfg, "replica-a")
	b, stopB := startDaemon(t, other, w.Cfg, "replica-b")
	testutil.Eventually(t, 5*time.Second, "one leader", func() bool { return a.IsLeader() != b.IsLeader() })

	start := w.Emu.Requests("0oa-sh")
	time.Sleep(3 * time.Second)
	if a.IsLeader() == b.IsLeader() {
		t.Fatalf("leaders: a=%v b=%v", a.IsLeader(), b.IsLeader())
	}
	if n := w.Emu.Requests("0oa-sh") - start; n > 4 {
		t.Errorf("%d checks in 3s on a 1s schedule: checks are doubled", n)
	}

	leader, follower, stopLeader := a, b, stopA
	if b.IsLeader() {
		leader, follower, stopLeader = b, a, stopB
	}
	stopLeader()
	if leader.IsLeader() {
		t.Error("a stopped daemon still leads")
	}
	// Within the lease TTL plus one interval.
	testutil.Eventually(t, 3*time.Second, "the standby takes over", follower.IsLeader)
	before := w.Emu.Requests("0oa-sh")
	testutil.Eventually(t, 3*time.Second, "the new leader checks", func() bool { return w.Emu.Requests("0oa-sh") > before })
}

func TestALapsedLeaseIsTakenOver(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 2*time.Second, credBlock("x", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-x", Secrets: []string{"s"}})
	w.Put("x", "okta-stage", "0oa-x", "s", credtest.Deadline)
	// A replica that crashed holding the lease: no release, it just lapses.
	if _, err := w.Store.PutLease(context.Background(), &vaultstore.Lease{Holder: "crashed", ExpiresAt: time.Now().Add(2 * time.Second)}, 0); err != nil {
		t.Fatal(err)
	}
	d, _ := startDaemon(t, w.Store, w.Cfg, "replica-a")
	time.Sleep(500 * time.Millisecond)
	if d.IsLeader() {
		t.Fatal("took a live lease")
	}
	testutil.Eventually(t, 2*time.Second+2*time.Second/3+time.Second, "taking over the lapsed lease", d.IsLeader)
}

func TestDaemonChecksAStagedPairOnSchedule(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 30*time.Second, credBlock("rot", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-old", Secrets: []string{"old"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-new", Secrets: []string{"new"}})
	w.Put("rot", "okta-stage", "0oa-old", "old", credtest.Deadline)
	ctx := context.Background()
	if _, err := w.Store.PutPending(ctx, "rot", &vaultstore.Pending{ClientID: "0oa-new", ClientSecret: secret.New("new"), StagedAt: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 15*time.Second, "the staged pair checked", func() bool {
		p, err := w.Store.GetPending(ctx, "rot")
		return err == nil && p.LastClass == "ok"
	})
	p, err := plan.MakePlan(ctx, w.Store, parseRotConfig(t), time.Now())
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

func parseRotConfig(t *testing.T) *policies.Config {
	cfg, diags := policies.Parse([]byte("credential \"rot\" {\n  provider = \"ctrp-stage\"\n}\n"), "rot.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// The daemon starts an automated rotation start_before the deadline and
// takes it, on the credential's schedule, as far as the overlap.
func TestDaemonRunsAnAutomatedRotation(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	tokenFile := oktaTokenFile(t)
	w := newDaemonWorld(t, 30*time.Second, fmt.Sprintf(`credential "svc" {
  provider = "okta-stage"
  check    = "@every 10s"
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-svc"
    api_token_file = %q
  }
}
`, tokenFile))
	w.Now = time.Now()
	w.Emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: []string{"Svc-Secret-Old"}})
	w.Put("svc", "okta-stage", "0oa-svc", "Svc-Secret-Old", time.Now().Add(10*24*time.Hour)) // inside start_before (14d)
	startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 20*time.Second, "the rotation promoted", func() bool {
		rot, err := w.Store.GetRotation(context.Background(), "svc")
		return err == nil && rot.Step == rotation.StepPromoted
	})
	cred, err := w.Store.GetCredential(context.Background(), "svc")
	if err != nil || cred.ClientSecret.Reveal() == "Svc-Secret-Old" || len(w.Emu.AppSecrets("0oa-svc")) != 2 {
		t.Errorf("promoted, both secrets active through the overlap: %v %v", err, w.Emu.AppSecrets("0oa-svc"))
	}
}

// A rotation that cannot proceed (Okta refuses a third secret) is told to
// the credential's channels once, not at every check, and changes nothing.
func TestDaemonAnnouncesAStoppedRotationOnce(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	tokenFile := oktaTokenFile(t)
	w := newDaemonWorld(t, 30*time.Second, fmt.Sprintf(`notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
credential "svc" {
  provider = "okta-stage"
  notify   = ["security"]
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-svc"
    api_token_file = %q
  }
}
`, tokenFile))
	w.Now = time.Now()
	w.Emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: []string{"Svc-Secret-Old", "Svc-Secret-Other"}})
	w.Put("svc", "okta-stage", "0oa-svc", "Svc-Secret-Old", time.Now().Add(10*24*time.Hour))
	security := &inbox{}
	startDaemon(t, w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{"security": security}}
	})
	failed := func() []string {
		var out []string
		for _, k := range security.keys() {
			if strings.HasPrefix(k, "rotation_failed/") {
				out = append(out, k)
			}
		}
		return out
	}
	testutil.Eventually(t, 20*time.Second, "a rotation_failed notice", func() bool { return len(failed()) > 0 })
	before := w.Emu.Requests("0oa-svc")
	testutil.Eventually(t, 20*time.Second, "two more checks", func() bool { return w.Emu.Requests("0oa-svc") >= before+2 })
	if keys := failed(); len(keys) != 1 || keys[0] != "rotation_failed/svc" {
		t.Errorf("notices: %v, want one rotation_failed", keys)
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
// interval.
func TestFirstCheckComesSoonAfterStart(t *testing.T) {
	t.Parallel() // runs for seconds of real schedule time
	w := newDaemonWorld(t, 30*time.Second, credBlock("stale", "okta-stage", false), credBlock("fresh", "okta-stage", false))
	for _, c := range w.Cfg.Credentials {
		c.Schedule = cron.Every(time.Hour) // an interval no test waits for
	}
	w.Cfg.Daemon.FirstCheckWithin = 2 * time.Second
	w.Emu.AddClient(emulator.Client{ID: "0oa-stale", Secrets: []string{"s"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-fresh", Secrets: []string{"s"}})
	w.Put("stale", "okta-stage", "0oa-stale", "s", credtest.Deadline)
	w.Put("fresh", "okta-stage", "0oa-fresh", "s", credtest.Deadline)
	if _, err := w.Store.PutState(context.Background(), "fresh", &vaultstore.State{LastClass: "ok", LastCheck: time.Now().Add(-time.Minute)}, 0); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 10*time.Second, "the stale credential checked", func() bool { return w.Emu.Requests("0oa-stale") == 1 })
	time.Sleep(2 * time.Second) // first_check_within has passed for both
	if n := w.Emu.Requests("0oa-fresh"); n != 0 {
		t.Errorf("a credential checked a minute ago was checked again at start: %d requests", n)
	}
}

// Another replica's lease is judged by the local time this replica saw it
// change, not by comparing clocks: a replica whose clock runs an hour
// ahead does not take a lease its holder keeps renewing.
func TestClockSkewDoesNotMakeTwoLeaders(t *testing.T) {
	t.Parallel() // runs for seconds of real lease time
	w := newDaemonWorld(t, 2*time.Second, credBlock("shared", "okta-stage", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-sh", Secrets: []string{"s"}})
	w.Put("shared", "okta-stage", "0oa-sh", "s", credtest.Deadline)
	a, _ := startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 5*time.Second, "a leads", a.IsLeader)
	b, _ := startDaemon(t, w.Env.Store(t), w.Cfg, "replica-b", func(d *daemon.Daemon) {
		d.Clock = func() time.Time { return time.Now().Add(time.Hour) }
	})
	for i := 0; i < 30; i++ { // three lease lifetimes
		if b.IsLeader() {
			t.Fatalf("the replica whose clock runs an hour ahead took the lease (a leads: %v)", a.IsLeader())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !a.IsLeader() {
		t.Error("the holder lost its lease")
	}
}

// Leadership is a context: when another replica takes the lease while a
// check is in flight, the check is cancelled and writes nothing.
func TestADeposedLeadersCheckIsCancelledAndWritesNothing(t *testing.T) {
	t.Parallel() // runs for seconds of real lease time
	w := newDaemonWorld(t, 2*time.Second, credBlock("slow", "okta-prod", false))
	w.Emu.AddClient(emulator.Client{ID: "0oa-slow", Secrets: []string{"s"}})
	w.Emu.InjectFault("0oa-slow", emulator.Fault{Kind: emulator.FaultDelay, Delay: 3 * time.Second})
	w.Put("slow", "okta-prod", "0oa-slow", "s", credtest.Deadline)
	ctx := context.Background()
	a, _ := startDaemon(t, w.Store, w.Cfg, "replica-a")
	testutil.Eventually(t, 5*time.Second, "a check in flight", func() bool { return w.Emu.Requests("0oa-slow") > 0 })

	// Another replica takes the lease (as after a partition), by check-and-set.
	cur, err := w.Store.GetLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.PutLease(ctx, &vaultstore.Lease{Holder: "replica-b", ExpiresAt: time.Now().Add(time.Hour)}, cur.Version); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "a steps down", func() bool { return !a.IsLeader() })
	time.Sleep(4 * time.Second) // longer than the delay: a check still running would have ended and written
	if st, err := w.Store.GetState(ctx, "slow"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("the deposed leader wrote state/slow: %+v %v", st, err)
	}
}

// A provider limited to 20 requests a second, with 40 credentials due at
// once: the budget (15/s) keeps every request under the limit, every
// credential is checked, and another provider's checks do not wait behind
// it.
func TestProviderBudgetsKeepUnderTheRateLimit(t *testing.T) {
	t.Parallel() // runs for seconds of real time
	hcl := "provider \"okta-limited\" {\n  token_url = \"EMULATOR_URL/oauth2/" + emulator.AuthServerStage + "/v1/token\"\n  auth_style = \"header\"\n  requests_per_second = 15\n}\n"
	for i := 0; i < 40; i++ {
		hcl += fmt.Sprintf("credential \"okta-%02d\" {\n  provider = \"okta-limited\"\n}\n", i)
	}
	for i := 0; i < 8; i++ {
		hcl += fmt.Sprintf("credential \"dmp-%02d\" {\n  provider = \"doorkeeper\"\n}\n", i)
	}
	w := credtest.NewWorld(t, func(url string) string { return strings.ReplaceAll(hcl, "EMULATOR_URL", url) }, func(o *emulator.Options) { o.OktaRequestsPerSecond = 20; o.Now = time.Now })
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("okta-%02d", i)
		w.Emu.AddClient(emulator.Client{ID: "0oa-" + name, Secrets: []string{"s"}})
		w.Put(name, "okta-limited", "0oa-"+name, "s", credtest.Deadline)
	}
	w.Emu.AddClient(emulator.Client{ID: "dmp", Secrets: []string{"s"}, Scopes: []string{"public", "read_dmps"}})
	for i := 0; i < 8; i++ {
		w.Put(fmt.Sprintf("dmp-%02d", i), "doorkeeper", "dmp", "s", credtest.Deadline)
	}
	d := daemon.NewDaemon(w.Store, w.Cfg, nil, nil, "replica-a")
	start := time.Now()
	results, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if len(results) != 48 {
		t.Fatalf("%d of 48 credentials checked", len(results))
	}
	for _, r := range results {
		if r.Class != oauthcheck.ClassOK {
			t.Errorf("%s: %s %s", r.Name, r.Class, r.Detail)
		}
	}
	if n := w.Emu.RateLimited(); n != 0 {
		t.Errorf("%d requests went over the provider's rate limit", n)
	}
	if took < time.Second {
		t.Errorf("40 requests at 15 a second took %v: the budget did not pace them", took)
	}
	for i := 0; i < 8; i++ {
		st, err := w.Store.GetState(context.Background(), fmt.Sprintf("dmp-%02d", i))
		if err != nil || st.LastCheck.Sub(start) > took/2 {
			t.Errorf("dmp-%02d waited behind the other provider: checked %v after start, of %v", i, st.LastCheck.Sub(start), took)
		}
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
