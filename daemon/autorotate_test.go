package daemon_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/rotation"
)

// keyInbox keeps the keys of the notices a channel received.
type keyInbox struct {
	mu   sync.Mutex
	keys []string
}

func (b *keyInbox) Notify(_ context.Context, n notify.Notice) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keys = append(b.keys, n.Key)
	return false, nil
}

func (b *keyInbox) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.keys)
}

// The operator rolls back during the overlap of an automated rotation the
// daemon runs: the rotation ends abandoned, told once on the notify
// channels (no page); the secret in use is never deactivated, no incident
// opens, the published token stays, and a later rotation starts cleanly.
func TestDaemonRespectsARollbackDuringTheOverlap(t *testing.T) {
	tokenFile := oktaTokenFile(t)
	w, f := newDaemonWorld(t, fmt.Sprintf(`notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
credential "svc" {
  provider = "okta-stage"
  check    = "@every 6h"
  notify   = ["security"]
  page     = ["oncall"]
  publish_token {
    renew_before = "10m"
  }
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-svc"
    api_token_file = %q
  }
}
`, tokenFile))
	w.Cfg.Daemon.LeaseTTL = 7 * 24 * time.Hour // days of fake time: few lease renewals to step through
	ctx := context.Background()
	w.Emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: []string{"Svc-Secret-Old"}})
	w.Put("svc", "okta-stage", "0oa-svc", "Svc-Secret-Old", f.Now().Add(10*24*time.Hour))
	security, oncall := &keyInbox{}, &keyInbox{}
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{"security": security, "oncall": oncall}}
	})
	f.advance(time.Hour)
	if rot, err := w.Store.GetRotation(ctx, "svc"); err != nil || rot.Step != rotation.StepPromoted {
		t.Fatalf("the rotation: %+v %v; want it promoted", rot, err)
	}
	op := &rotation.Runner{Store: w.Store, Config: w.Cfg, Clock: f.fc}
	f.advance(2 * 24 * time.Hour)
	if _, err := op.Rollback(ctx, "svc", rotation.RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	f.advance(10 * 24 * time.Hour)

	rot, err := w.Store.GetRotation(ctx, "svc")
	if err != nil || rot.Step != rotation.StepAbandoned || !strings.Contains(rot.AbandonedReason, "rollback") || !rot.Announced {
		t.Errorf("the rotation: %+v %v; want it abandoned after the rollback, and told", rot, err)
	}
	var abandoned []string
	for _, k := range security.got() {
		if strings.HasPrefix(k, "rotation_abandoned/") || strings.HasPrefix(k, "rotation_failed/") || strings.HasPrefix(k, "incident/") {
			abandoned = append(abandoned, k)
		}
	}
	if !slices.Equal(abandoned, []string{"rotation_abandoned/svc"}) {
		t.Errorf("security was told %v; want the abandonment once, and nothing else", abandoned)
	}
	if got := oncall.got(); len(got) != 0 {
		t.Errorf("on-call was paged: %v", got)
	}
	okta := w.Emu.AppSecrets("0oa-svc")
	if res := w.Check("svc", true); res.Class != "ok" || len(okta) != 2 || !slices.ContainsFunc(okta, func(s string) bool { return strings.HasSuffix(s, " ACTIVE") }) {
		t.Errorf("the rolled-back secret: %s, Okta %v", res.Class, okta)
	}
	if st, err := w.Store.GetState(ctx, "svc"); err != nil || st.RejectedVersion != 0 {
		t.Errorf("state/svc records a refusal: %+v %v", st, err)
	}
	if tok, err := w.Store.GetToken(ctx, "svc"); err != nil || tok.AccessToken.IsZero() {
		t.Errorf("the published token was withdrawn: %v", err)
	}

	// A later rotation, started by hand, starts cleanly, and the daemon
	// finishes it after the overlap.
	if rep, err := op.AutoRotate(ctx, "svc", rotation.AutoRotateOptions{Owner: "cli ops"}); err != nil || rep.Step != rotation.StepPromoted {
		t.Fatalf("a rotation by hand after the abandonment: %+v %v", rep, err)
	}
	f.advance(8 * 24 * time.Hour)
	if rot, err := w.Store.GetRotation(ctx, "svc"); err != nil || rot.Step != rotation.StepDone || len(w.Emu.AppSecrets("0oa-svc")) != 1 {
		t.Errorf("the later rotation: %+v %v, Okta %v; want the daemon to have finished it", rot, err, w.Emu.AppSecrets("0oa-svc"))
	}
}
