package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// TypeCIRole is a ci_access block's role under a CI auth mount.
const TypeCIRole = "ci_role"

// CIRoles are the roles and policies cfg's ci_access blocks ask for, for
// store's mount and prefix.
func CIRoles(cfg *config.Config, store *vaultstore.Store) []policies.CIRole {
	return policies.CIRolesAt(cfg, store.Mount(), store.Prefix())
}

// CIScope is where a configuration's CI roles and policies live: its CI
// auth mounts and the prefix of its ci_access policies' names.
type CIScope struct {
	Mounts       []string
	PolicyPrefix string
}

// CIScopeOf is cfg's CIScope.
func CIScopeOf(cfg *config.Config) CIScope {
	return CIScope{Mounts: ciMounts(cfg), PolicyPrefix: cfg.CIPolicyPrefix()}
}

// ciRoleOwned reports whether the role Vault holds as mount/name (cur) is
// one credkeeper made for store's mount and prefix: its token_policies are
// exactly the policy prefix+name, and that policy is marked as the CI
// access of block name for this mount and prefix. Plan prunes, and apply
// deletes, only such roles.
func ciRoleOwned(ctx context.Context, store *vaultstore.Store, prefix, name string, cur map[string]any) (bool, error) {
	if prefix == "" || !slices.Equal(stringList(cur["token_policies"]), []string{prefix + name}) {
		return false, nil
	}
	text, err := store.ReadPolicy(ctx, prefix+name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	block, ok := policies.CIPolicyFor(text, store.Mount(), store.Prefix())
	return ok && block == name, nil
}

// ciMethodTypes are the auth method types a CI role's mount must be.
var ciMethodTypes = map[string]string{policies.CIMethodJWT: "jwt", policies.CIMethodKubernetes: "kubernetes"}

// managedRoleKeys are every role field a ci_access role sets: what plan
// compares, and what a role's fingerprint covers.
var managedRoleKeys = []string{
	"audience", "bound_audiences", "bound_claims", "bound_claims_type",
	"bound_service_account_names", "bound_service_account_namespaces",
	"role_type", "token_max_ttl", "token_no_default_policy", "token_policies", "token_ttl", "user_claim",
}

// planCIAccess adds the changes that make Vault's CI roles and their
// policies match cfg's ci_access blocks: each block's policy and role,
// then the deletion of the roles and policies credkeeper made for blocks
// no longer declared. It notes a mount that is missing, of another type, or
// trusting another issuer than the one the block's jobs come from.
func (p *Plan) planCIAccess(ctx context.Context, store *vaultstore.Store, cfg *config.Config) error {
	roles := CIRoles(cfg, store)
	var enabled map[string]vaultstore.AuthMount
	if len(roles) > 0 {
		var err error
		if enabled, err = store.AuthMounts(ctx); err != nil {
			return err
		}
	}
	var roleChanges []Change
	for i, r := range roles {
		a := cfg.CIAccess[i]
		c, err := planCIPolicy(ctx, store, r)
		if err != nil {
			return err
		}
		if c != nil {
			p.Changes = append(p.Changes, *c)
		}
		note, usable, err := mountNote(ctx, store, cfg, a, r, enabled)
		if err != nil {
			return err
		}
		if note != "" {
			p.Notes = append(p.Notes, Note{Name: r.Name, Message: note})
		}
		if !usable {
			continue
		}
		rc, err := planCIRole(ctx, store, r)
		if err != nil {
			return err
		}
		if rc != nil {
			roleChanges = append(roleChanges, *rc)
		}
	}
	p.Changes = append(p.Changes, roleChanges...)
	return p.planUndeclaredCI(ctx, store, cfg, roles, enabled)
}

// mountNote says what is wrong with the auth mount a role needs, if
// anything, and whether its role can be written there.
func mountNote(ctx context.Context, store *vaultstore.Store, cfg *config.Config, a config.CIAccess, r policies.CIRole, enabled map[string]vaultstore.AuthMount) (string, bool, error) {
	m, ok := enabled[r.Mount]
	want := ciMethodTypes[r.Method]
	switch {
	case !ok:
		return fmt.Sprintf("needs the %s auth method at auth/%s, which is not enabled in Vault: an administrator enables and configures it (credkeeper ci setup-commands prints how); its role is planned once the mount exists", want, r.Mount), false, nil
	case m.Type != want:
		return fmt.Sprintf("needs the %s auth method at auth/%s, but the %s method is mounted there: its role is not planned; name another mount in the vault block (%s)", want, r.Mount, m.Type, mountAttr(a)), false, nil
	case r.Method != policies.CIMethodJWT:
		return "", true, nil
	}
	issuer := cfg.CIIssuer(a)
	jc, err := store.JWTAuthConfig(ctx, r.Mount)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		return fmt.Sprintf("auth/%s is enabled but not configured: until an administrator points it at %s (credkeeper ci setup-commands), every login is refused", r.Mount, issuer), true, nil
	case err != nil:
		return "", false, err
	}
	trusted := strings.TrimRight(jc.BoundIssuer, "/")
	if trusted == "" {
		trusted = strings.TrimRight(jc.OIDCDiscoveryURL, "/")
	}
	switch {
	case trusted == "":
		return fmt.Sprintf("auth/%s binds no issuer (bound_issuer): it should trust %s alone (credkeeper ci setup-commands)", r.Mount, issuer), true, nil
	case trusted != issuer:
		return fmt.Sprintf("auth/%s trusts the issuer %s, not %s: %s jobs' logins will be refused; point the mount at %s (credkeeper ci setup-commands), or set %s in the vault block if this is the issuer meant", r.Mount, trusted, issuer, a.Kind(), issuer, issuerAttr(a)), true, nil
	}
	return "", true, nil
}

