package policies

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// DefaultRotationPolicy is the built-in policy every credential follows
// unless it names another.
const DefaultRotationPolicy = "yearly"

// RotationPolicy says how long a pair lives and when to remind people
// before its deadline.
type RotationPolicy struct {
	Name   string
	Period time.Duration
	// Remind lists how long before the deadline each reminder goes out,
	// longest first.
	Remind []time.Duration
	// Escalate adds channels to the reminders from a tier on.
	Escalate []Escalation
}

// Escalation is an escalate block: from this lead time on (and once
// overdue), reminders also go to Notify.
type Escalation struct {
	From   time.Duration
	Notify []string
}

// Yearly is the built-in policy: 365 days, reminders 60, 30, 14, 7, 3 and
// 1 days before the deadline. CTRP hands out the new pair two weeks before
// the yearly change, so the early reminders leave time to ask for it.
func Yearly() *RotationPolicy {
	day := 24 * time.Hour
	return &RotationPolicy{Name: DefaultRotationPolicy, Period: 365 * day,
		Remind: []time.Duration{60 * day, 30 * day, 14 * day, 7 * day, 3 * day, day}}
}

// FirstReminder is the longest lead time, or zero when there is none.
func (p *RotationPolicy) FirstReminder() time.Duration {
	if len(p.Remind) == 0 {
		return 0
	}
	return p.Remind[0]
}

var rotationPolicySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "period"}, {Name: "remind"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "escalate", LabelNames: []string{"from"}}},
}

var escalateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "notify", Required: true}},
}

func decodeRotationPolicy(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	name := b.Labels[0]
	content, diags := b.Body.Content(rotationPolicySchema)
	if cfg.declaredRotation[name] {
		return append(diags, errAt(b.LabelRanges[0], "Duplicate rotation_policy", "A rotation_policy named %q is declared twice.", name))
	}
	if cfg.declaredRotation == nil {
		cfg.declaredRotation = map[string]bool{}
	}
	cfg.declaredRotation[name] = true
	p := Yearly() // a block named "yearly" overrides only what it sets
	if name != DefaultRotationPolicy {
		p = &RotationPolicy{Name: name, Period: DefaultRotationPeriod}
	}
	diags = append(diags, optDuration(content.Attributes["period"], &p.Period)...)
	if a := content.Attributes["period"]; a != nil && p.Period <= 0 {
		diags = append(diags, errAt(a.Expr.Range(), "Invalid period", "The period must be more than zero."))
	}
	var remind []string
	diags = append(diags, optStringList(content.Attributes["remind"], &remind)...)
	if a := content.Attributes["remind"]; a != nil && remind != nil {
		p.Remind = nil
		for _, r := range remind {
			d, err := ParseDuration(r)
			if err != nil || d <= 0 {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid reminder", "%q is not a lead time: use durations such as \"30d\" or \"12h\".", r))
				continue
			}
			p.Remind = append(p.Remind, d)
		}
		sort.Slice(p.Remind, func(i, j int) bool { return p.Remind[i] > p.Remind[j] })
	}
	for _, eb := range content.Blocks {
		from, err := ParseDuration(eb.Labels[0])
		if err != nil {
			diags = append(diags, errAt(eb.LabelRanges[0], "Invalid escalation", "%s.", capitalize(err.Error())))
			continue
		}
		ec, d := eb.Body.Content(escalateSchema)
		diags = append(diags, d...)
		e := Escalation{From: from}
		diags = append(diags, optStringList(ec.Attributes["notify"], &e.Notify)...)
		p.Escalate = append(p.Escalate, e)
	}
	cfg.RotationPolicies[name] = p
	return diags
}

var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Vault policy roles.
const (
	RoleDaemon  = "daemon"
	RoleCI      = "ci"
	RoleAuditor = "auditor"
)

// Roles lists the roles in a stable order.
var Roles = []string{RoleDaemon, RoleCI, RoleAuditor}

// VaultPolicyNames are the names of the Vault ACL policies credkeeper manages.
type VaultPolicyNames struct {
	Daemon, CI, Auditor string
}

