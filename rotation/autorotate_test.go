package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify/notifytest"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

const oktaAPIToken = "00Okta-Api-Token-For-Tests-0123456789"

// oktaWorld: an Okta org in the emulator (token endpoint and client
// secrets API), a credential svc-reporting with auto_rotate, and a fresh
// Vault prefix; clock is a fake clock the test moves.
type oktaWorld struct {
	t     *testing.T
	r     *Runner
	emu   *emulator.Server
	clock *clockwork.FakeClock
	check func(secret string) oauthcheck.Class
}

// setNow moves the clock forward to at.
func (w *oktaWorld) setNow(at time.Time) {
	w.t.Helper()
	if at.Before(w.clock.Now()) {
		w.t.Fatalf("the clock cannot go back from %v to %v", w.clock.Now(), at)
	}
	w.clock.Advance(at.Sub(w.clock.Now()))
}

func newOktaWorld(t *testing.T, secrets ...string) *oktaWorld {
	t.Helper()
	w := &oktaWorld{t: t, clock: clockwork.NewFakeClockAt(time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC))}
	w.emu = emulator.New(emulator.Options{APIToken: oktaAPIToken, Clock: w.clock})
	srv := httptest.NewServer(w.emu)
	t.Cleanup(srv.Close)
	if len(secrets) == 0 {
		secrets = []string{"Svc-Secret-2026"}
	}
	w.emu.AddClient(emulator.Client{ID: "0oa-svc", AppID: "0oa-app-svc", Secrets: secrets})
	tokenFile := filepath.Join(t.TempDir(), "okta-api-token")
	if err := os.WriteFile(tokenFile, []byte(oktaAPIToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, fmt.Sprintf(`
provider "acme-okta" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "header"
  support { email = "iam@acme.example" }
}
rotation_policy "quarterly" {
  period = "90d"
  remind = ["14d"]
}
credential "svc-reporting" {
  provider = "acme-okta"
  rotation = "quarterly"
  auto_rotate {
    okta_org_url   = "%[1]s"
    app_id         = "0oa-app-svc"
    api_token_file = %[3]q
    overlap        = "7d"
    start_before   = "14d"
  }
}
`, srv.URL, emulator.AuthServerStage, tokenFile))
	store := vaulttest.New(t).Store(t)
	w.r = &Runner{Store: store, Config: cfg, Clock: w.clock}
	if _, err := store.PutCredential(context.Background(), &vaultstore.Credential{Name: "svc-reporting", ClientID: "0oa-svc", ClientSecret: secret.New(secrets[0]),
		Metadata: vaultstore.CredentialMetadata{Provider: "acme-okta", Rotation: "quarterly", IssuedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), RotateBy: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}}, 0); err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Provider("acme-okta")
	w.check = func(s string) oauthcheck.Class {
		return (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-svc", Secret: secret.New(s)}, check.EndpointOf(p), time.Time{}, w.clock.Now()).Class
	}
	return w
}

func (w *oktaWorld) current() string {
	w.t.Helper()
	c, err := w.r.Store.GetCredential(context.Background(), "svc-reporting")
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ClientSecret.Reveal()
}

func (w *oktaWorld) rotation() *vaultstore.Rotation {
	w.t.Helper()
	rot, err := w.r.Store.GetRotation(context.Background(), "svc-reporting")
	if err != nil {
		w.t.Fatal(err)
	}
	return rot
}

