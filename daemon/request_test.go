package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// A request to CTRP support, hour by hour on a fake clock against the
// real Vault core: the reminders word it; seven days on with nothing
// staged one follow-up goes to the owner and the escalation channel; a
// follow-up of the request starts the wait anew; a staged pair stops them.
func TestFollowUpOfAnUnansweredRequest(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg, diags := config.Parse([]byte(`
notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
rotation_policy "yearly" {
  escalate "7d" {
    notify = ["oncall"]
  }
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  notify   = ["security"]
}
`), "request.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	security, oncall := &inbox{}, &inbox{}
	eng := engine(store, cfg, "replica-1", security, oncall)
	ctx := context.Background()
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	asked := deadline.Add(-30*24*time.Hour + 10*time.Hour)
	req := &vaultstore.RotationRequest{RequestedAt: asked, RequestedBy: "token-alice", Ticket: "INC123"}
	tick := func(now time.Time, staged bool) {
		t.Helper()
		f := daemon.CredentialFacts{Name: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod", RotateBy: deadline, State: vaultstore.State{LastClass: "ok"},
			Request: req, Staged: staged}
		if err := eng.Tick(ctx, f, now); err != nil {
			t.Fatalf("tick at %v: %v", now, err)
		}
	}
	followUps := func(b *inbox) []notify.Notice {
		b.mu.Lock()
		defer b.mu.Unlock()
		var out []notify.Notice
		for _, n := range b.got {
			if n.Kind == notify.KindFollowUp {
				out = append(out, n)
			}
		}
		return out
	}
	now := asked
	for ; now.Before(asked.Add(7*24*time.Hour - time.Hour)); now = now.Add(time.Hour) {
		tick(now, false)
	}
	if got := followUps(security); len(got) != 0 {
		t.Fatalf("a follow-up before seven days: %v", got)
	}
	if len(security.got) != 1 || !strings.Contains(security.got[0].Summary, "requested today by token-alice, ticket INC123; no new pair staged yet; 30 days left") {
		t.Fatalf("the 30-day reminder words the request: %+v", security.got)
	}
	for ; now.Before(asked.Add(9 * 24 * time.Hour)); now = now.Add(time.Hour) {
		tick(now, false)
	}
	sec, onc := followUps(security), followUps(oncall)
	if len(sec) != 1 || len(onc) != 1 {
		t.Fatalf("one follow-up to the owner and one to the escalation channel: %d, %d", len(sec), len(onc))
	}
	if !sec[0].At.Equal(asked.Add(7*24*time.Hour)) || !strings.Contains(sec[0].Summary, "requested 7 days ago by token-alice, ticket INC123; no new pair staged yet; 23 days left") ||
		!strings.Contains(sec[0].Action, "credkeeper rotate request ctrp-prod") {
		t.Errorf("the follow-up: %+v", sec[0])
	}

	// Followed up on day 9: the wait starts again from then.
	req.FollowUps = append(req.FollowUps, vaultstore.RequestFollowUp{At: now, By: "token-bob", Ticket: "INC124"})
	second := now.Add(7 * 24 * time.Hour)
	for ; now.Before(second.Add(-time.Hour)); now = now.Add(time.Hour) {
		tick(now, false)
	}
	if got := followUps(security); len(got) != 1 {
		t.Fatalf("a second follow-up too early: %d", len(got))
	}
	// A pair staged just before: no follow-up.
	for ; now.Before(second.Add(3 * 24 * time.Hour)); now = now.Add(time.Hour) {
		tick(now, true)
	}
	if got := followUps(security); len(got) != 1 {
		t.Errorf("a follow-up with a pair staged: %d", len(got))
	}
	var keys []string
	for _, n := range security.got {
		keys = append(keys, strings.TrimPrefix(n.Key, "reminder/ctrp-prod/2027-03-01/"))
	}
	if want := []string{"30d", "follow-up/20270130T100000Z", "14d"}; !slices.Equal(keys, want) {
		t.Errorf("notices to the owner %v, want %v", keys, want)
	}
}
