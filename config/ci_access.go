package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/credkeeper/credkeeper/internal/credname"
)

// The auth mounts a ci_access block's role is written under, unless the
// vault block names others.
const (
	DefaultGitHubJWTMount  = "jwt-github"
	DefaultGitLabJWTMount  = "jwt-gitlab"
	DefaultKubernetesMount = "kubernetes"
)

// The OIDC issuers of GitHub Actions and of gitlab.com.
const (
	DefaultGitHubIssuer = "https://token.actions.githubusercontent.com"
	DefaultGitLabIssuer = "https://gitlab.com"
)

// CI access token lifetimes: the Vault token a CI job's login gives lives
// DefaultCITokenTTL unless token_ttl says otherwise, and never longer than
// MaxCITokenTTL.
const (
	DefaultCITokenTTL = 10 * time.Minute
	MinCITokenTTL     = time.Minute
	MaxCITokenTTL     = time.Hour
)

// CIAccess is a ci_access block: one CI identity (a GitHub Actions
// repository, a GitLab project or a Kubernetes service account) allowed
// to read the published tokens of some credentials. It becomes a Vault
// role named Name under the identity's auth mount, and a policy.
type CIAccess struct {
	Name string
	// Credentials are names, or prefixes ending in "*" ("ctrp-*"), as
	// written; CIAccessCredentials resolves them.
	Credentials []string
	// Exactly one of GitHub, GitLab and Kubernetes is set.
	GitHub     *CIGitHub
	GitLab     *CIGitLab
	Kubernetes *CIKubernetes
	// Audience is the aud the role binds: written, or the default
	// (https://github.com/OWNER for GitHub, the Vault address for GitLab,
	// none for Kubernetes).
	Audience string
	// TokenTTL is how long the Vault token of a login lives.
	TokenTTL time.Duration
	// AllowAnyRef lets a job of any ref read a prod credential's token.
	AllowAnyRef bool
	Range       hcl.Range
}

// CIGitHub is a ci_access block's github identity.
type CIGitHub struct {
	Repository  string // OWNER/REPO
	Ref         string // refs/heads/main; "" binds none
	Environment string // a GitHub environment; "" binds none
}

// Owner is the repository's owner.
func (g *CIGitHub) Owner() string {
	owner, _, _ := strings.Cut(g.Repository, "/")
	return owner
}

// CIGitLab is a ci_access block's gitlab identity.
type CIGitLab struct {
	ProjectPath string // GROUP/PROJECT
	Ref         string // a branch or tag name; "" binds none
	// RefType is what Ref names, "branch" (the default when Ref is set)
	// or "tag": GitLab's ref claim is the bare name, shared by a branch
	// and a tag, so the role binds ref_type with ref.
	RefType      string
	RefProtected *bool // nil binds none
	Environment  string
}

// CIKubernetes is a ci_access block's kubernetes identity.
type CIKubernetes struct {
	Namespace      string
	ServiceAccount string
}

// The identity kinds, as CIAccess.Kind names them.
const (
	CIKindGitHub     = "github"
	CIKindGitLab     = "gitlab"
	CIKindKubernetes = "kubernetes"
)

// Kind is the identity's kind: github, gitlab or kubernetes.
func (a CIAccess) Kind() string {
	switch {
	case a.GitHub != nil:
		return CIKindGitHub
	case a.GitLab != nil:
		return CIKindGitLab
	case a.Kubernetes != nil:
		return CIKindKubernetes
	}
	return ""
}

// CIAuthMount is the auth mount the block's role lives under.
func (c *Config) CIAuthMount(a CIAccess) string {
	switch a.Kind() {
	case CIKindGitHub:
		return c.Vault.GitHubJWTMount
	case CIKindGitLab:
		return c.Vault.GitLabJWTMount
	case CIKindKubernetes:
		return c.Vault.KubernetesMount
	}
	return ""
}

// CIPolicyName is the name of the policy of a ci_access block: the CI
// policy's name (credkeeper-ci, or vault_policies' ci) and the block's.
func (c *Config) CIPolicyName(a CIAccess) string {
	base := DefaultVaultPolicyNames().CI
	if c.VaultPolicies != nil {
		base = c.VaultPolicies.CI
	}
	return base + "-" + a.Name
}