// The whole rotation through Okta: the new secret is created, proven and
// promoted while the old one still works; after the overlap the old one is
// deactivated and deleted, and refused.
func TestAutoRotateEndToEnd(t *testing.T) {
	w := newOktaWorld(t)
	ctx := context.Background()

	rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
	if err != nil || rep.Step != "" || !rep.Waiting.Equal(time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("before start_before: %+v %v (want waiting until 14 days before the deadline)", rep, err)
	}
	w.setNow(time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC))
	rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
	if err != nil || rep.Step != StepPromoted || !rep.Waiting.Equal(w.clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	newSecret := w.current()
	if newSecret == "Svc-Secret-2026" || len(w.emu.AppSecrets("0oa-svc")) != 2 {
		t.Fatalf("after promotion: the credential holds the new secret, Okta both: %v", w.emu.AppSecrets("0oa-svc"))
	}
	if w.check("Svc-Secret-2026") != oauthcheck.ClassOK || w.check(newSecret) != oauthcheck.ClassOK {
		t.Fatal("during the overlap both secrets work")
	}
	if info, _ := w.r.Store.CredentialInfo(ctx, "svc-reporting"); !info.Metadata.RotateBy.Equal(time.Date(2027, 2, 16, 0, 0, 0, 0, time.UTC).Add(90 * 24 * time.Hour)) {
		t.Errorf("the new deadline follows the quarterly policy: %v", info.Metadata.RotateBy)
	}

	w.clock.Advance(7*24*time.Hour + time.Minute)
	rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
	if err != nil || rep.Step != StepDone {
		t.Fatalf("after the overlap: %+v %v", rep, err)
	}
	if got := w.emu.AppSecrets("0oa-svc"); len(got) != 1 || !strings.HasSuffix(got[0], " ACTIVE") {
		t.Errorf("Okta holds the new secret alone: %v", got)
	}
	if w.check("Svc-Secret-2026") != oauthcheck.ClassInvalidClient || w.check(newSecret) != oauthcheck.ClassOK {
		t.Error("the old secret is refused, the new one works")
	}
	if _, err := w.r.Store.GetPending(ctx, "svc-reporting"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("nothing stays staged: %v", err)
	}
	if rot := w.rotation(); rot.Step != StepDone || !rot.FinishedAt.Equal(w.clock.Now()) || rot.OldSecretID == rot.NewSecretID || rot.LastError != "" {
		t.Errorf("rotations/svc-reporting: %+v", rot)
	}
	notifytest.AssertNoSecret(t, "the report", rep.Did, oktaAPIToken, newSecret, "Svc-Secret-2026")
}

// Stopped after any step, and resumed: the app never holds a third
// secret, no secret is lost, and the end is the same as an unbroken run.
func TestAutoRotateResumesAfterEveryStep(t *testing.T) {
	for _, stop := range []string{StepStarted, StepStaged, StepProven, StepPromoted, StepDeactivated, StepVerified} {
		t.Run(stop, func(t *testing.T) {
			w := newOktaWorld(t)
			ctx := context.Background()
			w.r.afterAutoStep = func(step string) error {
				if n := len(w.emu.AppSecrets("0oa-svc")); n > emulator.MaxAppSecrets {
					t.Fatalf("after %s Okta holds %d secrets", step, n)
				}
				if step == stop {
					return errors.New("the process was killed")
				}
				return nil
			}
			// Run until killed after the step (past the overlap when need be).
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				_, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true})
				w.clock.Advance(8 * 24 * time.Hour)
			}
			if err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the run was not killed after %s: %v", stop, err)
			}
			w.r.afterAutoStep = nil
			var rep *AutoRotateReport
			for i := 0; i < 3 && (rep == nil || rep.Step != StepDone); i++ {
				if rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true}); err != nil {
					t.Fatalf("resumed after %s: %v", stop, err)
				}
				w.clock.Advance(8 * 24 * time.Hour)
			}
			if rep.Step != StepDone {
				t.Fatalf("resumed after %s: %+v", stop, rep)
			}
			got := w.emu.AppSecrets("0oa-svc")
			if len(got) != 1 || w.check(w.current()) != oauthcheck.ClassOK || w.check("Svc-Secret-2026") != oauthcheck.ClassInvalidClient {
				t.Errorf("the end state: Okta %v, current works %v", got, w.check(w.current()))
			}
		})
	}
}

