package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// checkTimes is an Observer that keeps when each check was made.
type checkTimes struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (c *checkTimes) CheckDone(r oauthcheck.Result, _ time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string][]time.Time{}
	}
	c.at[r.Name] = append(c.at[r.Name], r.CheckedAt)
}
func (c *checkTimes) TokenPublished(string, time.Time) {}
func (c *checkTimes) Leader(bool)                      {}

// putMany stores n credentials named prefix-NNNN of one emulator client.
func putMany(t *testing.T, w *credtest.World, prefix, provider, clientID string, n int) {
	t.Helper()
	for i := range n {
		w.Put(fmt.Sprintf("%s-%04d", prefix, i), provider, clientID, "s", credtest.Deadline)
	}
}

// 1,000 credentials on @every 60s: every one is first checked within its
// first interval after start, and after that no second holds more than
// three times the average.
func TestAThousandCredentialsSpreadOverTheMinute(t *testing.T) {
	t.Parallel() // seconds of real time, mostly Vault's
	const n = 1000
	var hcl strings.Builder
	hcl.WriteString("provider \"okta-fleet\" {\n  token_url = \"EMULATOR_URL/oauth2/" + emulator.AuthServerStage + "/v1/token\"\n  auth_style = \"header\"\n  requests_per_second = 100\n}\n")
	for i := range n {
		fmt.Fprintf(&hcl, "credential \"fleet-%04d\" {\n  provider = \"okta-fleet\"\n  check = \"@every 60s\"\n}\n", i)
	}
	w, f := newDaemonWorld(t, hcl.String())
	w.Emu.AddClient(emulator.Client{ID: "0oa-fleet", Secrets: []string{"s"}})
	putMany(t, w, "fleet", "okta-fleet", "0oa-fleet", n)
	times := &checkTimes{}
	start := f.Now()
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) { d.Observer = times })
	f.advance(2 * time.Minute)

	perSecond := map[int64]int{}
	for i := range n {
		name := fmt.Sprintf("fleet-%04d", i)
		at := times.at[name]
		if len(at) == 0 || at[0].Sub(start) > time.Minute {
			t.Errorf("%s: first checked at %v, want within a minute of the start", name, at)
			continue
		}
		for _, c := range at {
			if c.Sub(start) >= time.Minute && c.Sub(start) < 2*time.Minute {
				perSecond[c.Unix()]++
			}
		}
	}
	total, busiest := 0, 0
	for _, k := range perSecond {
		total += k
		busiest = max(busiest, k)
	}
	if total != n {
		t.Errorf("%d checks in the minute after the first, want %d", total, n)
	}
	if avg := float64(total) / 60; float64(busiest) > 3*avg {
		t.Errorf("the busiest second holds %d checks: more than 3x the average %.1f", busiest, avg)
	}
	t.Logf("busiest second: %d checks (average %.1f)", busiest, float64(total)/60)
}

// A provider limited to 20 requests a second, with 600 credentials due at
// once: the budget (15/s) keeps every request under the limit, every
// credential is checked, and another provider's checks do not wait
// behind it.
func TestProviderBudgetsKeepUnderTheRateLimit(t *testing.T) {
	var hcl strings.Builder
	hcl.WriteString("provider \"okta-limited\" {\n  token_url = \"EMULATOR_URL/oauth2/" + emulator.AuthServerStage + "/v1/token\"\n  auth_style = \"header\"\n  requests_per_second = 15\n}\n")
	for i := range 600 {
		fmt.Fprintf(&hcl, "credential \"okta-%04d\" {\n  provider = \"okta-limited\"\n}\n", i)
	}
	for i := range 8 {
		fmt.Fprintf(&hcl, "credential \"dmp-%04d\" {\n  provider = \"doorkeeper\"\n}\n", i)
	}
	f := newFakeTime(t)
	w := credtest.NewWorld(t, func(url string) string { return strings.ReplaceAll(hcl.String(), "EMULATOR_URL", url) },
		func(o *emulator.Options) { o.OktaRequestsPerSecond = 20; o.Clock = f.fc })
	w.Emu.AddClient(emulator.Client{ID: "0oa-limited", Secrets: []string{"s"}})
	putMany(t, w, "okta", "okta-limited", "0oa-limited", 600)
	w.Emu.AddClient(emulator.Client{ID: "dmp", Secrets: []string{"s"}, Scopes: []string{"public", "read_dmps"}})
	putMany(t, w, "dmp", "doorkeeper", "dmp", 8)

	start := f.Now()
	results := f.runOnce(daemon.NewDaemon(w.Store, w.Cfg, nil, nil, "replica-a", f.fc))
	took := f.Now().Sub(start)
	if len(results) != 608 {
		t.Fatalf("%d of 608 credentials checked", len(results))
	}
	for _, r := range results {
		if r.Class != oauthcheck.ClassOK {
			t.Errorf("%s: %s %s", r.Name, r.Class, r.Detail)
		}
	}
	if n := w.Emu.RateLimited(); n != 0 {
		t.Errorf("%d requests went over the provider's rate limit", n)
	}
	if took < 35*time.Second {
		t.Errorf("600 requests at 15 a second took %v: the budget did not pace them", took)
	}
	for i := range 8 {
		st, err := w.Store.GetState(context.Background(), fmt.Sprintf("dmp-%04d", i))
		if err != nil || st.LastCheck.Sub(start) > time.Second { // eight at doorkeeper's own 10/s
			t.Errorf("dmp-%04d waited behind the other provider: checked %v after the start (%v)", i, stateAge(st, start), err)
		}
	}
}

func stateAge(st *vaultstore.State, start time.Time) time.Duration {
	if st == nil {
		return -1
	}
	return st.LastCheck.Sub(start)
}
