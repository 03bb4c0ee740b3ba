package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// oktaCredentials is an app's client credentials in Okta, through its
// client secrets API (OktaSecrets) or its JWKS API (OktaKeys): each listed
// with the hash that tells which one Vault holds, a secret's
// HashClientSecret or a key's RFC 7638 thumbprint.
type oktaCredentials interface {
	List(ctx context.Context) ([]OktaSecret, error)
	Status(ctx context.Context, id string) (string, error)
	Activate(ctx context.Context, id string) error
	Deactivate(ctx context.Context, id string) error
	Delete(ctx context.Context, id string) error
	app() string
}

func (o *OktaSecrets) app() string { return o.AppID }

// nounOf names what okta rotates: "key" or "secret".
func nounOf(okta oktaCredentials) string {
	if _, ok := okta.(oktaKeyCredentials); ok {
		return "key"
	}
	return "secret"
}

// rotatedNoun is what credentials/NAME holds, "key" or "secret", for a
// dry run, which asks Okta nothing ("secret" when it cannot be read).
func (r *Runner) rotatedNoun(ctx context.Context, name string) string {
	if cur, err := r.Store.GetCredential(ctx, name); cur != nil && cur.HasKey() && (err == nil || errors.Is(err, vaultstore.ErrMalformed)) {
		return "key"
	}
	return "secret"
}

// oktaKeyCredentials is the JWKS API seen as an app's credentials.
type oktaKeyCredentials struct{ *OktaKeys }

func (o oktaKeyCredentials) app() string { return o.AppID }

// List lists the app's keys as credentials, each by its thumbprint.
func (o oktaKeyCredentials) List(ctx context.Context) ([]OktaSecret, error) {
	keys, err := o.OktaKeys.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OktaSecret, 0, len(keys))
	for _, k := range keys {
		out = append(out, OktaSecret{ID: k.ID, Status: k.Status, SecretHash: k.Thumbprint, Created: k.Created})
	}
	return out, nil
}

// oktaAPI is the Okta API that rotates name: the JWKS API when
// credentials/NAME holds a key, the client secrets API otherwise.
func (r *Runner) oktaAPI(ctx context.Context, name string, ar *config.AutoRotate, token secret.Value, transport http.RoundTripper) (oktaCredentials, error) {
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return nil, err
	}
	if cur.HasKey() {
		return oktaKeyCredentials{&OktaKeys{OrgURL: ar.OktaOrgURL, AppID: ar.AppID, Token: token, Transport: transport}}, nil
	}
	return &OktaSecrets{OrgURL: ar.OktaOrgURL, AppID: ar.AppID, Token: token, Transport: transport}, nil
}

// credentialHash is what tells which of the app's credentials c holds: a
// secret's HashClientSecret, or the public thumbprint of its key ("" when
// the key does not parse, which matches nothing Okta lists).
func credentialHash(c *vaultstore.Credential) string {
	if c.HasKey() {
		return keyThumbprint(c.PrivateKey, c.KeyID)
	}
	return HashClientSecret(c.ClientSecret)
}

// pendingCredentialHash is credentialHash of the staged pair.
func pendingCredentialHash(p *vaultstore.Pending) string {
	if !p.PrivateKey.IsZero() {
		return keyThumbprint(p.PrivateKey, p.KeyID)
	}
	return HashClientSecret(p.ClientSecret)
}

func keyThumbprint(pemKey secret.Value, kid string) string {
	k, err := clientkey.Parse([]byte(pemKey.Reveal()), kid)
	if err != nil {
		return ""
	}
	return k.Fingerprint()
}

