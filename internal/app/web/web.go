package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/internal/app/server"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

//go:embed templates/*.html templates/*.css
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"date":     dates.Format,
	"datetime": func(t time.Time) string { return view.Dash(dates.FormatTime(t)) },
	"dash":     view.Dash,
	"join":     strings.Join,
	"add":      func(a, b int) int { return a + b },
}).ParseFS(files, "templates/*.html"))

// Pages serves the status page and its JSON API.
type Pages struct {
	Store *vaultstore.Store
	// Config is the configuration in force (it changes on reload).
	Config func() *config.Config
	// Clock is the pages' time: deadlines, urgency and ages are judged at
	// its now (required).
	Clock clockwork.Clock
	// Channels, when set, is each notifier's delivery record, shown on the
	// index page.
	Channels func() []metrics.ChannelStatus
	// Held, when set, is the leading replica's records (nil while this
	// replica does not lead): the index answers from them, and reads
	// Vault only for what they lack.
	Held func() *check.Cache
}

// Handler returns the pages' routes, to mount on the daemon's mux. Every
// answer carries the security headers; a path it does not serve is 404
// (405 for a path it serves with another method), as a page, or under
// /api/ as JSON.
func (p *Pages) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /credentials/{name}", p.credential)
	mux.HandleFunc("GET /api/v1/credentials", p.apiList)
	mux.HandleFunc("GET /api/v1/credentials/{name}", p.apiOne)
	mux.HandleFunc("GET /report", p.auditReport)
	mux.HandleFunc("GET /static/page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		b, _ := files.ReadFile("templates/page.css")
		_, _ = w.Write(b)
	})
	unserved := func(api bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			get := r.Clone(r.Context())
			get.Method = http.MethodGet
			if _, pattern := mux.Handler(get); strings.HasPrefix(pattern, "GET ") {
				w.Header().Set("Allow", "GET, HEAD")
				answerError(w, api, http.StatusMethodNotAllowed, r.Method+" is not served here: the status page and its API are read with GET")
				return
			}
			answerError(w, api, http.StatusNotFound, "nothing is served at "+r.URL.Path+": the credentials are listed at / and at /api/v1/credentials")
		}
	}
	mux.HandleFunc("/api/", unserved(true))
	mux.HandleFunc("/", unserved(false))
	return server.SecurityHeaders(mux)
}

func (p *Pages) now() time.Time { return p.Clock.Now() }

// Row is one credential on the index page.
type Row struct {
	check.CredentialStatus
	// Urgency is the row's mark: "overdue", "failing", "soon" (inside its
	// first reminder tier) or "".
	Urgency     string
	TokenExpiry time.Time
	HasDeadline bool
}

// rows gathers every credential's status sorted by urgency: from the
// leading replica's records where they hold it (Held), else read from
// Vault several at a time. The published tokens' expiry is left for
// withTokens, for the rows that are shown.
func (p *Pages) rows(ctx context.Context, cfg *config.Config, held *check.Cache, now time.Time) ([]Row, error) {
	sts, err := check.StatusHeld(ctx, p.Store, held, now)
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(sts))
	for i, st := range sts {
		out[i] = Row{CredentialStatus: st, HasDeadline: !st.RotateBy.IsZero(), Urgency: urgency(cfg, st, now)}
	}
	SortByUrgency(out)
	return out, nil
}

// held is the leading replica's records, nil while this replica does not
// lead.
func (p *Pages) held() *check.Cache {
	if p.Held == nil {
		return nil
	}
	return p.Held()
}

// withTokens sets the published token's expiry of the rows whose
// credential publishes one: from held where it knows what tokens/NAME
// holds (a token, or that none is published), else read from Vault
// several at a time.
func (p *Pages) withTokens(ctx context.Context, cfg *config.Config, held *check.Cache, rows []Row) {
	var unknown []int
	for i := range rows {
		if decl, ok := cfg.Credential(rows[i].Name); !ok || decl.PublishToken == nil {
			continue
		}
		if tok, known := held.HeldToken(rows[i].Name); known {
			if tok != nil {
				rows[i].TokenExpiry = tok.ExpiresAt
			}
			continue
		}
		unknown = append(unknown, i)
	}
	parallel.Do(len(unknown), tokenReads, func(k int) {
		r := &rows[unknown[k]]
		r.TokenExpiry = p.tokenExpiry(ctx, cfg, r.Name)
	})
}

