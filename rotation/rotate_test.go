package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/plan"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// rotationWorld: CTRP Stage in the emulator with the yearly two-secret
// overlap, a credential that publishes its token, and a fresh Vault prefix.
func rotationWorld(t *testing.T) (*Runner, *emulator.Server) {
	t.Helper()
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := parseConfig(t, fmt.Sprintf(`
provider "ctrp-stage" {
  token_url = "%s/oauth2/%s/v1/token"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
  publish_token {}
}
`, srv.URL, emulator.AuthServerStage))
	store := vaulttest.New(t).Store(t)
	r := &Runner{Store: store, Config: cfg, Clock: clockwork.NewFakeClockAt(planNow)}
	emu.AddClient(emulator.Client{ID: "0oa-2026", Secrets: []string{"secret-2026"}})
	if _, err := store.PutCredential(context.Background(), &vaultstore.Credential{Name: "ctrp-stage", ClientID: "0oa-2026", ClientSecret: secret.New("secret-2026"),
		Metadata: vaultstore.CredentialMetadata{Provider: "ctrp-stage", Environment: "stage", IssuedAt: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), RotateBy: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}, 0); err != nil {
		t.Fatal(err)
	}
	return r, emu
}

func TestStagePromoteRollback(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	// CTRP support hands out the new pair; for two weeks both work.
	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})

	res, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("secret-2027")})
	if err != nil || res.Class != oauthcheck.ClassOK {
		t.Fatalf("stage a good pair: %s %v", res.Class, err)
	}
	st, _ := r.Status(ctx, "ctrp-stage")
	if st.Pending == nil || st.Pending.ClientID != "0oa-2027" || st.Pending.LastClass != "ok" || st.CurrentVersion != 1 {
		t.Fatalf("status after stage: %+v", st)
	}

	rep, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{})
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	if rep.Version != 2 || rep.Check.Class != oauthcheck.ClassOK || rep.Token == nil {
		t.Fatalf("promote report: %+v", rep)
	}
	cred, _ := r.Store.GetCredential(ctx, "ctrp-stage")
	if cred.ClientID != "0oa-2027" || !cred.Metadata.IssuedAt.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || !cred.Metadata.RotateBy.Equal(time.Date(2027, 11, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after promote: %s issued %v rotate by %v", cred.ClientID, cred.Metadata.IssuedAt, cred.Metadata.RotateBy)
	}
	tok, err := r.Store.GetToken(ctx, "ctrp-stage")
	if err != nil || tok.CredentialVersion != 2 {
		t.Errorf("the published token comes from the new pair: %+v %v", tok, err)
	}
	if _, err := r.Store.GetPending(ctx, "ctrp-stage"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("pending after promote: %v", err)
	}
	// The old deadline's reminders stop: the deadline moved a year on.
	if p, err := plan.MakePlan(ctx, r.Store, parseConfig(t, "credential \"ctrp-stage\" {\n  provider = \"ctrp-stage\"\n}\n"), planNow); err != nil || len(p.Notes) != 0 {
		t.Errorf("no deadline notice after the rotation: %+v", p.Notes)
	}

	// Roll back: the old pair still works during the overlap.
	back, err := r.Rollback(ctx, "ctrp-stage", RollbackOptions{})
	if err != nil || back.Version != 3 || back.Check.Class != oauthcheck.ClassOK {
		t.Fatalf("rollback: %+v, %v", back, err)
	}
	cred, _ = r.Store.GetCredential(ctx, "ctrp-stage")
	if cred.ClientID != "0oa-2026" || !cred.ClientSecret.Equal(secret.New("secret-2026")) || !cred.Metadata.RotateBy.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after rollback: %s rotate by %v", cred.ClientID, cred.Metadata.RotateBy)
	}

	// Once the overlap ends the old pair is refused: rollback to it is refused too.
	emu.SetSecrets("0oa-2026")
	if _, err := r.Rollback(ctx, "ctrp-stage", RollbackOptions{ToVersion: 2}); err != nil {
		t.Fatalf("rollback to the new pair: %v", err)
	}
	if rep, err := r.Rollback(ctx, "ctrp-stage", RollbackOptions{ToVersion: 1}); err == nil || rep.Check.Class != oauthcheck.ClassInvalidClient || !strings.Contains(err.Error(), "no longer works") {
		t.Errorf("rollback to a refused pair: %+v %v", rep, err)
	}
}

