package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/ciaccess"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest/ciworld"
	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// ciVerifyWorld is a configuration with a GitHub ci_access block whose
// role and policy are in the real Vault as credkeeper generates them, and
// two credentials with published tokens. VAULT_TOKEN is root's, as on an
// operator's machine: verify must read with the job's login, not with it.
func ciVerifyWorld(t *testing.T) (*vaulttest.Env, *ciworld.World) {
	t.Helper()
	env := cliEnv(t)
	world := ciworld.New(t, env, clockwork.NewFakeClockAt(time.Now()))
	src := fmt.Sprintf(`vault {
  address = %q
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
ci_access "deploy-prod" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
`, env.Addr, env.Prefix, world.VaultHCL(), env.PolicyName("ci"))
	writeConfig(t, src)
	cfg, diags := config.Parse([]byte(src), "credkeeper.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := context.Background()
	root := env.Store(t)
	for _, r := range policies.CIRoles(cfg) {
		if err := root.WritePolicy(ctx, r.PolicyName, r.Policy); err != nil {
			t.Fatal(err)
		}
		if err := root.PutAuthRole(ctx, r.Mount, r.Name, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ctrp-prod", "ctrp-stage"} {
		if _, err := root.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: "id", ClientSecret: secret.New("secret-" + name)}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutToken(ctx, name, &vaultstore.Token{AccessToken: secret.New("token-" + name), TokenType: "Bearer",
			IssuedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	return env, world
}

// noJWT fails when the output shows the JWT, or any of its three parts.
func noJWT(t *testing.T, r result, jwt string) {
	t.Helper()
	for _, part := range append([]string{jwt}, strings.Split(jwt, ".")...) {
		if len(part) >= 8 && strings.Contains(r.all(), part) {
			t.Fatalf("the output shows the JWT:\n%s", r.all())
		}
	}
}

func TestCIVerifyProvesTheJobReadsExactlyItsToken(t *testing.T) {
	_, world := ciVerifyWorld(t)
	jwt := world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"})
	if err := os.WriteFile("id-token", []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := credkeeper(t, "", "ci", "verify", "deploy-prod", "--jwt-file", "id-token")
	noJWT(t, r, jwt)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	for _, want := range []string{
		`ci_access "deploy-prod": logged in as role deploy-prod at auth/` + world.GitHubMount,
		"reads the token of ctrp-prod\n",
		"refused, as it should be: 11 reads (the tokens of ctrp-stage; every client secret; every pending pair; every state; every ledger; the credential list; the token list)",
		"exact: the job reads what the configuration says and nothing else",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	// The same on standard input, as JSON.
	r = credkeeper(t, jwt+"\n", "ci", "verify", "deploy-prod", "--jwt", "-", "--json")
	noJWT(t, r, jwt)
	var rep ciaccess.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v:\n%s", r.code, err, r.all())
	}
	if !rep.Exact || strings.Join(rep.Readable, ",") != "ctrp-prod" {
		t.Errorf("report = %+v", rep)
	}
}

func TestCIVerifyExplainsARefusalAndExitsOne(t *testing.T) {
	_, world := ciVerifyWorld(t)
	iss := world.Issuer
	cases := []struct {
		name string
		jwt  string
		says []string
	}{
		{"another branch", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/feature"}),
			[]string{`claim mismatch: claim ref: the role expects "refs/heads/main"; the JWT holds "refs/heads/feature"`}},
		{"another repository", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/other"}),
			[]string{`claim repository: the role expects "cancer-center/accrual-sync"; the JWT holds "cancer-center/other"`}},
		{"a wrong audience", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Audience: "sts.amazonaws.com"}),
			[]string{`wrong audience: the JWT's aud is "sts.amazonaws.com"; the role accepts "https://github.com/cancer-center"`}},
		{"an expired JWT", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"}, oidcissuer.IssuedAt(time.Now().Add(-time.Hour))),
			[]string{"the JWT expired at"}},
		{"an unknown key", iss.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"}, oidcissuer.SignedByUnknownKey()),
			[]string{"unknown issuer or key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := credkeeper(t, c.jwt+"\n", "ci", "verify", "deploy-prod", "--jwt", "-")
			noJWT(t, r, c.jwt)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", r.code, r.all())
			}
			if !strings.Contains(r.stdout, `ci_access "deploy-prod": Vault refused the login as role deploy-prod`) {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			for _, s := range c.says {
				if !strings.Contains(r.stdout, s) || !strings.Contains(r.stderr, s) {
					t.Errorf("stdout and stderr should say %q:\n%s", s, r.all())
				}
			}
		})
	}
}

func TestCIVerifyRefusesAJWTOnTheCommandLine(t *testing.T) {
	_, world := ciVerifyWorld(t)
	jwt := world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"})
	for _, args := range [][]string{
		{"ci", "verify", "deploy-prod", "--jwt", jwt},
		{"ci", "verify", "deploy-prod"},
		{"ci", "verify", "deploy-prod", "--jwt", "-", "--jwt-file", "x"},
	} {
		r := credkeeper(t, "", args...)
		if r.code != 1 || !strings.Contains(r.stderr, "--jwt") {
			t.Errorf("%q: exit %d:\n%s", args[3:], r.code, r.all())
		}
		noJWT(t, r, jwt)
	}
	r := credkeeper(t, "", "ci", "verify", "nope", "--jwt", "-")
	if r.code != 1 {
		t.Errorf("empty standard input: exit %d", r.code)
	}
	r = credkeeper(t, jwt+"\n", "ci", "verify", "nope", "--jwt", "-")
	if r.code != 1 || !strings.Contains(r.stderr, `no ci_access "nope"`) {
		t.Errorf("an undeclared block: exit %d:\n%s", r.code, r.all())
	}
	noJWT(t, r, jwt)
}