// CIPolicyPrefix begins the name of every ci_access block's policy.
func (c *Config) CIPolicyPrefix() string {
	return c.CIPolicyName(CIAccess{})
}

// CIAccessCredentials are the declared credentials the block's
// credentials list matches, sorted, each once.
func (c *Config) CIAccessCredentials(a CIAccess) []string {
	var out []string
	for _, pattern := range a.Credentials {
		out = append(out, c.matchCredentials(pattern)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CIAccessByName returns the ci_access block of that name.
func (c *Config) CIAccessByName(name string) (CIAccess, bool) {
	for _, a := range c.CIAccess {
		if a.Name == name {
			return a, true
		}
	}
	return CIAccess{}, false
}

func (c *Config) matchCredentials(pattern string) []string {
	var out []string
	prefix, glob := strings.CutSuffix(pattern, "*")
	for _, cr := range c.Credentials {
		if cr.Name == pattern || (glob && strings.HasPrefix(cr.Name, prefix)) {
			out = append(out, cr.Name)
		}
	}
	return out
}

var ciAccessSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "credentials", Required: true}, {Name: "audience"}, {Name: "token_ttl"}, {Name: "allow_any_ref"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: CIKindGitHub}, {Type: CIKindGitLab}, {Type: CIKindKubernetes}},
}

var ciIdentitySchemas = map[string]*hcl.BodySchema{
	CIKindGitHub:     {Attributes: []hcl.AttributeSchema{{Name: "repository", Required: true}, {Name: "ref"}, {Name: "environment"}}},
	CIKindGitLab:     {Attributes: []hcl.AttributeSchema{{Name: "project_path", Required: true}, {Name: "ref"}, {Name: "ref_type"}, {Name: "ref_protected"}, {Name: "environment"}}},
	CIKindKubernetes: {Attributes: []hcl.AttributeSchema{{Name: "namespace", Required: true}, {Name: "service_account", Required: true}}},
}

// decodeCIMounts decodes the vault block's CI auth mounts.
func decodeCIMounts(attrs hcl.Attributes, v *Vault) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, m := range []struct {
		attr string
		dst  *string
	}{{"github_jwt_mount", &v.GitHubJWTMount}, {"gitlab_jwt_mount", &v.GitLabJWTMount}, {"kubernetes_mount", &v.KubernetesMount}} {
		a := attrs[m.attr]
		if a == nil {
			continue
		}
		d := optString(a, m.dst)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		*m.dst = strings.Trim(*m.dst, "/")
		if err := CheckVaultFolder(m.attr, *m.dst); err != nil {
			diags = append(diags, errAt(a.Expr.Range(), "Invalid "+m.attr, "The %s.", err))
		}
	}
	for _, m := range []struct {
		attr string
		dst  *string
	}{{"github_issuer", &v.GitHubIssuer}, {"gitlab_issuer", &v.GitLabIssuer}} {
		a := attrs[m.attr]
		d := optString(a, m.dst)
		diags = append(diags, d...)
		if a == nil || d.HasErrors() {
			continue
		}
		*m.dst = strings.TrimRight(*m.dst, "/")
		diags = append(diags, checkEndpointURL(a, *m.dst, m.attr, false)...)
	}
	return diags
}

// CIIssuer is the OIDC issuer the block's JWT mount is expected to trust;
// "" for a Kubernetes identity.
func (c *Config) CIIssuer(a CIAccess) string {
	switch a.Kind() {
	case CIKindGitHub:
		return c.Vault.GitHubIssuer
	case CIKindGitLab:
		return c.Vault.GitLabIssuer
	}
	return ""
}

