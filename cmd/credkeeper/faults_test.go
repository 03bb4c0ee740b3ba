package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// runningDaemon is `credkeeper daemon` run in this process with every
// schedule at one second (everySecond) and JSON logs.
type runningDaemon struct {
	t    *testing.T
	logs *syncBuffer
	addr string
	stop func()
}

func startDaemon(t *testing.T, replica string) *runningDaemon {
	t.Helper()
	d := &runningDaemon{t: t, logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- runWith(ctx, []string{"daemon", "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug", "--replica-id", replica},
			streams{In: strings.NewReader(""), Out: &syncBuffer{}, Err: d.logs}, func(o *globalOptions) { o.daemonConfig = everySecond })
	}()
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("daemon exited %d on stop, want 0", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop within 30s")
		}
	}
	t.Cleanup(d.stop)
	testutil.Eventually(t, 10*time.Second, "the daemon's listen address", func() bool {
		for _, e := range d.entries() {
			if e.Msg == "serving health and metrics" {
				d.addr = e.Addr
				return true
			}
		}
		return false
	})
	return d
}

type logEntry struct {
	Msg, Addr, Credential, Class, Error string
	NotSent                             bool `json:"not_sent"`
}

func (d *runningDaemon) entries() []logEntry {
	var out []logEntry
	for _, line := range strings.Split(d.logs.String(), "\n") {
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// written is how many of credential's checks sent a request, and so wrote
// its state: a check from a refusal on record (not_sent) writes nothing.
func (d *runningDaemon) written(credential string) int {
	n := 0
	for _, e := range d.entries() {
		if e.Msg == "check" && e.Credential == credential && !e.NotSent {
			n++
		}
	}
	return n
}

// count is how many log entries have msg, for credential when not "".
func (d *runningDaemon) count(msg, credential string) int {
	n := 0
	for _, e := range d.entries() {
		if e.Msg == msg && (credential == "" || e.Credential == credential) {
			n++
		}
	}
	return n
}

// logErrors logs each distinct error the daemon reported, once: what an
// operator reading its log during the fault would have seen.
func (d *runningDaemon) logErrors() {
	seen := map[string]bool{}
	for _, e := range d.entries() {
		if e.Error != "" && !seen[e.Msg+e.Error] {
			seen[e.Msg+e.Error] = true
			d.t.Logf("the daemon said: %s: %s", e.Msg, e.Error)
		}
	}
}

func (d *runningDaemon) ready() bool {
	code, _ := httpGet(d.t, d.addr+"/readyz")
	return code == 200
}

// The fault: the active Vault node is killed while the daemon, pointed at
// a standby, checks five credentials every second; then a second node, so
// that no node is active; then both come back. The daemon keeps checking
// after the election, says not ready while no node is active, and makes no
// token request it could not record. Counted afterwards: every check the
// daemon logged as recorded is one version of state/NAME, every token it
// logged as published is one version of tokens/NAME, and each notice is in
// the ledger and at the receiver once. The ci policy, applied to the
// cluster, reads tokens and is refused credentials on every node.
func TestFaultActiveVaultNodeKilledMidCycle(t *testing.T) {
	c := vaulttest.NewCluster(t, 3)
	first := c.Node(c.Active())
	standby := (first + 1) % 3
	other := (first + 2) % 3
	env := c.Env(t, standby)
	env.Setenv(t)
	t.Setenv("CREDKEEPER_CONFIG", "")
	t.Chdir(t.TempDir())
	ctx := context.Background()

	emu := emulator.New(emulator.Options{})
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	const hmacKey = "Failover-HMAC-Key-31"
	hmacFile := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(hmacFile, []byte(hmacKey), 0o600); err != nil {
		t.Fatal(err)
	}
	recv, recvURL := newReceiver(t, hmacKey)
	secrets := map[string]string{"pub-a": "Failover-Secret-A1", "pub-b": "Failover-Secret-B2", "plain": "Failover-Secret-C3", "due-soon": "Failover-Secret-D4", "prod-bad": "Failover-Wrong-E5"}
	clients := map[string]string{"pub-a": "0oa-pub-a", "pub-b": "0oa-pub-b", "plain": "0oa-plain", "due-soon": "0oa-due", "prod-bad": "0oa-prod"}
	for name, id := range clients {
		right := secrets[name]
		if name == "prod-bad" {
			right = "the-right-one"
		}
		emu.AddClient(emulator.Client{ID: id, Secrets: []string{right}})
	}
	suffix := strings.ReplaceAll(env.Prefix, "/", "-")
	dueBy := time.Now().UTC().AddDate(0, 0, 10).Format("2006-01-02")
	writeConfig(t, fmt.Sprintf(`vault {
  prefix = %q
}
vault_policies {
  daemon   = "daemon-%[2]s"
  operator = "operator-%[2]s"
  ci       = "ci-%[2]s"
  auditor  = "auditor-%[2]s"
}
provider "ctrp-stage" {
  token_url = "%[3]s/oauth2/%[4]s/v1/token"
}
provider "ctrp-prod" {
  token_url = "%[3]s/oauth2/%[5]s/v1/token"
}
notifier "webhook" "siem" {
  url              = %[6]q
  hmac_secret_file = %[7]q
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
  rotate_by = %[8]q
  notify    = ["siem"]
}
credential "prod-bad" {
  provider = "ctrp-prod"
  notify   = ["siem"]
  page     = ["siem"]
}
`, env.Prefix, suffix, emuSrv.URL, emulator.AuthServerStage, emulator.AuthServerProd, recvURL, hmacFile, dueBy))
	if r := credkeeper(t, "", "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply against the cluster: %s", r.all())
	}
	for name, id := range clients {
		provider := "ctrp-stage"
		if name == "prod-bad" {
			provider = "ctrp-prod"
		}
		setSecret(t, name, provider, id, secrets[name])
	}
	versions := func(kind, name string) int {
		t.Helper()
		md, err := env.Root.KVv2("secret").GetMetadata(ctx, env.Prefix+"/"+kind+"/"+name)
		if err != nil {
			return 0
		}
		return md.CurrentVersion
	}
	stateBefore := map[string]int{}
	for name := range clients {
		stateBefore[name] = versions("state", name)
	}
	daemonTok, err := env.Root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"daemon-" + suffix}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", daemonTok.Auth.ClientToken)

	d := startDaemon(t, "failover")
	checksOf := func(name string) int { return d.count("check", name) }
	testutil.Eventually(t, 20*time.Second, "every credential checked twice", func() bool {
		for name := range clients {
			if checksOf(name) < 2 {
				return false
			}
		}
		return d.ready()
	})

	// Mid-cycle: five credentials a second, so a check is usually in flight.
	next := c.Kill(t, first)
	if next == "" {
		t.Fatal("no active node after the first kill")
	}
	before := checksOf("plain")
	testutil.Eventually(t, 20*time.Second, "checks go on after the election", func() bool { return checksOf("plain") >= before+3 })

	// No node active: the daemon says not ready and makes no token request.
	down := other // the daemon's node stays up
	if active := c.Kill(t, down); active != "" {
		t.Fatalf("one node of three left, yet active %q", active)
	}
	testutil.Eventually(t, 20*time.Second, "/readyz not ready while no node is active", func() bool { return !d.ready() })
	time.Sleep(1500 * time.Millisecond) // a check that had read its record before the kill ends
	requests := emu.Requests(clients["plain"])
	checks := checksOf("plain")
	time.Sleep(3 * time.Second)
	if got := emu.Requests(clients["plain"]); got != requests {
		t.Errorf("%d token requests while no Vault node was active: a result that cannot be recorded must not be asked for", got-requests)
	}
	if got := checksOf("plain"); got != checks {
		t.Errorf("%d checks logged as recorded while no Vault node was active", got-checks)
	}
	if d.ready() {
		t.Error("/readyz became ready with no active node")
	}

	c.Start(t, first)
	if active := c.Start(t, down); active == "" {
		t.Fatal("all three nodes back, and none active")
	}
	testutil.Eventually(t, 30*time.Second, "/readyz ready again", d.ready)
	resumed := checksOf("plain")
	testutil.Eventually(t, 20*time.Second, "checks resume", func() bool { return checksOf("plain") >= resumed+2 })
	d.stop()
	d.logErrors()

	// Counted: no state write or published token lost or written twice.
	for name := range clients {
		logged, stored := d.written(name), versions("state", name)-stateBefore[name]
		t.Logf("%s: %d checks recorded, %d state versions written", name, logged, stored)
		if logged != stored {
			t.Errorf("%s: the daemon logged %d recorded checks, Vault has %d new state versions", name, logged, stored)
		}
	}
	for _, name := range []string{"pub-a", "pub-b"} {
		logged, stored := d.count("token published", name), versions("tokens", name)
		t.Logf("%s: %d tokens published, %d token versions", name, logged, stored)
		if logged == 0 || logged != stored {
			t.Errorf("%s: the daemon logged %d published tokens, Vault has %d versions", name, logged, stored)
		}
	}
	notices, _, bad := recv.snapshot()
	kinds := kindsOf(notices)
	t.Logf("notices delivered: %v", kinds)
	want := map[string]bool{"incident incident/prod-bad/invalid_client": false}
	for _, k := range kinds {
		if _, ok := want[k]; ok {
			if want[k] {
				t.Errorf("%s delivered twice", k)
			}
			want[k] = true
			continue
		}
		if strings.HasPrefix(k, "reminder ") && strings.Contains(k, "due-soon") {
			continue
		}
		t.Errorf("unexpected notice %s: a Vault failover is no credential's failure", k)
	}
	for k, got := range want {
		if !got {
			t.Errorf("%s never delivered", k)
		}
	}
	if reminders := countPrefix(kinds, "reminder "); reminders != 1 || bad != 0 {
		t.Errorf("%d reminders for due-soon (want 1), %d bad signatures", reminders, bad)
	}
	for _, line := range strings.Split(d.logs.String(), "\n") {
		for _, s := range append(mapValues(secrets), hmacKey, daemonTok.Auth.ClientToken) {
			if strings.Contains(line, s) {
				t.Fatalf("a secret in the daemon's log: %s", line)
			}
		}
	}

	// The ci policy on every node: standbys forward, and refuse alike.
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

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
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
	emu := emulator.New(emulator.Options{})
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
