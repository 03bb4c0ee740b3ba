package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// orgTransport carries requests for the CTRP presets' own token URLs
// (https://bioappdev.okta.com/oauth2/…/v1/token) to the emulator, in
// process, and keeps when each reached the org, on the fake clock.
type orgTransport struct {
	t     *testing.T
	emu   http.Handler
	clock clockwork.Clock

	mu sync.Mutex
	at []time.Time
}

func (o *orgTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "bioappdev.okta.com" {
		o.t.Errorf("a request went to %s, not the org", r.URL.Host)
		return nil, fmt.Errorf("no route to %s", r.URL.Host)
	}
	o.mu.Lock()
	o.at = append(o.at, o.clock.Now())
	o.mu.Unlock()
	rec := httptest.NewRecorder()
	o.emu.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// budgetTaken is an Observer that counts the requests taken from each
// budget group.
type budgetTaken struct {
	mu     sync.Mutex
	taken  map[string]int
	budget map[string]float64
}

func (b *budgetTaken) CheckDone(oauthcheck.Result, time.Time) {}
func (b *budgetTaken) TokenPublished(string, time.Time)       {}
func (b *budgetTaken) Leader(bool)                            {}
func (b *budgetTaken) BudgetTaken(group string, rps float64, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taken == nil {
		b.taken, b.budget = map[string]int{}, map[string]float64{}
	}
	b.taken[group] += n
	b.budget[group] = rps
}

// CTRP's int, stage and production authorization servers are one Okta
// org, which limits requests per org: the three presets, each with a
// budget of 10 a second, share one budget of 10 a second by default, so
// that 90 credentials checked at once reach the org at no more than 10 in
// any second (the emulator, limiting the org to 10 a second as Okta
// would, refuses none), and the budget's metric counts them under the
// org's host.
func TestTheThreeCTRPPresetsShareTheOrgsBudget(t *testing.T) {
	const perEnv = 30
	envs := []string{"int", "stage", "prod"}
	var hcl strings.Builder
	for _, env := range envs {
		for i := range perEnv {
			fmt.Fprintf(&hcl, "credential \"ctrp-%s-%02d\" {\n  provider = \"ctrp-%s\"\n}\n", env, i, env)
		}
	}
	f := newFakeTime(t)
	w := credtest.NewWorld(t, func(string) string { return hcl.String() }, func(o *emulator.Options) {
		o.Clock = f.fc
		o.OktaRequestsPerSecond = 10
	})
	w.Emu.AddClient(emulator.Client{ID: "0oa-ctrp", Secrets: []string{"Ctrp-Secret-123456"}})
	for _, env := range envs {
		for i := range perEnv {
			w.Put(fmt.Sprintf("ctrp-%s-%02d", env, i), "ctrp-"+env, "0oa-ctrp", "Ctrp-Secret-123456", credtest.Deadline)
		}
	}
	g, ok := w.Cfg.BudgetGroupOf("ctrp-stage")
	if !ok || g.Name != "bioappdev.okta.com" || g.RequestsPerSecond != 10 || !slices.Equal(g.Providers, []string{"ctrp-int", "ctrp-prod", "ctrp-stage"}) {
		t.Fatalf("the presets' group: %+v", g)
	}

	org := &orgTransport{t: t, emu: w.Emu, clock: f.fc}
	taken := &budgetTaken{}
	d := daemon.NewDaemon(w.Store, w.Cfg, nil, taken, "org-budget", f.fc)
	d.Checker.Transport = org
	start := f.Now()
	results := f.runOnce(d)

	ok = true
	for _, r := range results {
		if r.Class != oauthcheck.ClassOK {
			t.Errorf("%s: %s %s", r.Name, r.Class, r.Detail)
			ok = false
		}
	}
	if len(results) != 3*perEnv || !ok {
		t.Fatalf("%d checks, want %d, all ok", len(results), 3*perEnv)
	}
	if n := w.Emu.RateLimited(); n != 0 {
		t.Errorf("the org refused %d requests over its rate of 10 a second", n)
	}
	org.mu.Lock()
	at := slices.Clone(org.at)
	org.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest := 0
	for i := range at {
		n := 0
		for _, u := range at[i:] {
			if u.Sub(at[i]) < time.Second {
				n++
			}
		}
		busiest = max(busiest, n)
	}
	if busiest > 10 {
		t.Errorf("the org received %d requests in one second; its budget is 10", busiest)
	}
	if last := at[len(at)-1].Sub(start); last < 8*time.Second {
		t.Errorf("90 requests within %v of the start: more than 10 a second", last)
	}
	taken.mu.Lock()
	defer taken.mu.Unlock()
	if taken.taken["bioappdev.okta.com"] != 3*perEnv || taken.budget["bioappdev.okta.com"] != 10 || len(taken.taken) != 1 {
		t.Errorf("the budget's observer heard %v (budgets %v), want %d requests from bioappdev.okta.com's budget of 10", taken.taken, taken.budget, 3*perEnv)
	}
}
