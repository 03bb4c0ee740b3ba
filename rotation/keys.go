package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/credkeeper/credkeeper/clientkey"
)

// KeygenRequest is `credkeeper keygen`: a new key pair for a credential's
// client, stored as its pair or staged for rotation.
type KeygenRequest struct {
	// SetSecretRequest gives the name, client ID and metadata flags;
	// its ClientSecret and Key are unused.
	SetSecretRequest
	// Alg is clientkey.RS256 or clientkey.ES256 (ES256 when empty).
	Alg string
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
