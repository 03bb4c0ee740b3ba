package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
// Vault prefix; now is a clock the test moves.
type oktaWorld struct {
	t     *testing.T
	r     *Runner
	emu   *emulator.Server
	now   time.Time
	check func(secret string) oauthcheck.Class
}

func newOktaWorld(t *testing.T, secrets ...string) *oktaWorld {
	t.Helper()
	w := &oktaWorld{t: t, now: time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC)}
	w.emu = emulator.New(emulator.Options{APIToken: oktaAPIToken, Now: func() time.Time { return w.now }})
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
	w.r = &Runner{Store: store, Config: cfg, Now: func() time.Time { return w.now }}
	if _, err := store.PutCredential(context.Background(), &vaultstore.Credential{Name: "svc-reporting", ClientID: "0oa-svc", ClientSecret: secret.New(secrets[0]),
		Metadata: vaultstore.CredentialMetadata{Provider: "acme-okta", Rotation: "quarterly", IssuedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), RotateBy: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}}, 0); err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Provider("acme-okta")
	w.check = func(s string) oauthcheck.Class {
		return (&oauthcheck.Checker{}).Check(context.Background(), oauthcheck.Client{ID: "0oa-svc", Secret: secret.New(s)}, p.Endpoint(), time.Time{}, w.now).Class
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
	w.now = time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC)
	rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{})
	if err != nil || rep.Step != StepPromoted || !rep.Waiting.Equal(w.now.Add(7*24*time.Hour)) {
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

	w.now = w.now.Add(7*24*time.Hour + time.Minute)
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
	if rot := w.rotation(); rot.Step != StepDone || !rot.FinishedAt.Equal(w.now) || rot.OldSecretID == rot.NewSecretID || rot.LastError != "" {
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
				w.now = w.now.Add(8 * 24 * time.Hour)
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
				w.now = w.now.Add(8 * 24 * time.Hour)
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

// A secret created in Okta whose record was lost (a crash between the
// creation and the write) is cleaned up, not joined by a third.
func TestAutoRotateDeletesASecretItCreatedButDidNotRecord(t *testing.T) {
	w := newOktaWorld(t)
	ctx := context.Background()
	w.r.afterAutoStep = func(step string) error {
		if step == StepStarted {
			okta := &OktaSecrets{OrgURL: w.r.Config.Credentials[0].AutoRotate.OktaOrgURL, AppID: "0oa-app-svc", Token: secret.New(oktaAPIToken)}
			if _, err := okta.Create(ctx); err != nil {
				t.Fatal(err)
			}
			return errors.New("killed after creating a secret it never stored")
		}
		return nil
	}
	if _, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true}); err == nil {
		t.Fatal("the first run should have been killed")
	}
	w.r.afterAutoStep = nil
	rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Now: true})
	if err != nil || rep.Step != StepPromoted || len(w.emu.AppSecrets("0oa-svc")) != 2 {
		t.Fatalf("resumed: %+v %v, Okta %v", rep, err, w.emu.AppSecrets("0oa-svc"))
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
