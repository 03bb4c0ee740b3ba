package daemon_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkFirstMinuteVaultReads10000 starts a daemon (with notices, as
// the daemon command runs it) on a fake clock over 10,000 credentials
// that were all checked ten minutes before (their states as a check
// leaves them), so that every one's first look finds it checked
// recently, and counts the requests that reach Vault through a counting
// proxy until the first-look jobs are done
// (first_check_within, a minute). It reports the reads (GET and LIST), the
// reads per credential, the other requests, and the checks that ran in the
// minute (none is expected: a recent check is not repeated).
func BenchmarkFirstMinuteVaultReads10000(b *testing.B) { benchFirstMinute(b, 10000) }

func benchFirstMinute(b *testing.B, n int) {
	ctx := context.Background()
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	tokenURL := srv.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token"

	env := vaulttest.New(b)
	setup := env.Store(b)
	store, proxy := env.CountedStore(b)

	var src strings.Builder
	fmt.Fprintf(&src, "provider \"bench\" {\n  token_url = %q\n  auth_style = \"header\"\n  requests_per_second = 10000\n}\n", tokenURL)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("c%05d", i)
		fmt.Fprintf(&src, "credential %q {\n  provider = \"bench\"\n  check = \"@every 24h\"\n}\n", names[i])
	}
	cfg, diags := config.Parse([]byte(src.String()), "bench.hcl")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	checked := simStart.Add(-10 * time.Minute)
	var noDeadline time.Time // as a check records it: the deadline it went by, none here
	var failed atomic.Bool
	parallel.Do(n, 16, func(i int) {
		name := names[i]
		if _, err := setup.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: name, ClientSecret: secret.New("s-" + name),
			Metadata: vaultstore.CredentialMetadata{Provider: "bench"}}, 0); err != nil {
			b.Error(err)
			failed.Store(true)
			return
		}
		if _, err := setup.PutState(ctx, name, &vaultstore.State{LastClass: string(oauthcheck.ClassOK), LastCheck: checked, LastSuccess: checked, RotateBy: &noDeadline,
			History: []vaultstore.CheckSummary{{At: checked, Class: string(oauthcheck.ClassOK)}}}, 0); err != nil {
			b.Error(err)
			failed.Store(true)
		}
	})
	if failed.Load() {
		b.FailNow()
	}

	within := cfg.Daemon.FirstCheckWithin
	if within <= 0 {
		within = config.DefaultFirstCheckWithin
	}
	b.ResetTimer()
	var reads, others, checks int64
	for b.Loop() {
		f := newFakeTime(b)
		times := &checkTimes{}
		r0, w0 := proxy.Reads(), proxy.Writes()
		_, stop := f.start(store, cfg, "bench", func(d *daemon.Daemon) {
			d.Observer = times
			d.Notices = &daemon.Notifications{Store: store, Config: cfg, Replica: "bench"}
		})
		f.advance(within)
		stop()
		reads += proxy.Reads() - r0
		others += proxy.Writes() - w0
		times.mu.Lock()
		for _, at := range times.at {
			checks += int64(len(at))
		}
		times.mu.Unlock()
	}
	cycles := float64(b.N)
	b.ReportMetric(float64(reads)/cycles, "reads")
	b.ReportMetric(float64(reads)/(cycles*float64(n)), "reads/credential")
	b.ReportMetric(float64(others)/cycles, "other-requests")
	b.ReportMetric(float64(checks)/cycles, "checks")
}
