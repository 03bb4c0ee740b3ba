// Package ciworld is the world a CI job's login is tested in: the real
// Vault (vaulttest) with Vault's JWT auth method enabled twice, for GitHub
// Actions and for GitLab, trusting a loopback OIDC issuer (oidcissuer), and
// its Kubernetes auth method pointed at a TokenReview stand-in
// (tokenreview), each mounted and configured through Vault's HTTP API as an
// operator would.
//
// It is test scaffolding: the product never imports it. It imports no
// package of the product's but vaultstore's test Vault.
package ciworld

import (
	"fmt"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/credtest/tokenreview"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// World is one test's CI identities and the auth mounts that trust them.
type World struct {
	Env    *vaulttest.Env
	Issuer *oidcissuer.Issuer
	Kube   *tokenreview.API
	// The auth mounts, unique to the test (tests share one Vault):
	// jwt-github-…, jwt-gitlab-…, kubernetes-….
	GitHubMount, GitLabMount, KubernetesMount string
}

// New starts an issuer on clock and a TokenReview stand-in, and enables
// and configures the three auth mounts in env's Vault. Vault checks a
// JWT's expiry against its own clock: clock must stand near it.
func New(t testing.TB, env *vaulttest.Env, clock clockwork.Clock) *World {
	t.Helper()
	w := &World{
		Env:             env,
		Issuer:          oidcissuer.New(t, clock),
		Kube:            tokenreview.New(t),
		GitHubMount:     env.UniqueName("jwt-github"),
		GitLabMount:     env.UniqueName("jwt-gitlab"),
		KubernetesMount: env.UniqueName("kubernetes"),
	}
	env.EnableJWTAuth(t, w.GitHubMount, w.Issuer.DiscoveryURL(), w.Issuer.URL)
	env.EnableJWTAuth(t, w.GitLabMount, w.Issuer.DiscoveryURL(), w.Issuer.URL)
	env.EnableKubernetesAuth(t, w.KubernetesMount, w.Kube.URL)
	return w
}

// VaultHCL is the configuration lines of a vault block that name this
// world's mounts and the issuer they trust.
func (w *World) VaultHCL() string {
	return fmt.Sprintf("  github_jwt_mount = %q\n  gitlab_jwt_mount = %q\n  kubernetes_mount = %q\n  github_issuer    = %q\n  gitlab_issuer    = %q\n",
		w.GitHubMount, w.GitLabMount, w.KubernetesMount, w.Issuer.URL, w.Issuer.URL)
}
