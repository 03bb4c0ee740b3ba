package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// slotWorld drives the run loop on a fake clock without Vault or a
// provider: the jobs the loop starts are recorded, and the test decides
// when each finishes. A job of a provider that hangs finishes only when
// its timeout has passed on the fake clock.
type slotWorld struct {
	t       *testing.T
	fc      *clockwork.FakeClock
	d       *Daemon
	l       *loop
	started []item
	// hangs are the providers whose requests hang for their timeout.
	hangs map[string]time.Duration
	// hung are the checks in flight on a hanging provider, by when they give up.
	hung map[string]time.Time
	// checks counts the checks started, by credential.
	checks map[string]int
	// inFlight is the most checks of each provider in flight at once.
	inFlight map[string]int
}

func newSlotWorld(t *testing.T, hcl string, hangs map[string]time.Duration) *slotWorld {
	t.Helper()
	cfg, diags := config.Parse([]byte(hcl), "slots.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sw := &slotWorld{t: t, fc: clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)),
		hangs: hangs, hung: map[string]time.Time{}, checks: map[string]int{}, inFlight: map[string]int{}}
	sw.d = NewDaemon(nil, cfg, nil, nil, "slots", sw.fc)
	sw.d.work = context.Background()
	sw.d.lastRenewed = sw.fc.Now()
	sw.d.setLeader(true, sw.d.ID)
	sw.l = newLoop(sw.d, false)
	sw.l.leaseBusy = true // the lease is the test's: it stays held
	sw.l.start = func(_ context.Context, it item) { sw.started = append(sw.started, it) }
	sw.l.reschedule(sw.fc.Now(), true)
	return sw
}

// run advances the fake clock by dur, a second at a time, letting the loop
// start what is due and finishing the jobs it started.
func (sw *slotWorld) run(dur time.Duration) {
	end := sw.fc.Now().Add(dur)
	for sw.fc.Now().Before(end) {
		now := sw.fc.Now()
		sw.d.mu.Lock()
		sw.d.lastRenewed = now
		sw.d.mu.Unlock()
		for name, until := range sw.hung {
			if !now.Before(until) {
				delete(sw.hung, name)
				sw.l.finish(jobDone{it: sw.l.checks[name], ran: true, res: oauthcheck.Result{Name: name, Class: oauthcheck.ClassUnavailable}})
			}
		}
		for {
			sw.l.dispatch(now)
			if len(sw.started) == 0 {
				break
			}
			started := sw.started
			sw.started = nil
			for _, it := range started {
				sw.finishOrHang(it, now)
			}
		}
		sw.fc.Advance(time.Second)
	}
}

func (sw *slotWorld) finishOrHang(it item, now time.Time) {
	if it.kind == jobFirst {
		sw.l.finish(jobDone{it: &it, due: true}) // never checked: due now
		return
	}
	decl, _ := sw.d.config().Credential(it.name)
	sw.checks[it.name]++
	if timeout, ok := sw.hangs[decl.Provider]; ok {
		sw.hung[it.name] = now.Add(timeout)
		n := 0
		for name := range sw.hung {
			if d, _ := sw.d.config().Credential(name); d.Provider == decl.Provider {
				n++
			}
		}
		sw.inFlight[decl.Provider] = max(sw.inFlight[decl.Provider], n)
		return
	}
	sw.inFlight[decl.Provider] = max(sw.inFlight[decl.Provider], 1)
	sw.l.finish(jobDone{it: &it, ran: true, res: oauthcheck.Result{Name: it.name, Class: oauthcheck.ClassOK}})
}

// A provider that hangs for its whole timeout holds at most its share of
// the parallel slots (max_in_flight, by default half of parallel), so the
// other providers' checks keep their schedule; a preset is a provider
// with a share of its own.
func TestAHangingProviderDelaysOnlyItself(t *testing.T) {
	daemonBlock := func(parallel int) string {
		return fmt.Sprintf("daemon {\n  parallel = %d\n  check_timeout = \"90s\"\n}\n", parallel)
	}
	hangs := func(maxInFlight string) string {
		return `provider "hangs" {
  token_url  = "https://hangs.example.org/oauth2/token"
  auth_style = "header"
  timeout    = "60s"
` + maxInFlight + `}
credential "slow-1" {
  provider = "hangs"
  check    = "@every 10s"
}
credential "slow-2" {
  provider = "hangs"
  check    = "@every 10s"
}
credential "slow-3" {
  provider = "hangs"
  check    = "@every 10s"
}
credential "healthy" {
  provider = "ctrp-stage"
  check    = "@every 10s"
}
`
	}
	const presetHangs = `provider "ctrp-stage" {
  timeout = "60s"
}
credential "slow-1" {
  provider = "ctrp-stage"
  check    = "@every 10s"
}
credential "slow-2" {
  provider = "ctrp-stage"
  check    = "@every 10s"
}
credential "slow-3" {
  provider = "ctrp-stage"
  check    = "@every 10s"
}
credential "healthy" {
  provider = "ctrp-prod"
  check    = "@every 10s"
}
`
	for _, tc := range []struct {
		name          string
		hcl           string
		hanging       string
		wantShare     int // the most of the hanging provider's checks in flight at once
		wantHealthyGE int // the healthy credential's checks in 5 minutes on @every 10s, at least
	}{
		{"parallel 2: the hanging provider holds one slot, half of parallel", daemonBlock(2) + hangs(""), "hangs", 1, 29},
		{"parallel 4: the hanging provider holds two slots, half of parallel", daemonBlock(4) + hangs(""), "hangs", 2, 29},
		{"parallel 4 and max_in_flight 1: the hanging provider holds one slot", daemonBlock(4) + hangs("  max_in_flight = 1\n"), "hangs", 1, 29},
		{"parallel 4 and max_in_flight 3: the hanging provider holds three slots", daemonBlock(4) + hangs("  max_in_flight = 3\n"), "hangs", 3, 29},
		{"parallel 2 and max_in_flight 8: no more than parallel", daemonBlock(2) + hangs("  max_in_flight = 8\n"), "hangs", 2, 0},
		{"parallel 1: the hanging provider still gets the one slot", daemonBlock(1) + hangs(""), "hangs", 1, 0},
		{"parallel 2: a preset that hangs holds one slot, and another preset keeps its schedule", daemonBlock(2) + presetHangs, "ctrp-stage", 1, 29},
	} {
		sw := newSlotWorld(t, tc.hcl, map[string]time.Duration{tc.hanging: 60 * time.Second})
		sw.run(5 * time.Minute)
		if got := sw.inFlight[tc.hanging]; got != tc.wantShare {
			t.Errorf("%s: %d of the hanging provider's checks in flight at once, want %d", tc.name, got, tc.wantShare)
		}
		if got := sw.checks["healthy"]; got < tc.wantHealthyGE {
			t.Errorf("%s: the healthy credential was checked %d times in 5m on @every 10s, want at least %d", tc.name, got, tc.wantHealthyGE)
		}
		for _, slow := range []string{"slow-1", "slow-2", "slow-3"} {
			if sw.checks[slow] == 0 {
				t.Errorf("%s: %s was never checked: %v", tc.name, slow, sw.checks)
			}
		}
	}
}
