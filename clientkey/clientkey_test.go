package clientkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestGenerateThenParseKeepsTheKey(t *testing.T) {
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			k, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if k.Alg != alg || k.KeyID != k.Fingerprint() {
				t.Fatalf("alg %q kid %q fingerprint %q", k.Alg, k.KeyID, k.Fingerprint())
			}
			back, err := Parse([]byte(k.PEM().Reveal()), "")
			if err != nil {
				t.Fatal(err)
			}
			if back.Fingerprint() != k.Fingerprint() || back.Alg != alg {
				t.Errorf("parsed key differs: %v vs %v", back, k)
			}
			named, err := Parse([]byte(k.PEM().Reveal()), "kid-1")
			if err != nil || named.KeyID != "kid-1" {
				t.Errorf("Parse with kid: %v, %v", named, err)
			}
		})
	}
}

func TestParseAcceptsEveryEncodingAndRefusesWeakKeys(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pkcs8 := func(k any) []byte { d, _ := x509.MarshalPKCS8PrivateKey(k); return d }
	sec1 := func(k *ecdsa.PrivateKey) []byte { d, _ := x509.MarshalECPrivateKey(k); return d }
	cases := []struct {
		name, typ string
		der       []byte
		wantErr   string
	}{
		{"an RSA key in PKCS#8 is read", "PRIVATE KEY", pkcs8(rsaKey), ""},
		{"an RSA key in PKCS#1 is read", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), ""},
		{"an EC key in PKCS#8 is read", "PRIVATE KEY", pkcs8(ecKey), ""},
		{"an EC key in SEC1 is read", "EC PRIVATE KEY", sec1(ecKey), ""},
		{"a 1024-bit RSA key is refused", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(smallRSA), "RSA key of 1024 bits is too short: use 2048 bits or more"},
		{"a P-384 key is refused", "EC PRIVATE KEY", sec1(p384), "EC key on curve P-384 is not supported: use P-256"},
		{"a public key is refused", "PUBLIC KEY", []byte{1, 2}, `PEM block "PUBLIC KEY" is not a private key`},
		{"garbage in a PEM block is refused", "PRIVATE KEY", []byte("notakey"), "parse private key: malformed key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(pemOf(t, c.typ, c.der), "")
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
	if _, err := Parse([]byte("no pem here"), ""); err == nil {
		t.Error("text without PEM was accepted")
	}
}

func TestAssertionFollowsRFC7523(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			k, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			a, err := k.Assertion("client-1", "https://idp.example/token", now)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(a, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			if kid := tok.Headers[0].KeyID; kid != k.KeyID {
				t.Errorf("kid %q, want %q", kid, k.KeyID)
			}
			var c jwt.Claims
			jwk := k.PublicJWK()
			if err := tok.Claims(jwk.Key, &c); err != nil {
				t.Fatalf("signature does not verify with the public JWK: %v", err)
			}
			if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "client-1", Subject: "client-1",
				AnyAudience: jwt.Audience{"https://idp.example/token"}, Time: now}, 0); err != nil {
				t.Error(err)
			}
			if c.ID == "" || !c.IssuedAt.Time().Equal(now) || c.Expiry.Time().Sub(now) != 5*time.Minute {
				t.Errorf("jti %q iat %v exp %v", c.ID, c.IssuedAt.Time(), c.Expiry.Time())
			}
			b, _ := k.Assertion("client-1", "aud", now)
			if b == a {
				t.Error("two assertions are identical: jti is not random")
			}
		})
	}
}

func TestJWKSHoldsOnlyThePublicKey(t *testing.T) {
	k, err := Generate(RS256)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", k.JWKS(), err)
	}
	jwk := set.Keys[0]
	if jwk["kid"] != k.KeyID || jwk["alg"] != "RS256" || jwk["use"] != "sig" || jwk["kty"] != "RSA" {
		t.Errorf("JWK %v", jwk)
	}
	if _, has := jwk["d"]; has {
		t.Error("JWKS carries the private exponent")
	}
}

func TestKeyNeverPrintsItsPrivateHalf(t *testing.T) {
	k, err := Generate(ES256)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Split(k.PEM().Reveal(), "\n")[1]
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(verb, k) + fmt.Sprintf(verb, struct{ K *Key }{k})
		if strings.Contains(out, body[:20]) || strings.Contains(out, "BEGIN") {
			t.Errorf("%s shows the key: %s", verb, out)
		}
	}
}