// decodeCIAccess decodes a ci_access block, once the credentials and the
// vault_policies block are known.
func decodeCIAccess(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	name := b.Labels[0]
	content, diags := b.Body.Content(ciAccessSchema)
	if !policyName.MatchString(name) {
		diags = append(diags, errAt(b.LabelRanges[0], "Invalid ci_access name", "%q cannot name a Vault role and policy: use letters, digits, '-' and '_'.", name))
	}
	// Vault folds policy names to lower case: two names that differ only
	// in case would share one policy.
	for _, prev := range cfg.CIAccess {
		if prev.Name == name {
			return append(diags, errAt(b.LabelRanges[0], "Duplicate ci_access", "A ci_access block named %q is already declared at %s.", name, rangeStart(prev.Range)))
		}
		if strings.EqualFold(prev.Name, name) {
			return append(diags, errAt(b.LabelRanges[0], "Duplicate ci_access", "A ci_access block named %q is already declared at %s: Vault folds policy names to lower case, so %q and %q would share one policy.", prev.Name, rangeStart(prev.Range), prev.Name, name))
		}
	}
	a := CIAccess{Name: name, TokenTTL: DefaultCITokenTTL, Range: b.DefRange}
	diags = append(diags, optString(content.Attributes["audience"], &a.Audience)...)
	diags = append(diags, optDurationIn(content.Attributes["token_ttl"], &a.TokenTTL, MinCITokenTTL, MaxCITokenTTL)...)
	diags = append(diags, optBool(content.Attributes["allow_any_ref"], &a.AllowAnyRef)...)
	diags = append(diags, decodeCICredentials(content.Attributes["credentials"], &a, cfg)...)
	diags = append(diags, decodeCIIdentity(b, content.Blocks, &a)...)
	diags = append(diags, checkCIEnvNames(content.Attributes["credentials"], a, cfg)...)
	if d := checkCIPolicyName(b, a, cfg); d != nil {
		diags = append(diags, d)
	}
	diags = append(diags, checkCIAudience(b, content.Attributes["audience"], &a, cfg)...)
	if !diags.HasErrors() {
		diags = append(diags, checkCIRef(b, a, cfg)...)
	}
	if !diags.HasErrors() {
		diags = append(diags, unpublishedWarnings(b, a, cfg)...)
	}
	cfg.CIAccess = append(cfg.CIAccess, a)
	return diags
}

// decodeCICredentials decodes the credentials list, each entry of which
// must match a declared credential.
func decodeCICredentials(attr *hcl.Attribute, a *CIAccess, cfg *Config) hcl.Diagnostics {
	diags := optStringList(attr, &a.Credentials)
	if attr == nil || diags.HasErrors() {
		return diags
	}
	r := attr.Expr.Range()
	if len(a.Credentials) == 0 {
		return append(diags, errAt(r, "No credentials", "A ci_access block names the credentials whose tokens the job reads: names, or prefixes ending in * (\"ctrp-*\")."))
	}
	for _, c := range a.Credentials {
		if err := credname.Check(strings.TrimSuffix(c, "*")); err != nil {
			diags = append(diags, errAt(r, "Invalid credential name", "%q: %s; a name may end in * to take every credential it begins.", c, err))
			continue
		}
		if len(cfg.matchCredentials(c)) == 0 {
			what := "no credential named %q is declared"
			if strings.HasSuffix(c, "*") {
				what = "no declared credential's name begins %q"
				c = strings.TrimSuffix(c, "*")
			}
			diags = append(diags, errAt(r, "Credentials match nothing", capitalize(what)+": a ci_access block names only credentials this file declares.", c))
		}
	}
	return diags
}

