package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app/server"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/report"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// reportWorld is the page world with a year of rotation steps recorded,
// and the pages served a second time through a store whose token holds
// the auditor policy alone.
type reportWorld struct {
	*pageWorld
	auditorURL string
}

func newReportWorld(t *testing.T) *reportWorld {
	p := newPageWorld(t)
	ctx := context.Background()
	store := p.w.Store
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	// soon-stage: asked for last week, nothing staged yet.
	soon := &vaultstore.Rotation{Request: &vaultstore.RotationRequest{RequestedAt: at("2026-11-16T09:00:00Z"), RequestedBy: "token-alice", Ticket: "INC123"}}
	soon.Append(vaultstore.RotationEvent{Step: vaultstore.EventRequested, At: at("2026-11-16T09:00:00Z"), By: "token-alice", Ticket: "INC123", Note: "<b>yearly</b> change"})
	if _, err := store.PutRotation(ctx, "soon-stage", soon, 0); err != nil {
		t.Fatal(err)
	}
	// ok-far: last year's deadline met, every step recorded.
	far := &vaultstore.Rotation{}
	for _, ev := range []vaultstore.RotationEvent{
		{Step: vaultstore.EventRequested, At: at("2026-01-05T09:00:00Z"), By: "token-bob", Ticket: "INC100"},
		{Step: vaultstore.EventStaged, At: at("2026-01-20T10:00:00Z"), By: "token-bob", ClientID: "0oa-ok"},
		{Step: vaultstore.EventProven, At: at("2026-01-20T10:00:05Z"), By: "token-bob", ClientID: "0oa-ok", Class: "ok"},
		{Step: vaultstore.EventPromoted, At: at("2026-01-28T15:00:00Z"), By: "token-bob", Version: 1, ClientID: "0oa-ok", Deadline: at("2026-02-01T00:00:00Z")},
		{Step: vaultstore.EventRetired, At: at("2026-01-29T08:00:00Z"), By: "token-bob", ClientID: "0oa-old"},
	} {
		far.Append(ev)
	}
	if _, err := store.PutRotation(ctx, "ok-far", far, 0); err != nil {
		t.Fatal(err)
	}
	// overdue-prod: last year's deadline missed by three days.
	late := &vaultstore.Rotation{}
	late.Append(vaultstore.RotationEvent{Step: vaultstore.EventPromoted, At: at("2025-12-04T10:00:00Z"), By: "token-carol", Version: 1, Deadline: at("2025-12-01T00:00:00Z")})
	if _, err := store.PutRotation(ctx, "overdue-prod", late, 0); err != nil {
		t.Fatal(err)
	}

	env := p.w.Env
	doc, err := policies.PolicyDocument(config.RoleAuditor, env.Mount, env.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	auditor := env.StoreWithPolicy(t, "auditor", doc)
	pages := &web.Pages{Store: auditor, Config: func() *config.Config { return p.w.Cfg }, Clock: p.w.Clock}
	srv := httptest.NewServer(server.New(prometheus.NewRegistry(), nil, pages.Handler(), nil)) // as the daemon serves it
	t.Cleanup(srv.Close)
	return &reportWorld{pageWorld: p, auditorURL: srv.URL}
}

// The HTML report, served at /report under the auditor's token, in a real
// browser: the summary on top, the timeline, each credential's deadlines
// and steps, its style applied (the page's policy lets its inline style
// in, no script), and no secret anywhere.
func TestReportInABrowser(t *testing.T) {
	p := newReportWorld(t)
	if body := get(t, p.auditorURL+"/report", http.StatusOK); !strings.Contains(body, `id="summary"`) {
		t.Fatalf("/report under the auditor's token:\n%s", body)
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.auditorURL+"/report")); err != nil { // Navigate waits for the load: the report has no script to wait for
		t.Fatal(err)
	}
	text := evaluate[string](t, ctx, `document.body.innerText`)
	screenshot(t, ctx, "report")
	summary := evaluate[[]string](t, ctx, `Array.from(document.querySelectorAll('#summary tbody td')).map(td => td.innerText)`)
	// Deadlines in the period: ok-far's met one and its open one,
	// overdue-prod's missed one and its current (missed, unrotated),
	// and the open deadlines of the other four.
	if got := strings.Join(summary, " "); got != "6 8 1 2 5" {
		t.Errorf("summary (credentials, deadlines, met, missed, open): %s", got)
	}
	for _, s := range []string{
		"met: promoted on 2026-01-28 (version 1, by token-bob)",
		"missed by 3 days: promoted on 2025-12-04 (version 1, by token-carol)",
		"missed by 2 days: not rotated yet",
		"Open request to the provider's support: made 2026-11-16T09:00:00Z by token-alice, ticket INC123",
		"<b>yearly</b> change",
		"retired",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("the report does not say %q:\n%s", s, text)
		}
	}
	if c := evaluate[string](t, ctx, `getComputedStyle(document.querySelector('#summary td.missed')).color`); c != "rgb(183, 28, 28)" {
		t.Errorf("the inline style is not applied (the missed count is %s): the page's policy must let it in", c)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll('svg.timeline g.mark').length`); n != 6 {
		t.Errorf("the report's timeline has %d marks, want 6 (every deadline within twelve months)", n)
	}
	if n := evaluate[int](t, ctx, `document.scripts.length`); n != 0 {
		t.Errorf("the report has %d scripts", n)
	}
	p.assertNoSecret(t, "/report", text)

	// It is laid out for print: a print rule, sections kept whole.
	if !evaluate[bool](t, ctx, `Array.from(document.styleSheets[0].cssRules).some(r => r.media && r.media.mediaText === 'print')`) {
		t.Error("the report has no print rule")
	}
	if v := evaluate[string](t, ctx, `getComputedStyle(document.querySelector('section.credential')).breakInside`); v != "avoid-page" {
		t.Errorf("a credential's section breaks across pages: break-inside %q", v)
	}

	// The other formats, and the refusals.
	resp, err := http.Get(p.auditorURL + "/report?format=json&since=2026-01-01&until=2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/report?format=json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if body := get(t, p.auditorURL+"/report?format=csv", http.StatusOK); !strings.Contains(body, "ok-far,step,2026-01-28T15:00:00Z,promoted,token-bob,") {
		t.Errorf("/report?format=csv:\n%s", body)
	}
	if body := get(t, p.auditorURL+"/report?since=someday", http.StatusBadRequest); !strings.Contains(body, "is not a date") || !strings.Contains(body, "since &#34;someday&#34;") || strings.Contains(body, "--since") {
		t.Errorf("/report?since=someday: %s", body)
	}
	get(t, p.auditorURL+"/report?format=pdf", http.StatusBadRequest)
	for _, path := range []string{"/report", "/report?format=json", "/report?format=csv", "/report?format=table"} {
		p.assertNoSecret(t, path, get(t, p.auditorURL+path, http.StatusOK))
	}
	resp, err = http.Get(p.auditorURL + "/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); csp != report.ContentSecurityPolicy || strings.Contains(csp, "script") {
		t.Errorf("/report's policy is %q", csp)
	}
}

// The status page's timeline in a real browser: one mark per deadline of
// the next twelve months coloured by urgency, the overdue one apart, the
// open request ringed.
func TestStatusPageTimelineInABrowser(t *testing.T) {
	p := newReportWorld(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible("#timeline svg")); err != nil {
		t.Fatal(err)
	}
	marks := evaluate[[]string](t, ctx, `Array.from(document.querySelectorAll('#timeline g.mark')).map(g => g.dataset.credential + ':' + g.getAttribute('class') + ':' + getComputedStyle(g.querySelector('circle, path')).fill)`)
	want := map[string]string{
		"overdue-prod": "mark overdue:rgb(198, 40, 40)",
		"soon-stage":   "mark soon requested:rgb(249, 168, 37)",
		"down-stage":   "mark later:rgb(46, 125, 50)",
		"refused-prod": "mark later:rgb(46, 125, 50)",
		"published":    "mark later:rgb(46, 125, 50)",
		"ok-far":       "mark later:rgb(46, 125, 50)",
	}
	if len(marks) != len(want) {
		t.Errorf("%d marks, want %d: %v", len(marks), len(want), marks)
	}
	for _, m := range marks {
		name, rest, _ := strings.Cut(m, ":")
		if want[name] != rest {
			t.Errorf("mark %s: %s, want %s", name, rest, want[name])
		}
	}
	// The timeline's box, kept as a picture of its own.
	png, err := chromedp.Run(ctx, chromedp.Screenshot("#timeline", chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../../../bin", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("../../../bin", "timeline.png"), png, 0o644)
	}
	if title := evaluate[string](t, ctx, `document.querySelector('#timeline g.mark.overdue title').textContent`); title != "overdue-prod: rotate by 2026-11-21 (2 days overdue)" {
		t.Errorf("the overdue mark's title: %q", title)
	}
	if href := evaluate[string](t, ctx, `document.querySelector('#timeline a.report').getAttribute('href')`); href != "/report" {
		t.Errorf("the link to the report: %q", href)
	}
}