// tokenReads is how many published tokens the page reads at once.
const tokenReads = 16

// tokenExpiry is when the token published for name expires; zero when the
// credential publishes none or none is there.
func (p *Pages) tokenExpiry(ctx context.Context, cfg *config.Config, name string) time.Time {
	if decl, ok := cfg.Credential(name); !ok || decl.PublishToken == nil {
		return time.Time{}
	}
	tok, err := p.Store.GetToken(ctx, name)
	if err != nil {
		return time.Time{}
	}
	return tok.ExpiresAt
}

func (p *Pages) config() *config.Config {
	if p.Config != nil {
		if c := p.Config(); c != nil {
			return c
		}
	}
	return config.Default()
}

// urgency marks a row: past its deadline, failing, or inside the first
// tier of its reminders.
func urgency(cfg *config.Config, st check.CredentialStatus, now time.Time) string {
	switch {
	case !st.RotateBy.IsZero() && !now.Before(st.RotateBy):
		return "overdue"
	case st.LastClass != "" && st.LastClass != string(oauthcheck.ClassOK):
		return "failing"
	case !st.RotateBy.IsZero() && !now.Before(st.RotateBy.Add(-cfg.RotationPolicyFor(st.Name, "").FirstReminder())):
		return "soon"
	}
	return ""
}

