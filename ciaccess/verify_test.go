package ciaccess_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/ciaccess"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest/ciworld"
	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/credtest/tokenreview"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

// fixture is a configuration with the three identities of the
// documentation, its roles and policies written to the real Vault as
// credkeeper generates them (policies.CIRoles), and published tokens.
type fixture struct {
	env   *vaulttest.Env
	world *ciworld.World
	clock *clockwork.FakeClock
	cfg   *config.Config
	roles []policies.CIRole
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := vaulttest.New(t)
	// Vault checks a JWT's expiry against its own clock.
	clock := clockwork.NewFakeClockAt(time.Now())
	world := ciworld.New(t, env, clock)
	hcl := fmt.Sprintf(`
vault {
  address = %q
  mount   = %q
  prefix  = %q
%s}
vault_policies {
  daemon   = %q
  operator = %q
  ci       = %q
  auditor  = %q
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
credential "dmptool-a" {
  provider = "dmptool"
}
ci_access "deploy-prod" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "nightly-dmp" {
  credentials = ["dmptool-*"]
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = true
  }
}
ci_access "reporting" {
  credentials = ["ctrp-stage"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`, env.Addr, env.Mount, env.Prefix, world.VaultHCL(),
		env.PolicyName("daemon"), env.PolicyName("operator"), env.PolicyName("ci"), env.PolicyName("auditor"))
	cfg, diags := config.Parse([]byte(hcl), "ci.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	f := &fixture{env: env, world: world, clock: clock, cfg: cfg, roles: policies.CIRoles(cfg)}
	ctx := context.Background()
	root := env.Store(t)
	for _, r := range f.roles {
		if err := root.WritePolicy(ctx, r.PolicyName, r.Policy); err != nil {
			t.Fatal(err)
		}
		if err := root.PutAuthRole(ctx, r.Mount, r.Name, r.Data); err != nil {
			t.Fatalf("write role %s: %v", r.Path(), err)
		}
	}
	for _, c := range cfg.Credentials {
		if _, err := root.PutCredential(ctx, &vaultstore.Credential{Name: c.Name, ClientID: "id", ClientSecret: secret.New("client-secret-" + c.Name)}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutState(ctx, c.Name, &vaultstore.State{LastClass: "ok"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	// dmptool-a's token is not published yet: reading it is still allowed.
	for _, name := range []string{"ctrp-prod", "ctrp-stage"} {
		if _, err := root.PutToken(ctx, name, &vaultstore.Token{AccessToken: secret.New("access-" + name), TokenType: "Bearer",
			IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// role is the generated role named name.
func (f *fixture) role(t *testing.T, name string) policies.CIRole {
	t.Helper()
	for _, r := range f.roles {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("the configuration generates no role %q", name)
	return policies.CIRole{}
}

func (f *fixture) verify(t *testing.T, access, jwt string) *ciaccess.Report {
	t.Helper()
	rep, err := ciaccess.Verify(context.Background(), ciaccess.Input{
		Config: f.cfg, Access: access, JWT: secret.New(jwt), Vault: f.env.Config(), Now: f.clock.Now(),
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), jwt) {
		t.Fatal("the report holds the JWT")
	}
	for _, part := range strings.Split(jwt, ".") {
		if len(part) > 16 && strings.Contains(string(b), part) {
			t.Fatal("the report holds a part of the JWT")
		}
	}
	if strings.Contains(string(b), "client-secret-") || strings.Contains(string(b), "access-ctrp") {
		t.Fatal("the report holds a secret it read")
	}
	return rep
}

func TestTheBoundJobsReadExactlyTheirTokens(t *testing.T) {
	f := newFixture(t)
	iss := f.world.Issuer
	cases := []struct {
		access, jwt string
		readable    []string
	}{
		{"deploy-prod", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}), []string{"ctrp-prod"}},
		{"nightly-dmp", iss.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", RefProtected: true, Audience: f.env.Addr}), []string{"dmptool-a"}},
		{"reporting", f.world.Kube.Issue(tokenreview.ServiceAccount{Namespace: "reporting", Name: "accrual-sync", UID: "u1"}), []string{"ctrp-stage"}},
	}
	for _, c := range cases {
		t.Run(c.access, func(t *testing.T) {
			rep := f.verify(t, c.access, c.jwt)
			if !rep.LoggedIn || rep.Refusal != nil {
				t.Fatalf("not logged in: %+v", rep.Refusal)
			}
			if !rep.Exact || len(rep.Unexpected()) != 0 {
				t.Errorf("not exact: %+v", rep.Unexpected())
			}
			if !slices.Equal(rep.Readable, c.readable) || !slices.Equal(rep.Expected, c.readable) {
				t.Errorf("readable %v, expected %v; want %v", rep.Readable, rep.Expected, c.readable)
			}
			// Every declared credential's secret, pending pair, state and
			// ledger, every other token, and the listing were tried and refused.
			refused := 0
			for _, rd := range rep.Reads {
				if !rd.Allowed {
					refused++
				}
			}
			if want := 3*5 + 2 - len(c.readable); refused != want {
				t.Errorf("%d reads refused, want %d: %+v", refused, want, rep.Reads)
			}
		})
	}
}

func TestEveryRefusalIsExplainedWithTheClaimsValues(t *testing.T) {
	f := newFixture(t)
	iss := f.world.Issuer
	other := oidcissuer.New(t, f.clock)
	right := oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}
	with := func(change func(*oidcissuer.GitHub)) oidcissuer.GitHub { j := right; change(&j); return j }
	cases := []struct {
		name, access, jwt string
		cause             ciaccess.Cause
		says              []string
	}{
		{"a job of another repository", "deploy-prod",
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Repository = "cancer-center/other" })),
			ciaccess.CauseClaim, []string{"claim repository", `expects "cancer-center/accrual-sync"`, `holds "cancer-center/other"`}},
		{"a job of another branch", "deploy-prod",
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Ref = "refs/heads/feature" })),
			ciaccess.CauseClaim, []string{"claim ref", `expects "refs/heads/main"`, `holds "refs/heads/feature"`}},
		{"a wrong audience", "deploy-prod",
			iss.MintGitHub(with(func(j *oidcissuer.GitHub) { j.Audience = "sts.amazonaws.com" })),
			ciaccess.CauseAudience, []string{"wrong audience", `"sts.amazonaws.com"`, `"https://github.com/cancer-center"`}},
		{"an expired JWT", "deploy-prod",
			iss.MintGitHub(right, oidcissuer.IssuedAt(f.clock.Now().Add(-time.Hour))),
			ciaccess.CauseExpired, []string{"expired at " + f.clock.Now().Add(-time.Hour+oidcissuer.DefaultLifetime).UTC().Format(time.RFC3339)}},
		{"a JWT signed by a key the issuer does not publish", "deploy-prod",
			iss.MintGitHub(right, oidcissuer.SignedByUnknownKey()),
			ciaccess.CauseUnknownKey, []string{"unknown issuer or key", iss.URL}},
		{"a JWT of an issuer Vault does not trust", "deploy-prod",
			other.MintGitHub(right),
			ciaccess.CauseUnknownKey, []string{"unknown issuer or key", other.URL}},
		{"a JWT of the trusted key naming another issuer", "deploy-prod",
			iss.MintGitHub(right, oidcissuer.With(map[string]any{"iss": oidcissuer.GitHubIssuer})),
			ciaccess.CauseIssuer, []string{"unknown issuer", oidcissuer.GitHubIssuer}},
		{"an unprotected GitLab ref", "nightly-dmp",
			iss.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", Ref: "feature", Audience: f.env.Addr}),
			ciaccess.CauseClaim, []string{"claim ref_protected", `expects "true"`, `holds "false"`}},
		{"another service account", "reporting",
			f.world.Kube.Issue(tokenreview.ServiceAccount{Namespace: "reporting", Name: "intruder", UID: "u2"}),
			ciaccess.CauseServiceAccount, []string{`"accrual-sync"`, `"intruder"`}},
		{"a service account token the cluster does not vouch for", "reporting",
			tokenreview.ServiceAccountJWT(tokenreview.ServiceAccount{Namespace: "reporting", Name: "accrual-sync", UID: "u3"}),
			ciaccess.CauseUnauthenticated, []string{"did not authenticate"}},
		{"not a JWT", "deploy-prod", "not-a-jwt-at-all-0123456789",
			ciaccess.CauseNotAJWT, []string{"not a JWT"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := f.verify(t, c.access, c.jwt)
			if rep.LoggedIn || rep.Exact || rep.Refusal == nil {
				t.Fatalf("the login was not refused: %+v", rep)
			}
			if rep.Refusal.Cause != c.cause {
				t.Errorf("cause %q, want %q (%s; Vault: %s)", rep.Refusal.Cause, c.cause, rep.Refusal.Explanation, rep.Refusal.Vault)
			}
			for _, s := range c.says {
				if !strings.Contains(rep.Refusal.Explanation, s) {
					t.Errorf("the explanation %q does not say %q", rep.Refusal.Explanation, s)
				}
			}
		})
	}
}

// A policy widened in Vault by hand (here: the job may read its
// credential's client secret and another token) is reported, read by read.
func TestAccessWiderThanTheConfigurationIsReported(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role := f.role(t, "deploy-prod")
	data := f.env.Mount + "/data/" + f.env.Prefix
	wider := role.Policy + fmt.Sprintf("path %q { capabilities = [\"read\"] }\npath %q { capabilities = [\"read\"] }\n",
		data+"/credentials/ctrp-prod", data+"/tokens/ctrp-stage")
	if err := f.env.Store(t).WritePolicy(ctx, role.PolicyName, wider); err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t, "deploy-prod", f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"}))
	if !rep.LoggedIn || rep.Exact {
		t.Fatalf("logged in %v, exact %v: want logged in and not exact", rep.LoggedIn, rep.Exact)
	}
	var got []string
	for _, rd := range rep.Unexpected() {
		got = append(got, rd.What+" "+rd.Credential)
	}
	if want := []string{"client secret ctrp-prod", "token ctrp-stage"}; !slices.Equal(got, want) {
		t.Errorf("unexpected reads %q, want %q", got, want)
	}
}

// A role missing from Vault (the configuration not applied yet) is
// explained as such.
func TestARoleNotWrittenYetIsExplained(t *testing.T) {
	f := newFixture(t)
	if err := f.env.Store(t).DeleteAuthRole(context.Background(), f.world.GitHubMount, "deploy-prod"); err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t, "deploy-prod", f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"}))
	if rep.Refusal == nil || rep.Refusal.Cause != ciaccess.CauseRole || !strings.Contains(rep.Refusal.Explanation, "apply") {
		t.Errorf("refusal = %+v", rep.Refusal)
	}
}

func TestAnUndeclaredBlockIsAnError(t *testing.T) {
	f := newFixture(t)
	_, err := ciaccess.Verify(context.Background(), ciaccess.Input{Config: f.cfg, Access: "nope", JWT: secret.New("x.y.z"), Vault: f.env.Config()})
	if err == nil || !strings.Contains(err.Error(), `no ci_access "nope"`) {
		t.Errorf("err = %v", err)
	}
}

// Attack: the role in Vault was widened by hand to let any branch of the
// repository log in (its ref binding dropped). A job of main still reads
// exactly its token, so verify says "exact", while a job of any feature
// branch now reads the prod token too.
func TestVerifyIsNotExactWhenTheVaultRoleLetsAnyBranchLogIn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role := f.role(t, "deploy-prod")
	wider := map[string]any{}
	for k, v := range role.Data {
		wider[k] = v
	}
	wider["bound_claims"] = map[string]any{"repository": "cancer-center/accrual-sync"}
	if err := f.env.Store(t).PutAuthRole(ctx, role.Mount, role.Name, wider); err != nil {
		t.Fatal(err)
	}
	feature := f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/feature"})
	if _, err := vaultstore.LoginJWT(ctx, f.env.Addr, role.Mount, role.Name, feature); err != nil {
		t.Fatalf("setup: the feature branch should now log in: %v", err)
	}
	rep := f.verify(t, "deploy-prod", f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}))
	if rep.Exact {
		t.Errorf("verify reports exact access, yet the Vault role binds %v instead of %v: any branch reads ctrp-prod's token", wider["bound_claims"], role.Data["bound_claims"])
	}
}

// Attack: the role's login gets a second policy, which reads the tokens of
// another credkeeper prefix on the same KV mount. verify probes only the
// configuration's own credentials, so it says "exact".
func TestVerifyIsNotExactWhenTheLoginReadsAnotherPrefixsTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	root := f.env.Store(t)
	role := f.role(t, "deploy-prod")
	extra := f.env.PolicyName("extra")
	if err := root.WritePolicy(ctx, extra, fmt.Sprintf("path %q { capabilities = [\"read\", \"list\"] }\n", f.env.Mount+"/data/"+f.env.Prefix+"-other/*")); err != nil {
		t.Fatal(err)
	}
	wider := map[string]any{}
	for k, v := range role.Data {
		wider[k] = v
	}
	wider["token_policies"] = []string{role.PolicyName, extra}
	if err := root.PutAuthRole(ctx, role.Mount, role.Name, wider); err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t, "deploy-prod", f.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}))
	if rep.Exact {
		t.Errorf("verify reports exact access, yet the login carries policies %v, not just %s", wider["token_policies"], role.PolicyName)
	}
}
