package vaultstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

const testPEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"

func TestAKeyCredentialKeepsItsKeyInTheDataAndItsDescriptionInTheMetadata(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	in := &vaultstore.Credential{Name: "okta-svc", ClientID: "0oa-svc", PrivateKey: secret.New(testPEM),
		KeyID: "kid-1", KeyAlg: "ES256", KeyFingerprint: "fp-1",
		Metadata: vaultstore.CredentialMetadata{Provider: "ctrp-stage", Owner: "sec@example.org", IssuedAt: date("2026-03-01"), RotateBy: date("2027-03-01")}}
	if _, err := store.PutCredential(ctx, in, 0); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetCredential(ctx, "okta-svc")
	if err != nil {
		t.Fatal(err)
	}
	if !got.HasKey() || !got.PrivateKey.Equal(in.PrivateKey) || got.KeyID != "kid-1" || got.KeyAlg != "ES256" || !got.ClientSecret.IsZero() {
		t.Fatalf("read back %+v", got)
	}
	want := vaultstore.KeyInfo{Alg: "ES256", ID: "kid-1", Fingerprint: "fp-1"}
	if got.Metadata.Key != want {
		t.Errorf("metadata key %+v, want %+v", got.Metadata.Key, want)
	}
	md, err := env.Root.KVv2("secret").GetMetadata(ctx, env.Prefix+"/credentials/okta-svc")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range md.CustomMetadata {
		if s, _ := v.(string); strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "MIGHAgEA") {
			t.Errorf("custom metadata %s holds the key", k)
		}
	}

	// A metadata write from a declaration (plan's apply) keeps the key's description.
	info, err := store.CredentialInfo(ctx, "okta-svc")
	if err != nil {
		t.Fatal(err)
	}
	decl := got.Metadata
	decl.Key, decl.Owner = vaultstore.KeyInfo{}, "new@example.org"
	if err := store.PutCredentialMetadata(ctx, "okta-svc", decl, info.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if info, _ = store.CredentialInfo(ctx, "okta-svc"); info.Metadata.Key != want || info.Metadata.Owner != "new@example.org" {
		t.Errorf("after a metadata write: %+v", info.Metadata)
	}

	// A secret replacing the key takes its description away.
	next := &vaultstore.Credential{Name: "okta-svc", ClientID: "0oa-svc", ClientSecret: secret.New("s-2"), Metadata: decl}
	if _, err := store.PutCredential(ctx, next, got.Version); err != nil {
		t.Fatal(err)
	}
	if info, _ = store.CredentialInfo(ctx, "okta-svc"); !info.Metadata.Key.IsZero() {
		t.Errorf("a secret credential still describes a key: %+v", info.Metadata.Key)
	}
}

func TestACredentialHoldsASecretOrAKeyNotBoth(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	both := &vaultstore.Credential{Name: "both", ClientID: "c", ClientSecret: secret.New("s"), PrivateKey: secret.New(testPEM), KeyID: "k", KeyAlg: "ES256"}
	if _, err := store.PutCredential(ctx, both, 0); !errors.Is(err, vaultstore.ErrMalformed) {
		t.Errorf("both written: %v", err)
	}
	if _, err := env.Root.KVv2("secret").Put(ctx, env.Prefix+"/credentials/both", map[string]any{"client_id": "c", "client_secret": "s", "private_key": testPEM}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetCredential(ctx, "both"); !errors.Is(err, vaultstore.ErrMalformed) || !strings.Contains(err.Error(), "both a client secret and a private key") {
		t.Errorf("both read: %v", err)
	}
}

func TestAStagedKeyRoundTrips(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	p := &vaultstore.Pending{ClientID: "c", PrivateKey: secret.New(testPEM), KeyID: "k2", KeyAlg: "RS256", KeyFingerprint: "fp2"}
	if _, err := store.PutPending(ctx, "svc", p, 0); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetPending(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if !got.PrivateKey.Equal(p.PrivateKey) || got.KeyID != "k2" || got.KeyAlg != "RS256" || got.KeyFingerprint != "fp2" || !got.ClientSecret.IsZero() {
		t.Errorf("staged key read back as %+v", got)
	}
}
