package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// SetSecretRequest is `credkeeper secret set`: a client ID and secret, and
// the metadata fields the user gave (empty or zero when not given).
type SetSecretRequest struct {
	Name         string
	ClientID     string
	ClientSecret secret.Value
	// Key, instead of ClientSecret, is the client's private key
	// (private_key_jwt).
	Key         *clientkey.Key
	Provider    string
	Environment string
	Owner       string
	IssuedAt    time.Time
	RotateBy    time.Time
	// DropGrant removes a stored user grant instead of keeping it.
	DropGrant bool
}

// SetSecretReport says what SetSecret wrote.
type SetSecretReport struct {
	Version int
	// KeptGrant: the credential holds a user grant's token, carried over
	// to the new version.
	KeptGrant bool
}

// SetSecret writes a client ID and secret to credentials/NAME with
// check-and-set against the version it read. A user grant stored beside
// the old pair is kept unless req.DropGrant.
func SetSecret(ctx context.Context, store *vaultstore.Store, cfg *config.Config, req SetSecretRequest, now time.Time) (*SetSecretReport, error) {
	if req.ClientID == "" {
		return nil, errors.New("the client ID is empty: pass --client-id")
	}
	if req.ClientSecret.IsZero() && req.Key == nil {
		return nil, errors.New("the client secret is empty: give it on standard input, one line")
	}
	if !req.ClientSecret.IsZero() && req.Key != nil {
		return nil, errors.New("a credential holds a client secret or a private key, not both")
	}
	if err := vaultstore.ValidateName(req.Name); err != nil {
		return nil, err
	}
	cas := 0
	var existing *vaultstore.CredentialMetadata
	var cur *vaultstore.Credential
	info, err := store.CredentialInfo(ctx, req.Name)
	switch {
	case err == nil:
		cas = info.Version
		existing = &info.Metadata
	case errors.Is(err, vaultstore.ErrNotFound):
	default:
		return nil, err
	}
	if cas > 0 { // the pair in place may hold a user grant to keep
		cur, err = store.GetCredentialVersion(ctx, req.Name, cas)
		if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) && !errors.Is(err, vaultstore.ErrNotFound) {
			return nil, err
		}
	}
	var declared *config.Credential
	if cfg != nil {
		declared, _ = cfg.Credential(req.Name)
	}
	md := ResolveMetadata(req, existing, declared, cfg, now)
	if md.Provider != "" && cfg != nil {
		if _, ok := cfg.Provider(md.Provider); !ok {
			return nil, fmt.Errorf("unknown provider %q: declare a provider block or use a preset (%v)", md.Provider, config.PresetNames())
		}
	}
	c := &vaultstore.Credential{Name: req.Name, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Metadata: md}
	if req.Key != nil {
		c.PrivateKey, c.KeyID, c.KeyAlg, c.KeyFingerprint = req.Key.PEM(), req.Key.KeyID, req.Key.Alg, req.Key.Fingerprint()
	}
	rep := &SetSecretReport{KeptGrant: carryGrant(c, cur, req.DropGrant)}
	if rep.Version, err = store.PutCredential(ctx, c, cas); err != nil {
		return nil, err
	}
	return rep, nil
}

// carryGrant copies the user grant's token that cur holds (if any) to
// next, a new pair for the same credential, unless drop is set; it reports
// whether it did. A user grant belongs to the person who approved it, not
// to the app's secret: rotating the secret must not sign them out.
func carryGrant(next, cur *vaultstore.Credential, drop bool) bool {
	if drop || cur == nil || cur.AccessToken.IsZero() {
		return false
	}
	next.AccessToken, next.Grant = cur.AccessToken, cur.Grant
	return true
}

// ResolveMetadata decides a credential's metadata on `secret set`. Each
// field comes from the first of: the command line, the credential's block
// in the config, the record already in Vault, and a default (issued today;
// to be rotated a year after issue; the environment of the provider).
// A new issued_at given on the command line moves the default deadline too.
func ResolveMetadata(req SetSecretRequest, existing *vaultstore.CredentialMetadata, declared *config.Credential, cfg *config.Config, now time.Time) vaultstore.CredentialMetadata {
	var md vaultstore.CredentialMetadata
	if existing != nil {
		md = *existing
	}
	if declared == nil {
		declared = &config.Credential{}
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
		md.RotateBy = md.IssuedAt.Add(config.DefaultRotationPeriod)
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
