package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// clusterWorld is a three-node Raft Vault cluster with five credentials on
// it, applied and stored through the CLI: two publish tokens, one is due
// for a reminder, one (prod) is refused and pages, through a signed webhook.
type clusterWorld struct {
	t           *testing.T
	c           *vaulttest.Cluster
	env         *vaulttest.Env // through a standby
	emu         *emulator.Server
	recv        *receiver
	clients     map[string]string // credential → client ID
	secrets     []string          // every secret the daemon holds
	suffix      string
	stateBefore map[string]int
}

func newClusterWorld(t *testing.T) *clusterWorld {
	w := &clusterWorld{t: t, c: vaulttest.NewCluster(t, 3)}
	standby := (w.c.Node(w.c.Active()) + 1) % 3
	w.env = w.c.Env(t, standby)
	w.env.Setenv(t)
	t.Setenv("CREDKEEPER_CONFIG", "")
	t.Chdir(t.TempDir())

	w.emu = emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	emuSrv := httptest.NewServer(w.emu)
	t.Cleanup(emuSrv.Close)
	const hmacKey = "Failover-HMAC-Key-31"
	hmacFile := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(hmacFile, []byte(hmacKey), 0o600); err != nil {
		t.Fatal(err)
	}
	recv, recvURL := newReceiver(t, hmacKey)
	w.recv = recv
	secrets := map[string]string{"pub-a": "Failover-Secret-A1", "pub-b": "Failover-Secret-B2", "plain": "Failover-Secret-C3", "due-soon": "Failover-Secret-D4", "prod-bad": "Failover-Wrong-E5"}
	w.clients = map[string]string{"pub-a": "0oa-pub-a", "pub-b": "0oa-pub-b", "plain": "0oa-plain", "due-soon": "0oa-due", "prod-bad": "0oa-prod"}
	for name, id := range w.clients {
		right := secrets[name]
		if name == "prod-bad" {
			right = "the-right-one"
		}
		w.emu.AddClient(emulator.Client{ID: id, Secrets: []string{right}})
	}
	dueBy := time.Now().UTC().AddDate(0, 0, 10).Format("2006-01-02")
	head, suffix := ctrpConfig(w.env, emuSrv.URL)
	w.suffix = suffix
	writeConfig(t, head+fmt.Sprintf(`daemon {
  lease_ttl = "6s"
}
notifier "webhook" "siem" {
  url              = %q
  hmac_secret_file = %q
}
credential "pub-a" {
  provider = "ctrp-stage"
  publish_token {}
}
credential "pub-b" {
  provider = "ctrp-stage"
  publish_token {}
}
credential "plain" {
  provider = "ctrp-stage"
}
credential "due-soon" {
  provider  = "ctrp-stage"
  rotate_by = %q
  notify    = ["siem"]
}
credential "prod-bad" {
  provider = "ctrp-prod"
  notify   = ["siem"]
  page     = ["siem"]
}
`, recvURL, hmacFile, dueBy))
	if r := credkeeper(t, "", "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply against the cluster: %s", r.all())
	}
	for name, id := range w.clients {
		provider := "ctrp-stage"
		if name == "prod-bad" {
			provider = "ctrp-prod"
		}
		setSecret(t, name, provider, id, secrets[name])
		w.secrets = append(w.secrets, secrets[name])
	}
	w.stateBefore = map[string]int{}
	for name := range w.clients {
		w.stateBefore[name] = w.versions("state", name)
	}
	// The daemons run with the daemon role's token, as in production.
	tok, err := w.env.Root.Auth().Token().CreateWithContext(context.Background(), &api.TokenCreateRequest{Policies: []string{"daemon-" + w.suffix}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", tok.Auth.ClientToken)
	w.secrets = append(w.secrets, hmacKey, tok.Auth.ClientToken)
	return w
}

// versions is the current KV version of kind/name (0 when there is none).
func (w *clusterWorld) versions(kind, name string) int {
	md, err := w.env.Root.KVv2("secret").GetMetadata(context.Background(), w.env.Prefix+"/"+kind+"/"+name)
	if err != nil {
		return 0
	}
	return md.CurrentVersion
}

// checked says whether every credential was checked n times by ds.
func (w *clusterWorld) checked(n int, ds ...*runningDaemon) bool {
	for name := range w.clients {
		total := 0
		for _, d := range ds {
			total += d.count("check", name)
		}
		if total < n {
			return false
		}
	}
	return true
}

// account counts, once the daemons ds have stopped, that no state write,
// published token, ledger entry or notice was lost or written twice: every
// check the daemons logged as recorded is one new version of state/NAME,
// every token they logged as published one version of tokens/NAME, and
// each notice is one marked ledger entry and one delivery. A Vault outage
// pages no one.
func (w *clusterWorld) account(ds ...*runningDaemon) {
	t := w.t
	t.Helper()
	sum := func(f func(d *runningDaemon) int) int {
		n := 0
		for _, d := range ds {
			n += f(d)
		}
		return n
	}
	// A write that failed in flight (Raft's "leadership lost while
	// committing log", a connection cut) may have landed: it is counted as
	// ambiguous, and Vault may hold it or not, but never more.
	for name := range w.clients {
		logged := sum(func(d *runningDaemon) int { return d.written(name) })
		ambiguous := sum(func(d *runningDaemon) int { return d.failedWrites("check failed", "/state/"+name) })
		stored := w.versions("state", name) - w.stateBefore[name]
		t.Logf("%s: %d checks recorded, %d more failed in their write, %d state versions written", name, logged, ambiguous, stored)
		if stored < logged || stored > logged+ambiguous {
			t.Errorf("%s: the daemons logged %d recorded checks and %d failed writes, Vault has %d new state versions", name, logged, ambiguous, stored)
		}
		st, err := w.env.Store(t).GetState(context.Background(), name)
		if err != nil {
			t.Fatalf("state/%s: %v", name, err)
		}
		for i := 1; i < len(st.History); i++ { // newest first
			if !st.History[i-1].At.After(st.History[i].At) {
				t.Errorf("state/%s records the check of %v twice, or out of order", name, st.History[i].At)
			}
		}
	}
	for _, name := range []string{"pub-a", "pub-b"} {
		logged := sum(func(d *runningDaemon) int { return d.count("token published", name) })
		ambiguous := sum(func(d *runningDaemon) int { return d.failedWrites("token not published", "/tokens/"+name) })
		stored := w.versions("tokens", name)
		t.Logf("%s: %d tokens published, %d more failed in their write, %d token versions", name, logged, ambiguous, stored)
		if logged == 0 || stored < logged || stored > logged+ambiguous {
			t.Errorf("%s: the daemons logged %d published tokens and %d failed writes, Vault has %d versions", name, logged, ambiguous, stored)
		}
	}
	notices, _, bad := w.recv.snapshot()
	kinds := kindsOf(notices)
	t.Logf("notices delivered: %v", kinds)
	want := []string{"incident incident/prod-bad/invalid_client", "reminder reminder/due-soon/"}
	for _, k := range kinds {
		if !slices.ContainsFunc(want, func(p string) bool { return strings.HasPrefix(k, p) }) {
			t.Errorf("unexpected notice %s: a Vault outage is no credential's failure", k)
		}
	}
	for _, p := range want {
		if n := countPrefix(kinds, p); n != 1 {
			t.Errorf("%s… delivered %d times, want once", p, n)
		}
	}
	if bad != 0 {
		t.Errorf("%d notices with a bad signature", bad)
	}
	for _, name := range []string{"due-soon", "prod-bad"} {
		l, err := w.env.Store(t).GetLedger(context.Background(), name)
		if err != nil {
			t.Fatalf("ledger/%s: %v", name, err)
		}
		seen := map[string]bool{}
		for _, e := range l.Entries {
			k := e.Channel + " " + e.Key
			if seen[k] || e.SentAt.IsZero() {
				t.Errorf("ledger/%s: %s twice, or never marked sent: %+v", name, k, l.Entries)
			}
			seen[k] = true
		}
		if len(l.Entries) != 1 {
			t.Errorf("ledger/%s has %d entries, want 1", name, len(l.Entries))
		}
	}
	for _, d := range ds {
		for _, line := range strings.Split(d.logs.String(), "\n") {
			for _, s := range w.secrets {
				if strings.Contains(line, s) {
					t.Fatalf("a secret in the daemon's log: %s", line)
				}
			}
		}
	}
}

// The fault: the active Vault node is killed while the daemon, pointed at
// a standby, checks five credentials every second; then a second node, so
// that no node is active; then both come back. The daemon keeps checking
// after the election, says not ready while no node is active, and makes no
// token request it could not record; nothing is lost or written twice
// (clusterWorld.account). The ci policy, applied to the cluster, reads
// tokens and is refused credentials on every node.
func TestFaultActiveVaultNodeKilledMidCycle(t *testing.T) {
	w := newClusterWorld(t)
	c := w.c
	first := c.Node(c.Active())
	other := (c.Node(w.env.Addr) + 1) % 3
	if other == first {
		other = (other + 1) % 3
	}
	d := startDaemon(t, "failover")
	checksOf := func(name string) int { return d.count("check", name) }
	testutil.Eventually(t, 20*time.Second, "every credential checked twice", func() bool { return w.checked(2, d) && d.ready() })

	// Mid-cycle: five credentials a second, so a check is usually in flight.
	killedAt := time.Now()
	next := c.Kill(t, first)
	if next == "" {
		t.Fatal("no active node after the first kill")
	}
	t.Logf("a new active node %.1fs after the kill", time.Since(killedAt).Seconds())
	before := checksOf("plain")
	testutil.Eventually(t, 20*time.Second, "checks go on after the election", func() bool { return checksOf("plain") >= before+1 })
	t.Logf("checks recorded again %.1fs after the kill", time.Since(killedAt).Seconds())
	testutil.Eventually(t, 20*time.Second, "checks go on after the election", func() bool { return checksOf("plain") >= before+3 })

	// No node active: the daemon says not ready and makes no token request.
	if active := c.Kill(t, other); active != "" { // the daemon's node stays up
		t.Fatalf("one node of three left, yet active %q", active)
	}
	lostAt := time.Now()
	testutil.Eventually(t, 20*time.Second, "/readyz not ready while no node is active", func() bool { return !d.ready() })
	t.Logf("/readyz not ready %.1fs after the quorum was lost", time.Since(lostAt).Seconds())
	time.Sleep(1500 * time.Millisecond) // a check that had read its record before the kill ends
	requests := w.emu.Requests(w.clients["plain"])
	checks := checksOf("plain")
	time.Sleep(3 * time.Second)
	if got := w.emu.Requests(w.clients["plain"]); got != requests {
		t.Errorf("%d token requests while no Vault node was active: a result that cannot be recorded must not be asked for", got-requests)
	}
	if got := checksOf("plain"); got != checks {
		t.Errorf("%d checks logged as recorded while no Vault node was active", got-checks)
	}
	if d.ready() {
		t.Error("/readyz became ready with no active node")
	}

	c.Start(t, first)
	if active := c.Start(t, other); active == "" {
		t.Fatal("all three nodes back, and none active")
	}
	backAt := time.Now()
	testutil.Eventually(t, 30*time.Second, "/readyz ready again", d.ready)
	t.Logf("/readyz ready %.1fs after the nodes were back", time.Since(backAt).Seconds())
	resumed := checksOf("plain")
	testutil.Eventually(t, 20*time.Second, "checks resume", func() bool { return checksOf("plain") >= resumed+2 })
	d.stop()
	d.logErrors()
	w.account(d)

	// The ci policy on every node: standbys forward, and refuse alike.
	env := w.env
	suffix := w.suffix
	ctx := context.Background()
	ciTok, err := env.Root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"ci-" + suffix}, NoDefaultPolicy: true, TTL: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", ciTok.Auth.ClientToken)
	for i, addr := range c.Addrs {
		t.Setenv("VAULT_ADDR", addr)
		if r := credkeeper(t, "", "token", "pub-a"); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Errorf("node %d: the ci token reading tokens/pub-a: exit %d %s", i, r.code, r.stderr)
		}
		if r := credkeeper(t, "", "check", "pub-a"); r.code != 1 || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("node %d: the ci token reading credentials/pub-a: exit %d %s", i, r.code, r.stderr)
		}
	}
}

