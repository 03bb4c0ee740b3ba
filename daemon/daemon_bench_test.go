package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkDaemonCycle1000 runs one daemon cycle over 1,000 credentials
// (token request, state record in Vault, metrics) against the real Vault
// core and the emulator, then the same 1,000 token requests made by a bare
// x/oauth2 loop at the same concurrency. It reports both throughputs, their
// ratio, Vault requests per check and the process's resident memory.
func BenchmarkDaemonCycle1000(b *testing.B) {
	const n, parallel = 1000, 8
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tokenURL := srv.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token"

	var src strings.Builder
	fmt.Fprintf(&src, "daemon {\n  parallel = %d\n}\nprovider \"bench\" {\n  token_url = %q\n  auth_style = \"header\"\n  requests_per_second = 10000\n}\n", parallel, tokenURL)
	store := vaulttest.New(b).Store(b)
	ctx := context.Background()
	for i := range n {
		name := fmt.Sprintf("c%04d", i)
		emu.AddClient(emulator.Client{ID: name, Secrets: []string{"s-" + name}})
		fmt.Fprintf(&src, "credential %q {\n  provider = \"bench\"\n}\n", name)
		if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: name, ClientSecret: secret.New("s-" + name),
			Metadata: vaultstore.CredentialMetadata{Provider: "bench"}}, 0); err != nil {
			b.Fatal(err)
		}
	}
	cfg, diags := policies.Parse([]byte(src.String()), "bench.hcl")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	d := daemon.NewDaemon(store, cfg, nil, nil, "bench")
	if _, err := d.RunOnce(ctx); err != nil { // warm: read every secret once
		b.Fatal(err)
	}

	b.ResetTimer()
	var daemonTime, bareTime time.Duration
	var vaultRequests int64
	for b.Loop() {
		r0, t0 := store.Requests(), time.Now()
		if _, err := d.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
		daemonTime += time.Since(t0)
		vaultRequests += store.Requests() - r0

		t0 = time.Now()
		bareLoop(b, tokenURL, n, parallel)
		bareTime += time.Since(t0)
	}
	cycles := float64(b.N)
	daemonRate := n * cycles / daemonTime.Seconds()
	bareRate := n * cycles / bareTime.Seconds()
	b.ReportMetric(daemonRate, "daemon-checks/s")
	b.ReportMetric(bareRate, "bare-oauth2-requests/s")
	b.ReportMetric(daemonRate/bareRate, "daemon/bare")
	b.ReportMetric(float64(vaultRequests)/(n*cycles), "vault-requests/check")
	b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
}

func bareLoop(b *testing.B, tokenURL string, n, limit int) {
	parallel.Do(n, limit, func(i int) {
		name := fmt.Sprintf("c%04d", i)
		cc := clientcredentials.Config{ClientID: name, ClientSecret: "s-" + name, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cc.Token(context.Background()); err != nil {
			b.Error(err)
		}
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
