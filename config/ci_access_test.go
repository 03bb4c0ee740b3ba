package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

const ciAccessExample = `
vault {
  address = "https://vault.example.org:8200"
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
credential "dmptool-b" {
  provider = "dmptool"
}

ci_access "deploy-prod" {
  credentials = ["ctrp-prod"]
  github {
    repository  = "cancer-center/accrual-sync"
    ref         = "refs/heads/main"
  }
}
ci_access "nightly-dmp" {
  credentials = ["dmptool-*", "dmptool-a"]
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = true
  }
}
ci_access "reporting" {
  credentials = ["ctrp-stage"]
  token_ttl   = "30m"
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`

// The three identities decode in file order, with their defaults:
// the audience of GitHub is the repository owner's, GitLab's the Vault
// address; the token lives 10 minutes unless token_ttl says otherwise.
func TestCIAccessDecodesWithDefaults(t *testing.T) {
	cfg, diags := Parse([]byte(ciAccessExample), "ci.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.CIAccess) != 3 {
		t.Fatalf("ci_access = %+v", cfg.CIAccess)
	}
	gh, gl, k := cfg.CIAccess[0], cfg.CIAccess[1], cfg.CIAccess[2]
	if gh.Name != "deploy-prod" || gh.GitHub == nil || gh.GitHub.Repository != "cancer-center/accrual-sync" || gh.GitHub.Ref != "refs/heads/main" ||
		gh.Audience != "https://github.com/cancer-center" || gh.TokenTTL != 10*time.Minute || gh.Kind() != CIKindGitHub {
		t.Errorf("github = %+v %+v", gh, gh.GitHub)
	}
	if gl.GitLab == nil || gl.GitLab.RefProtected == nil || !*gl.GitLab.RefProtected || gl.Audience != "https://vault.example.org:8200" {
		t.Errorf("gitlab = %+v %+v", gl, gl.GitLab)
	}
	if got := cfg.CIAccessCredentials(gl); !slices.Equal(got, []string{"dmptool-a", "dmptool-b"}) {
		t.Errorf("nightly-dmp's credentials = %q", got)
	}
	if k.Kubernetes == nil || k.Kubernetes.Namespace != "reporting" || k.TokenTTL != 30*time.Minute || k.Audience != "" {
		t.Errorf("kubernetes = %+v", k)
	}
	if cfg.CIAuthMount(gh) != "jwt-github" || cfg.CIAuthMount(gl) != "jwt-gitlab" || cfg.CIAuthMount(k) != "kubernetes" {
		t.Errorf("default mounts: %q %q %q", cfg.CIAuthMount(gh), cfg.CIAuthMount(gl), cfg.CIAuthMount(k))
	}
	if cfg.CIPolicyName(gh) != "credkeeper-ci-deploy-prod" {
		t.Errorf("policy name = %q", cfg.CIPolicyName(gh))
	}
}

