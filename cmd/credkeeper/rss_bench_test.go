package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkDaemonRSS10000 measures the daemon's own resident memory: the
// credkeeper binary runs `credkeeper daemon` as a process of its own (the
// emulator and Vault are other processes' memory) with 10,000 credentials
// scheduled, until every one has been checked once; then its VmRSS and
// VmHWM (the peak) are read from /proc. One run takes about a minute.
//
//	go test ./cmd/credkeeper -run '^$' -bench DaemonRSS10000 -benchtime 1x
func BenchmarkDaemonRSS10000(b *testing.B) {
	const n = 10000
	bin := filepath.Join(b.TempDir(), "credkeeper")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	cfg, env := benchFleet(b, n)
	for b.Loop() {
		rss, hwm, took := runDaemonUntilChecked(b, bin, cfg, env, n)
		b.ReportMetric(rss, "rss-MiB")
		b.ReportMetric(hwm, "peak-rss-MiB")
		b.ReportMetric(took.Seconds(), "s-to-check-all")
	}
}

// BenchmarkDaemonHeap10000 is the profile behind that figure: the same
// daemon run in this process, its live heap reported once every
// credential has been checked, and written as a heap profile to
// $CREDKEEPER_HEAP_PROFILE when set (the emulator's objects are in it too,
// under internal/emulator).
//
//	CREDKEEPER_HEAP_PROFILE=/tmp/heap.out go test ./cmd/credkeeper -run '^$' -bench DaemonHeap10000 -benchtime 1x
//	go tool pprof -sample_index=inuse_space -top /tmp/heap.out
func BenchmarkDaemonHeap10000(b *testing.B) {
	const n = 10000
	cfg, env := benchFleet(b, n)
	b.Setenv("VAULT_ADDR", env.Addr)
	b.Setenv("VAULT_TOKEN", env.Token)
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var logs syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- runWith(ctx, clockwork.NewRealClock(), []string{"daemon", "--config", cfg, "--listen", "127.0.0.1:0", "--log-format", "json", "--replica-id", "bench"},
				streams{In: strings.NewReader(""), Out: io.Discard, Err: &logs}, nil)
		}()
		url := ""
		for url == "" {
			for _, line := range strings.Split(logs.String(), "\n") {
				var l struct{ Msg, Addr string }
				if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving health and metrics" {
					url = l.Addr + "/metrics"
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		for checkTotal(b, url) < n {
			time.Sleep(200 * time.Millisecond)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
		if path := os.Getenv("CREDKEEPER_HEAP_PROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.WriteHeapProfile(f); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
		}
		cancel()
		<-done
	}
}

// benchFleet stores n credentials in a fresh Vault prefix, serves them on
// an emulator, and writes a configuration that declares them all (check
// hourly, first checked within 10s); it returns the configuration's path.
func benchFleet(b *testing.B, n int) (string, *vaulttest.Env) {
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	env := vaulttest.New(b)
	store := env.Store(b)

	var src strings.Builder
	fmt.Fprintf(&src, "vault {\n  prefix = %q\n}\ndaemon {\n  first_check_within = \"10s\"\n}\n", env.Prefix)
	fmt.Fprintf(&src, "provider \"bench\" {\n  token_url = \"%s/oauth2/%s/v1/token\"\n  auth_style = \"header\"\n  requests_per_second = 5000\n}\n", srv.URL, emulator.AuthServerStage)
	for i := range n {
		fmt.Fprintf(&src, "credential \"c%05d\" {\n  provider = \"bench\"\n}\n", i)
		emu.AddClient(emulator.Client{ID: fmt.Sprintf("c%05d", i), Secrets: []string{"s"}})
	}
	var putErr error
	parallel.Do(n, 16, func(i int) {
		name := fmt.Sprintf("c%05d", i)
		if _, err := store.PutCredential(context.Background(), &vaultstore.Credential{Name: name, ClientID: name, ClientSecret: secret.New("s"),
			Metadata: vaultstore.CredentialMetadata{Provider: "bench"}}, 0); err != nil {
			putErr = err
		}
	})
	if putErr != nil {
		b.Fatal(putErr)
	}
	cfg := filepath.Join(b.TempDir(), "credkeeper.hcl")
	if err := os.WriteFile(cfg, []byte(src.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return cfg, env
}

// runDaemonUntilChecked starts the daemon, waits until its metrics count
// n checks, and returns its resident memory then, its peak, and the time
// the first cycle took.
func runDaemonUntilChecked(b *testing.B, bin, cfg string, env *vaulttest.Env, n int) (rss, hwm float64, took time.Duration) {
	cmd := exec.Command(bin, "daemon", "--config", cfg, "--listen", "127.0.0.1:0", "--log-format", "json", "--replica-id", "bench")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+env.Addr, "VAULT_TOKEN="+env.Token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Completion is counted from the daemon's log (one line per check), not
	// by scraping: a scrape of 10,000 credentials' series every moment
	// would be a load no Prometheus puts on it. One scrape comes at the end.
	addr, checked := make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		checks := 0
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Msg {
			case "serving health and metrics":
				addr <- line.Addr
			case "check":
				if checks++; checks == n {
					close(checked)
				}
			}
		}
	}()
	var metrics string
	select {
	case metrics = <-addr:
	case <-time.After(time.Minute):
		b.Fatal("the daemon did not start serving")
	}
	select {
	case <-checked:
	case <-time.After(10 * time.Minute):
		b.Fatal("not every credential checked within 10 minutes")
	}
	if got := checkTotal(b, metrics+"/metrics"); got < n {
		b.Fatalf("credkeeper_check_total counts %d checks, want %d", got, n)
	}
	took = time.Since(start)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err)
	}
	return procMiB(string(status), "VmRSS:"), procMiB(string(status), "VmHWM:"), took
}

// checkTotal sums credkeeper_check_total over its series.
func checkTotal(b *testing.B, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "credkeeper_check_total{"); ok {
			if i := strings.LastIndexByte(rest, ' '); i >= 0 {
				v, _ := strconv.ParseFloat(rest[i+1:], 64)
				total += int(v)
			}
		}
	}
	return total
}

// procMiB reads a "Vm…: N kB" line of /proc/PID/status in MiB.
func procMiB(status, field string) float64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kib, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kib / 1024
		}
	}
	return 0
}
