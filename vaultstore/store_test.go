package vaultstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

func date(s string) time.Time {
	t, err := time.Parse(dates.Layout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCredentialRoundTripKeepsDataAndMetadata(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()

	in := &vaultstore.Credential{
		Name:         "ctrp-stage",
		ClientID:     "0oa1stage",
		ClientSecret: secret.New("stage-secret-1"),
		Metadata: vaultstore.CredentialMetadata{
			Provider: "ctrp-stage", Environment: "stage", Owner: "security@example.org",
			IssuedAt: date("2026-03-01"), RotateBy: date("2027-03-01"),
		},
	}
	v, err := store.PutCredential(ctx, in, 0)
	if err != nil {
		t.Fatalf("PutCredential: %v", err)
	}
	if v != 1 {
		t.Errorf("first version = %d, want 1", v)
	}

	got, err := store.GetCredential(ctx, "ctrp-stage")
	if err != nil {
		t.Fatalf("GetCredential: %v", err)
	}
	if got.ClientID != in.ClientID || !got.ClientSecret.Equal(in.ClientSecret) || got.Version != 1 {
		t.Errorf("GetCredential = id %q version %d, secret equal %v", got.ClientID, got.Version, got.ClientSecret.Equal(in.ClientSecret))
	}
	if got.Metadata != in.Metadata {
		t.Errorf("metadata = %+v, want %+v", got.Metadata, in.Metadata)
	}

	// The metadata is really in KV v2 custom_metadata, where the auditor reads it.
	md, err := env.Root.KVv2("secret").GetMetadata(ctx, env.Prefix+"/credentials/ctrp-stage")
	if err != nil {
		t.Fatal(err)
	}
	if md.CustomMetadata["rotate_by"] != "2027-03-01" || md.CustomMetadata["owner"] != "security@example.org" {
		t.Errorf("custom_metadata = %v", md.CustomMetadata)
	}
	if md.MaxVersions < vaultstore.MinMaxVersions {
		t.Errorf("max_versions = %d, want at least %d", md.MaxVersions, vaultstore.MinMaxVersions)
	}

	// A second version with check-and-set against the first.
	in.ClientSecret = secret.New("stage-secret-2")
	if v, err = store.PutCredential(ctx, in, 1); err != nil || v != 2 {
		t.Fatalf("second PutCredential = %d, %v; want 2, nil", v, err)
	}
	infos, err := store.ListCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Name != "ctrp-stage" || infos[0].Version != 2 || infos[0].Metadata.Owner != "security@example.org" {
		t.Errorf("ListCredentials = %+v", infos)
	}

	if err := store.DeleteCredential(ctx, "ctrp-stage"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetCredential(ctx, "ctrp-stage"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("after delete, GetCredential error = %v, want ErrNotFound", err)
	}
}

func TestStaleWriteIsACASConflict(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	c := &vaultstore.Credential{Name: "dmp", ClientID: "id", ClientSecret: secret.New("one")}
	if _, err := store.PutCredential(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	// Creating it again (cas 0) and writing against a stale version both conflict.
	for _, cas := range []int{0, 5} {
		_, err := store.PutCredential(ctx, c, cas)
		if !errors.Is(err, vaultstore.ErrCASConflict) {
			t.Errorf("PutCredential with cas %d: error = %v, want ErrCASConflict", cas, err)
		}
	}
	st := &vaultstore.State{LastClass: "ok", ConsecutiveFailures: 0}
	if _, err := store.PutState(ctx, "dmp", st, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutState(ctx, "dmp", st, 0); !errors.Is(err, vaultstore.ErrCASConflict) {
		t.Errorf("state write with stale cas: %v, want ErrCASConflict", err)
	}
}

func TestMetadataWriteRefusesWhenMetadataMoved(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	c := &vaultstore.Credential{Name: "x", ClientID: "id", ClientSecret: secret.New("s"), Metadata: vaultstore.CredentialMetadata{Owner: "a@example.org"}}
	if _, err := store.PutCredential(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	info, err := store.CredentialInfo(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	// Someone edits the owner by hand in Vault.
	if err := env.Root.KVv2("secret").PatchMetadata(ctx, env.Prefix+"/credentials/x", api.KVMetadataPatchInput{CustomMetadata: map[string]interface{}{"owner": "b@example.org"}}); err != nil {
		t.Fatal(err)
	}
	err = store.PutCredentialMetadata(ctx, "x", vaultstore.CredentialMetadata{Owner: "c@example.org"}, info.Fingerprint)
	if !errors.Is(err, vaultstore.ErrCASConflict) {
		t.Fatalf("metadata write after a hand edit: %v, want ErrCASConflict", err)
	}
	info2, _ := store.CredentialInfo(ctx, "x")
	if info2.Metadata.Owner != "b@example.org" {
		t.Errorf("owner = %q, want the hand edit kept", info2.Metadata.Owner)
	}
	if err := store.PutCredentialMetadata(ctx, "x", vaultstore.CredentialMetadata{Owner: "c@example.org"}, info2.Fingerprint); err != nil {
		t.Fatalf("metadata write against the current time: %v", err)
	}
}

func TestMissingRecordIsNotFound(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	if _, err := store.GetCredential(ctx, "nope"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("GetCredential: %v, want ErrNotFound", err)
	}
	if _, err := store.CredentialInfo(ctx, "nope"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("CredentialInfo: %v, want ErrNotFound", err)
	}
	if _, err := store.GetToken(ctx, "nope"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("GetToken: %v, want ErrNotFound", err)
	}
	infos, err := store.ListCredentials(ctx)
	if err != nil || len(infos) != 0 {
		t.Errorf("ListCredentials on an empty prefix = %v, %v; want none", infos, err)
	}
}

func TestRecordMissingAFieldIsMalformedAndNamesIt(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	if _, err := env.Root.KVv2("secret").Put(ctx, env.Prefix+"/credentials/half", map[string]interface{}{"client_id": "abc"}); err != nil {
		t.Fatal(err)
	}
	c, err := store.GetCredential(ctx, "half")
	if !errors.Is(err, vaultstore.ErrMalformed) {
		t.Fatalf("error = %v, want ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), "client_secret") || !strings.Contains(err.Error(), "credkeeper secret set half") {
		t.Errorf("error %q should name the missing field and the fix", err)
	}
	if c == nil || c.ClientID != "abc" {
		t.Errorf("the partial record should come back, got %+v", c)
	}
}

func TestRestrictedTokenGetsPermissionDenied(t *testing.T) {
	env := vaulttest.New(t)
	ctx := context.Background()
	owner := env.Store(t)
	c := &vaultstore.Credential{Name: "ctrp-prod", ClientID: "id", ClientSecret: secret.New("prod-secret")}
	if _, err := owner.PutCredential(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.PutToken(ctx, "ctrp-prod", &vaultstore.Token{AccessToken: secret.New("tok"), TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour)}, 0); err != nil {
		t.Fatal(err)
	}

	// A policy that may read published tokens only, as CI's will.
	ci := env.StoreWithPolicy(t, "ci", `path "secret/data/`+env.Prefix+`/tokens/*" { capabilities = ["read"] }`)

	if _, err := ci.GetToken(ctx, "ctrp-prod"); err != nil {
		t.Errorf("CI reads its token: %v", err)
	}
	_, err := ci.GetCredential(ctx, "ctrp-prod")
	if !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Fatalf("CI reading a client secret: %v, want ErrPermissionDenied", err)
	}
	if !strings.Contains(err.Error(), "credentials/ctrp-prod") {
		t.Errorf("error %q should name the path", err)
	}
	if _, err := ci.PutCredential(ctx, c, 1); !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Errorf("CI writing a credential: %v, want ErrPermissionDenied", err)
	}
}

func TestUnreachableVaultFailsFastWithTypedError(t *testing.T) {
	cfg := vaultstore.Config{
		Address: "http://127.0.0.1:1", // nothing listens on port 1
		Auth:    vaultstore.AuthConfig{Token: secret.New("whatever")},
		Timeout: 3 * time.Second,
	}
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open with a token sends no request, yet: %v", err)
	}
	_, err = store.ListCredentials(context.Background())
	if !errors.Is(err, vaultstore.ErrUnreachable) {
		t.Fatalf("list against a closed port: %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q should name the address", err)
	}
	if strings.Contains(err.Error(), "whatever") {
		t.Errorf("error %q shows the token", err)
	}
}

func TestSealedVaultIsTyped(t *testing.T) {
	env, _ := vaulttest.NewPrivate(t)
	store := env.Store(t)
	ctx := context.Background()
	if err := env.Root.Sys().SealWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := store.GetCredential(ctx, "anything")
	if !errors.Is(err, vaultstore.ErrSealed) {
		t.Fatalf("read from a sealed Vault: %v, want ErrSealed", err)
	}
	if !strings.Contains(err.Error(), "unseal") {
		t.Errorf("error %q should say to unseal", err)
	}
}

func TestTokenFromVaultTokenFile(t *testing.T) {
	env := vaulttest.New(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("VAULT_ADDR", env.Addr)
	if err := os.WriteFile(filepath.Join(home, ".vault-token"), []byte(env.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := vaultstore.Open(context.Background(), vaultstore.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatalf("Open from VAULT_ADDR and ~/.vault-token: %v", err)
	}
	if store.Address() != env.Addr {
		t.Errorf("address = %q, want VAULT_ADDR %q", store.Address(), env.Addr)
	}
	if _, err := store.ListCredentials(context.Background()); err != nil {
		t.Errorf("list with the file's token: %v", err)
	}
}

func TestNoTokenAnywhereSaysHowToLogIn(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VAULT_TOKEN", "")
	_, err := vaultstore.Open(context.Background(), vaultstore.Config{Address: "http://127.0.0.1:1"})
	if !errors.Is(err, vaultstore.ErrPermissionDenied) || err == nil || !strings.Contains(err.Error(), "VAULT_TOKEN") {
		t.Fatalf("error = %v, want a hint naming VAULT_TOKEN", err)
	}
}

func TestOtherRecordsRoundTrip(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

	tok := &vaultstore.Token{AccessToken: secret.New("eyJ.access"), TokenType: "Bearer", ExpiresAt: now.Add(time.Hour), Scope: "public", CredentialVersion: 3}
	if _, err := store.PutToken(ctx, "dmptool", tok, 0); err != nil {
		t.Fatal(err)
	}
	// CI reads it with the stock vault CLI's -field=access_token.
	raw, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/tokens/dmptool")
	if err != nil || raw.Data["access_token"] != "eyJ.access" {
		t.Fatalf("raw token record = %v, %v", raw, err)
	}
	gotTok, err := store.GetToken(ctx, "dmptool")
	if err != nil {
		t.Fatal(err)
	}
	if !gotTok.ExpiresAt.Equal(tok.ExpiresAt) || gotTok.CredentialVersion != 3 || gotTok.Scope != "public" || !gotTok.AccessToken.Equal(tok.AccessToken) {
		t.Errorf("token = %+v", gotTok)
	}

	st := &vaultstore.State{LastClass: "invalid_client", LastCheck: now, ConsecutiveFailures: 2, RejectedVersion: 3,
		History:    []vaultstore.CheckSummary{{At: now, Class: "invalid_client", Status: 401, ErrorCode: "invalid_client"}},
		Conditions: []vaultstore.Condition{{Type: "Valid", Status: "False", Reason: "InvalidClient", LastTransition: now}}}
	v, err := store.PutState(ctx, "dmptool", st, 0)
	if err != nil {
		t.Fatal(err)
	}
	gotSt, err := store.GetState(ctx, "dmptool")
	if err != nil {
		t.Fatal(err)
	}
	if gotSt.Version != v || gotSt.RejectedVersion != 3 || len(gotSt.History) != 1 || gotSt.History[0].Status != 401 || !gotSt.Conditions[0].LastTransition.Equal(now) {
		t.Errorf("state = %+v", gotSt)
	}

	p := &vaultstore.Pending{ClientID: "new-id", ClientSecret: secret.New("new-secret"), RotateBy: date("2027-12-01"), StagedAt: now, LastClass: "ok", CheckedAt: now}
	if _, err := store.PutPending(ctx, "dmptool", p, 0); err != nil {
		t.Fatal(err)
	}
	gotP, err := store.GetPending(ctx, "dmptool")
	if err != nil {
		t.Fatal(err)
	}
	if gotP.ClientID != "new-id" || !gotP.ClientSecret.Equal(p.ClientSecret) || !gotP.RotateBy.Equal(p.RotateBy) || !gotP.StagedAt.Equal(now) {
		t.Errorf("pending = %+v", gotP)
	}

	l := &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{{Key: "reminder/dmptool/2027-12-01/14d", Channel: "security", ClaimedAt: now, SentAt: now}}}
	if _, err := store.PutLedger(ctx, "dmptool", l, 0); err != nil {
		t.Fatal(err)
	}
	gotL, err := store.GetLedger(ctx, "dmptool")
	if err != nil || len(gotL.Entries) != 1 || gotL.Entries[0].Key != l.Entries[0].Key {
		t.Errorf("ledger = %+v, %v", gotL, err)
	}
}

func TestDeleteTokenIfRefusesANewerToken(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	tok := &vaultstore.Token{AccessToken: secret.New("t1"), TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour)}
	v1, err := store.PutToken(ctx, "x", tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutToken(ctx, "x", tok, v1); err != nil { // a successor's write
		t.Fatal(err)
	}
	if err := store.DeleteTokenIf(ctx, "x", v1); !errors.Is(err, vaultstore.ErrCASConflict) {
		t.Fatalf("deleting an older version: %v, want a conflict", err)
	}
	if _, err := store.GetToken(ctx, "x"); err != nil {
		t.Errorf("the newer token must survive: %v", err)
	}
	if err := store.DeleteTokenIf(ctx, "x", v1+1); err != nil {
		t.Errorf("deleting the current version: %v", err)
	}
}

// A standby whose cluster has no active node either answers 500 "local
// node not active but active cluster node not found" or redirects to the
// active node it last knew, which is gone. Neither is a sealed Vault nor a
// failing one: the error says the cluster has no active node, on one line.
func TestStandbyWithNoActiveNodeIsTyped(t *testing.T) {
	c := vaulttest.NewCluster(t, 3)
	first := c.Node(c.Active())
	standby := (first + 1) % 3
	store := c.Env(t, standby).Store(t)
	ctx := context.Background()
	c.Kill(t, first)
	c.Kill(t, (first+2)%3)
	// A node that was active answers from its own storage until it notices
	// it lost the quorum and steps down.
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = store.GetCredential(ctx, "anything")
		if errors.Is(err, vaultstore.ErrNoActiveNode) || errors.Is(err, vaultstore.ErrUnreachable) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case errors.Is(err, vaultstore.ErrNoActiveNode):
		if !strings.Contains(err.Error(), "quorum") {
			t.Errorf("error %q should say the cluster lost its quorum or is electing", err)
		}
	case errors.Is(err, vaultstore.ErrUnreachable):
		if !strings.Contains(err.Error(), "is a standby") || !strings.Contains(err.Error(), "active node") {
			t.Errorf("error %q should say the standby sent the request to an active node that did not answer", err)
		}
	default:
		t.Fatalf("a standby with no active node: %v", err)
	}
	if errors.Is(err, vaultstore.ErrSealed) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: not sealed, and on one line", err)
	}
}
