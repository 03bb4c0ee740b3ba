package policies

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/config"
)

const ciConfig = `
vault {
  address = "https://vault.example.org:8200"
  mount   = "kv"
  prefix  = "teams/credkeeper"
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
  credentials = ["ctrp-*"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "nightly-dmp" {
  credentials = ["dmptool-a"]
  token_ttl   = "20m"
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = true
  }
}
ci_access "reporting" {
  credentials = ["ctrp-stage"]
  audience    = "vault"
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`

func parseCI(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(src), "ci.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

func dataJSON(t *testing.T, d map[string]any) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each ci_access block becomes a role whose data binds the audience and
// the claims exactly, gives a short token under its own policy alone, and
// a policy that reads its credentials' tokens and nothing else.
func TestCIRolesBindTheIdentityAndReadOnlyItsTokens(t *testing.T) {
	roles := CIRoles(parseCI(t, ciConfig))
	if len(roles) != 3 {
		t.Fatalf("roles = %+v", roles)
	}
	for _, tc := range []struct {
		role                      CIRole
		name, method, mount, data string
		policyHas                 []string
	}{
		{roles[0], "deploy-prod", "jwt", "jwt-github",
			`{"bound_audiences":["https://github.com/cancer-center"],"bound_claims":{"ref":"refs/heads/main","repository":"cancer-center/accrual-sync"},"bound_claims_type":"string","role_type":"jwt","token_max_ttl":600,"token_no_default_policy":true,"token_policies":["credkeeper-ci-deploy-prod"],"token_ttl":600,"user_claim":"repository"}`,
			[]string{`path "kv/data/teams/credkeeper/tokens/ctrp-prod" {`, `path "kv/data/teams/credkeeper/tokens/ctrp-stage" {`}},
		{roles[1], "nightly-dmp", "jwt", "jwt-gitlab",
			`{"bound_audiences":["https://vault.example.org:8200"],"bound_claims":{"project_path":"cancer-center/dmp-sync","ref_protected":"true"},"bound_claims_type":"string","role_type":"jwt","token_max_ttl":1200,"token_no_default_policy":true,"token_policies":["credkeeper-ci-nightly-dmp"],"token_ttl":1200,"user_claim":"project_path"}`,
			[]string{`path "kv/data/teams/credkeeper/tokens/dmptool-a" {`}},
		{roles[2], "reporting", "kubernetes", "kubernetes",
			`{"audience":"vault","bound_service_account_names":["accrual-sync"],"bound_service_account_namespaces":["reporting"],"token_max_ttl":600,"token_no_default_policy":true,"token_policies":["credkeeper-ci-reporting"],"token_ttl":600}`,
			[]string{`path "kv/data/teams/credkeeper/tokens/ctrp-stage" {`}},
	} {
		r := tc.role
		if r.Name != tc.name || r.Method != tc.method || r.Mount != tc.mount || r.PolicyName != "credkeeper-ci-"+tc.name {
			t.Errorf("%s: role = %+v", tc.name, r)
		}
		if got := dataJSON(t, r.Data); got != tc.data {
			t.Errorf("%s: data\n got %s\nwant %s", tc.name, got, tc.data)
		}
		for _, want := range tc.policyHas {
			if !strings.Contains(r.Policy, want) {
				t.Errorf("%s: policy lacks %s:\n%s", tc.name, want, r.Policy)
			}
		}
		if n := strings.Count(r.Policy, "path "); n != len(tc.policyHas) {
			t.Errorf("%s: policy has %d paths, want %d:\n%s", tc.name, n, len(tc.policyHas), r.Policy)
		}
		for _, never := range []string{"credentials/", "state/", "pending/", "*", "metadata"} {
			if strings.Contains(r.Policy, never) {
				t.Errorf("%s: policy grants %q:\n%s", tc.name, never, r.Policy)
			}
		}
		if block, ok := CIPolicyFor(r.Policy, "kv", "teams/credkeeper"); !ok || block != tc.name {
			t.Errorf("%s: CIPolicyFor = %q, %v", tc.name, block, ok)
		}
		if _, ok := CIPolicyFor(r.Policy, "kv", "teams/other"); ok {
			t.Errorf("%s: the policy is taken for another prefix's", tc.name)
		}
	}
}

// A GitHub identity binds the environment as well as the ref when both are
// set; a GitLab one binds ref_protected = false as GitLab writes it, and
// binds ref_type "branch" with a ref that names no tag.
func TestCIRolesBindEveryClaimWritten(t *testing.T) {
	cfg := parseCI(t, `
credential "s" {
  provider = "ctrp-stage"
}
ci_access "both" {
  credentials = ["s"]
  github {
    repository  = "o/r"
    ref         = "refs/tags/v1"
    environment = "production"
  }
}
ci_access "unprotected" {
  credentials = ["s"]
  audience    = "https://vault"
  gitlab {
    project_path  = "g/p"
    ref           = "main"
    ref_protected = false
    environment   = "review"
  }
}
`)
	roles := CIRoles(cfg)
	if got := dataJSON(t, roles[0].Data["bound_claims"].(map[string]any)); got != `{"environment":"production","ref":"refs/tags/v1","repository":"o/r"}` {
		t.Errorf("github claims = %s", got)
	}
	if got := dataJSON(t, roles[1].Data["bound_claims"].(map[string]any)); got != `{"environment":"review","project_path":"g/p","ref":"main","ref_protected":"false","ref_type":"branch"}` {
		t.Errorf("gitlab claims = %s", got)
	}
	if got := CIRolesAt(cfg, "other", "p"); !strings.Contains(got[0].Policy, `path "other/data/p/tokens/s"`) {
		t.Errorf("CIRolesAt ignores the mount and prefix:\n%s", got[0].Policy)
	}
}