// The vault block may move the auth mounts, and vault_policies' ci name
// prefixes the CI access policies.
func TestCIAccessMountsAndPolicyNames(t *testing.T) {
	src := `
vault {
  github_jwt_mount = "/gha/"
  gitlab_jwt_mount = "gitlab"
  kubernetes_mount = "k8s-prod"
}
vault_policies {
  ci = "ci-readers"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
ci_access "stage" {
  credentials = ["ctrp-stage"]
  audience    = "sts.example.org"
  github {
    repository  = "cancer-center/accrual-sync"
    environment = "staging"
  }
}
`
	cfg, diags := Parse([]byte(src), "ci.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v := cfg.Vault
	if v.GitHubJWTMount != "gha" || v.GitLabJWTMount != "gitlab" || v.KubernetesMount != "k8s-prod" {
		t.Errorf("mounts = %+v", v)
	}
	a := cfg.CIAccess[0]
	if cfg.CIPolicyName(a) != "ci-readers-stage" || a.Audience != "sts.example.org" || a.GitHub.Environment != "staging" {
		t.Errorf("ci_access = %+v, policy %q", a, cfg.CIPolicyName(a))
	}
	if d := Default().Vault; d.GitHubJWTMount != "jwt-github" || d.GitLabJWTMount != "jwt-gitlab" || d.KubernetesMount != "kubernetes" {
		t.Errorf("Default() mounts = %+v", d)
	}
}

// allow_any_ref lets any branch of the repository read a prod token, and a
// stage credential needs no ref.
func TestCIAccessAnyRef(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"a prod credential without a ref is refused", `credential "p" { provider = "ctrp-prod" }
ci_access "x" {
  credentials = ["p"]
  github { repository = "o/r" }
}`, false},
		{"allow_any_ref says any branch may", `credential "p" { provider = "ctrp-prod" }
ci_access "x" {
  credentials   = ["p"]
  allow_any_ref = true
  github { repository = "o/r" }
}`, true},
		{"an environment binds enough", `credential "p" { provider = "ctrp-prod" }
ci_access "x" {
  credentials = ["p"]
  github {
    repository  = "o/r"
    environment = "production"
  }
}`, true},
		{"a stage credential needs no ref", `credential "s" { provider = "ctrp-stage" }
ci_access "x" {
  credentials = ["s"]
  github { repository = "o/r" }
}`, true},
		{"a gitlab subgroup project is one project", `credential "s" { provider = "ctrp-stage" }
ci_access "x" {
  credentials = ["s"]
  audience    = "https://vault.example.org"
  gitlab { project_path = "group/sub/project" }
}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src), "t.hcl")
			if diags.HasErrors() == tc.ok {
				t.Errorf("diags = %v", diags)
			}
		})
	}
}

// A ci_access block reading a credential that publishes no token loads,
// with a warning: the job would find no token.
func TestCIAccessOfAnUnpublishedTokenWarns(t *testing.T) {
	cfg, diags := Parse([]byte(`credential "s" {
  provider = "ctrp-stage"
}
credential "p" {
  provider = "ctrp-stage"
  publish_token {}
}
ci_access "x" {
  credentials = ["s", "p"]
  kubernetes {
    namespace       = "n"
    service_account = "a"
  }
}
`), "w.hcl")
	if diags.HasErrors() || len(diags) != 1 || cfg == nil {
		t.Fatalf("diags = %v", diags)
	}
	if d := diags[0]; d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, `ci_access "x" reads the token of s, which has no publish_token block`) {
		t.Errorf("warning = %v", d)
	}
}

// Vault folds ACL policy names to lower case: names that differ only in
// case would be one policy, the last written, and one block's jobs would
// read the other's tokens. They are refused, among ci_access blocks and
// against vault_policies' names.
func TestCIAccessNamesDifferingOnlyInCaseAreRefused(t *testing.T) {
	head := `
vault {
  address = "https://vault.example.org:8200"
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
`
	reporting := `
ci_access "reporting" {
  credentials = ["ctrp-stage"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`
	for name, c := range map[string]struct{ src, want string }{
		"two blocks": {head + reporting + `
ci_access "Reporting" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
`, "Duplicate ci_access"},
		"a block and a scoped ci policy": {head + `
vault_policies {
  ci = "ci-readers"
  ci "CI-Readers-Reporting" {
    credentials = ["ctrp-prod"]
  }
}
` + reporting, "Duplicate policy name"},
		"a block and a role's policy": {head + `
vault_policies {
  ci      = "ci-readers"
  auditor = "CI-READERS-reporting"
}
` + reporting, "Duplicate policy name"},
		"two vault_policies names": {head + `
vault_policies {
  daemon = "CK-Daemon"
  ci "ck-daemon" {
    credentials = ["ctrp-prod"]
  }
}
`, "Duplicate policy name"},
	} {
		_, diags := Parse([]byte(c.src), "ci.hcl")
		if !slices.ContainsFunc(diags, func(d *hcl.Diagnostic) bool { return d.Severity == hcl.DiagError && d.Summary == c.want }) {
			t.Errorf("%s: diags = %v, want %q", name, diags, c.want)
		}
	}
}

// A job's snippet names a variable after each credential, folding '.',
// '-' and '_' to '_': dmp-a and dmp.a would both be DMP_A_ACCESS_TOKEN,
// and the job would read one's token under the other's name. A block
// reading two such credentials is refused, naming both.
func TestCIAccessCredentialsSharingAVariableAreRefused(t *testing.T) {
	_, diags := Parse([]byte(`
vault {
  address = "https://vault.example.org:8200"
}
credential "dmp-a" {
  provider = "dmptool"
  publish_token {}
}
credential "dmp.a" {
  provider = "dmptool"
  publish_token {}
}
credential "dmp-b" {
  provider = "dmptool"
  publish_token {}
}
ci_access "deploy" {
  credentials = ["dmp*"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "one-each" {
  credentials = ["dmp-a", "dmp-b"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
`), "ci.hcl")
	var got []string
	for _, d := range diags {
		if d.Summary == "Credentials share a variable" {
			got = append(got, d.Detail)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], `"deploy"`) || !strings.Contains(got[0], "dmp-a") || !strings.Contains(got[0], "dmp.a") || !strings.Contains(got[0], "DMP_A") {
		t.Errorf("diags = %v", diags)
	}
}