// SortByUrgency orders rows as a person triages them: overdue, then
// failing (the credential's own failures first), then the soonest
// deadline, then by name.
func SortByUrgency(rows []Row) {
	rank := func(r *Row) int {
		switch {
		case r.Urgency == "overdue":
			return 0
		case r.Urgency == "failing" && oauthcheck.Class(r.LastClass).IsCredentialFailure():
			return 1
		case r.Urgency == "failing":
			return 2
		}
		return 3
	}
	// Rows are large: sort small keys, then put the rows in their order.
	// The order is total (names are unique), so an unstable sort gives
	// the same rows in the same order, faster.
	type key struct {
		rank     int
		none     bool // no deadline: after every row with one
		rotateBy time.Time
		name     string
		i        int
	}
	keys := make([]key, len(rows))
	for i := range rows {
		r := &rows[i]
		keys[i] = key{rank: rank(r), none: !r.HasDeadline, name: r.Name, i: i}
		if r.HasDeadline {
			keys[i].rotateBy = r.RotateBy
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if d := a.rank - b.rank; d != 0 {
			return d
		}
		if a.none != b.none {
			if a.none {
				return 1
			}
			return -1
		}
		if c := a.rotateBy.Compare(b.rotateBy); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	sorted := make([]Row, len(rows))
	for j, k := range keys {
		sorted[j] = rows[k.i]
	}
	copy(rows, sorted)
}

// Filter is the index page's query: environment, class, owner, urgency
// and a search (q: part of a credential's name, owner, provider or
// environment, in any case).
type Filter struct{ Env, Class, Owner, Urgency, Query string }

func filterOf(q url.Values) Filter {
	return Filter{Env: q.Get("env"), Class: q.Get("class"), Owner: q.Get("owner"), Urgency: q.Get("urgency"), Query: strings.TrimSpace(q.Get("q"))}
}

func (f Filter) keep(r Row) bool {
	return (f.Env == "" || r.Environment == f.Env) && (f.Class == "" || r.LastClass == f.Class) && (f.Owner == "" || r.Owner == f.Owner) &&
		(f.Urgency == "" || r.Urgency == f.Urgency) && f.matches(r)
}

// matches reports whether the search is empty or found in the row's
// name, owner, provider or environment.
func (f Filter) matches(r Row) bool {
	if f.Query == "" {
		return true
	}
	q := strings.ToLower(f.Query)
	for _, s := range []string{r.Name, r.Owner, r.Provider, r.Environment} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Link is the index page's URL for this filter with one field changed
// (an empty value clears it), at its first page.
func (f Filter) Link(field, value string) string {
	switch field {
	case "env":
		f.Env = value
	case "class":
		f.Class = value
	case "owner":
		f.Owner = value
	case "urgency":
		f.Urgency = value
	case "q":
		f.Query = value
	}
	return f.PageLink(1)
}

// PageLink is the index page's URL for this filter at page n (from 1).
func (f Filter) PageLink(n int) string {
	q := url.Values{}
	for k, v := range map[string]string{"env": f.Env, "class": f.Class, "owner": f.Owner, "urgency": f.Urgency, "q": f.Query} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// Active reports whether any field is set.
func (f Filter) Active() bool { return f != Filter{} }

// PageSize is how many rows the index shows at once: the most urgent
// first, the rest a page link, a filter or a search away.
const PageSize = 100

// UrgencyCount is how many of the matching credentials carry an urgency
// mark.
type UrgencyCount struct {
	Urgency string
	Count   int
}

type indexData struct {
	Channels []metrics.ChannelStatus
	Now      time.Time
	// Rows are the page's rows: at most PageSize of the Matching ones.
	Rows []Row
	// Total is how many credentials there are; Matching, how many the
	// filter keeps; Urgent, how many of those are overdue, failing or
	// soon.
	Total, Matching       int
	Urgent                []UrgencyCount
	Filter                Filter
	Envs, Classes, Owners []string
	// Page is the page shown (from 1) of Pages; First and Last number
	// its rows among the matching ones (from 1).
	Page, Pages, First, Last int
	// Timeline is every deadline of the next twelve months, unfiltered.
	Timeline template.HTML
}

// pageOf is the page a query asks for: its page parameter, from 1.
func pageOf(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (p *Pages) index(w http.ResponseWriter, r *http.Request) {
	now, cfg, held := p.now(), p.config(), p.held()
	rows, err := p.rows(r.Context(), cfg, held, now)
	if err != nil {
		fail(w, false, "", err)
		return
	}
	q := r.URL.Query()
	f := filterOf(q)
	data := indexData{Now: now, Total: len(rows), Filter: f, Timeline: timeline(rows, now)}
	if p.Channels != nil {
		data.Channels = p.Channels()
	}
	urgent := map[string]int{}
	envs, classes, owners := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var matching []Row
	for _, row := range rows {
		envs[row.Environment], classes[row.LastClass], owners[row.Owner] = true, true, true
		if f.keep(row) {
			matching = append(matching, row)
			urgent[row.Urgency]++
		}
	}
	data.Envs, data.Classes, data.Owners = sortedKeys(envs), sortedKeys(classes), sortedKeys(owners)
	for _, u := range []string{"overdue", "failing", "soon"} {
		if urgent[u] > 0 {
			data.Urgent = append(data.Urgent, UrgencyCount{Urgency: u, Count: urgent[u]})
		}
	}
	data.Matching = len(matching)
	data.Pages = max(1, (len(matching)+PageSize-1)/PageSize)
	data.Page = min(pageOf(q), data.Pages)
	from := (data.Page - 1) * PageSize
	data.Rows = matching[from:min(from+PageSize, len(matching))]
	data.First, data.Last = from+1, from+len(data.Rows)
	p.withTokens(r.Context(), cfg, held, data.Rows)
	render(w, "index.html", data)
}

// sortedKeys are the set's members but the empty string, sorted.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Detail is everything the page of one credential shows.
type Detail struct {
	Row
	Info      *vaultstore.CredentialInfo
	State     *vaultstore.State
	Ledger    []LedgerLine
	Incidents []vaultstore.Incident
	Pending   *vaultstore.PendingInfo
	NextStep  string
}

// LedgerLine is one notice on one channel, as the page shows it.
type LedgerLine struct {
	Key, Channel, Summary, LastError string
	ClaimedAt, SentAt                time.Time
	Superseded                       bool
}

func (p *Pages) detail(ctx context.Context, name string) (*Detail, error) {
	now := p.now()
	info, err := p.Store.CredentialInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &Detail{Info: info}
	st, err := p.Store.GetState(ctx, name)
	switch {
	case err == nil:
		d.State = st
	case errors.Is(err, vaultstore.ErrNotFound):
		d.State = &vaultstore.State{}
	default:
		return nil, err
	}
	if pi, err := p.Store.PendingInfo(ctx, name); err == nil {
		d.Pending = pi
	}
	si, _ := p.Store.GetSilence(ctx, name)
	row := check.StatusOf(*info, d.State, d.Pending, si, now)
	row.Rotation, _ = p.Store.GetRotation(ctx, name)
	cfg := p.config()
	d.Row = Row{CredentialStatus: row, HasDeadline: !row.RotateBy.IsZero(), Urgency: urgency(cfg, row, now), TokenExpiry: p.tokenExpiry(ctx, cfg, name)}
	if l, err := p.Store.GetLedger(ctx, name); err == nil {
		d.Incidents = l.Incidents
		for i := len(l.Entries) - 1; i >= 0; i-- {
			e := l.Entries[i]
			line := LedgerLine{Key: e.Key, Channel: e.Channel, ClaimedAt: e.ClaimedAt, SentAt: e.SentAt, Superseded: e.Superseded, LastError: e.LastError}
			var nt notify.Notice
			if json.Unmarshal(e.Notice, &nt) == nil {
				line.Summary = nt.Summary
			}
			d.Ledger = append(d.Ledger, line)
		}
	}
	d.NextStep = NextStep(cfg, d.Row, now)
	return d, nil
}

// NextStep is the advice the notices would give a credential in this
// state: the same words, from notify.Compose.
func NextStep(cfg *config.Config, r Row, now time.Time) string {
	about := notify.About{Credential: r.Name, Environment: r.Environment, Provider: r.Provider, Deadline: r.RotateBy, Class: r.LastClass, ConsecutiveFailures: r.Failures, Staged: r.Pending != ""}
	if r.Rotation != nil {
		about.Request = r.Rotation.Request
	}
	var kind string
	switch {
	case oauthcheck.Class(r.LastClass).IsCredentialFailure():
		kind = policies.NoticeIncident
	case r.Urgency == "overdue":
		kind = policies.NoticeOverdue
	case r.Urgency == "failing":
		kind = policies.NoticeOps
	case r.Urgency == "soon":
		kind = policies.NoticeReminder
	default:
		return "Nothing: it works and its deadline is not near."
	}
	nt := notify.Compose(notify.Due{Kind: kind, Class: r.LastClass, DaysLeft: r.DaysLeft}, about, now)
	return nt.Summary + " Next: " + nt.Action
}

func (p *Pages) credential(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	d, err := p.detail(r.Context(), name)
	if err != nil {
		fail(w, false, name, err)
		return
	}
	render(w, "credential.html", d)
}

func (p *Pages) apiList(w http.ResponseWriter, r *http.Request) {
	rows, err := p.rows(r.Context(), p.config(), p.held(), p.now())
	if err != nil {
		fail(w, true, "", err)
		return
	}
	f := filterOf(r.URL.Query())
	var sts []check.CredentialStatus
	for _, row := range rows {
		if f.keep(row) {
			sts = append(sts, row.CredentialStatus)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = view.WriteJSON(w, view.Statuses(sts))
}

func (p *Pages) apiOne(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	d, err := p.detail(r.Context(), name)
	if err != nil {
		fail(w, true, name, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = view.WriteJSON(w, view.Statuses([]check.CredentialStatus{d.CredentialStatus})[0])
}

// fail answers an error reading credential name (none for the list): 404
// for a credential Vault does not hold or a name no credential could
// have, 503 for Vault's trouble (its message says what and what to do).
func fail(w http.ResponseWriter, api bool, name string, err error) {
	switch {
	case errors.Is(err, vaultstore.ErrInvalidName):
		answerError(w, api, http.StatusNotFound, err.Error())
	case errors.Is(err, vaultstore.ErrNotFound):
		answerError(w, api, http.StatusNotFound, fmt.Sprintf("vault holds no credential named %q: the credentials are listed at /", name))
	default:
		answerError(w, api, http.StatusServiceUnavailable, err.Error())
	}
}

// answerError answers status with msg: as JSON {"error": msg} for the
// API, as the error page otherwise.
func answerError(w http.ResponseWriter, api bool, status int, msg string) {
	if api {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "error.html", msg)
}

func render(w http.ResponseWriter, name string, data any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	_ = pages.ExecuteTemplate(w, name, data)
}