// decodeCIIdentity decodes the one identity block of a ci_access block.
func decodeCIIdentity(b *hcl.Block, blocks hcl.Blocks, a *CIAccess) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(blocks) == 0 {
		return append(diags, errAt(b.DefRange, "Missing identity", "A ci_access block names exactly one identity: a github, gitlab or kubernetes block."))
	}
	for i, ib := range blocks {
		if i > 0 {
			diags = append(diags, errAt(ib.DefRange, "More than one identity", "A ci_access block names exactly one identity; the first is the %s block at %s: declare another ci_access block for this one.", blocks[0].Type, rangeStart(blocks[0].DefRange)))
			continue
		}
		ic, d := ib.Body.Content(ciIdentitySchemas[ib.Type])
		diags = append(diags, d...)
		at := ic.Attributes
		switch ib.Type {
		case CIKindGitHub:
			g := &CIGitHub{}
			diags = append(diags, optString(at["repository"], &g.Repository)...)
			diags = append(diags, optString(at["ref"], &g.Ref)...)
			diags = append(diags, optString(at["environment"], &g.Environment)...)
			diags = append(diags, checkCIPath(at["repository"], g.Repository, "repository", "OWNER/REPO", "cancer-center/accrual-sync", 2)...)
			diags = append(diags, checkCIExact(at["ref"], g.Ref, "ref")...)
			diags = append(diags, checkCIExact(at["environment"], g.Environment, "environment")...)
			if a := at["ref"]; a != nil && g.Ref != "" && !strings.HasPrefix(g.Ref, "refs/") {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid ref", "GitHub's ref claim is a full ref: write %q, or refs/tags/….", "refs/heads/"+g.Ref))
			}
			a.GitHub = g
		case CIKindGitLab:
			g := &CIGitLab{}
			diags = append(diags, optString(at["project_path"], &g.ProjectPath)...)
			diags = append(diags, optString(at["ref"], &g.Ref)...)
			diags = append(diags, optString(at["ref_type"], &g.RefType)...)
			diags = append(diags, optString(at["environment"], &g.Environment)...)
			if rt := at["ref_type"]; rt != nil && g.RefType != "branch" && g.RefType != "tag" {
				diags = append(diags, errAt(rt.Expr.Range(), "Invalid ref_type", "ref_type is \"branch\" or \"tag\": what ref names."))
			} else if rt != nil && g.Ref == "" {
				diags = append(diags, errAt(rt.Expr.Range(), "ref_type without ref", "ref_type says what ref names: set ref too."))
			}
			if g.Ref != "" && g.RefType == "" {
				g.RefType = "branch"
			}
			if pa := at["ref_protected"]; pa != nil {
				var p bool
				diags = append(diags, optBool(pa, &p)...)
				g.RefProtected = &p
			}
			diags = append(diags, checkCIPath(at["project_path"], g.ProjectPath, "project_path", "GROUP/PROJECT", "cancer-center/dmp-sync", 0)...)
			diags = append(diags, checkCIExact(at["ref"], g.Ref, "ref")...)
			diags = append(diags, checkCIExact(at["environment"], g.Environment, "environment")...)
			a.GitLab = g
		case CIKindKubernetes:
			k := &CIKubernetes{}
			diags = append(diags, optString(at["namespace"], &k.Namespace)...)
			diags = append(diags, optString(at["service_account"], &k.ServiceAccount)...)
			diags = append(diags, checkCIExact(at["namespace"], k.Namespace, "namespace")...)
			diags = append(diags, checkCIExact(at["service_account"], k.ServiceAccount, "service_account")...)
			a.Kubernetes = k
		}
	}
	return diags
}

// checkCIPath refuses a repository or project path that is not one
// repository: no owner part, a wildcard, an empty segment. parts is the
// exact number of segments wanted, or 0 for two or more (GitLab's
// subgroups).
func checkCIPath(attr *hcl.Attribute, v, what, form, example string, parts int) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	r := attr.Expr.Range()
	segs := strings.Split(v, "/")
	if strings.ContainsAny(v, "*?[]{}+ ") {
		return hcl.Diagnostics{errAt(r, "Wildcard "+what, "%q binds more than one %s: name exactly one, as %s (%q), so that no other job gets the tokens.", v, strings.TrimSuffix(what, "_path"), form, example)}
	}
	if len(segs) < 2 || (parts > 0 && len(segs) != parts) || slices.Contains(segs, "") {
		return hcl.Diagnostics{errAt(r, "Invalid "+what, "%q is not %s (%q): a job of any repository of an organisation would get the tokens.", v, form, example)}
	}
	return nil
}

// checkCIExact refuses an empty value or a wildcard where a claim is bound
// exactly.
func checkCIExact(attr *hcl.Attribute, v, what string) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	if v == "" || strings.ContainsAny(v, "*?") {
		return hcl.Diagnostics{errAt(attr.Expr.Range(), "Invalid "+what, "%s is bound exactly: name exactly one, without wildcards.", what)}
	}
	return nil
}

