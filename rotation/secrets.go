package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// SetSecretRequest is `credkeeper secret set`: a client ID and secret, and
// the metadata fields the user gave (empty or zero when not given).
type SetSecretRequest struct {
	Name         string
	ClientID     string
	ClientSecret secret.Value
	Provider     string
	Environment  string
	Owner        string
	IssuedAt     time.Time
	RotateBy     time.Time
}

// SetSecret writes a client ID and secret to credentials/NAME with
// check-and-set against the version it read, and returns the new version.
func SetSecret(ctx context.Context, store *vaultstore.Store, cfg *policies.Config, req SetSecretRequest, now time.Time) (int, error) {
	if req.ClientID == "" {
		return 0, errors.New("the client ID is empty: pass --client-id")
	}
	if req.ClientSecret.IsZero() {
		return 0, errors.New("the client secret is empty: give it on standard input, one line")
	}
	if err := vaultstore.ValidateName(req.Name); err != nil {
		return 0, err
	}
	cas := 0
	var existing *vaultstore.CredentialMetadata
	info, err := store.CredentialInfo(ctx, req.Name)
	switch {
	case err == nil:
		cas = info.Version
		existing = &info.Metadata
	case errors.Is(err, vaultstore.ErrNotFound):
	default:
		return 0, err
	}
	var declared *policies.Credential
	if cfg != nil {
		declared, _ = cfg.Credential(req.Name)
	}
	md := ResolveMetadata(req, existing, declared, cfg, now)
	if md.Provider != "" && cfg != nil {
		if _, ok := cfg.Provider(md.Provider); !ok {
			return 0, fmt.Errorf("unknown provider %q: declare a provider block or use a preset (%v)", md.Provider, policies.PresetNames())
		}
	}
	c := &vaultstore.Credential{Name: req.Name, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Metadata: md}
	return store.PutCredential(ctx, c, cas)
}

// ResolveMetadata decides a credential's metadata on `secret set`. Each
// field comes from the first of: the command line, the credential's block
// in the config, the record already in Vault, and a default (issued today;
// to be rotated a year after issue; the environment of the provider).
// A new issued_at given on the command line moves the default deadline too.
func ResolveMetadata(req SetSecretRequest, existing *vaultstore.CredentialMetadata, declared *policies.Credential, cfg *policies.Config, now time.Time) vaultstore.CredentialMetadata {
	var md vaultstore.CredentialMetadata
	if existing != nil {
		md = *existing
	}
	if declared == nil {
		declared = &policies.Credential{}
	}
	md.Provider = first(req.Provider, declared.Provider, md.Provider)
	md.Environment = first(req.Environment, declared.Environment, md.Environment)
	md.Owner = first(req.Owner, declared.Owner, md.Owner)
	if md.Environment == "" && md.Provider != "" && cfg != nil {
		if p, ok := cfg.Provider(md.Provider); ok {
			md.Environment = p.Environment
		}
	}

	switch {
	case !req.IssuedAt.IsZero():
		md.IssuedAt = req.IssuedAt
	case md.IssuedAt.IsZero():
		md.IssuedAt = now.UTC().Truncate(24 * time.Hour)
	}
	switch {
	case !req.RotateBy.IsZero():
		md.RotateBy = req.RotateBy
	case !declared.RotateBy.IsZero():
		md.RotateBy = declared.RotateBy
	case !req.IssuedAt.IsZero() || md.RotateBy.IsZero():
		md.RotateBy = md.IssuedAt.Add(policies.DefaultRotationPeriod)
	}
	return md
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
