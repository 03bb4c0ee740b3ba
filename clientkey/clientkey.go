package clientkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // registers crypto.SHA256 for thumbprints
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// The algorithms a key signs with.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// MinRSABits is the smallest RSA key accepted.
const MinRSABits = 2048

// AssertionLifetime is how far ahead of its iat a client assertion expires:
// short, as RFC 7523 and Okta ask (Okta refuses more than an hour).
const AssertionLifetime = 5 * time.Minute

// AssertionType is the client_assertion_type of a JWT client assertion.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Key is a client's private key with its algorithm and key ID. Its fields
// hold no printable secret: fmt shows the algorithm, key ID and fingerprint.
type Key struct {
	// Alg is RS256 or ES256.
	Alg string
	// KeyID is the kid sent in an assertion's header and in the JWK.
	KeyID string

	private crypto.Signer
}

// Generate makes a new key for alg (RS256: RSA 2048; ES256: EC P-256). Its
// KeyID is the RFC 7638 thumbprint of its public key.
func Generate(alg string) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, MinRSABits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("unsupported key algorithm %q: use %s or %s", alg, RS256, ES256)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return newKey(priv, "")
}

// Parse reads a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC). kid is its
// key ID; empty means the RFC 7638 thumbprint. It refuses RSA keys under
// 2048 bits and EC keys on curves other than P-256. Its errors never quote
// the key.
func Parse(pemBytes []byte, kid string) (*Key, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted: give it unencrypted (it is kept in Vault)")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: malformed key", strings.ToLower(block.Type))
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T: use RSA (%d bits or more) or EC P-256", parsed, MinRSABits)
	}
	return newKey(signer, kid)
}

func newKey(priv crypto.Signer, kid string) (*Key, error) {
	k := &Key{private: priv}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if bits := p.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too short: use %d bits or more", bits, MinRSABits)
		}
		k.Alg = RS256
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("EC key on curve %s is not supported: use P-256", p.Curve.Params().Name)
		}
		k.Alg = ES256
	default:
		return nil, fmt.Errorf("unsupported private key type %T: use RSA (%d bits or more) or EC P-256", priv, MinRSABits)
	}
	if kid == "" {
		kid = k.thumbprint()
	}
	k.KeyID = kid
	return k, nil
}

func (k *Key) thumbprint() string {
	jwk := jose.JSONWebKey{Key: k.private.Public()}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		// Only unsupported key types fail, and newKey admits none.
		panic("clientkey: thumbprint: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// Fingerprint is the public key's RFC 7638 SHA-256 thumbprint,
// base64url: safe to show, and the same on the provider's side.
func (k *Key) Fingerprint() string { return k.thumbprint() }

// PEM returns the private key as PKCS#8 PEM, as a secret.
func (k *Key) PEM() secret.Value {
	der, err := x509.MarshalPKCS8PrivateKey(k.private)
	if err != nil {
		panic("clientkey: marshal key: " + err.Error())
	}
	return secret.New(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
}

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.private.Public() }

// PublicJWK is the public key as a JWK with kid, alg and use "sig".
func (k *Key) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.KeyID, Algorithm: k.Alg, Use: "sig"}
}

// JWKS is the JWKS document ({"keys":[…]}) holding the public JWK, as a
// provider registers it.
func (k *Key) JWKS() []byte {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.PublicJWK()}})
	if err != nil {
		panic("clientkey: marshal JWKS: " + err.Error())
	}
	return b
}

// String shows what is safe: the algorithm, key ID and fingerprint.
func (k *Key) String() string {
	if k == nil {
		return "<no key>"
	}
	return fmt.Sprintf("%s key %s (fingerprint %s)", k.Alg, k.KeyID, k.Fingerprint())
}

// GoString implements fmt.GoStringer so that %#v shows no key material.
func (k *Key) GoString() string { return k.String() }

// Format implements fmt.Formatter: no verb shows the key material.
func (k *Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Claims are the claims of a client assertion (RFC 7523 §3).
type Claims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ID       string `json:"jti"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

// Assertion signs a client assertion for clientID at the token endpoint
// audience: iss and sub the client ID, aud the token URL, a random jti,
// iat now and exp AssertionLifetime later, kid in the header. The result
// is a secret for its lifetime: send it, never log it.
func (k *Key) Assertion(clientID, audience string, now time.Time) (string, error) {
	return k.AssertionWith(Claims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: audience,
		IssuedAt: now.Unix(),
		Expiry:   now.Add(AssertionLifetime).Unix(),
	})
}

// AssertionWith signs the given claims, adding a random jti when ID is
// empty. Assertion is the one to use; this serves tests that need claims a
// provider must refuse.
func (k *Key) AssertionWith(c Claims) (string, error) {
	if c.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("assertion jti: %w", err)
		}
		c.ID = hex.EncodeToString(b[:])
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: k.private},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.KeyID))
	if err != nil {
		return "", fmt.Errorf("assertion signer (%s): %w", k.Alg, err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return tok, nil
}