// checkCIEnvNames refuses a block whose job would put two credentials'
// tokens in one environment variable: the snippet names a variable after
// each credential, folding '.', '-' and '_' to '_', and the job would read
// one credential's token under the other's name.
func checkCIEnvNames(attr *hcl.Attribute, a CIAccess, cfg *Config) hcl.Diagnostics {
	if attr == nil {
		return nil
	}
	seen := map[string]string{}
	for _, name := range cfg.CIAccessCredentials(a) {
		stem := credname.EnvStem(name)
		if other, dup := seen[stem]; dup {
			return hcl.Diagnostics{errAt(attr.Expr.Range(), "Credentials share a variable", "ci_access %q reads %s and %s, whose tokens would both go in the variables %s_*: a job cannot tell them apart. Give one job's credentials names that differ in more than '.', '-' and '_', or read them from two ci_access blocks.", a.Name, other, name, stem)}
		}
		seen[stem] = name
	}
	return nil
}

// checkCIPolicyName refuses a ci_access policy name that is another
// managed policy's.
func checkCIPolicyName(b *hcl.Block, a CIAccess, cfg *Config) *hcl.Diagnostic {
	if cfg.VaultPolicies == nil {
		return nil
	}
	name := cfg.CIPolicyName(a)
	names := cfg.VaultPolicies
	for _, role := range Roles {
		if strings.EqualFold(names.Name(role), name) {
			return errAt(b.LabelRanges[0], "Duplicate policy name", "The policy of ci_access %q would be %q, already the %s policy.", a.Name, name, role)
		}
	}
	for _, sc := range names.ScopedCI {
		if strings.EqualFold(sc.Name, name) {
			return errAt(b.LabelRanges[0], "Duplicate policy name", "The policy of ci_access %q would be %q, already a scoped CI policy.", a.Name, name)
		}
	}
	return nil
}

// checkCIAudience sets the default audience: https://github.com/OWNER for
// GitHub, the Vault address for GitLab (which then must be set).
func checkCIAudience(b *hcl.Block, attr *hcl.Attribute, a *CIAccess, cfg *Config) hcl.Diagnostics {
	if attr != nil {
		if a.Audience == "" {
			return hcl.Diagnostics{errAt(attr.Expr.Range(), "Empty audience", "The role binds the JWT's aud claim: name it, or leave audience out for the default.")}
		}
		return nil
	}
	switch {
	case a.GitHub != nil && a.GitHub.Owner() != "":
		a.Audience = "https://github.com/" + a.GitHub.Owner()
	case a.GitLab != nil:
		if cfg.Vault.Address == "" {
			return hcl.Diagnostics{errAt(b.DefRange, "Missing audience", "A gitlab identity's audience is the Vault address by default, and the vault block sets none: set address in the vault block, or audience here (the aud of the job's id_tokens).")}
		}
		a.Audience = cfg.Vault.Address
	}
	return nil
}

// checkCIRef refuses a GitHub or GitLab identity that binds no ref nor
// environment when a credential it reads is a prod one, unless
// allow_any_ref says so.
func checkCIRef(b *hcl.Block, a CIAccess, cfg *Config) hcl.Diagnostics {
	if a.AllowAnyRef {
		return nil
	}
	switch {
	case a.GitHub != nil && (a.GitHub.Ref != "" || a.GitHub.Environment != ""):
		return nil
	case a.GitLab != nil && (a.GitLab.Ref != "" || a.GitLab.Environment != "" || (a.GitLab.RefProtected != nil && *a.GitLab.RefProtected)):
		return nil
	case a.Kubernetes != nil:
		return nil
	}
	for _, name := range cfg.CIAccessCredentials(a) {
		if cr, ok := cfg.byName[name]; ok && cr.Environment == "prod" {
			what := "ref or environment"
			if a.GitLab != nil {
				what = "ref, environment or ref_protected = true"
			}
			return hcl.Diagnostics{errAt(b.DefRange, "Any ref reads a prod token", "ci_access %q reads %s, a prod credential, from a job of any branch: bind a %s, or set allow_any_ref = true to say that any branch may.", a.Name, name, what)}
		}
	}
	return nil
}

// unpublishedWarnings warn of a credential the block reads whose token is
// never published (no publish_token): the job would find none.
func unpublishedWarnings(b *hcl.Block, a CIAccess, cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range cfg.CIAccessCredentials(a) {
		if cr, ok := cfg.byName[name]; ok && cr.PublishToken == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No token to read",
				Detail:  fmt.Sprintf("ci_access %q reads the token of %s, which has no publish_token block: the daemon publishes no token for it, and the job would find none.", a.Name, name),
				Subject: b.DefRange.Ptr()})
		}
	}
	return diags
}