func TestPromoteRefusesAFailedPair(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})
	res, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("typo")})
	if err != nil || res.Class != oauthcheck.ClassInvalidClient {
		t.Fatalf("stage a bad pair: %s %v", res.Class, err)
	}
	if _, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{}); err == nil || !strings.Contains(err.Error(), "the staged pair's last check was invalid_client") {
		t.Fatalf("promote of a refused pair: %v", err)
	}
	if cred, _ := r.Store.GetCredential(ctx, "ctrp-stage"); cred.ClientID != "0oa-2026" || cred.Version != 1 {
		t.Errorf("the current pair must be untouched: %s v%d", cred.ClientID, cred.Version)
	}
	// The refused pair is not sent again by later checks.
	before := emu.Requests("0oa-2027")
	if again, _ := r.CheckPending(ctx, "ctrp-stage"); !again.NotSent || emu.Requests("0oa-2027") != before {
		t.Errorf("a refused staged pair was re-sent")
	}
}

func TestPromoteInterruptedAfterTheWriteIsFinishedByRunningItAgain(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})
	if _, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("secret-2027")}); err != nil {
		t.Fatal(err)
	}
	r.afterPromoteWrite = func() error { return errors.New("the process was killed") }
	_, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{})
	if err == nil || !strings.Contains(err.Error(), "version 2") || !strings.Contains(err.Error(), "run credkeeper rotate promote ctrp-stage again") {
		t.Fatalf("interrupted promote: %v", err)
	}
	if _, err := r.Store.GetPending(ctx, "ctrp-stage"); err != nil {
		t.Fatalf("pending must survive an unfinished promote: %v", err)
	}

	r.afterPromoteWrite = nil
	rep, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{})
	if err != nil || !rep.Resumed || rep.Version != 2 || rep.Token == nil {
		t.Fatalf("promote again: %+v %v", rep, err)
	}
	if info, _ := r.Store.CredentialInfo(ctx, "ctrp-stage"); info.Version != 2 {
		t.Errorf("the resumed promote must not write the pair twice: version %d", info.Version)
	}
	if _, err := r.Store.GetPending(ctx, "ctrp-stage"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("pending after the resumed promote: %v", err)
	}
}

// withGrant stores a user grant's token beside the app's pair, as
// credkeeper authorize does.
func withGrant(t *testing.T, r *Runner) {
	t.Helper()
	ctx := context.Background()
	cur, err := r.Store.GetCredential(ctx, "ctrp-stage")
	if err != nil {
		t.Fatal(err)
	}
	cur.AccessToken = secret.New("user-grant-token")
	cur.Grant = vaultstore.StoredGrant{TokenType: "Bearer", Scope: "read_dmps", CreatedAt: planNow}
	if _, err := r.Store.PutCredential(ctx, cur, cur.Version); err != nil {
		t.Fatal(err)
	}
}

func grantOf(t *testing.T, r *Runner) string {
	t.Helper()
	cur, err := r.Store.GetCredential(context.Background(), "ctrp-stage")
	if err != nil {
		t.Fatal(err)
	}
	if !cur.AccessToken.IsZero() && cur.Grant.Scope != "read_dmps" {
		t.Errorf("the grant's token kept without its description: %+v", cur.Grant)
	}
	return cur.AccessToken.Reveal()
}

