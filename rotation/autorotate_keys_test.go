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

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify/notifytest"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// keyWorld: an Okta org in the emulator (token endpoint verifying client
// assertions, JWKS API), a key credential svc-keys with auto_rotate, and a
// fresh Vault prefix; clock is a fake clock the test moves.
type keyWorld struct {
	t     *testing.T
	r     *Runner
	emu   *emulator.Server
	clock *clockwork.FakeClock
	old   *clientkey.Key
	admin *OktaKeys
	check func(k *clientkey.Key) oauthcheck.Class
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	w := &keyWorld{t: t, clock: clockwork.NewFakeClockAt(time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC))}
	w.emu = emulator.New(emulator.Options{APIToken: oktaAPIToken, Clock: w.clock})
	srv := httptest.NewServer(w.emu)
	t.Cleanup(srv.Close)
	old, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	w.old = old
	w.emu.AddClient(emulator.Client{ID: "0oa-keys", AppID: "0oa-app-keys", Keys: []emulator.ClientKey{
		{ID: "pks-old", JWK: old.PublicJWK(), Status: emulator.KeyActive, Created: w.clock.Now()},
	}})
	tokenFile := filepath.Join(t.TempDir(), "okta-api-token")
	if err := os.WriteFile(tokenFile, []byte(oktaAPIToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, fmt.Sprintf(`
provider "acme-okta-keys" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "private_key_jwt"
}
rotation_policy "quarterly" {
  period = "90d"
  remind = ["14d"]
}
credential "svc-keys" {
  provider = "acme-okta-keys"
  rotation = "quarterly"
  auto_rotate {
    okta_org_url   = "%[1]s"
    app_id         = "0oa-app-keys"
    api_token_file = %[3]q
    overlap        = "7d"
    start_before   = "14d"
  }
}
`, srv.URL, emulator.AuthServerStage, tokenFile))
	store := vaulttest.New(t).Store(t)
	w.r = &Runner{Store: store, Config: cfg, Clock: w.clock}
	if _, err := store.PutCredential(context.Background(), &vaultstore.Credential{Name: "svc-keys", ClientID: "0oa-keys", PrivateKey: old.PEM(), KeyID: old.KeyID, KeyAlg: old.Alg,
		Metadata: vaultstore.CredentialMetadata{Provider: "acme-okta-keys", Rotation: "quarterly", IssuedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), RotateBy: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}}, 0); err != nil {
		t.Fatal(err)
	}
	w.admin = &OktaKeys{OrgURL: srv.URL, AppID: "0oa-app-keys", Token: secret.New(oktaAPIToken)}
	p, _ := cfg.Provider("acme-okta-keys")
	w.check = func(k *clientkey.Key) oauthcheck.Class {
		return (&oauthcheck.Checker{Clock: w.clock}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-keys", Key: k}, check.EndpointOf(p), time.Time{}, w.clock.Now()).Class
	}
	return w
}

