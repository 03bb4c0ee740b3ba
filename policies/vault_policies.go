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
		d.daemonPaths(mount, prefix, autoRotated)
	case config.RoleOperator:
		d.operatorPaths(mount, prefix)
	case config.RoleCI:
		d.ciPaths(mount, prefix)
	case config.RoleAuditor:
		d.auditorPaths()
	default:
		return "", fmt.Errorf("unknown role %q: use %s", role, strings.Join(config.Roles, ", "))
	}
	return d.String(), nil
}

// daemonPaths grants the daemon its reads and its writes of state, tokens,
// the ledger, leases, rotations and staged results; for the auto-rotated
// credentials alone, staging and promoting a new pair.
func (w *policyWriter) daemonPaths(mount, prefix string, autoRotated []string) {
	w.comment("credkeeper daemon: reads credentials and staged pairs; writes only check state, published tokens,\n# the notice ledger, the leader lease, automated rotations' steps and staged pairs' results under %s/%s/.\n# Where it writes metadata it writes custom_metadata alone: never max_versions, delete_version_after\n# or cas_required, which would cut, expire or jam a secret's history.", mount, prefix)
	w.path(w.data+"/credentials/*", "read")
	w.path(w.meta+"/credentials/*", "read", "list")
	w.path(w.data+"/pending/*", "read")
	w.metaPath(w.meta+"/pending/*", customMetadataOnly, "read", "list", "update")
	for _, kind := range []string{"state", "ledger", "leases", "rotations"} {
		w.path(w.data+"/"+kind+"/*", "create", "read", "update")
		w.path(w.meta+"/"+kind+"/*", "read", "list")
	}
	w.path(w.data+"/tokens/*", "create", "read", "update")
	w.path(w.meta+"/tokens/*", "read", "list", "delete")
	w.path(w.data+"/silences/*", "read")
	w.path(w.meta+"/silences/*", "read", "list")
	for _, name := range autoRotated {
		w.comment("%s rotates by itself (auto_rotate): the daemon stages and promotes its new pair.", name)
		w.path(w.data+"/credentials/"+name, "create", "read", "update")
		w.metaPath(w.meta+"/credentials/"+name, customMetadataOnly, "read", "update")
		w.path(w.data+"/pending/"+name, "create", "read", "update")
		w.metaPath(w.meta+"/pending/"+name, customMetadataOnly, "read", "update", "delete")
	}
}

// operatorPaths grants the operator every record, credentials included.
func (w *policyWriter) operatorPaths(mount, prefix string) {
	w.comment("credkeeper operator (secret set, rotate, apply, check): reads and writes every record under %s/%s/,\n# credentials and their history included. Its metadata writes set custom_metadata and max_versions\n# (credkeeper raises a credential's history), never delete_version_after or cas_required.", mount, prefix)
	w.path(w.data+"/*", "create", "read", "update", "patch", "delete")
	w.metaPath(w.meta+"/*", operatorMetadata, "create", "read", "update", "patch", "delete", "list")
	w.path(mount+"/delete/"+prefix+"/*", "update")
	w.path(mount+"/undelete/"+prefix+"/*", "update")
}

// ciPaths grants CI the published tokens, nothing else.
func (w *policyWriter) ciPaths(mount, prefix string) {
	w.comment("credkeeper CI: reads the access tokens published under %s/%s/tokens/, nothing else.", mount, prefix)
	w.path(w.data+"/tokens/*", "read")
}

// auditorPaths grants the auditor everything but secrets and tokens.
func (w *policyWriter) auditorPaths() {
	w.comment("credkeeper auditor: reads check state, the ledger, silences, rotations' steps, and the metadata of credentials\n# and staged pairs; lists the published tokens' names (for plan); never a secret or a token.")
	w.path(w.data+"/state/*", "read")
	w.path(w.data+"/ledger/*", "read")
	w.path(w.data+"/silences/*", "read")
	w.path(w.data+"/rotations/*", "read")
	for _, kind := range []string{"state", "ledger", "silences", "rotations", "credentials", "pending"} {
		w.path(w.meta+"/"+kind+"/*", "read", "list")
	}
	w.path(w.meta+"/tokens/*", "list")
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
