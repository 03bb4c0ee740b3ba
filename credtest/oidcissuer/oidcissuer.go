// Package oidcissuer is an OpenID Connect issuer on loopback for tests: it
// serves discovery (/.well-known/openid-configuration) and its keys (JWKS),
// and mints RS256 ID tokens shaped as GitHub Actions and GitLab CI mint
// theirs, so that Vault's real JWT auth method can log a test's "CI job"
// in. Its notion of now is an injected clock.
//
// It is test scaffolding: the product never imports it, and it must not
// import the product's packages.
package oidcissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultLifetime is how long a minted token is valid: GitHub's and
// GitLab's ID tokens live for minutes.
const DefaultLifetime = 5 * time.Minute

// Issuer is a running OIDC issuer.
type Issuer struct {
	// URL is the issuer's identifier and the base of its discovery
	// document: http://127.0.0.1:PORT.
	URL string

	clock   clockwork.Clock
	key     *rsa.PrivateKey // published in the JWKS
	kid     string
	unknown *rsa.PrivateKey // never published
	serial  atomic.Int64
	srv     *httptest.Server
}

// New starts an issuer on loopback whose tokens are issued at clock's now;
// it stops when the test ends.
func New(t testing.TB, clock clockwork.Clock) *Issuer {
	t.Helper()
	i, err := Start(clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

// Start starts an issuer on loopback whose tokens are issued at clock's
// now; Close stops it.
func Start(clock clockwork.Clock) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	unknown, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	i := &Issuer{clock: clock, key: key, unknown: unknown, kid: keyID(&key.PublicKey)}
	i.srv = httptest.NewServer(http.HandlerFunc(i.serve))
	i.URL = i.srv.URL
	return i, nil
}

// Close stops the issuer.
func (i *Issuer) Close() { i.srv.Close() }

// DiscoveryURL is the URL Vault's oidc_discovery_url takes: the issuer's.
func (i *Issuer) DiscoveryURL() string { return i.URL }

// JWKSURL is where the issuer publishes its keys.
func (i *Issuer) JWKSURL() string { return i.URL + "/.well-known/jwks" }

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	var body any
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		body = map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.JWKSURL(),
			"subject_types_supported":               []string{"public", "pairwise"},
			"response_types_supported":              []string{"id_token"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "environment", "job_workflow_ref", "project_path", "namespace_path", "ref_type", "ref_protected"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid"},
		}
	case "/.well-known/jwks":
		pub := &i.key.PublicKey
		body = map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": i.kid,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
		}}}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// Option changes one minted token.
type Option func(*mint)

type mint struct {
	issuedAt time.Time
	lifetime time.Duration
	unknown  bool
	extra    map[string]any
}

// IssuedAt sets the token's iat and nbf (its exp follows by its lifetime).
func IssuedAt(t time.Time) Option { return func(m *mint) { m.issuedAt = t } }

// Lifetime sets how long after iat the token expires.
func Lifetime(d time.Duration) Option { return func(m *mint) { m.lifetime = d } }

// SignedByUnknownKey signs the token with a key the JWKS does not publish
// (under the published key's kid, as a forger would).
func SignedByUnknownKey() Option { return func(m *mint) { m.unknown = true } }

// With sets claims over the minted ones (a nil value removes a claim):
// another iss, an aud list, a missing ref.
func With(claims map[string]any) Option {
	return func(m *mint) {
		if m.extra == nil {
			m.extra = map[string]any{}
		}
		for k, v := range claims {
			m.extra[k] = v
		}
	}
}

// GitHub is a GitHub Actions job, as its ID token describes it.
type GitHub struct {
	// Repository is OWNER/REPO.
	Repository string
	// Ref is the job's git ref; refs/heads/main when empty.
	Ref string
	// Environment is the job's deployment environment, if any.
	Environment string
	// Audience is the token's aud; https://github.com/OWNER when empty
	// (what hashicorp/vault-action asks for by default).
	Audience string
	// Workflow is the workflow file; .github/workflows/ci.yml when empty.
	Workflow string
}

