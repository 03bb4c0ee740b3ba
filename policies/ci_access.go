package policies

import (
	"fmt"
	"strings"

	"github.com/credkeeper/credkeeper/config"
)

// CI auth methods, as CIRole.Method names them.
const (
	CIMethodJWT        = "jwt"
	CIMethodKubernetes = "kubernetes"
)

// CIRole is what a ci_access block becomes in Vault: a role under an auth
// mount, and the ACL policy its logins get.
type CIRole struct {
	Name       string // the role's name: the block's
	Method     string // "jwt" or "kubernetes"
	Mount      string // the auth mount, without auth/ or a trailing slash
	PolicyName string
	Policy     string // the HCL ACL document
	// Data is exactly what is written to auth/MOUNT/role/NAME.
	Data map[string]any
	// Credentials are the credentials whose tokens the policy reads.
	Credentials []string
}

// Path is the role's path in Vault.
func (r CIRole) Path() string { return "auth/" + r.Mount + "/role/" + r.Name }

// CIPolicyMarker begins the first line of every ci_access policy;
// CIPolicyOwner tells whether a policy is one for a mount and prefix.
const CIPolicyMarker = "# credkeeper CI access "

// CIRoles are the Vault roles and policies of cfg's ci_access blocks, in
// file order, for the KV mount and prefix cfg names. It is pure.
func CIRoles(cfg *config.Config) []CIRole {
	return CIRolesAt(cfg, cfg.Vault.Mount, cfg.Vault.Prefix)
}

// CIRolesAt is CIRoles for the records under mount/prefix (the command
// line may override the file's).
func CIRolesAt(cfg *config.Config, mount, prefix string) []CIRole {
	mount, prefix = strings.Trim(mount, "/"), strings.Trim(prefix, "/")
	out := make([]CIRole, 0, len(cfg.CIAccess))
	for _, a := range cfg.CIAccess {
		creds := cfg.CIAccessCredentials(a)
		r := CIRole{
			Name: a.Name, Mount: cfg.CIAuthMount(a), PolicyName: cfg.CIPolicyName(a),
			Credentials: creds,
		}
		r.Policy = CIAccessDocument(a, mount, prefix, creds)
		ttl := int(a.TokenTTL.Seconds())
		common := map[string]any{
			"token_ttl":               ttl,
			"token_max_ttl":           ttl,
			"token_policies":          []string{r.PolicyName},
			"token_no_default_policy": true,
		}
		switch {
		case a.Kubernetes != nil:
			r.Method = CIMethodKubernetes
			common["bound_service_account_names"] = []string{a.Kubernetes.ServiceAccount}
			common["bound_service_account_namespaces"] = []string{a.Kubernetes.Namespace}
			if a.Audience != "" {
				common["audience"] = a.Audience
			}
		default:
			r.Method = CIMethodJWT
			claim, claims := jwtClaims(a)
			common["role_type"] = "jwt"
			common["user_claim"] = claim
			common["bound_audiences"] = []string{a.Audience}
			common["bound_claims_type"] = "string"
			common["bound_claims"] = claims
		}
		r.Data = common
		out = append(out, r)
	}
	return out
}

// jwtClaims are the claim naming the job's identity (user_claim) and the
// claims the role binds exactly.
func jwtClaims(a config.CIAccess) (string, map[string]any) {
	claims := map[string]any{}
	if g := a.GitHub; g != nil {
		claims["repository"] = g.Repository
		if g.Ref != "" {
			claims["ref"] = g.Ref
		}
		if g.Environment != "" {
			claims["environment"] = g.Environment
		}
		return "repository", claims
	}
	g := a.GitLab
	claims["project_path"] = g.ProjectPath
	if g.Ref != "" {
		// GitLab's ref is the bare name, shared by a branch and a tag:
		// bind which of them too.
		claims["ref"] = g.Ref
		claims["ref_type"] = g.RefType
	}
	if g.RefProtected != nil {
		// GitLab's ref_protected claim is the string "true" or "false".
		claims["ref_protected"] = fmt.Sprint(*g.RefProtected)
	}
	if g.Environment != "" {
		claims["environment"] = g.Environment
	}
	return "project_path", claims
}

// CIAccessDocument is the policy of a ci_access block: read the published
// tokens of its credentials under mount/prefix, nothing else.
func CIAccessDocument(a config.CIAccess, mount, prefix string, credentials []string) string {
	d := policyWriter{data: mount + "/data/" + prefix}
	fmt.Fprintf(&d.b, "%s%s for %s/%s\n", CIPolicyMarker, a.Name, mount, prefix)
	d.comment("%s read the access tokens of %s, nothing else.", describeIdentity(a), strings.Join(credentials, ", "))
	for _, c := range credentials {
		d.path(d.data+"/tokens/"+c, "read")
	}
	return d.String()
}

// CIPolicyFor tells whether a policy's text is a ci_access policy for
// records under mount/prefix, and if so, of which block.
func CIPolicyFor(text, mount, prefix string) (block string, ok bool) {
	first, _, _ := strings.Cut(text, "\n")
	rest, found := strings.CutPrefix(first, CIPolicyMarker)
	if !found {
		return "", false
	}
	name, where, found := strings.Cut(rest, " for ")
	if !found || where != strings.Trim(mount, "/")+"/"+strings.Trim(prefix, "/") {
		return "", false
	}
	return name, true
}

func describeIdentity(a config.CIAccess) string {
	switch {
	case a.GitHub != nil:
		s := "GitHub Actions jobs of " + a.GitHub.Repository
		if a.GitHub.Ref != "" {
			s += " on " + a.GitHub.Ref
		}
		if a.GitHub.Environment != "" {
			s += " in environment " + a.GitHub.Environment
		}
		return s
	case a.GitLab != nil:
		s := "GitLab CI jobs of " + a.GitLab.ProjectPath
		if a.GitLab.Ref != "" {
			s += " on " + a.GitLab.Ref
		}
		if p := a.GitLab.RefProtected; p != nil && *p {
			s += " on protected refs"
		}
		if a.GitLab.Environment != "" {
			s += " in environment " + a.GitLab.Environment
		}
		return s
	case a.Kubernetes != nil:
		return "Pods of service account " + a.Kubernetes.Namespace + "/" + a.Kubernetes.ServiceAccount
	}
	return "CI"
}