// A secret Okta created but whose answer was lost (a crash, a 500 after
// the work) is the rotation's own by its recorded hash: it is deleted, not
// joined by a third, and a secret the rotation did not create is kept.
func TestAutoRotateDeletesOnlyASecretItCreatedButNeverStored(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		foreign bool // someone else created the second secret
		want    string
	}{
		{"its own secret, whose creation answered 500, is replaced", false, ""},
		{"a secret someone else created is kept, and the rotation stops", true, "neither the one in credentials/svc-reporting nor one this rotation created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOktaWorld(t)
			w.emu.InjectFault(emulator.OktaFaultKey(emulator.OktaCreate), emulator.Fault{Kind: emulator.FaultDoneThenStatus})
			if _, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true}); err == nil || w.rotation().Step != StepStarted {
				t.Fatalf("the first run should have stopped at started: %v", err)
			}
			w.emu.ClearFaults()
			foreign := ""
			if tc.foreign {
				list, _ := w.oktaAdmin().List(ctx)
				for _, s := range list {
					if s.SecretHash != HashClientSecret(secret.New("Svc-Secret-2026")) {
						// the rotation's half-made secret: removed, and another made in its place
						_ = w.oktaAdmin().Deactivate(ctx, s.ID)
						_ = w.oktaAdmin().Delete(ctx, s.ID)
					}
				}
				created, err := w.oktaAdmin().Create(ctx, secret.Value{})
				if err != nil {
					t.Fatal(err)
				}
				foreign = created.ID
			}
			rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true})
			got := w.emu.AppSecrets("0oa-svc")
			if tc.want == "" && (err != nil || rep.Step != StepPromoted || len(got) != 2 || !w.activeInOkta(w.current())) {
				t.Fatalf("resumed: %+v %v, Okta %v", rep, err, got)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !slices.Contains(got, foreign+" ACTIVE") || w.current() != "Svc-Secret-2026") {
				t.Fatalf("resumed: %v, Okta %v; want %q and %s kept", err, got, tc.want, foreign)
			}
		})
	}
}

// Okta refuses: a third secret, a bad API token, a rate limit. Each ends
// with a clear error, nothing changed in Vault, and no secret shown.
func TestAutoRotateWhenOktaRefuses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(w *oktaWorld)
		want  string
	}{
		{"two secrets already", func(w *oktaWorld) {}, "already holds 2 client secrets"},
		{"one secret, not the one in Vault", func(w *oktaWorld) { w.emu.SetSecrets("0oa-svc", "Svc-Secret-Other") }, "none of app 0oa-app-svc's client secrets is the one in credentials/svc-reporting"},
		{"a bad API token", func(w *oktaWorld) {
			_ = os.WriteFile(w.r.Config.Credentials[0].AutoRotate.APITokenFile, []byte("00Wrong-Token-abcdefghijklmnop"), 0o600)
		}, "check api_token_file"},
		{"a rate limit", func(w *oktaWorld) { w.emu.InjectFault("okta-api", emulator.Fault{Kind: emulator.FaultRateLimit}) }, "Okta is rate limiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secrets := []string{"Svc-Secret-2026"}
			if tc.name == "two secrets already" {
				secrets = append(secrets, "Svc-Secret-Other")
			}
			w := newOktaWorld(t, secrets...)
			tc.setup(w)
			_, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: %v, want %q", tc.name, err, tc.want)
			}
			notifytest.AssertNoSecret(t, "the error", []string{err.Error()}, oktaAPIToken, "00Wrong-Token-abcdefghijklmnop", "Svc-Secret-2026", "Svc-Secret-Other")
			if _, err := w.r.Store.GetRotation(ctx, "svc-reporting"); !errors.Is(err, vaultstore.ErrNotFound) {
				t.Errorf("nothing recorded: %v", err)
			}
			if info, _ := w.r.Store.CredentialInfo(ctx, "svc-reporting"); info.Version != 1 {
				t.Errorf("the credential changed: version %d", info.Version)
			}
			if len(w.emu.AppSecrets("0oa-svc")) != len(secrets) {
				t.Errorf("Okta's secrets changed: %v", w.emu.AppSecrets("0oa-svc"))
			}
		})
	}
}

func TestAutoRotateRefusesProvidersWithoutAnAPI(t *testing.T) {
	r, _ := rotationWorld(t)
	_, err := r.AutoRotate(context.Background(), "ctrp-stage", AutoRotateOptions{Now: true})
	if !errors.Is(err, ErrNotAutomatable) || !strings.Contains(err.Error(), "CTRP support") || !strings.Contains(err.Error(), "rotate stage ctrp-stage") {
		t.Errorf("CTRP: %v", err)
	}
}

// oktaAdmin is Okta's secrets API as a person with an admin token uses it.
func (w *oktaWorld) oktaAdmin() *OktaSecrets {
	return &OktaSecrets{OrgURL: w.r.Config.Credentials[0].AutoRotate.OktaOrgURL, AppID: "0oa-app-svc", Token: secret.New(oktaAPIToken)}
}