// current is the key credentials/svc-keys holds.
func (w *keyWorld) current() *clientkey.Key {
	w.t.Helper()
	c, err := w.r.Store.GetCredential(context.Background(), "svc-keys")
	if err != nil {
		w.t.Fatal(err)
	}
	k, err := clientkey.Parse([]byte(c.PrivateKey.Reveal()), c.KeyID)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

func (w *keyWorld) rotation() *vaultstore.Rotation {
	w.t.Helper()
	rot, err := w.r.Store.GetRotation(context.Background(), "svc-keys")
	if err != nil {
		w.t.Fatal(err)
	}
	return rot
}

// keys is the app's keys as "KID STATUS".
func (w *keyWorld) keys() []string {
	var out []string
	for _, line := range w.emu.AppKeys("0oa-keys") {
		f := strings.Fields(line)
		out = append(out, f[1]+" "+f[2])
	}
	return out
}

// assertNoKeyMaterial fails when any text holds a private key (PEM, or
// any line of its base64) or the API token.
func assertNoKeyMaterial(t *testing.T, what string, texts []string, keys ...*clientkey.Key) {
	t.Helper()
	needles := []string{oktaAPIToken, "PRIVATE KEY"}
	for _, k := range keys {
		for _, line := range strings.Split(k.PEM().Reveal(), "\n") {
			if len(line) > 16 && !strings.HasPrefix(line, "-----") {
				needles = append(needles, line)
			}
		}
	}
	notifytest.AssertNoSecret(t, what, texts, needles...)
}

// The whole rotation of a key through Okta's JWKS API: a new key pair is
// generated, its public key added and activated, proven, promoted while
// the old key still works; after the overlap the old key is deactivated,
// the new one proven alone, and the old one deleted.
func TestAutoRotateKeyEndToEnd(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	if w.check(w.old) != oauthcheck.ClassOK {
		t.Fatal("the old key works before the rotation")
	}
	dry, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{DryRun: true})
	if err != nil || len(dry.Did) != 7 || !strings.Contains(dry.Did[1], "generate a new key pair") || dry.Did[6] != "delete the old key" || len(w.keys()) != 1 {
		t.Fatalf("a dry run says what a key's rotation does and does nothing: %q %v", dry.Did, err)
	}
	rep, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{})
	if err != nil || rep.Step != StepPromoted || !rep.Waiting.Equal(w.clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	newKey := w.current()
	if newKey.KeyID == w.old.KeyID || newKey.Alg != clientkey.ES256 {
		t.Fatalf("credentials/svc-keys holds a new key of the same algorithm: %v", newKey)
	}
	if got := w.keys(); len(got) != 2 || got[0] != w.old.KeyID+" ACTIVE" || got[1] != newKey.KeyID+" ACTIVE" {
		t.Fatalf("during the overlap Okta holds both keys, active: %v", got)
	}
	if w.check(w.old) != oauthcheck.ClassOK || w.check(newKey) != oauthcheck.ClassOK {
		t.Fatal("during the overlap both keys work")
	}
	rot := w.rotation()
	if rot.OldSecretID != "pks-old" || rot.NewKeyID != newKey.KeyID || rot.NewSecretHash != newKey.Fingerprint() || rot.CredentialVersion != 2 {
		t.Errorf("rotations/svc-keys records the new kid and public thumbprint: %+v", rot)
	}
	if _, err := w.r.Store.GetPending(ctx, "svc-keys"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("the staged key is gone once promoted: %v", err)
	}

	w.clock.Advance(7*24*time.Hour + time.Minute)
	rep2, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{})
	if err != nil || rep2.Step != StepDone {
		t.Fatalf("after the overlap: %+v %v", rep2, err)
	}
	if got := w.keys(); len(got) != 1 || got[0] != newKey.KeyID+" ACTIVE" {
		t.Errorf("Okta holds the new key alone: %v", got)
	}
	if w.check(w.old) != oauthcheck.ClassInvalidClient || w.check(newKey) != oauthcheck.ClassOK {
		t.Error("the old key is refused, the new one works")
	}
	if rot := w.rotation(); rot.Step != StepDone || rot.LastError != "" {
		t.Errorf("rotations/svc-keys: %+v", rot)
	}
	raw, err := w.r.Store.GetRotation(ctx, "svc-keys")
	if err != nil {
		t.Fatal(err)
	}
	assertNoKeyMaterial(t, "the reports and the rotation record", append(append(rep.Did, rep2.Did...), fmt.Sprintf("%+v", *raw)), w.old, newKey)
}

// Killed after any step (and within the step that makes the new key:
// once its thumbprint is recorded, once its private key is staged, once
// its public key is added), and resumed: the end is the same as an
// unbroken run, the app holds at most the old key and one new one at any
// step, and the key credentials/NAME holds always works.
func TestAutoRotateKeyResumesAfterEveryStep(t *testing.T) {
	for _, stop := range []string{StepStarted, keyRecorded, keyStaged, keyAdded, StepStaged, StepProven, StepPromoted, StepDeactivated, StepVerified} {
		t.Run(stop, func(t *testing.T) {
			w := newKeyWorld(t)
			ctx := context.Background()
			w.r.afterAutoStep = func(step string) error {
				if n := len(w.keys()); n > 2 {
					t.Fatalf("after %s Okta holds %d keys", step, n)
				}
				if w.check(w.current()) != oauthcheck.ClassOK {
					t.Fatalf("after %s the key in credentials/svc-keys does not work", step)
				}
				if step == stop {
					return errors.New("the process was killed")
				}
				return nil
			}
			var err error
			for i := 0; i < 3 && err == nil; i++ {
				_, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
				w.clock.Advance(8 * 24 * time.Hour)
			}
			if err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the run was not killed after %s: %v", stop, err)
			}
			w.r.afterAutoStep = nil
			var rep *AutoRotateReport
			for i := 0; i < 3 && (rep == nil || rep.Step != StepDone); i++ {
				if rep, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true}); err != nil {
					t.Fatalf("resumed after %s: %v", stop, err)
				}
				w.clock.Advance(8 * 24 * time.Hour)
			}
			if rep.Step != StepDone {
				t.Fatalf("resumed after %s: %+v", stop, rep)
			}
			cur := w.current()
			if got := w.keys(); len(got) != 1 || got[0] != cur.KeyID+" ACTIVE" || w.check(cur) != oauthcheck.ClassOK || w.check(w.old) != oauthcheck.ClassInvalidClient {
				t.Errorf("the end state: Okta %v, current %s", got, cur.KeyID)
			}
		})
	}
}

