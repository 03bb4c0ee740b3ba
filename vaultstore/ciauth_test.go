package vaultstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest/ciworld"
	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/credtest/tokenreview"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// ciFixture is a Vault holding two credentials with published tokens, and
// the roles and policies credkeeper generates (policies.CIRoles) for three
// ci_access blocks reading ctrp-prod's token: one GitHub repository's main
// branch, one GitLab project's protected refs, one Kubernetes service
// account.
type ciFixture struct {
	env   *vaulttest.Env
	world *ciworld.World
	clock *clockwork.FakeClock
	// roleAt is the role of the block at each auth mount.
	roleAt map[string]string
}

func newCIFixture(t *testing.T) *ciFixture {
	t.Helper()
	env := vaulttest.New(t)
	ctx := context.Background()
	// Vault checks a JWT's expiry against its own clock.
	clock := clockwork.NewFakeClockAt(time.Now())
	world := ciworld.New(t, env, clock)
	root := env.Store(t)
	for _, name := range []string{"ctrp-prod", "ctrp-stage"} {
		if _, err := root.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: "id-" + name, ClientSecret: secret.New("secret-" + name)}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutToken(ctx, name, &vaultstore.Token{AccessToken: secret.New("token-" + name), TokenType: "Bearer",
			IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutState(ctx, name, &vaultstore.State{LastClass: "ok"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf(`
vault {
  address = %q
  mount   = %q
  prefix  = %q
%s}
vault_policies {
  ci = %q
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
ci_access "deploy" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "deploy-gitlab" {
  credentials = ["ctrp-prod"]
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = true
  }
}
ci_access "deploy-pod" {
  credentials = ["ctrp-prod"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`, env.Addr, env.Mount, env.Prefix, world.VaultHCL(), env.PolicyName("ci"))
	cfg, diags := config.Parse([]byte(src), "ci.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f := &ciFixture{env: env, world: world, clock: clock, roleAt: map[string]string{}}
	for _, r := range policies.CIRoles(cfg) {
		if err := root.WritePolicy(ctx, r.PolicyName, r.Policy); err != nil {
			t.Fatal(err)
		}
		if err := root.PutAuthRole(ctx, r.Mount, r.Name, r.Data); err != nil {
			t.Fatalf("write role %s: %v", r.Path(), err)
		}
		f.roleAt[r.Mount] = r.Name
	}
	return f
}

// login opens a store in the fixture's prefix with a CI job's JWT, as the
// role at mount.
func (f *ciFixture) login(method, mount, jwt string) (*vaultstore.Store, error) {
	cfg := f.env.Config()
	cfg.Auth = vaultstore.AuthConfig{Method: method, Mount: mount, Role: f.roleAt[mount], JWT: secret.New(jwt)}
	return vaultstore.Open(context.Background(), cfg)
}

// readsExactlyItsToken fails unless s reads ctrp-prod's token and nothing
// else: not the other credential's token, no client secret, no state.
func readsExactlyItsToken(t *testing.T, s *vaultstore.Store) {
	t.Helper()
	ctx := context.Background()
	tok, err := s.GetToken(ctx, "ctrp-prod")
	if err != nil {
		t.Fatalf("the job cannot read its token: %v", err)
	}
	if tok.AccessToken.Reveal() != "token-ctrp-prod" {
		t.Errorf("the job read another token than ctrp-prod's")
	}
	denied := map[string]func() error{
		"ctrp-stage's token":     func() error { _, err := s.GetToken(ctx, "ctrp-stage"); return err },
		"ctrp-prod's secret":     func() error { _, err := s.GetCredential(ctx, "ctrp-prod"); return err },
		"ctrp-stage's secret":    func() error { _, err := s.GetCredential(ctx, "ctrp-stage"); return err },
		"ctrp-prod's state":      func() error { _, err := s.GetState(ctx, "ctrp-prod"); return err },
		"the credentials' names": func() error { _, err := s.CredentialNames(ctx); return err },
	}
	for what, read := range denied {
		if err := read(); !errors.Is(err, vaultstore.ErrPermissionDenied) {
			t.Errorf("the job reading %s: %v, want permission denied", what, err)
		}
	}
}

func TestAGitHubJobOfTheBoundRepositoryAndRefReadsExactlyItsToken(t *testing.T) {
	f := newCIFixture(t)
	jwt := f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"})
	s, err := f.login(vaultstore.AuthJWT, f.world.GitHubMount, jwt)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	readsExactlyItsToken(t, s)
}

func TestAProtectedGitLabRefOfTheBoundProjectReadsExactlyItsToken(t *testing.T) {
	f := newCIFixture(t)
	jwt := f.world.Issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", RefProtected: true, Audience: f.env.Addr})
	s, err := f.login(vaultstore.AuthJWT, f.world.GitLabMount, jwt)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	readsExactlyItsToken(t, s)
}

func TestLoginJWTUsesTheTokenTheLoginGave(t *testing.T) {
	f := newCIFixture(t)
	jwt := f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"})
	s, err := vaultstore.LoginJWT(context.Background(), f.env.Addr, f.world.GitHubMount, "deploy", jwt)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	// The default prefix is not the fixture's: the read is refused by the
	// policy, which proves the request carried the login's token, not root's.
	if _, err := s.GetToken(context.Background(), "ctrp-prod"); !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Errorf("read under another prefix: %v, want permission denied", err)
	}
}

func TestVaultRefusesEveryJobTheRoleDoesNotBind(t *testing.T) {
	f := newCIFixture(t)
	iss := f.world.Issuer
	other := oidcissuer.New(t, f.clock) // an issuer Vault does not trust
	right := oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}
	with := func(change func(*oidcissuer.GitHub)) oidcissuer.GitHub { j := right; change(&j); return j }
	cases := []struct {
		name   string
		mount  string
		jwt    string
		reason string // a word of Vault's reason
	}{
		{"a job of another repository", f.world.GitHubMount,
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) {
				j.Repository = "cancer-center/other"
				j.Audience = "https://github.com/cancer-center"
			})), "repository"},
		{"a job of another branch", f.world.GitHubMount,
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Ref = "refs/heads/feature" })), "ref"},
		{"a job of a fork's owner, whose audience is its own", f.world.GitHubMount,
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Repository = "mallory/accrual-sync" })), "aud"},
		{"a wrong audience", f.world.GitHubMount,
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Audience = "sts.amazonaws.com" })), "aud"},
		{"an expired JWT", f.world.GitHubMount,
			iss.MintGitHub(right, oidcissuer.IssuedAt(f.clock.Now().Add(-time.Hour))), "expired"},
		{"a JWT signed by a key the issuer does not publish", f.world.GitHubMount,
			iss.MintGitHub(right, oidcissuer.SignedByUnknownKey()), "signature"},
		{"a JWT of an issuer Vault does not trust", f.world.GitHubMount,
			other.MintGitHub(right), "signature"},
		{"a JWT of the trusted key claiming another issuer", f.world.GitHubMount,
			iss.MintGitHub(right, oidcissuer.With(map[string]any{"iss": oidcissuer.GitHubIssuer})), "issuer"},
		{"an unprotected GitLab ref", f.world.GitLabMount,
			iss.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", Ref: "feature", RefProtected: false, Audience: f.env.Addr}), "ref_protected"},
		{"a GitLab job of another project", f.world.GitLabMount,
			iss.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/other", RefProtected: true, Audience: f.env.Addr}), "project_path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.login(vaultstore.AuthJWT, c.mount, c.jwt)
			if err == nil {
				t.Fatal("login succeeded")
			}
			reason, ok := vaultstore.LoginRefusal(err)
			if !ok || !errors.Is(err, vaultstore.ErrLoginRefused) {
				t.Fatalf("err = %v, want a login refusal", err)
			}
			if !strings.Contains(reason, c.reason) {
				t.Errorf("Vault's reason %q does not mention %q", reason, c.reason)
			}
			if strings.Contains(err.Error(), c.jwt) || strings.Contains(err.Error(), strings.Split(c.jwt, ".")[1]) {
				t.Error("the error shows the JWT")
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestKubernetesTheBoundServiceAccountReadsExactlyItsTokenAndAnotherIsRefused(t *testing.T) {
	f := newCIFixture(t)
	good := f.world.Kube.Issue(tokenreview.ServiceAccount{Namespace: "reporting", Name: "accrual-sync", UID: "uid-1"})
	s, err := f.login(vaultstore.AuthKubernetes, f.world.KubernetesMount, good)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	readsExactlyItsToken(t, s)
	if got := f.world.Kube.Reviewed(); len(got) != 1 || got[0] != good {
		t.Errorf("Vault should have asked the TokenReview API about the pod's token once; it asked about %d", len(got))
	}

	for _, sa := range []tokenreview.ServiceAccount{
		{Namespace: "reporting", Name: "intruder", UID: "uid-2"},
		{Namespace: "default", Name: "accrual-sync", UID: "uid-3"},
	} {
		jwt := f.world.Kube.Issue(sa)
		_, err := f.login(vaultstore.AuthKubernetes, f.world.KubernetesMount, jwt)
		reason, ok := vaultstore.LoginRefusal(err)
		if !ok {
			t.Fatalf("%s/%s: err = %v, want a login refusal", sa.Namespace, sa.Name, err)
		}
		if !strings.Contains(reason, "not authorized") {
			t.Errorf("%s/%s: Vault's reason %q", sa.Namespace, sa.Name, reason)
		}
		if strings.Contains(err.Error(), jwt) {
			t.Error("the error shows the JWT")
		}
	}
	// A token the API server does not authenticate is refused too.
	forged := tokenreview.ServiceAccountJWT(tokenreview.ServiceAccount{Namespace: "reporting", Name: "accrual-sync", UID: "uid-1"})
	if _, err := f.login(vaultstore.AuthKubernetes, f.world.KubernetesMount, forged); !errors.Is(err, vaultstore.ErrLoginRefused) {
		t.Errorf("a token the API server does not know: %v, want a login refusal", err)
	}
}

func TestTheCIRolesDoorReadsWritesListsAndDeletesRoles(t *testing.T) {
	f := newCIFixture(t)
	ctx := context.Background()
	root := f.env.Store(t)
	mounts, err := root.AuthMounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := mounts[f.world.GitHubMount]; m.Type != "jwt" || m.Path != f.world.GitHubMount {
		t.Errorf("AuthMounts[%s] = %+v", f.world.GitHubMount, m)
	}
	if m := mounts[f.world.KubernetesMount]; m.Type != "kubernetes" {
		t.Errorf("AuthMounts[%s] = %+v", f.world.KubernetesMount, m)
	}
	jc, err := root.JWTAuthConfig(ctx, f.world.GitHubMount)
	if err != nil {
		t.Fatal(err)
	}
	if jc.BoundIssuer != f.world.Issuer.URL || jc.OIDCDiscoveryURL != f.world.Issuer.DiscoveryURL() {
		t.Errorf("JWTAuthConfig = %+v", jc)
	}
	role, ok, err := root.AuthRole(ctx, f.world.GitHubMount, "deploy")
	if err != nil || !ok {
		t.Fatalf("AuthRole: %v %v", ok, err)
	}
	if role["role_type"] != "jwt" || role["user_claim"] != "repository" {
		t.Errorf("AuthRole = %v", role)
	}
	if _, ok, err := root.AuthRole(ctx, f.world.GitHubMount, "absent"); ok || err != nil {
		t.Errorf("AuthRole of an absent role: %v %v, want false, nil", ok, err)
	}
	if err := root.PutAuthRole(ctx, f.world.GitHubMount, "nightly", role); err != nil {
		t.Fatal(err)
	}
	names, err := root.AuthRoles(ctx, f.world.GitHubMount)
	if err != nil || strings.Join(names, ",") != "deploy,nightly" {
		t.Errorf("AuthRoles = %v, %v", names, err)
	}
	if err := root.DeleteAuthRole(ctx, f.world.GitHubMount, "nightly"); err != nil {
		t.Fatal(err)
	}
	if err := root.DeleteAuthRole(ctx, f.world.GitHubMount, "nightly"); err != nil {
		t.Errorf("deleting a role already gone: %v", err)
	}
	if err := root.DeleteAuthRole(ctx, f.world.GitLabMount, "deploy-gitlab"); err != nil {
		t.Fatal(err)
	}
	if names, err := root.AuthRoles(ctx, f.world.GitLabMount); err != nil || len(names) != 0 {
		t.Errorf("AuthRoles of a mount without roles = %v, %v", names, err)
	}
	if _, err := root.JWTAuthConfig(ctx, "no-such-mount"); err == nil {
		t.Error("JWTAuthConfig of a missing mount succeeded")
	}
}