// Rotating the app's secret keeps the user grant stored beside it: secret
// set, promote and rollback all carry it over (and say so), unless asked
// to drop it.
func TestRotatingTheAppSecretKeepsTheUserGrant(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	withGrant(t, r)

	rep, err := SetSecret(ctx, r.Store, r.Config, SetSecretRequest{Name: "ctrp-stage", ClientID: "0oa-2026", ClientSecret: secret.New("secret-2026")}, planNow)
	if err != nil || !rep.KeptGrant || grantOf(t, r) != "user-grant-token" {
		t.Fatalf("secret set: %+v %v, grant %q", rep, err, grantOf(t, r))
	}

	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})
	if _, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("secret-2027")}); err != nil {
		t.Fatal(err)
	}
	prom, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{})
	if err != nil || !prom.KeptGrant || grantOf(t, r) != "user-grant-token" {
		t.Fatalf("promote: %+v %v, grant %q", prom, err, grantOf(t, r))
	}

	back, err := r.Rollback(ctx, "ctrp-stage", RollbackOptions{})
	if err != nil || !back.KeptGrant || grantOf(t, r) != "user-grant-token" {
		t.Fatalf("rollback: %+v %v, grant %q", back, err, grantOf(t, r))
	}

	rep, err = SetSecret(ctx, r.Store, r.Config, SetSecretRequest{Name: "ctrp-stage", ClientID: "0oa-2026", ClientSecret: secret.New("secret-2026"), DropGrant: true}, planNow)
	if err != nil || rep.KeptGrant || grantOf(t, r) != "" {
		t.Fatalf("secret set --drop-grant: %+v %v, grant %q", rep, err, grantOf(t, r))
	}
}

// A promote whose metadata write failed (the pair written, its dates not)
// is finished by running it again: the new issued_at and rotate_by land
// too, not only the data.
func TestPromoteFailedInItsMetadataStepIsFinishedByRunningItAgain(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})
	if _, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("secret-2027")}); err != nil {
		t.Fatal(err)
	}
	// A token that may write credentials' data but not their metadata.
	env := vaulttest.New(t)
	policy := fmt.Sprintf(`
path "%[1]s/data/%[2]s/*" { capabilities = ["create", "read", "update"] }
path "%[1]s/metadata/%[2]s/*" { capabilities = ["read", "list"] }
`, r.Store.Mount(), r.Store.Prefix())
	env.Prefix = r.Store.Prefix()
	half := &Runner{Store: env.StoreWithPolicy(t, "no-metadata", policy), Config: r.Config, Clock: r.Clock}
	if _, err := half.Promote(ctx, "ctrp-stage", PromoteOptions{}); !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Fatalf("promote without metadata rights: %v, want permission denied", err)
	}
	if info, _ := r.Store.CredentialInfo(ctx, "ctrp-stage"); info.Version != 2 || info.Metadata.RotateBy.Year() != 2026 {
		t.Fatalf("the data should be written and the metadata not: version %d rotate_by %v", info.Version, info.Metadata.RotateBy)
	}

	rep, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{})
	if err != nil || !rep.Resumed {
		t.Fatalf("promote again: %+v %v", rep, err)
	}
	info, err := r.Store.CredentialInfo(ctx, "ctrp-stage")
	wantIssued := planNow.UTC().Truncate(24 * time.Hour)
	if err != nil || !info.Metadata.IssuedAt.Equal(wantIssued) || !info.Metadata.RotateBy.Equal(wantIssued.Add(365*24*time.Hour)) || info.Version != 2 {
		t.Errorf("after the resumed promote: %+v, %v; want issued %v and rotate_by a year later", info, err, wantIssued)
	}
}

func TestPromoteRefusalOfAStagedKeySaysToRegisterItsJWKS(t *testing.T) {
	cur := &vaultstore.Credential{Version: 3}
	key := &vaultstore.Pending{PrivateKey: secret.New("-----BEGIN PRIVATE KEY-----"), KeyID: "k2", LastClass: "invalid_client"}
	err := promoteRefusal("svc-keys", key, cur, PromoteOptions{})
	if err == nil || !strings.Contains(err.Error(), "register the key's JWKS") || !strings.Contains(err.Error(), "credkeeper keygen svc-keys --stage") || strings.Contains(err.Error(), "stage a pair that works") {
		t.Errorf("a refused key: %v", err)
	}
	pair := &vaultstore.Pending{ClientID: "0oa-new", LastClass: "invalid_client"}
	if err := promoteRefusal("ctrp-stage", pair, cur, PromoteOptions{}); err == nil || !strings.Contains(err.Error(), "stage a pair that works, or pass --force") {
		t.Errorf("a refused secret: %v", err)
	}
	if err := promoteRefusal("svc-keys", key, cur, PromoteOptions{Force: true}); err != nil {
		t.Errorf("forced: %v", err)
	}
}