// stageNewKey makes the rotation's new key pair and registers its public
// key with the app: the kid and public thumbprint are recorded in
// rotations/NAME first, the private key is staged in pending/NAME (the one
// place it waits between steps, so that a run that stops anywhere resumes
// with it), and only then is the public JWK added to Okta, inactive, and
// activated. A key of the rotation's own found in Okta (by its recorded
// thumbprint) is adopted while pending/NAME holds its private key, and
// otherwise retired: without its private key nothing can use it. The app's
// other keys are left alone.
func (r *Runner) stageNewKey(ctx context.Context, name string, okta oktaKeyCredentials, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	for _, s := range ob.okta {
		if s.ID == rot.OldSecretID || rot.NewSecretHash == "" || s.SecretHash != rot.NewSecretHash {
			continue
		}
		if s.SecretHash == ob.pending {
			return r.activateNewKey(ctx, name, okta, rot, s, "found the new key an earlier run added ("+s.ID+")")
		}
		if err := retireOwn(ctx, okta, name, s, ob); err != nil {
			return "", time.Time{}, fmt.Errorf("removing the key an earlier run added and whose private key was lost (%s): %w", s.ID, err)
		}
	}
	key, err := r.stagedOwnKey(ctx, name, rot, ob)
	if err != nil {
		return "", time.Time{}, err
	}
	if key == nil {
		if key, err = r.newStagedKey(ctx, name, rot); err != nil {
			return "", time.Time{}, err
		}
	}
	if err := r.stepDone(keyStaged); err != nil {
		return "", time.Time{}, err
	}
	added, err := okta.Add(ctx, key.PublicJWK(), keyAddedInactive)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("adding the new public key (kid %s) to app %s: %w", key.KeyID, okta.AppID, err)
	}
	if err := r.stepDone(keyAdded); err != nil {
		return "", time.Time{}, err
	}
	s := OktaSecret{ID: added.ID, Status: added.Status, SecretHash: added.Thumbprint}
	if s.SecretHash != rot.NewSecretHash {
		return "", time.Time{}, fmt.Errorf("okta lists the key it added (%s) with another thumbprint than the one sent", added.ID)
	}
	return r.activateNewKey(ctx, name, okta, rot, s, "generated a new key pair (kid "+key.KeyID+"), staged its private key in pending/"+name+", added its public key to Okta ("+added.ID+")")
}

// The moments within the step after StepStarted of a key rotation where a
// test's hook stops a run, as it stops one after a recorded step: the new
// key's thumbprint recorded, its private key staged, its public key added.
const (
	keyRecorded = "key recorded"
	keyStaged   = "key staged"
	keyAdded    = "key added"
)

// keyAddedInactive is the status a new key is added with: it signs
// nothing the token endpoint accepts until it is activated.
const keyAddedInactive = "INACTIVE"

// activateNewKey activates s, the rotation's new key, unless it is active.
func (r *Runner) activateNewKey(ctx context.Context, name string, okta oktaKeyCredentials, rot *vaultstore.Rotation, s OktaSecret, did string) (string, time.Time, error) {
	if s.Status != "ACTIVE" {
		if err := ignoreGone(okta.Activate(ctx, s.ID)); err != nil {
			if st, lerr := okta.Status(ctx, s.ID); lerr != nil || st != "ACTIVE" {
				return "", time.Time{}, fmt.Errorf("activating the new key (%s): %w", s.ID, err)
			}
		}
	}
	rot.Step, rot.NewSecretID = StepStaged, s.ID
	return did + " and activated it", time.Time{}, nil
}

// stagedOwnKey is the key pending/NAME holds when it is the one this
// rotation generated (by its recorded thumbprint): a run that stopped
// after staging it goes on with it.
func (r *Runner) stagedOwnKey(ctx context.Context, name string, rot *vaultstore.Rotation, ob observation) (*clientkey.Key, error) {
	if rot.NewSecretHash == "" || ob.pending != rot.NewSecretHash {
		return nil, nil
	}
	p, err := r.Store.GetPending(ctx, name)
	if err != nil {
		return nil, err
	}
	return clientkey.Parse([]byte(p.PrivateKey.Reveal()), p.KeyID)
}

// newStagedKey generates a key pair with the algorithm of the key in use,
// records its kid and thumbprint in rotations/NAME, and stages it in
// pending/NAME (unchecked: Okta does not know it yet).
func (r *Runner) newStagedKey(ctx context.Context, name string, rot *vaultstore.Rotation) (*clientkey.Key, error) {
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return nil, err
	}
	alg := cur.KeyAlg
	if alg == "" {
		alg = clientkey.RS256
	}
	key, err := clientkey.Generate(alg)
	if err != nil {
		return nil, err
	}
	rot.NewSecretID, rot.NewKeyID, rot.NewSecretHash = "", key.KeyID, key.Fingerprint()
	if err := r.saveRotation(ctx, name, rot); err != nil {
		return nil, err
	}
	if err := r.stepDone(keyRecorded); err != nil {
		return nil, err
	}
	// its events go into the rotation's own record, which it writes next:
	// Stage would write rotations/NAME behind the rotation's back
	_, evs, err := r.stage(ctx, StageRequest{Name: name, ClientID: cur.ClientID, Key: key, Unchecked: true})
	appendEvents(rot, rot.Owner, evs...)
	if err != nil {
		return nil, fmt.Errorf("staging the new key in pending/%s: %w", name, err)
	}
	return key, nil
}