// Okta's answer lost after the work (a 500 once the key was added, or
// activated): the lost activation is looked up in Okta's listing and the
// run goes on; after a lost add the next run finds the rotation's own key
// by its recorded thumbprint and goes on with it. Neither adds a second
// new key.
func TestAutoRotateKeyAfterALostAnswer(t *testing.T) {
	for _, op := range []string{emulator.OktaCreate, emulator.OktaActivate} {
		t.Run(op, func(t *testing.T) {
			w := newKeyWorld(t)
			ctx := context.Background()
			w.emu.InjectFault(emulator.OktaFaultKey(op), emulator.Fault{Kind: emulator.FaultDoneThenStatus})
			rep, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
			if op == emulator.OktaCreate {
				if err == nil || w.rotation().Step != StepStarted || !strings.Contains(err.Error(), "adding the new public key") {
					t.Fatalf("the first run stops at started: %v", err)
				}
				assertNoKeyMaterial(t, "the error", []string{err.Error()}, w.old)
				w.emu.ClearFaults()
				rep, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
			}
			if err != nil || rep.Step != StepPromoted {
				t.Fatalf("resumed: %+v %v", rep, err)
			}
			if got := w.keys(); len(got) != 2 || got[1] != w.current().KeyID+" ACTIVE" {
				t.Errorf("Okta holds the old key and the one new key: %v", got)
			}
		})
	}
}

// The app's other keys (another consumer's) are left alone, and a full
// app (Okta's 50 keys) stops the rotation with Okta's words, before
// anything changes in Vault; the staged key waits for the next run.
func TestAutoRotateKeyLeavesOtherKeysAloneAndStopsAtOktasLimit(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	var others []string
	for i := 0; len(w.keys()) < emulator.MaxAppKeys; i++ {
		k, err := clientkey.Generate(clientkey.ES256)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.admin.Add(ctx, k.PublicJWK(), "ACTIVE"); err != nil {
			t.Fatal(err)
		}
		others = append(others, k.KeyID)
	}
	_, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
	if err == nil || !strings.Contains(err.Error(), "maximum of 50") || !strings.Contains(err.Error(), "the old") {
		t.Fatalf("a full app: %v", err)
	}
	if info, _ := w.r.Store.CredentialInfo(ctx, "svc-keys"); info.Version != 1 {
		t.Errorf("credentials/svc-keys changed: version %d", info.Version)
	}
	// The owner makes room: one of the other keys goes.
	list, _ := w.admin.List(ctx)
	last := list[len(list)-1]
	_ = w.admin.Deactivate(ctx, last.ID)
	_ = w.admin.Delete(ctx, last.ID)
	rep, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
	if err != nil || rep.Step != StepPromoted {
		t.Fatalf("with room again: %+v %v", rep, err)
	}
	w.clock.Advance(8 * 24 * time.Hour)
	if rep, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true}); err != nil || rep.Step != StepDone {
		t.Fatalf("after the overlap: %+v %v", rep, err)
	}
	got := strings.Join(w.keys(), "\n")
	for _, kid := range others[:len(others)-1] {
		if !strings.Contains(got, kid+" ACTIVE") {
			t.Errorf("another consumer's key %s was touched:\n%s", kid, got)
		}
	}
	if strings.Contains(got, w.old.KeyID) || !strings.Contains(got, w.current().KeyID+" ACTIVE") {
		t.Errorf("the old key is gone, the new one active:\n%s", got)
	}
}

// A key that changed behind the rotation (credentials/NAME set to another
// key during the overlap) abandons it: the key in use is never deactivated
// or deleted.
func TestAutoRotateKeyAbandonsWhenTheKeyChangesBehindIt(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	rep, err := w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
	if err != nil || rep.Step != StepPromoted {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	promoted := w.current()
	// By hand: another key, registered and set in Vault.
	hand, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.admin.Add(ctx, hand.PublicJWK(), "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	info, _ := w.r.Store.CredentialInfo(ctx, "svc-keys")
	if _, err := w.r.Store.PutCredential(ctx, &vaultstore.Credential{Name: "svc-keys", ClientID: "0oa-keys", PrivateKey: hand.PEM(), KeyID: hand.KeyID, KeyAlg: hand.Alg, Metadata: info.Metadata}, info.Version); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(8 * 24 * time.Hour)
	rep, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true})
	if err != nil || rep.Step != StepAbandoned || !strings.Contains(rep.Abandoned, "no longer holds the key the rotation promoted") {
		t.Fatalf("after the change: %+v %v", rep, err)
	}
	got := strings.Join(w.keys(), "\n")
	for _, k := range []*clientkey.Key{w.old, promoted, hand} {
		if !strings.Contains(got, k.KeyID+" ACTIVE") {
			t.Errorf("key %s was touched:\n%s", k.KeyID, got)
		}
	}
	if w.check(hand) != oauthcheck.ClassOK {
		t.Error("the key set by hand works")
	}

	// A rotation started by hand later removes the key the abandoned one
	// created (nothing holds it), rotates the hand-made key, and leaves
	// the first key, which it neither created nor retired.
	if rep, err = w.r.AutoRotate(ctx, "svc-keys", AutoRotateOptions{Now: true}); err != nil || rep.Step != StepPromoted {
		t.Fatalf("a rotation by hand after the abandonment: %+v %v", rep, err)
	}
	got = strings.Join(w.keys(), "\n")
	if strings.Contains(got, promoted.KeyID) || !strings.Contains(got, w.old.KeyID+" ACTIVE") || !strings.Contains(got, hand.KeyID+" ACTIVE") || !strings.Contains(got, w.current().KeyID+" ACTIVE") {
		t.Errorf("after the new start:\n%s", got)
	}
}