func countPrefix(items []string, prefix string) int {
	n := 0
	for _, it := range items {
		if strings.HasPrefix(it, prefix) {
			n++
		}
	}
	return n
}

// The fault: Vault is sealed under a running daemon, then unsealed. While
// it is sealed the daemon makes no token request (the result could not be
// recorded, and lockout protection depends on the record), says not ready,
// and pages no one; after, it checks again.
func TestFaultVaultSealedThenUnsealed(t *testing.T) {
	env, srv := vaulttest.NewPrivate(t)
	env.Setenv(t)
	t.Setenv("CREDKEEPER_CONFIG", "")
	t.Chdir(t.TempDir())
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	recv, recvURL := newReceiver(t, "")
	const prodSecret, stageSecret = "Sealed-Prod-Secret-41", "Sealed-Stage-Secret-42"
	emu.AddClient(emulator.Client{ID: "0oa-sealed-prod", Secrets: []string{prodSecret}})
	emu.AddClient(emulator.Client{ID: "0oa-sealed-stage", Secrets: []string{stageSecret}})
	writeConfig(t, fmt.Sprintf(`vault {
  prefix = %q
}
provider "ctrp-stage" {
  token_url = "%[2]s/oauth2/%[3]s/v1/token"
}
provider "ctrp-prod" {
  token_url = "%[2]s/oauth2/%[4]s/v1/token"
}
notifier "webhook" "oncall" {
  url = %[5]q
}
credential "prod" {
  provider = "ctrp-prod"
  notify   = ["oncall"]
  page     = ["oncall"]
}
credential "stage" {
  provider = "ctrp-stage"
  notify   = ["oncall"]
  publish_token {}
}
`, env.Prefix, emuSrv.URL, emulator.AuthServerStage, emulator.AuthServerProd, recvURL))
	setSecret(t, "prod", "ctrp-prod", "0oa-sealed-prod", prodSecret)
	setSecret(t, "stage", "ctrp-stage", "0oa-sealed-stage", stageSecret)
	requests := func() int { return emu.Requests("0oa-sealed-prod") + emu.Requests("0oa-sealed-stage") }

	d := startDaemon(t, "sealed")
	testutil.Eventually(t, 20*time.Second, "both credentials checked twice", func() bool {
		return d.count("check", "prod") >= 2 && d.count("check", "stage") >= 2 && d.ready()
	})
	if err := env.Root.Sys().SealWithContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "/readyz not ready while Vault is sealed", func() bool { return !d.ready() })
	time.Sleep(1500 * time.Millisecond) // a check that had read its record before the seal ends
	sent, checks := requests(), d.count("check", "")
	time.Sleep(4 * time.Second)
	if got := requests(); got != sent {
		t.Errorf("%d token requests while Vault was sealed: a result that cannot be recorded must not be asked for", got-sent)
	}
	if got := d.count("check", ""); got != checks {
		t.Errorf("%d checks logged as recorded while Vault was sealed", got-checks)
	}
	if d.count("check failed", "") == 0 {
		t.Error("the daemon logged no failed check while Vault was sealed")
	}

	env.Unseal(t, srv)
	testutil.Eventually(t, 30*time.Second, "/readyz ready again", d.ready)
	resumed := d.count("check", "prod")
	testutil.Eventually(t, 30*time.Second, "checks resume after the unseal", func() bool { return d.count("check", "prod") >= resumed+2 })
	d.stop()
	d.logErrors()
	if notices, _, _ := recv.snapshot(); len(notices) != 0 {
		t.Errorf("a sealed Vault is no credential's failure, yet notices went out: %v", kindsOf(notices))
	}
	for _, e := range d.entries() {
		if e.Msg == "check failed" && !strings.Contains(e.Error, "vault is sealed") && !strings.Contains(e.Error, "unseal") {
			t.Errorf("a failed check's error does not say Vault is sealed: %s", e.Error)
		}
	}
	for _, s := range []string{prodSecret, stageSecret} {
		if strings.Contains(d.logs.String(), s) {
			t.Error("a client secret in the daemon's log")
		}
	}
}