// handRotate is an owner's rotation by hand: a new secret created in
// Okta, staged and promoted in Vault; with retire, the old one is then
// deactivated and deleted in Okta.
func (w *oktaWorld) handRotate(retire bool) string {
	w.t.Helper()
	ctx := context.Background()
	old := w.current()
	created, err := w.oktaAdmin().Create(ctx, secret.Value{})
	if err != nil {
		w.t.Fatal(err)
	}
	if res, err := w.r.Stage(ctx, StageRequest{Name: "svc-reporting", ClientID: "0oa-svc", ClientSecret: created.Secret}); err != nil || res.Class != oauthcheck.ClassOK {
		w.t.Fatalf("stage by hand: %v %s", err, res.Class)
	}
	if _, err := w.r.Promote(ctx, "svc-reporting", PromoteOptions{}); err != nil {
		w.t.Fatal(err)
	}
	if retire {
		list, _ := w.oktaAdmin().List(ctx)
		for _, s := range list {
			if s.SecretHash == HashClientSecret(secret.New(old)) {
				if err := w.oktaAdmin().Deactivate(ctx, s.ID); err != nil {
					w.t.Fatal(err)
				}
				if err := w.oktaAdmin().Delete(ctx, s.ID); err != nil {
					w.t.Fatal(err)
				}
			}
		}
	}
	return created.Secret.Reveal()
}

