package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
)

var rowRE = regexp.MustCompile(`<tr class="([a-z]*)" data-name="([^"]+)">`)

// indexRows are the names on an index page, in order, each with its
// urgency mark (name:mark).
func indexRows(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2]+":"+m[1])
	}
	return out
}

// rowOf is the HTML of one credential's row on an index page.
func rowOf(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `data-name="`+name+`"`)
	if i < 0 {
		t.Fatalf("the page has no row for %s", name)
	}
	end := strings.Index(body[i:], "</tr>")
	return body[i : i+end]
}

// The leading replica's page answers from the records it holds, and
// follows them: a credential whose secret the provider stops accepting
// shows as failing with no published token once the daemon's next check
// has seen it, and neither page reads a row's records or a published
// token from Vault (that none is published is remembered too).
func TestTheLeadersPageFollowsItsRecords(t *testing.T) {
	w := credtest.NewWorld(t, func(string) string {
		return `credential "pub" {
  provider = "okta-stage"
  publish_token {
    renew_before = "10m"
  }
}
credential "plain" {
  provider = "okta-stage"
}
credential "refused" {
  provider = "okta-prod"
  publish_token {
    renew_before = "10m"
  }
}
`
	})
	w.Emu.AddClient(emulator.Client{ID: "0oa-pub", Secrets: []string{"Pub-Secret-111111"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-plain", Secrets: []string{"Plain-Secret-222222"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-refused", Secrets: []string{"Right-Secret-333333"}})
	w.Put("pub", "okta-stage", "0oa-pub", "Pub-Secret-111111", credtest.Deadline)
	w.Put("plain", "okta-stage", "0oa-plain", "Plain-Secret-222222", credtest.Deadline)
	w.Put("refused", "okta-prod", "0oa-refused", "Wrong-Secret-444444", credtest.Deadline)

	ctx := context.Background()
	d := daemon.NewDaemon(w.Store, w.Cfg, nil, nil, "page-test", clockwork.NewRealClock())
	t.Cleanup(d.Release)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	store, proxy := w.Env.CountedStore(t)
	pages := &web.Pages{Store: store, Config: func() *config.Config { return w.Cfg }, Clock: w.Clock, Held: d.HeldRecords}
	srv := httptest.NewServer(pages.Handler())
	t.Cleanup(srv.Close)

	page := func() (string, int64) {
		before := proxy.Reads()
		body := get(t, srv.URL+"/", http.StatusOK)
		return body, proxy.Reads() - before
	}
	// The lists of credentials, staged pairs, silences and rotations are
	// all a page reads.
	const lists = 4

	body, reads := page()
	if got := strings.Join(indexRows(body), " "); got != "refused:failing plain: pub:" {
		t.Errorf("rows before the change: %s", got)
	}
	pub := rowOf(t, body, "pub")
	if !strings.Contains(pub, `<td class="class">ok</td>`) {
		t.Errorf("pub's row before the change does not show it ok with its token:\n%s", pub)
	}
	tok, err := w.Store.GetToken(ctx, "pub")
	if err != nil {
		t.Fatalf("no token published for pub: %v", err)
	}
	if expiry := tok.ExpiresAt.UTC().Format(time.RFC3339); !strings.Contains(pub, expiry) {
		t.Errorf("pub's row does not show its token's expiry %s:\n%s", expiry, pub)
	}
	if reads > lists {
		t.Errorf("the leader's page read Vault %d times, want at most the %d lists: a row's records and tokens are held", reads, lists)
	}

	// The provider stops accepting pub's secret; the next check sees it,
	// and removes the token it had published.
	w.Emu.SetSecrets("0oa-pub", "Another-Secret-555555")
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.GetToken(ctx, "pub"); err == nil {
		t.Fatal("the daemon left pub's token published after the provider refused its secret")
	}
	body, reads = page()
	if got := strings.Join(indexRows(body), " "); got != "pub:failing refused:failing plain:" {
		t.Errorf("rows after the change: %s", got)
	}
	pub = rowOf(t, body, "pub")
	if !strings.Contains(pub, `<td class="class">invalid_client</td>`) {
		t.Errorf("pub's row after the change does not show invalid_client:\n%s", pub)
	}
	if strings.Contains(pub, tok.ExpiresAt.UTC().Format(time.RFC3339)) {
		t.Errorf("pub's row still shows the removed token's expiry:\n%s", pub)
	}
	if reads > lists {
		t.Errorf("after the change the leader's page read Vault %d times, want at most the %d lists", reads, lists)
	}
	for _, s := range []string{"Pub-Secret-111111", "Plain-Secret-222222", "Wrong-Secret-444444", tok.AccessToken.Reveal()} {
		if strings.Contains(body, s) {
			t.Error("the page shows a secret or a token")
		}
	}
}

// With more credentials than a page holds, the index shows the most
// urgent first, says how many match and how many are urgent, and pages,
// searches and filters by urgency through links; a published token is
// read for the rows shown, not for every credential.
func TestTheIndexPagesSearchesAndCounts(t *testing.T) {
	const n = 230
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var src strings.Builder
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("c%03d", i)
		fmt.Fprintf(&src, "credential %q {\n  provider = \"okta-stage\"\n  publish_token {\n    renew_before = \"10m\"\n  }\n}\n", names[i])
	}
	w := credtest.NewWorld(t, func(string) string { return src.String() })
	ctx := context.Background()
	var failed []error
	errs := make([]error, n)
	parallel.Do(n, 8, func(i int) {
		// Deadlines (dates) in name order: the first five reached, the rest a day
		// apart.
		_, errs[i] = w.Store.PutCredential(ctx, &vaultstore.Credential{Name: names[i], ClientID: "id-" + names[i], ClientSecret: secret.New("s-" + names[i]),
			Metadata: vaultstore.CredentialMetadata{Provider: "okta-stage", Environment: "stage", Owner: "owner@example.org",
				RotateBy: now.Add(time.Duration(i-4) * 24 * time.Hour)}}, 0)
	})
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Fatal(failed)
	}
	store, proxy := w.Env.CountedStore(t)
	pages := &web.Pages{Store: store, Config: func() *config.Config { return w.Cfg }, Clock: clockwork.NewFakeClockAt(now),
		Held: func() *check.Cache { return nil }}
	srv := httptest.NewServer(pages.Handler())
	t.Cleanup(srv.Close)

	before := proxy.Reads()
	body := get(t, srv.URL+"/", http.StatusOK)
	reads := proxy.Reads() - before
	rows := indexRows(body)
	if len(rows) != web.PageSize || rows[0] != "c000:overdue" || rows[4] != "c004:overdue" || !strings.HasPrefix(rows[5], "c005:") || !strings.HasPrefix(rows[web.PageSize-1], "c099:") {
		t.Errorf("the first page: %d rows, %v … %v", len(rows), rows[:min(6, len(rows))], rows[max(0, len(rows)-1):])
	}
	for _, s := range []string{
		`<span class="count">230 of 230</span>`,
		`>5 overdue</a>`,
		`Rows 1–100 of 230, most urgent first`,
		`href="/?page=2" rel="next"`,
		`href="/?page=3" rel="last"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the first page does not say %s", s)
		}
	}
	// A standby reads each credential's records, and the published token
	// only of the rows it shows.
	if most := int64(4 + 2*n + web.PageSize); reads > most {
		t.Errorf("the first page read Vault %d times, want at most %d (the lists, each credential's metadata and state, the tokens of the rows shown)", reads, most)
	}

	for _, tc := range []struct {
		name, query string
		first, last string
		count       int
		says        string
	}{
		{"the last page", "/?page=3", "c200", "c229", 30, "Rows 201–230 of 230"},
		{"a page past the last shows the last", "/?page=9", "c200", "c229", 30, "page 3 of 3"},
		{"a page that is not a number shows the first", "/?page=x", "c000", "c099", 100, "page 1 of 3"},
		{"a search, in any case", "/?q=C15", "c150", "c159", 10, `<span class="count">10 of 230</span>`},
		{"the overdue ones", "/?urgency=overdue", "c000", "c004", 5, `<a href="/" class="clear">Show all</a>`},
		{"a search with a filter", "/?env=stage&q=c22", "c220", "c229", 10, `<input type="hidden" name="env" value="stage">`},
	} {
		body := get(t, srv.URL+tc.query, http.StatusOK)
		rows := indexRows(body)
		if len(rows) != tc.count || !strings.HasPrefix(rows[0], tc.first+":") || !strings.HasPrefix(rows[len(rows)-1], tc.last+":") {
			t.Errorf("%s (%s): %d rows from %v to %v, want %d from %s to %s", tc.name, tc.query, len(rows), rows[:min(1, len(rows))], rows[max(0, len(rows)-1):], tc.count, tc.first, tc.last)
		}
		if !strings.Contains(body, tc.says) {
			t.Errorf("%s (%s) does not say %s", tc.name, tc.query, tc.says)
		}
	}
	if body := get(t, srv.URL+"/?q=nothing-like-it", http.StatusOK); !strings.Contains(body, "No credential matches.") || strings.Contains(body, `class="pager"`) {
		t.Error("a search that finds nothing does not say so, or shows a pager")
	}
}
