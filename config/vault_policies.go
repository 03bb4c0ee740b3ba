package config

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/credkeeper/credkeeper/internal/credname"
)

var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Vault policy roles. Each is granted exactly what its users do:
//
//   - daemon reads credentials, staged pairs and silences, and writes only
//     what the daemon writes: check state, published tokens, the notice
//     ledger, the leader lease and staged pairs' results;
//   - operator is the CLI's: secret set, rotate, apply, check, silence; it
//     may write credentials, with their history, and silences;
//   - ci reads published access tokens (all, or those of a scoped CI
//     policy's credentials), never a client secret;
//   - auditor reads check state, the ledger, silences, rotations' steps
//     and the metadata of credentials and staged pairs, and lists the
//     published tokens' names, never a secret or a token.
const (
	RoleDaemon   = "daemon"
	RoleOperator = "operator"
	RoleCI       = "ci"
	RoleAuditor  = "auditor"
)

// Roles lists the roles in a stable order.
var Roles = []string{RoleDaemon, RoleOperator, RoleCI, RoleAuditor}

// VaultPolicyNames are the names of the Vault ACL policies credkeeper manages.
type VaultPolicyNames struct {
	Daemon, Operator, CI, Auditor string
	// ScopedCI are further CI policies, each reading the tokens of some
	// credentials only.
	ScopedCI []ScopedCI
}

// ScopedCI is a ci block: a CI policy for some credentials' tokens.
type ScopedCI struct {
	Name string
	// Credentials are names, or prefixes ending in "*" ("ctrp-*").
	Credentials []string
}

// DefaultVaultPolicyNames are the names used when a vault_policies block
// does not set them.
func DefaultVaultPolicyNames() VaultPolicyNames {
	return VaultPolicyNames{Daemon: "credkeeper-daemon", Operator: "credkeeper-operator", CI: "credkeeper-ci", Auditor: "credkeeper-auditor"}
}

// Name returns the policy name of a role.
func (n VaultPolicyNames) Name(role string) string {
	switch role {
	case RoleDaemon:
		return n.Daemon
	case RoleOperator:
		return n.Operator
	case RoleCI:
		return n.CI
	case RoleAuditor:
		return n.Auditor
	}
	return ""
}

var vaultPoliciesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: RoleDaemon}, {Name: RoleOperator}, {Name: RoleCI}, {Name: RoleAuditor}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: RoleCI, LabelNames: []string{"name"}}},
}

var scopedCISchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "credentials", Required: true}},
}

func decodeVaultPolicies(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	content, diags := b.Body.Content(vaultPoliciesSchema)
	n := DefaultVaultPolicyNames()
	diags = append(diags, optString(content.Attributes[RoleDaemon], &n.Daemon)...)
	diags = append(diags, optString(content.Attributes[RoleOperator], &n.Operator)...)
	diags = append(diags, optString(content.Attributes[RoleCI], &n.CI)...)
	diags = append(diags, optString(content.Attributes[RoleAuditor], &n.Auditor)...)
	seen := map[string]string{}
	for _, role := range Roles {
		if a := content.Attributes[role]; a != nil && !policyName.MatchString(n.Name(role)) {
			diags = append(diags, errAt(a.Expr.Range(), "Invalid policy name", "%q is not a Vault policy name: use letters, digits, '-' and '_'.", n.Name(role)))
		}
		seen[strings.ToLower(n.Name(role))] = role
	}
	for _, sb := range content.Blocks {
		sc := ScopedCI{Name: sb.Labels[0]}
		if !policyName.MatchString(sc.Name) {
			diags = append(diags, errAt(sb.LabelRanges[0], "Invalid policy name", "%q is not a Vault policy name: use letters, digits, '-' and '_'.", sc.Name))
		}
		if other, dup := seen[strings.ToLower(sc.Name)]; dup {
			diags = append(diags, errAt(sb.LabelRanges[0], "Duplicate policy name", "The policy %q is already the %s policy (Vault folds policy names to lower case).", sc.Name, other))
		}
		seen[strings.ToLower(sc.Name)] = "scoped ci"
		bc, d := sb.Body.Content(scopedCISchema)
		diags = append(diags, d...)
		diags = append(diags, optStringList(bc.Attributes["credentials"], &sc.Credentials)...)
		if a := bc.Attributes["credentials"]; a != nil {
			if len(sc.Credentials) == 0 {
				diags = append(diags, errAt(a.Expr.Range(), "No credentials", "A scoped CI policy names at least one credential; the ci attribute names the policy for all of them."))
			}
			for _, c := range sc.Credentials {
				if err := credname.Check(strings.TrimSuffix(c, "*")); err != nil {
					diags = append(diags, errAt(a.Expr.Range(), "Invalid credential name", "%q: %s; a name may end in * to take every credential it begins.", c, err))
				}
			}
		}
		n.ScopedCI = append(n.ScopedCI, sc)
	}
	cfg.VaultPolicies = &n
	return diags
}

// CheckVaultFolder checks a mount or prefix (what says which) before it
// becomes part of Vault ACL paths: see credname.CheckFolder.
func CheckVaultFolder(what, p string) error { return credname.CheckFolder(what, p) }