// activeInOkta reports whether Okta holds s, active.
func (w *oktaWorld) activeInOkta(s string) bool {
	w.t.Helper()
	list, err := w.oktaAdmin().List(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, o := range list {
		if o.SecretHash == HashClientSecret(secret.New(s)) {
			return o.Status == "ACTIVE"
		}
	}
	return false
}

// A change of credentials/NAME that the rotation did not make (a
// rollback, a rotation by hand) ends the rotation abandoned, with the
// reason: the secret Vault holds is never deactivated or deleted, no third
// secret is made, and no check records a refusal of the version in use.
func TestAutoRotateAbandonsWhenTheCredentialChangesBehindIt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// stopAt is an Okta operation rate limited before the change ("":
		// the rotation reaches promoted and waits out the overlap).
		stopAt string
		change func(w *oktaWorld) string // returns the secret Vault then holds
		reason string
		// restart is what a later rotation started by hand meets ("": it
		// starts cleanly, removing what the abandoned one left).
		restart string
	}{
		{"a rollback during the overlap keeps the old secret active", "", func(w *oktaWorld) string {
			if _, err := w.r.Rollback(ctx, "svc-reporting", RollbackOptions{}); err != nil {
				w.t.Fatal(err)
			}
			return "Svc-Secret-2026"
		}, "again, as after a rollback", ""},
		{"a rotation by hand while stopped at started keeps the hand-made secret", emulator.OktaCreate, func(w *oktaWorld) string {
			return w.handRotate(false)
		}, "no longer holds the secret the rotation started from", "is not one credkeeper created"},
		{"a rotation by hand that also retired the old secret in Okta", emulator.OktaCreate, func(w *oktaWorld) string {
			return w.handRotate(true)
		}, "no longer holds the secret the rotation started from", ""},
		{"a rollback after the old secret was deactivated gets it activated again", "deactivated", func(w *oktaWorld) string {
			if _, err := w.r.Rollback(ctx, "svc-reporting", RollbackOptions{Force: true}); err != nil {
				w.t.Fatal(err)
			}
			return "Svc-Secret-2026"
		}, "as after a rollback; the rotation had deactivated it, and activated it again", ""},
		{"a rotation by hand during the overlap keeps the hand-made secret", "", func(w *oktaWorld) string {
			// Okta holds two secrets: the owner retires the old one first.
			list, _ := w.oktaAdmin().List(ctx)
			for _, s := range list {
				if s.SecretHash == HashClientSecret(secret.New("Svc-Secret-2026")) {
					_ = w.oktaAdmin().Deactivate(ctx, s.ID)
					_ = w.oktaAdmin().Delete(ctx, s.ID)
				}
			}
			return w.handRotate(false)
		}, "no longer holds the secret the rotation promoted", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOktaWorld(t)
			w.setNow(time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC))
			var rep *AutoRotateReport
			var err error
			switch tc.stopAt {
			case "":
				rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
				if err != nil || rep.Step != StepPromoted {
					t.Fatalf("the first run: %+v %v", rep, err)
				}
			case "deactivated": // killed once the old secret is deactivated
				_, _ = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
				w.clock.Advance(8 * 24 * time.Hour)
				w.r.afterAutoStep = func(step string) error {
					if step == StepDeactivated {
						return errors.New("killed")
					}
					return nil
				}
				_, _ = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
				w.r.afterAutoStep = nil
				if rot := w.rotation(); rot.Step != StepDeactivated || w.activeInOkta("Svc-Secret-2026") {
					t.Fatalf("the first runs: %+v", rot)
				}
			default:
				w.emu.InjectFault(emulator.OktaFaultKey(tc.stopAt), emulator.Fault{Kind: emulator.FaultRateLimit})
				rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
				if err == nil || rep.Step != StepStarted {
					t.Fatalf("the first run: %+v %v", rep, err)
				}
			}
			w.emu.ClearFaults()
			inUse := tc.change(w)
			if w.current() != inUse {
				t.Fatal("the change did not reach Vault")
			}
			okta := w.emu.AppSecrets("0oa-svc")
			if tc.stopAt == "deactivated" { // the one deactivation the rotation undoes
				for i := range okta {
					okta[i] = strings.Replace(okta[i], " INACTIVE", " ACTIVE", 1)
				}
			}
			for range 3 {
				w.clock.Advance(8 * 24 * time.Hour)
				rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Unattended: true})
				if err != nil || rep.Step != StepAbandoned {
					t.Fatalf("after the change: %+v %v; want it abandoned", rep, err)
				}
			}
			if got := w.emu.AppSecrets("0oa-svc"); !slices.Equal(got, okta) {
				t.Errorf("Okta's secrets changed after the change: %v, were %v", got, okta)
			}
			if !w.activeInOkta(inUse) || w.check(inUse) != oauthcheck.ClassOK {
				t.Error("the secret in Vault is no longer active in Okta")
			}
			rot := w.rotation()
			if rot.Step != StepAbandoned || !strings.Contains(rot.AbandonedReason, tc.reason) || rot.FinishedAt.IsZero() {
				t.Errorf("rotations/svc-reporting: %+v; want abandoned because %q", rot, tc.reason)
			}
			if res, err := w.r.engine().CheckOne(ctx, "svc-reporting", false); err != nil || res.Class != oauthcheck.ClassOK {
				t.Errorf("the credential's check: %v %s %s", err, res.Class, res.Detail)
			}
			if st, err := w.r.Store.GetState(ctx, "svc-reporting"); err != nil || st.RejectedVersion != 0 {
				t.Errorf("state/svc-reporting records a refusal: %+v %v", st, err)
			}
			notifytest.AssertNoSecret(t, "the record", []string{fmt.Sprintf("%+v", rot)}, oktaAPIToken, inUse, "Svc-Secret-2026")

			rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true})
			switch {
			case tc.restart == "" && (err != nil || rep.Step != StepPromoted || len(w.emu.AppSecrets("0oa-svc")) != 2 || !w.activeInOkta(inUse) || w.check(w.current()) != oauthcheck.ClassOK):
				t.Errorf("a later rotation: %+v %v, Okta %v; want it promoted beside the secret in use", rep, err, w.emu.AppSecrets("0oa-svc"))
			case tc.restart != "" && (err == nil || !strings.Contains(err.Error(), tc.restart) || w.current() != inUse):
				t.Errorf("a later rotation: %v; want %q", err, tc.restart)
			}
		})
	}
}

