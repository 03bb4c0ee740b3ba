package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkDaemonCycle1000 and BenchmarkDaemonCycle10000 run one daemon
// cycle over n credentials (token request, state record in Vault, metrics)
// against the real Vault core and the emulator, alternating with the
// minimal loop that does the same irreducible work per credential at the
// same concurrency: one KV metadata read, one token request, one
// check-and-set state write. They report both throughputs, their ratio,
// Vault requests per check, the process's resident memory, and each
// side's allocations per check. Each run has a Vault of its own; the
// order of the two sides turns each cycle, so an even -benchtime (4x, 8x)
// gives each side the same share of a Vault that grows as it is written;
// -v logs every cycle of each side.
func BenchmarkDaemonCycle1000(b *testing.B)  { benchDaemonCycle(b, 1000, false) }
func BenchmarkDaemonCycle10000(b *testing.B) { benchDaemonCycle(b, 10000, false) }

// BenchmarkDaemonCycle10000SameRecord is BenchmarkDaemonCycle10000 with a
// minimal loop that writes a state record of the daemon's shape and size
// (a history growing by a check each time to twenty, and two conditions)
// instead of a bare class and time (about 80 bytes): what is left between
// the two sides is then the daemon's own work, not Vault's for a larger
// record.
func BenchmarkDaemonCycle10000SameRecord(b *testing.B) { benchDaemonCycle(b, 10000, true) }

// BenchmarkStateWriteVaultCPU is what a state record's shape costs Vault:
// the devvault process's CPU per check-and-set write of the minimal loop's
// bare record, and of records of the daemon's shape after 2 and after 20
// checks. Each shape is written in turn over the same 2,000 records, the
// order turning each round, so that no shape pays more of Vault's growth.
func BenchmarkStateWriteVaultCPU(b *testing.B) {
	const n, workers = 2000, 8
	env := vaulttest.NewOwn(b)
	store := env.Store(b)
	ctx := context.Background()
	shapes := []struct {
		metric string
		state  func(time.Time) *vaultstore.State
	}{
		{"bare", bareState},
		{"2-checks", func(now time.Time) *vaultstore.State { return daemonShapedState(now, 2) }},
		{"20-checks", func(now time.Time) *vaultstore.State { return daemonShapedState(now, check.HistoryLength) }},
	}
	versions := make([]int, n)
	write := func(state func(time.Time) *vaultstore.State) {
		parallel.Do(n, workers, func(i int) {
			v, err := store.PutState(ctx, fmt.Sprintf("w%04d", i), state(time.Now()), versions[i])
			if err != nil {
				b.Error(err)
				return
			}
			versions[i] = v
		})
	}
	write(bareState) // the records exist before anything is measured
	vault := make([]time.Duration, len(shapes))
	rounds := 0
	for b.Loop() {
		for k := range shapes {
			s := (k + rounds) % len(shapes)
			c0 := env.ServerCPU()
			write(shapes[s].state)
			vault[s] += env.ServerCPU() - c0
		}
		rounds++
	}
	for s, shape := range shapes {
		b.ReportMetric(float64(vault[s].Microseconds())/float64(rounds*n), "vault-µs/write-"+shape.metric)
	}
}

