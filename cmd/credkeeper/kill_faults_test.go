//go:build faults

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// The fault: the daemon's process is killed with SIGKILL at random points
// of its work, 50 times in a row, while credentials are refused and fixed
// under it. Counted at the webhook receiver and in Vault: every notice due
// is delivered at least once; a notice is delivered twice only when a kill
// fell between its send and its mark (counted after each kill, from the
// receiver and the ledger, while no process runs); state/NAME and
// ledger/NAME always decode.
func TestFaultDaemonKilled50Times(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "credkeeper")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	// The receiver counts a notice as it arrives and answers a little later,
	// as a slow endpoint does, which widens the moment between a send and
	// its mark for the kills to fall into.
	recv, recvURL := newReceiver(t, "")
	recv.answerAfter(150 * time.Millisecond)

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CREDKEEPER_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (CREDKEEPER_KILL_SEED replays the kill points)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	const creds = 12
	names := make([]string, creds)
	secrets := map[string]string{}
	rotateBy := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 10)
	var hcl strings.Builder
	fmt.Fprintf(&hcl, `vault {
  prefix = %q
}
daemon {
  first_check_within = "1s"
  lease_ttl          = "5s"
}
provider "ctrp-stage" {
  token_url = "%[2]s/oauth2/%[3]s/v1/token"
}
provider "ctrp-prod" {
  token_url = "%[2]s/oauth2/%[4]s/v1/token"
}
notifier "webhook" "security" {
  url = "%[5]s/security"
}
notifier "webhook" "oncall" {
  url = "%[5]s/oncall"
}
`, env.Prefix, emuSrv.URL, emulator.AuthServerStage, emulator.AuthServerProd, recvURL)
	put := func(i, version int) {
		name := names[i]
		environment, provider := "stage", "ctrp-stage"
		if i%2 == 0 {
			environment, provider = "prod", "ctrp-prod"
		}
		secrets[name] = fmt.Sprintf("Kill-Secret-%s-v%d", name, version)
		emu.AddClient(emulator.Client{ID: "0oa-" + name, Secrets: []string{secrets[name]}})
		info, err := store.CredentialInfo(ctx, name)
		cas := 0
		if err == nil {
			cas = info.Version
		}
		if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: "0oa-" + name, ClientSecret: secret.New(secrets[name]),
			Metadata: vaultstore.CredentialMetadata{Provider: provider, Environment: environment, RotateBy: rotateBy}}, cas); err != nil {
			t.Fatal(err)
		}
	}
	for i := range creds {
		names[i] = fmt.Sprintf("k%d", i)
		provider := "ctrp-stage"
		if i%2 == 0 {
			provider = "ctrp-prod"
		}
		fmt.Fprintf(&hcl, "credential %q {\n  provider = %q\n  check    = \"@every 10s\"\n  notify   = [\"security\"]\n  page     = [\"oncall\"]\n}\n", names[i], provider)
		put(i, 1)
	}
	cfgPath := filepath.Join(t.TempDir(), "credkeeper.hcl")
	if err := os.WriteFile(cfgPath, []byte(hcl.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	revoke := func(i int) {
		emu.AddClient(emulator.Client{ID: "0oa-" + names[i], Secrets: []string{"Revoked-At-The-Provider"}})
	}

	logDir := t.TempDir()
	start := func(n int) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, "daemon", "--config", cfgPath, "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug", "--replica-id", "replica-1")
		cmd.Env = append(os.Environ(), "VAULT_ADDR="+env.Addr, "VAULT_TOKEN="+env.Token)
		logFile, err := os.Create(filepath.Join(logDir, fmt.Sprintf("incarnation-%02d.log", n)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logFile.Close() })
		return cmd
	}

	// caught counts sends a kill caught before their mark: delivered (the
	// receiver has one more than it had when last counted) and unmarked in
	// the ledger, read while no process runs.
	caught := 0
	counted := map[string]int{}
	inspect := func(after string) {
		t.Helper()
		for _, name := range names {
			if _, err := store.GetState(ctx, name); err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
				t.Fatalf("%s: state/%s does not decode: %v", after, name, err)
			}
			l, err := store.GetLedger(ctx, name)
			if errors.Is(err, vaultstore.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: ledger/%s does not decode: %v", after, name, err)
			}
			for _, e := range l.Entries {
				k := e.Channel + " " + e.Key
				if got := recv.count(e.Channel, e.Key); e.SentAt.IsZero() && got > counted[k] {
					caught++
					counted[k] = got
				} else if !e.SentAt.IsZero() {
					counted[k] = got
				}
			}
		}
	}

	// Every third process sees a credential refused (an incident to
	// security, and a page to on-call for prod, the even ones) or fixed with
	// a new secret (a resolve); k6 and k7 stay refused to the end.
	events := map[int]func(){}
	for j := range 6 {
		events[3+3*j] = func() { revoke(j) }
		events[21+3*j] = func() { put(j, 2) }
	}
	events[39] = func() { revoke(6) }
	events[42] = func() { revoke(7) }

	const kills = 50
	for i := range kills {
		if ev := events[i]; ev != nil {
			ev()
		}
		cmd := start(i)
		// A restarted process cannot tell its killed predecessor from a
		// live twin under the same replica ID, so it waits for the old
		// lease to lapse (lease_ttl) before it leads; the kill falls at a
		// random point of its work as leader.
		leading(t, filepath.Join(logDir, fmt.Sprintf("incarnation-%02d.log", i)))
		time.Sleep(time.Duration(100+rng.IntN(2400)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		inspect(fmt.Sprintf("after kill %d", i+1))
	}

	// A last process, left to finish.
	final := start(kills)
	startedAt := time.Now()
	for !strings.Contains(readFile(t, filepath.Join(logDir, fmt.Sprintf("incarnation-%02d.log", kills))), `"msg":"daemon started"`) {
		if time.Since(startedAt) > 30*time.Second {
			t.Fatal("the last process did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	due := func() []string {
		var missing []string
		want := func(channel, key string) {
			if recv.count(channel, key) == 0 {
				missing = append(missing, channel+" "+key)
			}
		}
		for i := range 8 {
			incident := fmt.Sprintf("incident/k%d/invalid_client", i)
			want("security", incident)
			if i%2 == 0 {
				want("oncall", incident)
			}
			if i < 6 {
				want("security", "resolve/"+incident)
				if i%2 == 0 {
					want("oncall", "resolve/"+incident)
				}
			}
		}
		for _, name := range names {
			if recv.count("security", fmt.Sprintf("reminder/%s/%s/14d", name, rotateBy.Format("2006-01-02"))) == 0 {
				missing = append(missing, "security reminder of "+name)
			}
			if l, err := store.GetLedger(ctx, name); err == nil {
				for _, e := range l.Entries {
					if e.SentAt.IsZero() && !e.Superseded {
						missing = append(missing, "unmarked "+e.Channel+" "+e.Key)
					}
				}
			}
		}
		return missing
	}
	deadline := time.Now().Add(time.Minute)
	for len(due()) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	_ = final.Process.Signal(syscall.SIGTERM)
	if err := final.Wait(); err != nil {
		t.Errorf("the last process on SIGTERM: %v, want exit 0", err)
	}
	if missing := due(); len(missing) > 0 {
		t.Errorf("not delivered, or not marked, after %d kills: %v", kills, missing)
	}
	inspect("at the end")

	duplicates := 0
	notices, raw, _ := recv.snapshot()
	for k, n := range recv.delivered() {
		if n > 1 {
			duplicates += n - 1
			t.Logf("delivered %d times: %s", n, k)
		}
	}
	deliveries := len(notices)
	bodies := strings.Join(raw, "\n")
	t.Logf("%d kills: %d deliveries of %d notices, %d duplicates, %d sends caught between send and mark", kills, deliveries, deliveries-duplicates, duplicates, caught)
	if duplicates > caught {
		t.Errorf("%d duplicates, but only %d sends were caught by a kill between the send and the mark", duplicates, caught)
	}

	// A crash's own output: SIGQUIT makes the Go runtime print every
	// goroutine's stack, with its arguments, as a panic does. It is read for
	// secrets with the logs below.
	quit := start(kills + 1)
	quitLog := filepath.Join(logDir, fmt.Sprintf("incarnation-%02d.log", kills+1))
	for startedAt := time.Now(); !strings.Contains(readFile(t, quitLog), `"msg":"check"`); {
		if time.Since(startedAt) > 30*time.Second {
			t.Fatal("the process to be dumped never checked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = quit.Process.Signal(syscall.SIGQUIT)
	_ = quit.Wait()
	if dump := readFile(t, quitLog); !strings.Contains(dump, "SIGQUIT") || !strings.Contains(dump, "goroutine ") {
		t.Errorf("SIGQUIT printed no stacks:\n%s", dump)
	}

	logs, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range logs {
		b, _ := os.ReadFile(filepath.Join(logDir, f.Name()))
		all.Write(b)
	}
	for name, s := range secrets {
		if strings.Contains(all.String(), s) || strings.Contains(bodies, s) {
			t.Errorf("%s's secret in a log or a notice", name)
		}
	}
	if strings.Contains(all.String(), env.Token) {
		t.Error("the Vault token in a log")
	}
}

// leading waits until the daemon whose log is path says it leads.
func leading(t *testing.T, path string) {
	t.Helper()
	for startedAt := time.Now(); !strings.Contains(readFile(t, path), "this replica is now the leader"); {
		if time.Since(startedAt) > 30*time.Second {
			t.Fatalf("%s: the process never led", filepath.Base(path))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