// DefaultVaultPolicyNames are the names used when a vault_policies block
// does not set them.
func DefaultVaultPolicyNames() VaultPolicyNames {
	return VaultPolicyNames{Daemon: "credkeeper-daemon", CI: "credkeeper-ci", Auditor: "credkeeper-auditor"}
}

// Name returns the policy name of a role.
func (n VaultPolicyNames) Name(role string) string {
	switch role {
	case RoleDaemon:
		return n.Daemon
	case RoleCI:
		return n.CI
	case RoleAuditor:
		return n.Auditor
	}
	return ""
}

var vaultPoliciesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: RoleDaemon}, {Name: RoleCI}, {Name: RoleAuditor}},
}

func decodeVaultPolicies(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	content, diags := b.Body.Content(vaultPoliciesSchema)
	n := DefaultVaultPolicyNames()
	diags = append(diags, optString(content.Attributes[RoleDaemon], &n.Daemon)...)
	diags = append(diags, optString(content.Attributes[RoleCI], &n.CI)...)
	diags = append(diags, optString(content.Attributes[RoleAuditor], &n.Auditor)...)
	for _, role := range Roles {
		if a := content.Attributes[role]; a != nil && !policyName.MatchString(n.Name(role)) {
			diags = append(diags, errAt(a.Expr.Range(), "Invalid policy name", "%q is not a Vault policy name: use letters, digits, '-' and '_'.", n.Name(role)))
		}
	}
	cfg.VaultPolicies = &n
	return diags
}

// PolicyDocument is the Vault ACL policy of a role for credkeeper's records
// under mount/prefix. It is a pure function of its arguments.
//
//   - daemon reads and writes everything under the prefix;
//   - ci reads published tokens only (tokens/*), never a client secret;
//   - auditor reads state/*, ledger/* and the metadata of credentials/*,
//     never their data.
func PolicyDocument(role, mount, prefix string) (string, error) {
	mount, prefix = strings.Trim(mount, "/"), strings.Trim(prefix, "/")
	data := mount + "/data/" + prefix
	meta := mount + "/metadata/" + prefix
	var b strings.Builder
	path := func(p string, caps ...string) {
		fmt.Fprintf(&b, "path %q {\n  capabilities = [%s]\n}\n\n", p, quoteList(caps))
	}
	switch role {
	case RoleDaemon:
		fmt.Fprintf(&b, "# credkeeper daemon: reads and writes every record under %s/%s/.\n\n", mount, prefix)
		path(data+"/*", "create", "read", "update", "patch", "delete")
		path(meta+"/*", "create", "read", "update", "patch", "delete", "list")
		path(mount+"/delete/"+prefix+"/*", "update")
		path(mount+"/undelete/"+prefix+"/*", "update")
	case RoleCI:
		fmt.Fprintf(&b, "# credkeeper CI: reads the access tokens published under %s/%s/tokens/, nothing else.\n\n", mount, prefix)
		path(data+"/tokens/*", "read")
	case RoleAuditor:
		fmt.Fprintf(&b, "# credkeeper auditor: reads check state, the ledger and credentials' metadata, never their secrets.\n\n")
		path(data+"/state/*", "read")
		path(data+"/ledger/*", "read")
		path(meta+"/state/*", "read", "list")
		path(meta+"/ledger/*", "read", "list")
		path(meta+"/credentials/*", "read", "list")
	default:
		return "", fmt.Errorf("unknown role %q: use %s", role, strings.Join(Roles, ", "))
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = fmt.Sprintf("%q", it)
	}
	return strings.Join(q, ", ")
}

// Documents returns every role's policy for mount/prefix as (policy name,
// text) pairs, in role order.
func Documents(names VaultPolicyNames, mount, prefix string) ([][2]string, error) {
	var out [][2]string
	for _, role := range Roles {
		doc, err := PolicyDocument(role, mount, prefix)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]string{names.Name(role), doc})
	}
	return out, nil
}