func benchDaemonCycle(b *testing.B, n int, sameRecord bool) {
	const parallel = 8
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tokenURL := srv.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token"

	var src strings.Builder
	fmt.Fprintf(&src, "daemon {\n  parallel = %d\n}\nprovider \"bench\" {\n  token_url = %q\n  auth_style = \"header\"\n  requests_per_second = 10000\n  max_in_flight = 8\n}\n", parallel, tokenURL)
	// a Vault of this run's own: with -count, a later run in the shared
	// one would meet every record the runs before it wrote
	env := vaulttest.NewOwn(b)
	store := env.Store(b)
	ctx := context.Background()
	for i := range n {
		name := fmt.Sprintf("c%05d", i)
		emu.AddClient(emulator.Client{ID: name, Secrets: []string{"s-" + name}})
		fmt.Fprintf(&src, "credential %q {\n  provider = \"bench\"\n}\n", name)
		if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: name, ClientSecret: secret.New("s-" + name),
			Metadata: vaultstore.CredentialMetadata{Provider: "bench"}}, 0); err != nil {
			b.Fatal(err)
		}
	}
	cfg, diags := config.Parse([]byte(src.String()), "bench.hcl")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	d := daemon.NewDaemon(store, cfg, nil, nil, "bench", clockwork.NewRealClock())
	if _, err := d.RunOnce(ctx); err != nil { // warm: read every secret once
		b.Fatal(err)
	}

	minimal := newMinimalLoop(n, sameRecord)
	minimal.run(b, store, tokenURL, parallel) // warm: its first state writes create the records

	b.ResetTimer()
	var daemonTime, minimalTime time.Duration
	var vaultRequests int64
	var daemonMem, minimalMem memDelta
	var daemonCPU, minimalCPU cpuDelta
	daemonCycle := func() {
		m0, c0 := readMem(), readCPU(env)
		r0, t0 := store.Requests(), time.Now()
		if _, err := d.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		daemonTime += took
		vaultRequests += store.Requests() - r0
		daemonMem.add(m0, readMem())
		c1 := readCPU(env)
		daemonCPU.add(c0, c1)
		logCycle(b, "daemon", n, took, c0, c1)
	}
	minimalCycle := func() {
		m0, c0, t0 := readMem(), readCPU(env), time.Now()
		minimal.run(b, store, tokenURL, parallel)
		took := time.Since(t0)
		minimalTime += took
		minimalMem.add(m0, readMem())
		c1 := readCPU(env)
		minimalCPU.add(c0, c1)
		logCycle(b, "minimal", n, took, c0, c1)
	}
	// The order turns each cycle (daemon first, then the minimal loop
	// first), so that over an even number of cycles neither side is the
	// one that always meets the Vault the other has just grown.
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			daemonCycle()
			minimalCycle()
		} else {
			minimalCycle()
			daemonCycle()
		}
	}
	cycles := float64(b.N)
	daemonRate := float64(n) * cycles / daemonTime.Seconds()
	minimalRate := float64(n) * cycles / minimalTime.Seconds()
	b.ReportMetric(daemonRate, "daemon-checks/s")
	b.ReportMetric(minimalRate, "minimal-loop-checks/s")
	b.ReportMetric(daemonRate/minimalRate, "daemon/minimal")
	b.ReportMetric(float64(vaultRequests)/(float64(n)*cycles), "vault-requests/check")
	b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
	checks := float64(n) * cycles
	b.ReportMetric(float64(daemonMem.mallocs)/checks, "daemon-allocs/check")
	b.ReportMetric(float64(daemonMem.bytes)/checks, "daemon-B/check")
	b.ReportMetric(float64(minimalMem.mallocs)/checks, "minimal-allocs/check")
	b.ReportMetric(float64(minimalMem.bytes)/checks, "minimal-B/check")
	b.ReportMetric(daemonCPU.self.Seconds()*1e6/checks, "daemon-own-cpu-µs/check")
	b.ReportMetric(daemonCPU.vault.Seconds()*1e6/checks, "daemon-vault-cpu-µs/check")
	b.ReportMetric(minimalCPU.self.Seconds()*1e6/checks, "minimal-own-cpu-µs/check")
	b.ReportMetric(minimalCPU.vault.Seconds()*1e6/checks, "minimal-vault-cpu-µs/check")
}

// logCycle logs one side's cycle (seen with -v): its rate and its CPU and
// Vault's per check, so that a run's figures can be read cycle by cycle.
func logCycle(b *testing.B, side string, n int, took time.Duration, before, after cpuTimes) {
	b.Logf("%-7s %6.0f checks/s  own %4d µs/check  vault %4d µs/check", side, float64(n)/took.Seconds(),
		(after.self-before.self).Microseconds()/int64(n), (after.vault-before.vault).Microseconds()/int64(n))
}