// GitHubIssuer is the iss of GitHub Actions' real ID tokens; minted
// tokens carry the test issuer's URL instead, which Vault is configured
// to trust.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// MintGitHub mints an ID token with GitHub Actions' claims for job.
func (i *Issuer) MintGitHub(job GitHub, opts ...Option) string {
	owner, _, _ := strings.Cut(job.Repository, "/")
	ref := job.Ref
	if ref == "" {
		ref = "refs/heads/main"
	}
	aud := job.Audience
	if aud == "" {
		aud = "https://github.com/" + owner
	}
	workflow := job.Workflow
	if workflow == "" {
		workflow = ".github/workflows/ci.yml"
	}
	sub := "repo:" + job.Repository + ":ref:" + ref
	if job.Environment != "" {
		sub = "repo:" + job.Repository + ":environment:" + job.Environment
	}
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	n := i.serial.Add(1)
	claims := map[string]any{
		"sub":                   sub,
		"aud":                   aud,
		"ref":                   ref,
		"ref_type":              refType,
		"sha":                   fmt.Sprintf("%040x", n),
		"repository":            job.Repository,
		"repository_owner":      owner,
		"repository_id":         "74",
		"repository_owner_id":   "65",
		"repository_visibility": "private",
		"run_id":                fmt.Sprint(1000 + n),
		"run_number":            fmt.Sprint(n),
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"actor":                 "octocat",
		"actor_id":              "12",
		"workflow":              "ci",
		"workflow_ref":          job.Repository + "/" + workflow + "@" + ref,
		"job_workflow_ref":      job.Repository + "/" + workflow + "@" + ref,
		"event_name":            "push",
		"head_ref":              "",
		"base_ref":              "",
	}
	if job.Environment != "" {
		claims["environment"] = job.Environment
	}
	return i.Mint(claims, opts...)
}

// GitLab is a GitLab CI job, as its ID token describes it.
type GitLab struct {
	// ProjectPath is GROUP/PROJECT.
	ProjectPath string
	// Ref is the branch or tag name; main when empty.
	Ref string
	// RefType is branch (the default) or tag.
	RefType string
	// RefProtected says whether the ref is protected.
	RefProtected bool
	// Environment is the job's environment, if any.
	Environment string
	// Audience is the token's aud (the id_tokens keyword's aud).
	Audience string
}

// MintGitLab mints an ID token with GitLab CI's claims for job.
func (i *Issuer) MintGitLab(job GitLab, opts ...Option) string {
	group := job.ProjectPath
	if k := strings.LastIndex(group, "/"); k >= 0 {
		group = group[:k]
	}
	ref := job.Ref
	if ref == "" {
		ref = "main"
	}
	refType := job.RefType
	if refType == "" {
		refType = "branch"
	}
	refPath := "refs/heads/" + ref
	if refType == "tag" {
		refPath = "refs/tags/" + ref
	}
	n := i.serial.Add(1)
	claims := map[string]any{
		"sub":                "project_path:" + job.ProjectPath + ":ref_type:" + refType + ":ref:" + ref,
		"aud":                job.Audience,
		"namespace_id":       "72",
		"namespace_path":     group,
		"project_id":         "20",
		"project_path":       job.ProjectPath,
		"project_visibility": "private",
		"user_id":            "1",
		"user_login":         "sample-user",
		"pipeline_id":        fmt.Sprint(500 + n),
		"pipeline_source":    "push",
		"job_id":             fmt.Sprint(300 + n),
		"ref":                ref,
		"ref_type":           refType,
		"ref_path":           refPath,
		"ref_protected":      fmt.Sprint(job.RefProtected),
		"runner_id":          1,
		"runner_environment": "gitlab-hosted",
		"sha":                fmt.Sprintf("%040x", n),
		"ci_config_ref_uri":  "gitlab.example.org/" + job.ProjectPath + "//.gitlab-ci.yml@" + refPath,
	}
	if job.Environment != "" {
		claims["environment"] = job.Environment
		claims["environment_protected"] = "false"
	}
	return i.Mint(claims, opts...)
}

// Mint signs claims as an ID token of this issuer, adding iss, iat, nbf,
// exp and jti unless claims (or With) set them.
func (i *Issuer) Mint(claims map[string]any, opts ...Option) string {
	m := mint{issuedAt: i.clock.Now(), lifetime: DefaultLifetime}
	for _, o := range opts {
		o(&m)
	}
	all := map[string]any{
		"iss": i.URL,
		"iat": m.issuedAt.Unix(),
		"nbf": m.issuedAt.Unix(),
		"exp": m.issuedAt.Add(m.lifetime).Unix(),
		"jti": fmt.Sprintf("jti-%d", i.serial.Add(1)),
	}
	for k, v := range claims {
		all[k] = v
	}
	for k, v := range m.extra {
		if v == nil {
			delete(all, k)
			continue
		}
		all[k] = v
	}
	key := i.key
	if m.unknown {
		key = i.unknown
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": i.kid})
	payload, _ := json.Marshal(all)
	signing := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err) // a 2048-bit key signs any digest
	}
	return signing + "." + b64(sig)
}

func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return b64(sum[:8])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