// What Okta did is reported as it is known: a deactivation whose answer
// was lost is observed in Okta's listing, not taken for a failure.
func TestAutoRotateReportsWhatIsKnownWhenOktaAnswersBadly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		op        string
		fault     emulator.Fault
		wantStep  string
		wantErr   string // "" for none
		oldActive bool
	}{
		{"a deactivation that succeeds but answers 500 goes on", emulator.OktaDeactivate, emulator.Fault{Kind: emulator.FaultDoneThenStatus}, StepDone, "", false},
		{"a deactivation that fails with 500 says the old secret still works", emulator.OktaDeactivate, emulator.Fault{Kind: emulator.FaultStatus}, StepPromoted, "the old secret still works", true},
		{"a rate limit at the deletion says the old secret is inactive", emulator.OktaDelete, emulator.Fault{Kind: emulator.FaultRateLimit}, StepVerified, "the old secret is inactive", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOktaWorld(t)
			if _, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true}); err != nil {
				t.Fatal(err)
			}
			w.emu.InjectFault(emulator.OktaFaultKey(tc.op), tc.fault)
			w.clock.Advance(8 * 24 * time.Hour)
			rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
			switch {
			case tc.wantErr == "" && err != nil, tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("the run: %v; want %q", err, tc.wantErr)
			}
			if err != nil && tc.oldActive != strings.Contains(err.Error(), "still works") {
				t.Errorf("the error says the old secret still works, which is %v: %v", tc.oldActive, err)
			}
			if rep.Step != tc.wantStep || w.rotation().Step != tc.wantStep {
				t.Errorf("the step: %s, recorded %s; want %s", rep.Step, w.rotation().Step, tc.wantStep)
			}
			if got := w.activeInOkta("Svc-Secret-2026"); got != tc.oldActive {
				t.Errorf("the old secret active in Okta: %v, want %v", got, tc.oldActive)
			}
		})
	}
}

// One actor at a time: a run while another owner's lease lasts takes no
// step and says who holds it and until when; a lease left by a run that
// died lapses, and the next run resumes without a third secret.
func TestAutoRotateOneOwnerAtATime(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// during runs the second owner after the first has done this step;
		// the first then dies (killed) or goes on.
		during string
		killed bool
	}{
		{"the daemon while the command line stages the new secret", StepStaged, false},
		{"the daemon while the command line starts", StepStarted, false},
		{"the daemon after the command line died holding the lease", StepStarted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOktaWorld(t)
			daemonRun := &Runner{Store: w.r.Store, Config: w.r.Config, Clock: w.clock}
			var busyErr error
			w.r.afterAutoStep = func(step string) error {
				if step != tc.during {
					return nil
				}
				okta := w.emu.AppSecrets("0oa-svc")
				_, busyErr = daemonRun.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "daemon replica-1", Now: true})
				if got := w.emu.AppSecrets("0oa-svc"); !slices.Equal(got, okta) {
					t.Errorf("the second owner changed Okta: %v, was %v", got, okta)
				}
				if tc.killed {
					return errors.New("killed")
				}
				return nil
			}
			rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "cli alice@ops-1 pid 42", Now: true})
			var be *BusyError
			if !errors.As(busyErr, &be) || !errors.Is(busyErr, ErrRotationBusy) || !strings.Contains(busyErr.Error(), "being run by cli alice@ops-1 pid 42 until 2027-02-10T09:10:00Z") {
				t.Errorf("the second owner's run: %v; want it told who holds the lease and until when", busyErr)
			}
			w.r.afterAutoStep = nil
			if tc.killed {
				if err == nil {
					t.Fatal("the first run was not killed")
				}
				if _, err := daemonRun.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "daemon replica-1", Now: true}); !errors.Is(err, ErrRotationBusy) {
					t.Errorf("before the lease lapses: %v", err)
				}
				w.clock.Advance(RotationLease)
				rep, err = daemonRun.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "daemon replica-1", Now: true})
			}
			if err != nil || rep.Step != StepPromoted || len(w.emu.AppSecrets("0oa-svc")) != 2 || w.check(w.current()) != oauthcheck.ClassOK {
				t.Fatalf("the rotation: %+v %v, Okta %v", rep, err, w.emu.AppSecrets("0oa-svc"))
			}
			if rot := w.rotation(); !rot.LeaseUntil.IsZero() {
				t.Errorf("the lease is still held after the run: %+v", rot)
			}
		})
	}
}

