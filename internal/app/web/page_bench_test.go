package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkStatusPage10000 serves the status page (GET /: the count of
// every credential and the most urgent page of them) for 10,000
// credentials held in the real Vault core as the leading replica leaves
// them: each checked once by the daemon (state written, a token published
// for one in ten), with deadlines, owners and environments in the
// metadata. The pages read Vault through a counting proxy; it reports the
// time per page request (ns/op), the Vault reads and other requests per
// page request, and the page's size. BenchmarkStatusPage10000 is served
// by the leading replica, from the records it holds;
// BenchmarkStatusPageStandby10000 by a replica that holds none.
func BenchmarkStatusPage10000(b *testing.B)        { benchStatusPage(b, 10000, true) }
func BenchmarkStatusPageStandby10000(b *testing.B) { benchStatusPage(b, 10000, false) }

func benchStatusPage(b *testing.B, n int, leading bool) {
	ctx := context.Background()
	clock := clockwork.NewRealClock()
	now := clock.Now().UTC().Truncate(time.Second)
	emu := emulator.New(emulator.Options{Clock: clock})
	tokens := httptest.NewServer(emu)
	defer tokens.Close()
	tokenURL := tokens.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token"

	env := vaulttest.New(b)
	setup := env.Store(b)
	store, proxy := env.CountedStore(b)

	var src strings.Builder
	fmt.Fprintf(&src, "daemon {\n  parallel = 8\n}\nprovider \"bench\" {\n  token_url = %q\n  auth_style = \"header\"\n  requests_per_second = 10000\n}\n", tokenURL)
	envs := []string{"prod", "stage", "int", ""}
	var failed atomic.Bool
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("c%05d", i)
		publish := ""
		if i%10 == 0 {
			publish = "  publish_token {\n    renew_before = \"10m\"\n  }\n"
		}
		fmt.Fprintf(&src, "credential %q {\n  provider = \"bench\"\n%s}\n", names[i], publish)
		emu.AddClient(emulator.Client{ID: names[i], Secrets: []string{"s-" + names[i]}})
	}
	parallel.Do(n, 16, func(i int) {
		name := names[i]
		secretText := "s-" + name
		if i%50 == 0 {
			secretText = "wrong-" + name // refused: a failing row
		}
		md := vaultstore.CredentialMetadata{Provider: "bench", Owner: fmt.Sprintf("team-%d@example.org", i%20), Environment: envs[i%len(envs)],
			RotateBy: now.Add(time.Duration(i%400-20) * 24 * time.Hour)}
		if _, err := setup.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: name, ClientSecret: secret.New(secretText), Metadata: md}, 0); err != nil {
			b.Error(err)
			failed.Store(true)
		}
	})
	if failed.Load() {
		b.FailNow()
	}
	cfg, diags := config.Parse([]byte(src.String()), "bench.hcl")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	d := daemon.NewDaemon(setup, cfg, nil, nil, "bench", clock)
	if _, err := d.RunOnce(ctx); err != nil {
		b.Fatal(err)
	}
	var held *check.Cache
	if leading {
		held = d.HeldRecords()
		if held == nil {
			b.Fatal("the daemon that checked every credential holds no records")
		}
	}
	d.Release()

	pages := &web.Pages{Store: store, Held: func() *check.Cache { return held }, Config: func() *config.Config { return cfg }, Clock: clockwork.NewFakeClockAt(now),
		Channels: func() []metrics.ChannelStatus {
			return []metrics.ChannelStatus{{Name: "security-email", Delivered: 3, LastSuccess: now.Add(-2 * time.Hour)}}
		}}
	srv := httptest.NewServer(pages.Handler())
	defer srv.Close()
	client := srv.Client()

	getPath := func(path, want string) int {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		if !strings.Contains(string(body), want) {
			b.Fatalf("GET %s does not say %s", path, want)
		}
		return len(body)
	}
	// The index counts every credential and shows the most urgent; a
	// search finds any other.
	count := fmt.Sprintf(`<span class="count">%d of %d</span>`, n, n)
	get := func() int { return getPath("/", count) }
	getPath("/?q="+names[n-1], `data-name="`+names[n-1]+`"`)
	get() // warm: connections and templates

	b.ResetTimer()
	var reads, others, bytes int64
	for b.Loop() {
		r0, w0 := proxy.Reads(), proxy.Writes()
		bytes += int64(get())
		reads += proxy.Reads() - r0
		others += proxy.Writes() - w0
	}
	pagesServed := float64(b.N)
	b.ReportMetric(float64(reads)/pagesServed, "vault-reads/page")
	b.ReportMetric(float64(others)/pagesServed, "other-vault-requests/page")
	b.ReportMetric(float64(bytes)/pagesServed/1024, "page-KiB")
}
