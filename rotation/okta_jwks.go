package rotation

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// OktaKeys is Okta's OAuth 2.0 client JSON Web Keys API for one app (Okta
// Management API, /api/v1/apps/{appId}/credentials/jwks): list, add a
// public JWK (at most 50 per app), activate, deactivate and delete (an
// inactive key only). Only public keys travel: the private key never
// leaves Vault. The API token is used as OktaSecrets uses it.
type OktaKeys struct {
	OrgURL string // https://acme.okta.com
	AppID  string
	Token  secret.Value
	// Transport carries the requests (oauthcheck.DefaultTransport when nil); no
	// request follows a redirect.
	Transport http.RoundTripper
}

// OktaKey is one of an app's public keys as Okta lists it.
type OktaKey struct {
	// ID is Okta's id of the key object, which the lifecycle calls take;
	// KeyID is the key's kid.
	ID      string
	KeyID   string
	Status  string // ACTIVE or INACTIVE
	Created time.Time
	JWK     jose.JSONWebKey
	// Thumbprint is the public key's RFC 7638 SHA-256 thumbprint,
	// base64url: what tells which of the app's keys Vault holds.
	Thumbprint string
}

// JWKThumbprint is the RFC 7638 SHA-256 thumbprint of a public JWK,
// base64url without padding ("" for a key it cannot compute).
func JWKThumbprint(k jose.JSONWebKey) string {
	pub := k.Public()
	sum, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// List returns the app's keys.
func (o *OktaKeys) List(ctx context.Context) ([]OktaKey, error) {
	var raw []json.RawMessage
	if err := o.do(ctx, http.MethodGet, "", nil, &raw); err != nil {
		return nil, err
	}
	out := make([]OktaKey, 0, len(raw))
	for _, r := range raw {
		k, err := decodeOktaKey(r)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// Add registers jwk, a public signing key, with status (ACTIVE or
// INACTIVE), and returns it as Okta holds it.
func (o *OktaKeys) Add(ctx context.Context, jwk jose.JSONWebKey, status string) (OktaKey, error) {
	if !jwk.IsPublic() {
		return OktaKey{}, errors.New("only a public key is added to Okta")
	}
	b, err := jwk.MarshalJSON()
	if err != nil {
		return OktaKey{}, fmt.Errorf("encoding the public key: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return OktaKey{}, err
	}
	m["status"] = status
	body, _ := json.Marshal(m)
	var raw json.RawMessage
	if err := o.do(ctx, http.MethodPost, "", body, &raw); err != nil {
		return OktaKey{}, err
	}
	k, err := decodeOktaKey(raw)
	if err == nil && k.ID == "" {
		err = errors.New("okta added the key but its answer carries no id")
	}
	return k, err
}

// Status is the status Okta lists for the key object id ("" when Okta
// lists none): what became of a request whose answer was lost.
func (o *OktaKeys) Status(ctx context.Context, id string) (string, error) {
	list, err := o.List(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range list {
		if k.ID == id {
			return k.Status, nil
		}
	}
	return "", nil
}

// Activate makes a key active: the token endpoint accepts assertions it signs.
func (o *OktaKeys) Activate(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodPost, "/"+id+"/lifecycle/activate", nil, nil)
}

// Deactivate makes a key inactive: the token endpoint refuses it.
func (o *OktaKeys) Deactivate(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodPost, "/"+id+"/lifecycle/deactivate", nil, nil)
}

// Delete removes an inactive key.
func (o *OktaKeys) Delete(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodDelete, "/"+id, nil, nil)
}

func (o *OktaKeys) do(ctx context.Context, method, path string, body []byte, out any) error {
	return oktaDo(ctx, o.OrgURL, o.Token, o.Transport, method, o.OrgURL+"/api/v1/apps/"+o.AppID+"/credentials/jwks"+path, body, out)
}

func decodeOktaKey(raw []byte) (OktaKey, error) {
	var meta struct {
		ID      string    `json:"id"`
		KeyID   string    `json:"kid"`
		Status  string    `json:"status"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return OktaKey{}, fmt.Errorf("okta listed a key that is not its JSON: %w", err)
	}
	k := OktaKey{ID: meta.ID, KeyID: meta.KeyID, Status: meta.Status, Created: meta.Created}
	// A key this client cannot read (another key type) keeps no
	// thumbprint: it is never taken for Vault's, so never touched.
	if err := k.JWK.UnmarshalJSON(raw); err == nil {
		k.Thumbprint = JWKThumbprint(k.JWK)
	}
	return k, nil
}
