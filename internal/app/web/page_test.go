package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// pageWorld is credentials in every state a person triages, checked once
// by the real daemon against the emulator and the real Vault core, and
// the status page serving them on loopback.
type pageWorld struct {
	w       *credtest.World
	url     string
	secrets []string
}

func newPageWorld(t *testing.T) *pageWorld {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	w := credtest.NewWorld(t, func(string) string {
		return `credential "ok-far" {
  provider = "okta-stage"
}
credential "soon-stage" {
  provider = "okta-stage"
}
credential "overdue-prod" {
  provider = "okta-prod"
}
credential "refused-prod" {
  provider = "okta-prod"
  publish_token {
    renew_before = "10m"
  }
}
credential "down-stage" {
  provider = "okta-stage"
}
credential "published" {
  provider = "doorkeeper"
  publish_token {
    renew_before = "10m"
  }
}
`
	})
	p := &pageWorld{w: w}
	add := func(name, provider, id, secretText string, rotateBy time.Time, owner, env string) {
		if _, err := w.Store.PutCredential(context.Background(), &vaultstore.Credential{Name: name, ClientID: id, ClientSecret: secret.New(secretText),
			Metadata: vaultstore.CredentialMetadata{Provider: provider, RotateBy: rotateBy, Owner: owner, Environment: env}}, 0); err != nil {
			t.Fatal(err)
		}
		p.secrets = append(p.secrets, secretText)
	}
	day := 24 * time.Hour
	w.Emu.AddClient(emulator.Client{ID: "0oa-ok", Secrets: []string{"Ok-Secret-123456"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-soon", Secrets: []string{"Soon-Secret-234567"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-overdue", Secrets: []string{"Overdue-Secret-345678"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-refused", Secrets: []string{"the-right-one-999"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-down", Secrets: []string{"Down-Secret-456789"}})
	w.Emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{"Dmp-Secret-567890"}, Scopes: []string{"public", "read_dmps"}})
	w.Emu.InjectFault("0oa-down", emulator.Fault{Kind: emulator.FaultStatus, Status: 503})
	add("ok-far", "okta-stage", "0oa-ok", "Ok-Secret-123456", now.Add(300*day), "alice@example.org", "stage")
	add("soon-stage", "okta-stage", "0oa-soon", "Soon-Secret-234567", now.Add(20*day), "bob@example.org", "stage")
	add("overdue-prod", "okta-prod", "0oa-overdue", "Overdue-Secret-345678", now.Add(-2*day), "alice@example.org", "prod")
	add("refused-prod", "okta-prod", "0oa-refused", "Refused-Wrong-Secret-678901", now.Add(200*day), "<script>alert('owner')</script>", "prod")
	add("down-stage", "okta-stage", "0oa-down", "Down-Secret-456789", now.Add(100*day), "bob@example.org", "stage")
	add("published", "doorkeeper", "12345", "Dmp-Secret-567890", now.Add(250*day), "carol@example.org", "")

	// One real cycle of the daemon (it waits out a provider's backoff in
	// real time) writes the states and the token the pages show.
	d := daemon.NewDaemon(w.Store, w.Cfg, nil, nil, "page-test", clockwork.NewRealClock())
	if _, err := d.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Release()
	for _, name := range []string{"published"} {
		tok, err := w.Store.GetToken(context.Background(), name)
		if err != nil {
			t.Fatalf("no token published for %s: %v", name, err)
		}
		p.secrets = append(p.secrets, tok.AccessToken.Reveal())
	}
	pages := &web.Pages{Store: w.Store, Config: func() *config.Config { return w.Cfg }, Clock: w.Clock,
		Channels: func() []metrics.ChannelStatus {
			return []metrics.ChannelStatus{{Name: "siem", Delivered: 3, LastSuccess: now.Add(-2 * time.Hour), Failed: 5, LastErrorAt: now.Add(-time.Minute),
				Reason: "refused", LastError: "post to the webhook at 127.0.0.1:9: connection refused"}}
		}}
	srv := httptest.NewServer(pages.Handler())
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// browser starts headless Chromium (Debian's package).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CREDKEEPER_REQUIRE_BROWSER") == "1" {
			t.Fatal("chromium is not installed: scripts/prerequisites.sh test installs it (make test runs it), then run the tests again")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1400, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// screenshot saves the page as bin/NAME.png, for a reviewer to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../../../bin", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("../../../bin", name+".png"), png, 0o644)
	}
}