// drift decides, from what Vault and Okta hold (as hashes), whether a
// rotation may take its next step. It reads nothing and writes nothing.
func TestDriftComparesWhatVaultAndOktaHoldByHash(t *testing.T) {
	old := OktaSecret{ID: "ocs-old", Status: "ACTIVE", SecretHash: "h-old"}
	created := OktaSecret{ID: "ocs-new", Status: "ACTIVE", SecretHash: "h-new"}
	byHand := OktaSecret{ID: "ocs-hand", Status: "ACTIVE", SecretHash: "h-hand"}
	rot := func(step string) *vaultstore.Rotation {
		return &vaultstore.Rotation{Step: step, OldSecretID: "ocs-old", NewSecretID: "ocs-new", NewSecretHash: "h-new"}
	}
	for _, tc := range []struct {
		name string
		rot  *vaultstore.Rotation
		ob   observation
		want string // "" when the rotation may go on
	}{
		{"started, Vault still holds the old secret: go on", rot(StepStarted), observation{current: "h-old", okta: []OktaSecret{old}}, ""},
		{"started, Vault holds a secret made by hand: abandon", rot(StepStarted), observation{current: "h-hand", okta: []OktaSecret{old, byHand}}, "no longer holds the secret the rotation started from (ocs-old): it was changed by hand"},
		{"started, the old secret gone from Okta too: abandon", rot(StepStarted), observation{current: "h-hand", okta: []OktaSecret{byHand}}, "and Okta no longer lists that secret"},
		{"staged, pending holds the new secret: go on", rot(StepStaged), observation{current: "h-old", pending: "h-new", okta: []OktaSecret{old, created}}, ""},
		{"staged, another pair was staged: abandon", rot(StepStaged), observation{current: "h-old", pending: "h-other", okta: []OktaSecret{old, created}}, "pending/svc no longer holds the secret the rotation staged"},
		{"proven, promoted by a run that died before recording it: go on", rot(StepProven), observation{current: "h-new", okta: []OktaSecret{old, created}}, ""},
		{"promoted, Vault holds the new secret: go on", rot(StepPromoted), observation{current: "h-new", okta: []OktaSecret{old, created}}, ""},
		{"promoted, rolled back to the old secret: abandon", rot(StepPromoted), observation{current: "h-old", okta: []OktaSecret{old, created}}, "it holds the secret the rotation replaced (ocs-old) again, as after a rollback"},
		{"deactivated, a secret made by hand: abandon", rot(StepDeactivated), observation{current: "h-hand", okta: []OktaSecret{byHand, created}}, "another of the app's secrets (ocs-hand), as after a rotation by hand"},
		{"verified, a secret Okta does not list: abandon", rot(StepVerified), observation{current: "h-elsewhere", okta: []OktaSecret{created}}, "it holds a secret Okta does not list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := drift("svc", tc.rot, tc.ob)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("drift: %q, want %q", got, tc.want)
			}
		})
	}
}

// A new secret that fails its proof alone gets the old one activated
// again, and the next try waits a whole overlap: consumers still on the
// old secret are cut off once per overlap at most, not at every check.
func TestAutoRotateWaitsAnOverlapAfterAFailedProof(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault emulator.Fault
	}{
		{"the token endpoint down during the proof", emulator.Fault{Kind: emulator.FaultStatus, Status: 503}},
		{"the token endpoint answering HTML during the proof", emulator.Fault{Kind: emulator.FaultHTML}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOktaWorld(t)
			if _, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true}); err != nil {
				t.Fatal(err)
			}
			w.clock.Advance(8 * 24 * time.Hour)
			w.r.afterAutoStep = func(step string) error {
				if step == StepDeactivated {
					w.emu.InjectFault("0oa-svc", tc.fault)
				}
				return nil
			}
			if _, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{}); err == nil || !strings.Contains(err.Error(), "the old secret was activated again") {
				t.Fatalf("the failed proof: %v", err)
			}
			w.r.afterAutoStep = nil
			w.emu.ClearFaults()
			w.clock.Advance(time.Hour)
			rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
			if err != nil || rep.Step != StepPromoted || !rep.Waiting.Equal(w.clock.Now().Add(-time.Hour).Add(7*24*time.Hour)) || !w.activeInOkta("Svc-Secret-2026") {
				t.Fatalf("an hour later: %+v %v; want it waiting a new overlap, the old secret active", rep, err)
			}
			w.clock.Advance(7 * 24 * time.Hour)
			if rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{}); err != nil || rep.Step != StepDone {
				t.Fatalf("after the new overlap: %+v %v", rep, err)
			}
		})
	}
}
