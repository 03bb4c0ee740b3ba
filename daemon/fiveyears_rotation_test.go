//go:build faults

package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Five years of automated rotations of a production credential through
// Okta's secrets API, run by the real daemon on the fake clock, while the
// operator rolls back some of them during the overlap (and starts a new
// one by hand a few days later).
//
// It asserts: the secret credentials/NAME holds is never deactivated or
// deleted (watched at every request to Okta's API); every rolled-back
// rotation ends abandoned, told once to the notify channel and never
// paged; no incident opens, no refusal is recorded, the published token is
// never withdrawn; every later rotation starts cleanly and the others
// complete, so that Okta ends with the one secret in use.
func TestFiveYearsOfAutomatedRotationsWithRollbacks(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CREDKEEPER_SIM_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (CREDKEEPER_SIM_SEED=%[1]d replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	f := newFakeTime(t)
	tokenFile := oktaTokenFile(t)
	w := credtest.NewWorld(t, func(url string) string {
		return fmt.Sprintf(`
notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
credential "svc-auto" {
  provider = "okta-prod"
  rotation = "yearly"
  check    = "@every 24h"
  notify   = ["security"]
  page     = ["oncall"]
  publish_token {
    renew_before = "10m"
  }
  auto_rotate {
    okta_org_url   = %q
    app_id         = "0oa-app-auto"
    api_token_file = %q
    overlap        = "7d"
    start_before   = "14d"
  }
}
`, url, tokenFile)
	}, func(o *emulator.Options) { o.Clock = f.fc })
	w.Cfg.Daemon.LeaseTTL = 7 * 24 * time.Hour // few lease renewals to step through
	ctx := context.Background()
	const name = "svc-auto"
	w.Emu.AddClient(emulator.Client{ID: "0oa-auto", AppID: "0oa-app-auto", Secrets: []string{"Auto-Secret-First"}})
	if _, err := w.Store.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: "0oa-auto", ClientSecret: secret.New("Auto-Secret-First"),
		Metadata: vaultstore.CredentialMetadata{Provider: "okta-prod", Environment: "prod", Rotation: "yearly", RotateBy: f.Now().Add(60 * 24 * time.Hour)}}, 0); err != nil {
		t.Fatal(err)
	}
	admin := &rotation.OktaSecrets{OrgURL: w.URL, AppID: "0oa-app-auto", Token: secret.New(credtest.OktaAPIToken)}
	// inUse is the Okta secret credentials/NAME holds now, and its status.
	inUse := func() (string, string) {
		cred, err := w.Store.GetCredential(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		list, err := admin.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.SecretHash == rotation.HashClientSecret(cred.ClientSecret) {
				return s.ID, s.Status
			}
		}
		return "", "absent"
	}

	security, oncall := &simInbox{}, &simInbox{}
	inc := &incarnation{}
	d := daemon.NewDaemon(w.Store, w.Cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, "replica-1", f.fc)
	var touched []string
	var touchedMu sync.Mutex
	d.Checker.Transport = guardTransport{base: http.DefaultTransport, before: func(op, id string) {
		cur, _ := inUse()
		touchedMu.Lock()
		touched = append(touched, op+" "+id)
		touchedMu.Unlock()
		if id == cur {
			t.Errorf("%v: the rotation asked Okta to %s the secret credentials/%s holds (%s)", f.Now(), op, name, id)
		}
	}}
	d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-1", Logger: d.Logger, Channels: map[string]notify.Notifier{
		"security": simChannel{inc: inc, name: "security", box: security, now: f.Now},
		"oncall":   simChannel{inc: inc, name: "oncall", box: oncall, now: f.Now},
	}}
	cancel, done := f.launch(d)
	defer func() { f.forget(d); cancel(); <-done }()

	op := &rotation.Runner{Store: w.Store, Config: w.Cfg, Clock: f.fc}
	var (
		rollbacks, restarts, completed int
		rollbackAt, restartAt          time.Time
		lastStarted                    time.Time
		published                      bool
	)
	// The operator looks twice a day; the daemon sees every moment it
	// asked for in between.
	const look = 12 * time.Hour
	end := f.Now().Add(5 * 365 * 24 * time.Hour)
	for f.Now().Before(end) {
		f.advance(look)
		now := f.Now()
		rot, err := w.Store.GetRotation(ctx, name)
		if err != nil && err != vaultstore.ErrNotFound && !strings.Contains(err.Error(), "not found") {
			t.Fatal(err)
		}
		if id, status := inUse(); status != "ACTIVE" {
			t.Fatalf("%v: the secret credentials/%s holds (%s) is %s in Okta", now, name, id, status)
		}
		if st, err := w.Store.GetState(ctx, name); err == nil && (st.RejectedVersion != 0 || st.LastClass != "ok") {
			t.Fatalf("%v: state/%s: %s, rejected version %d", now, name, st.LastClass, st.RejectedVersion)
		}
		switch _, err := w.Store.GetToken(ctx, name); {
		case err == nil:
			published = true
		case published:
			t.Fatalf("%v: the published token was withdrawn: %v", now, err)
		}
		if rot == nil {
			continue
		}
		switch {
		case rot.Step == rotation.StepPromoted && rot.StartedAt != lastStarted && rollbackAt.IsZero() && rng.IntN(2) == 0:
			// This one the operator rolls back, some hours into the overlap.
			lastStarted = rot.StartedAt
			rollbackAt = rot.PromotedAt.Add(time.Duration(4+rng.IntN(140)) * time.Hour)
		case rot.Step == rotation.StepPromoted && rot.StartedAt != lastStarted:
			lastStarted = rot.StartedAt
		case !rollbackAt.IsZero() && !now.Before(rollbackAt) && rot.Step == rotation.StepPromoted:
			if _, err := op.Rollback(ctx, name, rotation.RollbackOptions{}); err != nil {
				t.Fatalf("%v: rollback: %v", now, err)
			}
			rollbacks++
			rollbackAt, restartAt = time.Time{}, now.Add(time.Duration(24+rng.IntN(48))*time.Hour)
		case rot.Step == rotation.StepAbandoned && !restartAt.IsZero() && !now.Before(restartAt):
			rep, err := op.AutoRotate(ctx, name, rotation.AutoRotateOptions{Owner: "cli ops"})
			if err != nil || rep.Step != rotation.StepPromoted {
				t.Fatalf("%v: a rotation by hand after the abandonment: %+v %v", now, rep, err)
			}
			restarts++
			restartAt, lastStarted = time.Time{}, rot.StartedAt
		}
		if rot.Step == rotation.StepDone && !rot.FinishedAt.IsZero() && now.Sub(rot.FinishedAt) < look {
			completed++
		}
	}

	t.Logf("%d rotations completed, %d rolled back and abandoned, %d started again by hand; Okta calls that deactivated or deleted: %v", completed, rollbacks, restarts, touched)
	if completed < 4 || rollbacks == 0 {
		t.Errorf("%d rotations completed and %d rolled back in five years: want at least 4 and 1", completed, rollbacks)
	}
	if restarts != rollbacks && restarts != rollbacks-1 {
		t.Errorf("%d rollbacks, %d rotations started again after them", rollbacks, restarts)
	}
	counts := map[string]int{}
	for _, dl := range security.all() {
		counts[dl.key]++
	}
	if n := counts["rotation_abandoned/"+name]; n != rollbacks {
		t.Errorf("security was told of %d abandonments, want %d (one per rollback)", n, rollbacks)
	}
	for key := range counts {
		if strings.HasPrefix(key, "incident/") || strings.HasPrefix(key, "rotation_failed/") {
			t.Errorf("security was told %s", key)
		}
	}
	for _, dl := range oncall.all() {
		t.Errorf("on-call was paged: %s at %v", dl.key, dl.at)
	}
	if got := w.Emu.AppSecrets("0oa-auto"); len(got) > 2 {
		t.Errorf("Okta holds %v", got)
	}
}

// guardTransport calls before ahead of every request that deactivates or
// deletes one of an app's client secrets.
type guardTransport struct {
	base   http.RoundTripper
	before func(op, secretID string)
}

func (g guardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if i := strings.Index(r.URL.Path, "/credentials/secrets/"); i >= 0 {
		rest := strings.Split(r.URL.Path[i+len("/credentials/secrets/"):], "/")
		switch {
		case r.Method == http.MethodDelete:
			g.before("delete", rest[0])
		case len(rest) == 3 && rest[2] == "deactivate":
			g.before("deactivate", rest[0])
		}
	}
	return g.base.RoundTrip(r)
}
