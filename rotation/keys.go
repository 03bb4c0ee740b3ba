package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// KeygenRequest is `credkeeper keygen`: a new key pair for a credential's
// client, stored as its pair or staged for rotation.
type KeygenRequest struct {
	// SetSecretRequest gives the name, client ID and metadata flags;
	// its ClientSecret and Key are unused.
	SetSecretRequest
	// Alg is clientkey.RS256 or clientkey.ES256 (ES256 when empty).
	Alg string
	// Force lets a key replace a pair credentials/NAME already holds.
	Force bool
	// Stage puts the key in pending/NAME, unchecked, instead of
	// credentials/NAME: its public half must be registered first, and
	// promote checks it.
	Stage bool
}

// KeygenReport says what Keygen did. JWKS is the document to register at
// the provider; Key's private half stays in Vault and is never shown.
type KeygenReport struct {
	Alg, KeyID, Fingerprint string
	JWKS                    []byte
	// Version is the credentials/NAME version written (zero when staged).
	Version int
	// PendingVersion is the pending/NAME version written (zero when not staged).
	PendingVersion int
}

// Keygen makes a key pair for req.ClientID and stores its private half in
// Vault: as credentials/NAME (with check-and-set, like SetSecret), or with
// req.Stage as pending/NAME, unchecked. It returns the public JWKS.
func (r *Runner) Keygen(ctx context.Context, req KeygenRequest) (*KeygenReport, error) {
	if req.ClientID == "" {
		return nil, errors.New("the client ID is empty: pass --client-id")
	}
	if err := r.keygenRefusal(ctx, req); err != nil {
		return nil, err
	}
	alg := req.Alg
	if alg == "" {
		alg = clientkey.ES256
	}
	key, err := clientkey.Generate(alg)
	if err != nil {
		return nil, err
	}
	rep := &KeygenReport{Alg: key.Alg, KeyID: key.KeyID, Fingerprint: key.Fingerprint(), JWKS: key.JWKS()}
	if req.Stage {
		if _, err := r.Stage(ctx, StageRequest{Name: req.Name, ClientID: req.ClientID, Key: key, RotateBy: req.RotateBy, Unchecked: true}); err != nil {
			return nil, fmt.Errorf("stage the new key: %w", err)
		}
		p, err := r.Store.GetPending(ctx, req.Name)
		if err != nil {
			return nil, err
		}
		rep.PendingVersion = p.Version
		return rep, nil
	}
	set := req.SetSecretRequest
	set.ClientSecret, set.Key = set.ClientSecret.Redacted(), key
	sr, err := SetSecret(ctx, r.Store, r.config(), set, r.now())
	if err != nil {
		return nil, err
	}
	rep.Version = sr.Version
	return rep, nil
}

// keygenRefusal says why a key for req may not be written (nil when it
// may): its provider (req.Provider, else the credential's block) does not
// use private_key_jwt, or, without Stage and Force, credentials/NAME
// already holds a working pair a new key would replace.
func (r *Runner) keygenRefusal(ctx context.Context, req KeygenRequest) error {
	name, provName := req.Name, req.Provider
	if provName == "" {
		if decl, ok := r.config().Credential(name); ok {
			provName = decl.Provider
		}
	}
	if prov, ok := r.config().Provider(provName); ok && provName != "" && prov.AuthStyle != config.AuthStylePrivateKeyJWT {
		if _, preset := config.Preset(provName); preset && !prov.KeyAuth {
			return fmt.Errorf("provider %s cannot take keys (it does not accept private_key_jwt): store a client secret with credkeeper secret set %s", provName, name)
		}
		return fmt.Errorf("provider %s does not use private_key_jwt: set auth_style = \"private_key_jwt\" in its provider block before credkeeper keygen %s", provName, name)
	}
	if req.Stage || req.Force {
		return nil
	}
	cur, err := r.Store.GetCredential(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil
	}
	if err != nil && cur == nil {
		return err
	}
	if !cur.ClientSecret.IsZero() || !cur.PrivateKey.IsZero() {
		return fmt.Errorf("credentials/%s already holds a pair: a new key would replace it before the provider knows the key; stage one with credkeeper keygen %s --stage, register its JWKS, then credkeeper rotate promote %s (or pass --force to replace it)", name, name, name)
	}
	return nil
}