func mountAttr(a config.CIAccess) string {
	return map[string]string{config.CIKindGitHub: "github_jwt_mount", config.CIKindGitLab: "gitlab_jwt_mount", config.CIKindKubernetes: "kubernetes_mount"}[a.Kind()]
}

func issuerAttr(a config.CIAccess) string {
	return map[string]string{config.CIKindGitHub: "github_issuer", config.CIKindGitLab: "gitlab_issuer"}[a.Kind()]
}

// planCIPolicy is the change a ci_access block's policy needs, if any.
func planCIPolicy(ctx context.Context, store *vaultstore.Store, r policies.CIRole) (*Change, error) {
	return planPolicy(ctx, store, policies.ManagedPolicy{Name: r.PolicyName, Role: config.RoleCI, Text: r.Policy, Scope: r.Credentials})
}

// planCIRole is the change a ci_access block's role needs, if any.
func planCIRole(ctx context.Context, store *vaultstore.Store, r policies.CIRole) (*Change, error) {
	cur, exists, err := store.AuthRole(ctx, r.Mount, r.Name)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("CI access for the tokens of %s", strings.Join(r.Credentials, ", "))
	want := canonicalFields(r.Data)
	if !exists {
		return &Change{Action: ActionCreate, Type: TypeCIRole, Name: r.Name, Mount: r.Mount, Role: r.Data,
			Fields: roleFieldChanges(nil, want), Note: note}, nil
	}
	have := canonicalFields(project(cur))
	fields := roleFieldChanges(have, want)
	if len(fields) == 0 {
		return nil, nil
	}
	return &Change{Action: ActionUpdate, Type: TypeCIRole, Name: r.Name, Mount: r.Mount, Role: r.Data,
		Fields: fields, Fingerprint: roleFingerprint(cur), Note: note}, nil
}

