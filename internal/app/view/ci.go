package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/credname"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/policies"
)

// VaultActionVersion is the hashicorp/vault-action release GitHub
// snippets pin.
const VaultActionVersion = "hashicorp/vault-action@v3"

// CISnippet is what ci snippet prints a workflow fragment from: a
// ci_access block, its role, and where the tokens are.
type CISnippet struct {
	Access config.CIAccess
	Role   policies.CIRole
	// VaultAddr is Vault's address as jobs reach it; "" leaves a
	// placeholder for the CI platform's variable.
	VaultAddr string
	// KVMount and Prefix are where the tokens are (secret, credkeeper).
	KVMount, Prefix string
	// JobTime is how long the job runs: a token expiring sooner is refused.
	JobTime time.Duration
	// StoreFlags are the --mount and --prefix flags credkeeper token needs
	// ("" for the defaults).
	StoreFlags string
}

// WriteCISnippet prints the fragment to paste into the identity's CI
// configuration: a GitHub Actions job, a GitLab CI job, or a pod
// template's Vault Agent annotations. None holds a Vault token: the job
// logs in with its own identity.
func WriteCISnippet(w io.Writer, s CISnippet) error {
	var b strings.Builder
	switch {
	case s.Access.GitHub != nil:
		writeGitHubSnippet(&b, s)
	case s.Access.GitLab != nil:
		writeGitLabSnippet(&b, s)
	case s.Access.Kubernetes != nil:
		writeKubernetesSnippet(&b, s)
	default:
		return fmt.Errorf("ci_access %q names no identity", s.Access.Name)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// EnvName is the variable a credential's token is put in:
// CTRP_PROD_ACCESS_TOKEN for ctrp-prod.
func EnvName(credential, field string) string {
	return credname.EnvStem(credential + "_" + field)
}

func (s CISnippet) tokenPath(credential string) string {
	return s.KVMount + "/data/" + s.Prefix + "/tokens/" + credential
}

func (s CISnippet) jobTime() string { return dates.ShortDuration(s.JobTime) }

// expiryCheck is the shell that refuses a token expiring within the job's
// run, one line per credential, indented by indent.
func (s CISnippet) expiryCheck(b *strings.Builder, indent string) {
	secs := int(s.JobTime.Seconds())
	for _, c := range s.Role.Credentials {
		v := EnvName(c, "expires_at")
		fmt.Fprintf(b, "%sleft=$(( $(date -d \"$%s\" +%%s) - $(date +%%s) ))\n", indent, v)
		fmt.Fprintf(b, "%sif [ \"$left\" -lt %d ]; then echo \"the %s token expires in ${left}s, within this job's %s: run it again shortly\" >&2; exit 1; fi\n", indent, secs, c, s.jobTime())
	}
}

func (s CISnippet) header(b *strings.Builder, what string) {
	fmt.Fprintf(b, "# credkeeper ci snippet %s: %s.\n", s.Access.Name, what)
	fmt.Fprintf(b, "# The job logs in to Vault with its own identity (role %s at auth/%s): no Vault\n", s.Role.Name, s.Role.Mount)
	fmt.Fprintf(b, "# token is stored anywhere, and the login's lives %s. It reads the access tokens of\n", dates.ShortDuration(s.Access.TokenTTL))
	fmt.Fprintf(b, "# %s, never a client secret, each with its expires_at, and refuses a token that\n", strings.Join(s.Role.Credentials, ", "))
	fmt.Fprintf(b, "# expires within the job's %s. Where the credkeeper binary is at hand,\n", s.jobTime())
	fmt.Fprintf(b, "# `credkeeper token NAME --min-ttl %s%s` does the same (with VAULT_ADDR and the login's VAULT_TOKEN).\n", s.jobTime(), s.StoreFlags)
}

func writeGitHubSnippet(b *strings.Builder, s CISnippet) {
	g := s.Access.GitHub
	what := "GitHub Actions, " + g.Repository
	if g.Ref != "" {
		what += " on " + g.Ref
	}
	s.header(b, what)
	addr := s.VaultAddr
	if addr == "" {
		addr = "${{ vars.VAULT_ADDR }}"
	}
	fmt.Fprintf(b, "jobs:\n  %s:\n    runs-on: ubuntu-latest\n", s.Access.Name)
	if g.Environment != "" {
		fmt.Fprintf(b, "    environment: %s\n", g.Environment)
	}
	b.WriteString("    permissions:\n      id-token: write   # lets the job ask GitHub for its OIDC ID token\n      contents: read\n")
	b.WriteString("    steps:\n")
	b.WriteString("      - name: Read the access tokens from Vault\n")
	fmt.Fprintf(b, "        uses: %s\n", VaultActionVersion)
	b.WriteString("        with:\n")
	fmt.Fprintf(b, "          url: %s\n", addr)
	b.WriteString("          method: jwt\n")
	fmt.Fprintf(b, "          path: %s\n", s.Role.Mount)
	fmt.Fprintf(b, "          role: %s\n", s.Role.Name)
	fmt.Fprintf(b, "          jwtGithubAudience: %s\n", s.Access.Audience)
	b.WriteString("          secrets: |\n")
	var lines []string
	for _, c := range s.Role.Credentials {
		lines = append(lines,
			fmt.Sprintf("            %s access_token | %s", s.tokenPath(c), EnvName(c, "access_token")),
			fmt.Sprintf("            %s expires_at | %s", s.tokenPath(c), EnvName(c, "expires_at")))
	}
	b.WriteString(strings.Join(lines, " ;\n") + "\n")
	fmt.Fprintf(b, "      - name: Refuse a token that expires within the job's %s\n", s.jobTime())
	b.WriteString("        run: |\n")
	s.expiryCheck(b, "          ")
}

func writeGitLabSnippet(b *strings.Builder, s CISnippet) {
	g := s.Access.GitLab
	what := "GitLab CI, " + g.ProjectPath
	switch {
	case g.Ref != "":
		what += " on " + g.Ref
	case g.RefProtected != nil && *g.RefProtected:
		what += " on protected refs"
	}
	s.header(b, what)
	fmt.Fprintf(b, "%s:\n", s.Access.Name)
	if g.Environment != "" {
		fmt.Fprintf(b, "  environment: %s\n", g.Environment)
	}
	b.WriteString("  id_tokens:\n    VAULT_ID_TOKEN:\n")
	fmt.Fprintf(b, "      aud: %s\n", s.Access.Audience)
	b.WriteString("  variables:\n")
	if s.VaultAddr != "" {
		fmt.Fprintf(b, "    VAULT_SERVER_URL: %s\n", s.VaultAddr)
	} else {
		b.WriteString("    # VAULT_SERVER_URL: Vault's address, set here or in the project's CI/CD variables\n")
	}
	fmt.Fprintf(b, "    VAULT_AUTH_PATH: %s\n", s.Role.Mount)
	fmt.Fprintf(b, "    VAULT_AUTH_ROLE: %s\n", s.Role.Name)
	b.WriteString("  secrets:\n")
	for _, c := range s.Role.Credentials {
		for _, field := range []string{"access_token", "expires_at"} {
			fmt.Fprintf(b, "    %s:\n", EnvName(c, field))
			fmt.Fprintf(b, "      vault: %s/tokens/%s/%s@%s\n", s.Prefix, c, field, s.KVMount)
			b.WriteString("      file: false\n      token: $VAULT_ID_TOKEN\n")
		}
	}
	b.WriteString("  script:\n    - |\n")
	s.expiryCheck(b, "      ")
}

func writeKubernetesSnippet(b *strings.Builder, s CISnippet) {
	k := s.Access.Kubernetes
	s.header(b, "Kubernetes, service account "+k.Namespace+"/"+k.ServiceAccount+", through the Vault Agent injector")
	b.WriteString("# Each token is written to /vault/secrets/NAME, its expires_at to /vault/secrets/NAME-expires-at.\n")
	if s.Access.Audience != "" {
		fmt.Fprintf(b, "# The role binds the audience %q: the pod's service account token must carry it.\n", s.Access.Audience)
	}
	fmt.Fprintf(b, "metadata:\n  namespace: %s\n", k.Namespace)
	b.WriteString("spec:\n  template:\n    metadata:\n      annotations:\n")
	a := func(key, value string) { fmt.Fprintf(b, "        vault.hashicorp.com/%s: %q\n", key, value) }
	a("agent-inject", "true")
	a("agent-pre-populate-only", "true")
	a("role", s.Role.Name)
	a("auth-path", "auth/"+s.Role.Mount)
	for _, c := range s.Role.Credentials {
		p := s.tokenPath(c)
		a("agent-inject-secret-"+c, p)
		fmt.Fprintf(b, "        vault.hashicorp.com/agent-inject-template-%s: |\n", c)
		fmt.Fprintf(b, "          {{- with secret %q -}}{{ .Data.data.access_token }}{{- end -}}\n", p)
		a("agent-inject-secret-"+c+"-expires-at", p)
		fmt.Fprintf(b, "        vault.hashicorp.com/agent-inject-template-%s-expires-at: |\n", c)
		fmt.Fprintf(b, "          {{- with secret %q -}}{{ .Data.data.expires_at }}{{- end -}}\n", p)
	}
	fmt.Fprintf(b, "    spec:\n      serviceAccountName: %s\n", k.ServiceAccount)
	b.WriteString("      # The job's command refuses a token that expires within its run, for example:\n")
	for _, c := range s.Role.Credentials {
		fmt.Fprintf(b, "      #   left=$(( $(date -d \"$(cat /vault/secrets/%s-expires-at)\" +%%s) - $(date +%%s) )); [ \"$left\" -ge %d ] || exit 1\n", c, int(s.JobTime.Seconds()))
	}
}

// CISetup is what ci setup-commands prints the administrator's commands
// from: the configuration's CI auth mounts and issuers.
type CISetup struct {
	GitHubMount, GitLabMount, KubernetesMount string
	GitHubIssuer, GitLabIssuer                string
}

// WriteCISetupCommands prints the vault commands that enable and configure
// the CI auth mounts, as an administrator runs them once; credkeeper apply
// then writes the roles.
func WriteCISetupCommands(w io.Writer, s CISetup) error {
	var b strings.Builder
	b.WriteString("# Run once, as a Vault administrator, to let CI jobs log in with their own identity.\n")
	b.WriteString("# credkeeper apply then writes a role and a policy for each ci_access block.\n\n")
	b.WriteString("# GitHub Actions: trust GitHub's OIDC issuer.\n")
	writeJWTSetup(&b, s.GitHubMount, s.GitHubIssuer)
	b.WriteString("\n# GitLab CI: trust GitLab's OIDC issuer (id_tokens).\n")
	writeJWTSetup(&b, s.GitLabMount, s.GitLabIssuer)
	b.WriteString("\n# Kubernetes: let pods log in with their service account. Inside the cluster, Vault reviews\n")
	b.WriteString("# tokens with its own service account; from outside, add token_reviewer_jwt=@reviewer.jwt and\n")
	b.WriteString("# kubernetes_ca_cert=@ca.crt.\n")
	fmt.Fprintf(&b, "vault auth enable -path=%s kubernetes\n", s.KubernetesMount)
	b.WriteString("# Replace KUBERNETES_API_HOST:443 with the cluster's API server, as kubectl shows it:\n")
	b.WriteString("#   kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'\n")
	fmt.Fprintf(&b, "vault write auth/%s/config kubernetes_host=\"https://KUBERNETES_API_HOST:443\"\n", s.KubernetesMount)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeJWTSetup(b *strings.Builder, mount, issuer string) {
	fmt.Fprintf(b, "vault auth enable -path=%s jwt\n", mount)
	fmt.Fprintf(b, "vault write auth/%s/config oidc_discovery_url=%q bound_issuer=%q\n", mount, issuer, issuer)
}
