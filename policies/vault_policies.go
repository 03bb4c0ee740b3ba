package policies

import (
	"fmt"
	"strings"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/credname"
)

// PolicyDocument is the Vault ACL policy of a role for credkeeper's records
// under mount/prefix. It is a pure function of its arguments. autoRotated
// names the credentials with auto_rotate, whose rotation the daemon runs:
// for those alone the daemon's policy may stage and promote a new pair.
func PolicyDocument(role, mount, prefix string, autoRotated ...string) (string, error) {
	if err := checkMountAndPrefix(mount, prefix); err != nil {
		return "", err
	}
	mount, prefix = strings.Trim(mount, "/"), strings.Trim(prefix, "/")
	d := policyWriter{data: mount + "/data/" + prefix, meta: mount + "/metadata/" + prefix}
	switch role {
	case config.RoleDaemon:
		d.comment("credkeeper daemon: reads credentials and staged pairs; writes only check state, published tokens,\n# the notice ledger, the leader lease, automated rotations' steps and staged pairs' results under %s/%s/.\n# Where it writes metadata it writes custom_metadata alone: never max_versions, delete_version_after\n# or cas_required, which would cut, expire or jam a secret's history.", mount, prefix)
		d.path(d.data+"/credentials/*", "read")
		d.path(d.meta+"/credentials/*", "read", "list")
		d.path(d.data+"/pending/*", "read")
		d.metaPath(d.meta+"/pending/*", customMetadataOnly, "read", "list", "update")
		for _, kind := range []string{"state", "ledger", "leases", "rotations"} {
			d.path(d.data+"/"+kind+"/*", "create", "read", "update")
			d.path(d.meta+"/"+kind+"/*", "read", "list")
		}
		d.path(d.data+"/tokens/*", "create", "read", "update")
		d.path(d.meta+"/tokens/*", "read", "list", "delete")
		d.path(d.data+"/silences/*", "read")
		d.path(d.meta+"/silences/*", "read", "list")
		for _, name := range autoRotated {
			d.comment("%s rotates by itself (auto_rotate): the daemon stages and promotes its new pair.", name)
			d.path(d.data+"/credentials/"+name, "create", "read", "update")
			d.metaPath(d.meta+"/credentials/"+name, customMetadataOnly, "read", "update")
			d.path(d.data+"/pending/"+name, "create", "read", "update")
			d.metaPath(d.meta+"/pending/"+name, customMetadataOnly, "read", "update", "delete")
		}
	case config.RoleOperator:
		d.comment("credkeeper operator (secret set, rotate, apply, check): reads and writes every record under %s/%s/,\n# credentials and their history included. Its metadata writes set custom_metadata and max_versions\n# (credkeeper raises a credential's history), never delete_version_after or cas_required.", mount, prefix)
		d.path(d.data+"/*", "create", "read", "update", "patch", "delete")
		d.metaPath(d.meta+"/*", operatorMetadata, "create", "read", "update", "patch", "delete", "list")
		d.path(mount+"/delete/"+prefix+"/*", "update")
		d.path(mount+"/undelete/"+prefix+"/*", "update")
	case config.RoleCI:
		d.comment("credkeeper CI: reads the access tokens published under %s/%s/tokens/, nothing else.", mount, prefix)
		d.path(d.data+"/tokens/*", "read")
	case config.RoleAuditor:
		d.comment("credkeeper auditor: reads check state, the ledger, silences, rotations' steps, and the metadata of credentials\n# and staged pairs; lists the published tokens' names (for plan); never a secret or a token.")
		d.path(d.data+"/state/*", "read")
		d.path(d.data+"/ledger/*", "read")
		d.path(d.data+"/silences/*", "read")
		d.path(d.data+"/rotations/*", "read")
		for _, kind := range []string{"state", "ledger", "silences", "rotations", "credentials", "pending"} {
			d.path(d.meta+"/"+kind+"/*", "read", "list")
		}
		d.path(d.meta+"/tokens/*", "list")
	default:
		return "", fmt.Errorf("unknown role %q: use %s", role, strings.Join(config.Roles, ", "))
	}
	return d.String(), nil
}

func checkMountAndPrefix(mount, prefix string) error {
	if err := credname.CheckFolder("mount", mount); err != nil {
		return err
	}
	return credname.CheckFolder("prefix", prefix)
}

// ScopedCIDocument is the policy of a scoped CI block: read the published
// tokens of those credentials only.
func ScopedCIDocument(mount, prefix string, credentials []string) string {
	mount, prefix = strings.Trim(mount, "/"), strings.Trim(prefix, "/")
	d := policyWriter{data: mount + "/data/" + prefix}
	d.comment("credkeeper CI, scoped: reads the access tokens of %s only.", strings.Join(credentials, ", "))
	for _, c := range credentials {
		d.path(d.data+"/tokens/"+c, "read")
	}
	return d.String()
}

type policyWriter struct {
	data, meta string
	b          strings.Builder
}

func (w *policyWriter) comment(format string, args ...any) {
	fmt.Fprintf(&w.b, "# "+format+"\n\n", args...)
}

func (w *policyWriter) path(p string, caps ...string) {
	fmt.Fprintf(&w.b, "path %q {\n  capabilities = [%s]\n}\n\n", p, quoteList(caps))
}

// The KV v2 metadata parameters a role may send where it writes metadata
// (Vault's allowed_parameters: any other parameter is refused).
var (
	customMetadataOnly = []string{"custom_metadata"}
	operatorMetadata   = []string{"custom_metadata", "max_versions"}
)

// metaPath writes a metadata path whose writes may carry only the given
// parameters.
func (w *policyWriter) metaPath(p string, params []string, caps ...string) {
	fmt.Fprintf(&w.b, "path %q {\n  capabilities = [%s]\n  allowed_parameters = {\n", p, quoteList(caps))
	for _, param := range params {
		fmt.Fprintf(&w.b, "    %q = []\n", param)
	}
	w.b.WriteString("  }\n}\n\n")
}

func (w *policyWriter) String() string { return strings.TrimRight(w.b.String(), "\n") + "\n" }

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = fmt.Sprintf("%q", it)
	}
	return strings.Join(q, ", ")
}

// ManagedPolicy is one Vault ACL policy credkeeper manages.
type ManagedPolicy struct {
	Name string
	Role string // a role, or "ci" for a scoped CI policy too
	Text string
	// Scope lists a scoped CI policy's credentials.
	Scope []string
}

// Documents returns every managed policy for mount/prefix: the roles' in
// role order, then the scoped CI policies in file order.
func Documents(names config.VaultPolicyNames, mount, prefix string, autoRotated ...string) ([]ManagedPolicy, error) {
	if err := checkMountAndPrefix(mount, prefix); err != nil {
		return nil, err
	}
	var out []ManagedPolicy
	for _, role := range config.Roles {
		doc, err := PolicyDocument(role, mount, prefix, autoRotated...)
		if err != nil {
			return nil, err
		}
		out = append(out, ManagedPolicy{Name: names.Name(role), Role: role, Text: doc})
	}
	for _, sc := range names.ScopedCI {
		out = append(out, ManagedPolicy{Name: sc.Name, Role: config.RoleCI, Text: ScopedCIDocument(mount, prefix, sc.Credentials), Scope: sc.Credentials})
	}
	return out, nil
}