// planUndeclaredCI adds the deletions of the CI roles and policies
// credkeeper made for this mount and prefix whose ci_access block is gone.
func (p *Plan) planUndeclaredCI(ctx context.Context, store *vaultstore.Store, cfg *config.Config, roles []policies.CIRole, enabled map[string]vaultstore.AuthMount) error {
	declaredRole := map[string]bool{}
	declaredPolicy := map[string]bool{}
	for _, r := range roles {
		declaredRole[r.Mount+"/"+r.Name] = true
		declaredPolicy[r.PolicyName] = true
	}
	prefix := cfg.CIPolicyPrefix()
	names, err := store.ListPolicies(ctx)
	if errors.Is(err, vaultstore.ErrPermissionDenied) && len(roles) == 0 {
		// A configuration without ci_access blocks plans with a token
		// that may not list policies, as it did before there were any.
		return nil
	}
	if err != nil {
		return err
	}
	// The ci_access policies of ours, declared or not: its name → its block's.
	owned := map[string]string{}
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		text, err := store.ReadPolicy(ctx, n)
		if errors.Is(err, vaultstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if block, ok := policies.CIPolicyFor(text, store.Mount(), store.Prefix()); ok && n == prefix+block {
			owned[n] = block
		}
	}
	if len(owned) == 0 {
		return nil
	}
	if enabled == nil {
		if enabled, err = store.AuthMounts(ctx); err != nil {
			return err
		}
	}
	var policyDeletes []Change
	for _, mount := range ciMounts(cfg) {
		if m, ok := enabled[mount]; !ok || (m.Type != "jwt" && m.Type != "kubernetes") {
			continue
		}
		names, err := store.AuthRoles(ctx, mount)
		if err != nil {
			return err
		}
		for _, name := range names {
			if declaredRole[mount+"/"+name] {
				continue
			}
			if _, ours := owned[prefix+name]; !ours {
				continue
			}
			cur, exists, err := store.AuthRole(ctx, mount, name)
			if err != nil {
				return err
			}
			if !exists {
				continue
			}
			if ok, err := ciRoleOwned(ctx, store, prefix, name, cur); err != nil {
				return err
			} else if !ok {
				continue
			}
			p.Changes = append(p.Changes, Change{Action: ActionDelete, Type: TypeCIRole, Name: name, Mount: mount,
				Fields: roleFieldChanges(nil, canonicalFields(project(cur))), Fingerprint: roleFingerprint(cur),
				Note: "its ci_access block is no longer declared; deleted only by apply --prune"})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(owned)) {
		if declaredPolicy[n] {
			continue
		}
		text, err := store.ReadPolicy(ctx, n)
		if err != nil {
			return err
		}
		policyDeletes = append(policyDeletes, Change{Action: ActionDelete, Type: TypePolicy, Name: n, Policy: text,
			Fingerprint: textFingerprint(text), Note: "CI access " + owned[n] + ", no longer declared; deleted only by apply --prune"})
	}
	p.Changes = append(p.Changes, policyDeletes...)
	return nil
}

// ciMounts are the CI auth mounts cfg names, each once.
func ciMounts(cfg *config.Config) []string {
	var out []string
	for _, m := range []string{cfg.Vault.GitHubJWTMount, cfg.Vault.GitLabJWTMount, cfg.Vault.KubernetesMount} {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// project keeps the role fields credkeeper manages.
func project(data map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range managedRoleKeys {
		if v, ok := data[k]; ok {
			out[k] = v
		}
	}
	return out
}

// canonicalFields renders each field as JSON, so that a value read from
// Vault (json.Number, []any), one from the configuration ([]string, int)
// and one from a saved plan (float64) compare alike.
func canonicalFields(data map[string]any) map[string]string {
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = canonicalValue(v)
	}
	return out
}

func canonicalValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// roleFingerprint identifies the managed fields of a role as Vault holds it.
func roleFingerprint(data map[string]any) string {
	b, _ := json.Marshal(canonicalFields(project(data)))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// sameRoleData reports whether two roles' data are the same value.
func sameRoleData(a, b map[string]any) bool {
	x, _ := json.Marshal(canonicalFields(a))
	y, _ := json.Marshal(canonicalFields(b))
	return string(x) == string(y)
}

// roleFieldChanges are the fields whose value differs, in name order; old
// nil lists every field of new as added.
func roleFieldChanges(old, new map[string]string) []FieldChange {
	var out []FieldChange
	keys := slices.Sorted(maps.Keys(new))
	for _, k := range keys {
		if o, ok := old[k]; !ok || o != new[k] {
			out = append(out, FieldChange{Field: k, Old: old[k], New: new[k]})
		}
	}
	return out
}

func stringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// checkCIRoleChange refuses a role change the configuration does not ask
// for now: a created or updated role whose data is not what the
// configuration generates (was the plan file edited?), or a deletion of a
// role it still declares.
func checkCIRoleChange(c Change, want map[string]policies.CIRole) error {
	r, declared := want[c.Mount+"/"+c.Name]
	switch {
	case c.Action == ActionDelete && declared:
		return fmt.Errorf("%w: the configuration declares the CI role %s again: run plan again", ErrStalePlan, c.Path())
	case c.Action == ActionDelete:
		return nil
	case !declared:
		return fmt.Errorf("%w: the configuration does not declare the CI role %s: run plan again", ErrStalePlan, c.Path())
	case !sameRoleData(c.Role, r.Data):
		return fmt.Errorf("%w: the plan's data for the CI role %s is not what this credkeeper generates from the configuration (was the plan file edited?): run plan again", ErrStalePlan, c.Path())
	}
	return nil
}

// checkCIRoleDeletion refuses to delete a role that is not on one of the
// configuration's CI mounts, or that credkeeper did not make there for
// this mount and prefix (a plan file is data: it may name any role).
func checkCIRoleDeletion(ctx context.Context, store *vaultstore.Store, c Change, scope CIScope) error {
	if !slices.Contains(scope.Mounts, c.Mount) {
		return fmt.Errorf("%w: auth/%s is not one of the configuration's CI auth mounts: it deletes no role there", ErrStalePlan, c.Mount)
	}
	cur, exists, err := store.AuthRole(ctx, c.Mount, c.Name)
	if err != nil || !exists {
		return err
	}
	ok, err := ciRoleOwned(ctx, store, scope.PolicyPrefix, c.Name, cur)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: the CI role %s is not one credkeeper made for %s/%s: it deletes no other", ErrStalePlan, c.Path(), store.Mount(), store.Prefix())
	}
	return nil
}

// checkCIPolicyDeletion refuses to delete a policy that is not a
// ci_access policy of this mount and prefix, or one the configuration
// manages again.
func checkCIPolicyDeletion(ctx context.Context, store *vaultstore.Store, c Change, managed map[string]string, scope CIScope) error {
	if _, ok := managed[c.Name]; ok {
		return fmt.Errorf("%w: the configuration manages policy %q again: run plan again", ErrStalePlan, c.Name)
	}
	text, err := store.ReadPolicy(ctx, c.Name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if block, ok := policies.CIPolicyFor(text, store.Mount(), store.Prefix()); !ok || scope.PolicyPrefix == "" || c.Name != scope.PolicyPrefix+block {
		return fmt.Errorf("%w: policy %q is not a CI access policy credkeeper made for %s/%s: it deletes no other", ErrStalePlan, c.Name, store.Mount(), store.Prefix())
	}
	return nil
}
