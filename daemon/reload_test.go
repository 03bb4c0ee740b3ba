package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// reloadWorld is the run loop over a real Vault and the emulator, with
// parallel = 2 and provider stage's share of the slots 1: the test
// decides when each started job runs and ends.
type reloadWorld struct {
	t       *testing.T
	w       *credtest.World
	d       *Daemon
	l       *loop
	started []item
	hcl     func(provider, drop string) *config.Config
}

func newReloadWorld(t *testing.T) *reloadWorld {
	t.Helper()
	w := credtest.NewWorld(t, nil)
	rw := &reloadWorld{t: t, w: w}
	rw.hcl = func(provider, drop string) *config.Config {
		s := fmt.Sprintf(`daemon {
  parallel      = 2
  check_timeout = "15s"
}
provider "stage" {
  token_url     = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style    = "header"
  timeout       = "2s"
  max_in_flight = 1
}
provider "prod" {
  token_url  = "%[1]s/oauth2/%[3]s/v1/token"
  auth_style = "header"
  timeout    = "2s"
}
`, w.URL, emulator.AuthServerStage, emulator.AuthServerProd)
		for _, name := range []string{"a", "b"} {
			if name != drop {
				s += fmt.Sprintf("credential %q {\n  provider = %q\n  check    = \"@every 10m\"\n}\n", name, provider)
			}
		}
		cfg, diags := config.Parse([]byte(s), "reload.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg
	}
	w.Emu.AddClient(emulator.Client{ID: "0oa-a", Secrets: []string{"secret-a"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-b", Secrets: []string{"secret-b"}})
	w.Put("a", "stage", "0oa-a", "secret-a", credtest.Deadline)
	w.Put("b", "stage", "0oa-b", "secret-b", credtest.Deadline)
	rw.d = NewDaemon(w.Store, rw.hcl("stage", ""), nil, nil, "reload", w.Clock)
	rw.d.work = context.Background()
	rw.d.lastRenewed = w.Clock.Now()
	rw.d.setLeader(true, rw.d.ID)
	rw.l = newLoop(rw.d, false)
	rw.l.leaseBusy = true // the lease is the test's
	rw.l.start = func(_ context.Context, it item) { rw.started = append(rw.started, it) }
	rw.l.reschedule(w.Clock.Now(), true)
	return rw
}

// holdFirstCheck advances the clock a second at a time, ending every
// first look as due, until one credential's check is running (held: not
// finished) and the other's waits in ready for the one slot. It returns
// the running check's item and the waiting one's name.
// (The first looks count against no provider: both are done by then.)
func (rw *reloadWorld) holdFirstCheck() (running item, waiting string) {
	rw.t.Helper()
	for i := 0; i < 600; i++ {
		now := rw.w.Clock.Now()
		rw.d.mu.Lock()
		rw.d.lastRenewed = now
		rw.d.mu.Unlock()
		for {
			rw.l.dispatch(now)
			if len(rw.started) == 0 {
				break
			}
			started := rw.started
			rw.started = nil
			for _, it := range started {
				if it.kind == jobFirst {
					rw.l.finish(jobDone{it: &it, due: true})
					continue
				}
				if running.name == "" {
					running = it
				}
			}
		}
		if running.name != "" {
			for _, it := range rw.l.ready.drain() {
				provider, counted := rw.l.providerOf(it)
				rw.l.ready.push(it, provider, counted)
				if it.kind == jobCheck && it.name != running.name {
					waiting = it.name
				}
			}
			if waiting != "" {
				return running, waiting
			}
		}
		rw.w.Clock.Advance(time.Second)
	}
	rw.t.Fatalf("never one check running and the other waiting for the slot (ready %d)", rw.l.ready.Len())
	return item{}, ""
}

// reload is what the loop does on d.reloaded.
func (rw *reloadWorld) reload(cfg *config.Config) {
	rw.d.Reload(cfg, nil)
	<-rw.d.reloaded
	rw.l.reschedule(rw.w.Clock.Now(), false)
}

// endRunning ends the running check and returns the job the freed slot
// starts, if any.
func (rw *reloadWorld) endRunning(running item) (item, bool) {
	rw.l.finish(jobDone{it: &running, ran: true, res: oauthcheck.Result{Name: running.name, Class: oauthcheck.ClassOK}})
	rw.l.dispatch(rw.w.Clock.Now())
	for _, it := range rw.started {
		if it.kind == jobCheck {
			return it, true
		}
	}
	return item{}, false
}

// A check that waits for its provider's share of the slots when a reload moves its
// credential to another provider is sent where the configuration in force
// says, as the configuration in force says: not to the token URL of the configuration it was queued
// under.
func TestACheckWaitingForASlotWhenAReloadMovesItsProviderGoesToTheNewProvider(t *testing.T) {
	rw := newReloadWorld(t)
	running, waiting := rw.holdFirstCheck()
	rw.reload(rw.hcl("prod", ""))
	next, ok := rw.endRunning(running)
	if !ok || next.name != waiting {
		t.Fatalf("the freed slot started %+v (ok %v), want %s's check", next.name, ok, waiting)
	}
	done := rw.d.runJob(context.Background(), next)
	if !done.ran {
		t.Fatalf("%s's check did not run", waiting)
	}
	if !strings.Contains(done.res.TokenURL, emulator.AuthServerProd) || done.res.Provider != "prod" {
		t.Errorf("%s's check after the reload went to provider %q at %s, want provider \"prod\" (%s) of the configuration in force",
			waiting, done.res.Provider, done.res.TokenURL, emulator.AuthServerProd)
	}
}

// A check that waits for its provider's share of the slots when a reload
// removes its credential from the configuration is not sent: the
// configuration in force declares no such credential.
func TestACheckWaitingForASlotWhenAReloadRemovesItsCredentialIsNotSent(t *testing.T) {
	rw := newReloadWorld(t)
	running, waiting := rw.holdFirstCheck()
	rw.reload(rw.hcl("stage", waiting))
	client := "0oa-" + waiting
	requestsBefore := rw.w.Emu.Requests(client)
	next, ok := rw.endRunning(running)
	if ok {
		done := rw.d.runJob(context.Background(), next)
		if done.ran || rw.w.Emu.Requests(client) != requestsBefore {
			t.Errorf("%s, no longer declared after the reload, was checked (ran %v, class %s, %d request(s) to the provider)",
				waiting, done.ran, done.res.Class, rw.w.Emu.Requests(client)-requestsBefore)
		}
	}
	if _, err := rw.w.Store.GetState(context.Background(), waiting); err == nil {
		t.Errorf("state/%s was written after the reload removed it from the configuration", waiting)
	}
}

// A check held back by its provider's share of the slots (max_in_flight)
// starts as soon as a reload moves its credential to a provider with a
// free share, counted against the provider of the configuration in
// force: it does not wait
// for the old provider's check, which may hang for its whole timeout.
func TestACheckMovedOffAProviderByAReloadNoLongerWaitsForThatProvidersShare(t *testing.T) {
	rw := newReloadWorld(t)
	_, waiting := rw.holdFirstCheck()
	rw.reload(rw.hcl("prod", ""))
	rw.l.dispatch(rw.w.Clock.Now()) // the running check on stage is still in flight
	for _, it := range rw.started {
		if it.name == waiting && it.kind == jobCheck {
			return
		}
	}
	t.Errorf("%s, moved to provider prod (no check in flight), still waits for stage's one slot: ready %d, started %d",
		waiting, rw.l.ready.Len(), len(rw.started))
}