// cpuTimes are the CPU times, user and system, of this process (its own:
// the checks, the emulator's share alike for both sides) and of the
// devvault process serving it, from /proc (zero elsewhere).
type cpuTimes struct{ self, vault time.Duration }

type cpuDelta struct{ self, vault time.Duration }

func (c *cpuDelta) add(before, after cpuTimes) {
	c.self += after.self - before.self
	c.vault += after.vault - before.vault
}

func readCPU(env *vaulttest.Env) cpuTimes {
	return cpuTimes{self: vaulttest.ProcessCPU(os.Getpid()), vault: env.ServerCPU()}
}

// memDelta adds up the allocations of one side of the cycle (every
// goroutine of the process: the emulator's share too, alike for both).
type memDelta struct{ mallocs, bytes uint64 }

func (m *memDelta) add(before, after runtime.MemStats) {
	m.mallocs += after.Mallocs - before.Mallocs
	m.bytes += after.TotalAlloc - before.TotalAlloc
}

func readMem() runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// minimalLoop is the least a check of each credential can cost: one KV
// metadata read, one token request, one check-and-set state write (to a
// record of its own, beside the daemon's).
type minimalLoop struct {
	n        int
	versions []int
	// sameRecord: the state written has a history and conditions, as the
	// daemon's; checks counts each credential's checks for its length.
	sameRecord bool
	checks     []int
}

func newMinimalLoop(n int, sameRecord bool) *minimalLoop {
	return &minimalLoop{n: n, versions: make([]int, n), sameRecord: sameRecord, checks: make([]int, n)}
}

// record is the state the minimal loop writes for credential i at now.
func (m *minimalLoop) record(i int, now time.Time) *vaultstore.State {
	if !m.sameRecord {
		return bareState(now)
	}
	m.checks[i]++
	return daemonShapedState(now, m.checks[i])
}

// bareState is the least a state record can say: a class and a time.
func bareState(now time.Time) *vaultstore.State {
	return &vaultstore.State{LastClass: "ok", LastCheck: now}
}

// daemonShapedState is a state record of the daemon's shape after checks
// successful checks: a history of as many (up to twenty) and its two
// conditions.
func daemonShapedState(now time.Time, checks int) *vaultstore.State {
	const detail = "a token was issued"
	st := &vaultstore.State{LastClass: "ok", LastCheck: now, LastSuccess: now}
	for k := range min(checks, check.HistoryLength) {
		st.History = append(st.History, vaultstore.CheckSummary{At: now.Add(-time.Duration(k) * time.Second), Class: "ok", Status: 200, Detail: detail, LatencyMS: 3})
	}
	for _, typ := range []string{check.ConditionReachable, check.ConditionValid} {
		st.Conditions = append(st.Conditions, vaultstore.Condition{Type: typ, Status: "True", Reason: "Ok", Message: detail, LastTransition: now})
	}
	return st
}

func (m *minimalLoop) run(b *testing.B, store *vaultstore.Store, tokenURL string, limit int) {
	// the same connection pool as the daemon's checks: the comparison is of
	// the work per check, not of how many connections each side dials
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: oauthcheck.DefaultTransport})
	parallel.Do(m.n, limit, func(i int) {
		name := fmt.Sprintf("c%05d", i)
		if _, err := store.CredentialInfo(ctx, name); err != nil {
			b.Error(err)
			return
		}
		cc := clientcredentials.Config{ClientID: name, ClientSecret: "s-" + name, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cc.Token(ctx); err != nil {
			b.Error(err)
			return
		}
		v, err := store.PutState(ctx, "minimal-"+name, m.record(i, time.Now()), m.versions[i])
		if err != nil {
			b.Error(err)
			return
		}
		m.versions[i] = v
	})
}

// rssKiB is the process's resident set size, from /proc (0 elsewhere).
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}