// What a person sees on the status page in a real browser: rows in
// urgency order, the overdue row marked, a filter link's result, a
// credential's page with its results and next step, and no secret
// anywhere.
func TestStatusPageInABrowser(t *testing.T) {
	p := newPageWorld(t)
	ctx := browser(t)

	rowsJS := `Array.from(document.querySelectorAll('#credentials tbody tr')).map(r => r.dataset.name + ':' + r.className)`
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible("#credentials")); err != nil {
		t.Fatal(err)
	}
	rows := evaluate[[]string](t, ctx, rowsJS)
	text := evaluate[string](t, ctx, `document.body.innerText`)
	screenshot(t, ctx, "status-page")
	want := []string{"overdue-prod:overdue", "refused-prod:failing", "down-stage:failing", "soon-stage:soon", "published:", "ok-far:"}
	if strings.Join(rows, " ") != strings.Join(want, " ") {
		t.Errorf("rows in urgency order:\n got %v\nwant %v", rows, want)
	}
	if c := evaluate[string](t, ctx, `getComputedStyle(document.querySelector('tr.overdue td')).backgroundColor`); c != "rgb(253, 232, 232)" {
		t.Errorf("the overdue row is not marked red: background %s", c)
	}
	if !strings.Contains(text, "siem\t3\t") || !strings.Contains(text, "(refused): post to the webhook at 127.0.0.1:9: connection refused") {
		t.Errorf("the channels' delivery record is not on the page:\n%s", text)
	}
	if !strings.Contains(text, "<script>alert('owner')</script>") {
		t.Error("the untrusted owner text is not shown as text")
	}
	p.assertNoSecret(t, "/", text)

	// A filter is a link: prod only.
	if err := chromedp.Do(ctx, chromedp.Click(`a[href="/?env=prod"]`, chromedp.NodeVisible), chromedp.WaitVisible(`a.clear`)); err != nil {
		t.Fatal(err)
	}
	if rows := evaluate[[]string](t, ctx, `Array.from(document.querySelectorAll('#credentials tbody tr')).map(r => r.dataset.name)`); strings.Join(rows, " ") != "overdue-prod refused-prod" {
		t.Errorf("/?env=prod shows %v", rows)
	}

	// A credential's page.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/credentials/refused-prod"), chromedp.WaitVisible("#history")); err != nil {
		t.Fatal(err)
	}
	text = evaluate[string](t, ctx, `document.body.innerText`)
	screenshot(t, ctx, "status-credential")
	for _, s := range []string{"invalid_client", "run credkeeper check refused-prod", "Last results", "Conditions"} {
		if !strings.Contains(text, s) {
			t.Errorf("the credential's page does not say %q:\n%s", s, text)
		}
	}
	p.assertNoSecret(t, "/credentials/refused-prod", text)
}

// The JSON API has status --json's fields, filters as the page does, and
// answers 404 for a credential Vault does not hold.
func TestStatusAPI(t *testing.T) {
	p := newPageWorld(t)
	body := get(t, p.url+"/api/v1/credentials?env=prod", http.StatusOK)
	for _, s := range []string{`"name": "overdue-prod"`, `"name": "refused-prod"`, `"last_class": "invalid_client"`, `"days_left": -2`} {
		if !strings.Contains(body, s) {
			t.Errorf("/api/v1/credentials?env=prod lacks %s:\n%s", s, body)
		}
	}
	if strings.Contains(body, "ok-far") {
		t.Error("the filter let a stage credential through")
	}
	one := get(t, p.url+"/api/v1/credentials/published", http.StatusOK)
	if !strings.Contains(one, `"name": "published"`) {
		t.Errorf("/api/v1/credentials/published: %s", one)
	}
	get(t, p.url+"/credentials/nobody", http.StatusNotFound)
	for _, path := range []string{"/", "/credentials/published", "/api/v1/credentials", "/api/v1/credentials/refused-prod"} {
		p.assertNoSecret(t, path, get(t, p.url+path, http.StatusOK))
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
	return string(b)
}

func (p *pageWorld) assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range p.secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret or token", where)
		}
	}
}

// Every answer, an error's too, carries the page's security headers; a
// name Vault does not hold, or one no credential could have, is 404 (not
// 503, which says Vault is down); the API answers errors in JSON.
func TestErrorAnswersCarryTheHeadersAndTheRightStatus(t *testing.T) {
	p := newPageWorld(t)
	for _, tc := range []struct {
		name, method, path string
		status             int
		json               bool // the body is {"error": …}
	}{
		{"a page that does not exist", "GET", "/no-such-page", 404, false},
		{"a credential Vault does not hold", "GET", "/credentials/nobody", 404, false},
		{"a name no credential could have", "GET", "/credentials/Not%20A%20Name", 404, false},
		{"a name with a path in it", "GET", "/credentials/..%2Fleases%2Fdaemon", 404, false},
		{"a page asked for with the wrong method", "POST", "/", 405, false},
		{"the API, a credential Vault does not hold", "GET", "/api/v1/credentials/nobody", 404, true},
		{"the API, a name no credential could have", "GET", "/api/v1/credentials/Not%20A%20Name", 404, true},
		{"the API, a path it does not have", "GET", "/api/v1/nothing", 404, true},
		{"the API, the wrong method", "DELETE", "/api/v1/credentials/published", 405, true},
		{"a page that works", "GET", "/credentials/published", 200, false},
		{"the API when it works", "GET", "/api/v1/credentials", 200, true},
	} {
		req, _ := http.NewRequest(tc.method, p.url+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s %s answered %d, want %d", tc.name, tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'self'" {
			t.Errorf("%s: Content-Security-Policy %q, want default-src 'self'", tc.name, got)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tc.name, got)
		}
		ct := resp.Header.Get("Content-Type")
		switch {
		case tc.json && !strings.HasPrefix(ct, "application/json"):
			t.Errorf("%s: Content-Type %q, want JSON", tc.name, ct)
		case !tc.json && !strings.HasPrefix(ct, "text/html"):
			t.Errorf("%s: Content-Type %q, want HTML", tc.name, ct)
		}
		if tc.json && tc.status >= 400 {
			var e map[string]string
			if err := json.Unmarshal(body, &e); err != nil || e["error"] == "" || len(e) != 1 {
				t.Errorf("%s: body %q, want {\"error\": …}", tc.name, body)
			}
		}
		p.assertNoSecret(t, tc.path, string(body))
	}
}
