package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// ErrStalePlan: something the plan touches changed in Vault since the plan
// was made. Nothing was written.
var ErrStalePlan = errors.New("the plan is stale")

// ApplyReport says what an apply did.
type ApplyReport struct {
	Applied    []Change
	Skipped    []Change // deletions left in place without --prune
	NotApplied []Change // not reached because an earlier change failed
}

// Counts returns how many applied changes added, changed and destroyed.
func (r *ApplyReport) Counts() (add, change, destroy int) {
	return (&Plan{Changes: r.Applied}).Counts()
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Prune deletes credentials the config no longer declares.
	Prune bool
	// Policies are the ACL policies the configuration asks for now
	// (ManagedPolicies). A plan's policy change is applied only if its text
	// is exactly what they generate: a plan file is data, and a tampered
	// one must not write any policy it likes into Vault.
	Policies []policies.ManagedPolicy
	// CIRoles are the CI roles the configuration asks for now (CIRoles):
	// a plan's role change is applied only if its data is exactly theirs,
	// and a deletion only of a role no longer declared.
	CIRoles []policies.CIRole
	// CIScope is where the configuration's CI roles live (CIScopeOf): a
	// role deletion is applied only on one of its mounts, and only of a
	// role credkeeper made there (its one policy named for it and marked
	// as this mount and prefix's CI access), re-checked at apply time.
	CIScope CIScope
	// Done, when set, is called after each change applied.
	Done func()

	beforeChange func(Change) // a test's hook, to race a change
}

// Apply makes the plan's changes in Vault, in order. It first checks that
// nothing the plan touches changed since the plan was made (the data
// version, or any metadata), and refuses with ErrStalePlan if anything did.
// Each credential's metadata is one KV metadata write, made only if the
// metadata is still as planned; a conflict stops the apply there, and the
// report says what was and was not applied. Deletions happen only with prune.
func Apply(ctx context.Context, store *vaultstore.Store, p *Plan, o ApplyOptions) (*ApplyReport, error) {
	if p.Mount != store.Mount() || p.Prefix != store.Prefix() {
		return nil, fmt.Errorf("the plan was made for %s/%s, not %s/%s: run plan again with the same --mount and --prefix", p.Mount, p.Prefix, store.Mount(), store.Prefix())
	}
	want := make(map[string]string, len(o.Policies))
	for _, mp := range o.Policies {
		want[mp.Name] = mp.Text
	}
	roles := make(map[string]policies.CIRole, len(o.CIRoles))
	for _, r := range o.CIRoles {
		roles[r.Mount+"/"+r.Name] = r
	}
	for _, c := range p.Changes {
		if err := checkWanted(ctx, store, c, want, roles, o.CIScope); err != nil {
			return nil, err
		}
		if err := checkCurrent(ctx, store, c); err != nil {
			return nil, err
		}
	}
	rep := &ApplyReport{}
	for i, c := range p.Changes {
		if c.Action == ActionDelete && !o.Prune {
			rep.Skipped = append(rep.Skipped, c)
			continue
		}
		if o.beforeChange != nil {
			o.beforeChange(c)
		}
		if err := applyChange(ctx, store, c); err != nil {
			rep.NotApplied = append(rep.NotApplied, p.Changes[i:]...)
			return rep, fmt.Errorf("%s %s: %w", c.Action, c.Path(), err)
		}
		rep.Applied = append(rep.Applied, c)
		if o.Done != nil {
			o.Done()
		}
	}
	return rep, nil
}

// checkWanted refuses a policy or CI role change that the configuration
// does not ask for now: a plan file is data, and a tampered one must not
// write any policy or role it likes into Vault.
func checkWanted(ctx context.Context, store *vaultstore.Store, c Change, managed map[string]string, roles map[string]policies.CIRole, scope CIScope) error {
	switch {
	case c.Type == TypeCIRole:
		if err := checkCIRoleChange(c, roles); err != nil {
			return err
		}
		if c.Action == ActionDelete {
			return checkCIRoleDeletion(ctx, store, c, scope)
		}
		return nil
	case c.Type == TypePolicy && c.Action == ActionDelete:
		return checkCIPolicyDeletion(ctx, store, c, managed, scope)
	case c.Type == TypePolicy:
		text, ok := managed[c.Name]
		if !ok {
			return fmt.Errorf("%w: the configuration does not manage policy %q: run plan again", ErrStalePlan, c.Name)
		}
		if cur, err := store.ReadPolicy(ctx, c.Name); err == nil {
			if err := checkNotAnothersCIPolicy(store, c.Name, cur); err != nil {
				return fmt.Errorf("%w: %w", ErrStalePlan, err)
			}
		} else if !errors.Is(err, vaultstore.ErrNotFound) {
			return err
		}
		if text != c.Policy {
			return fmt.Errorf("%w: the plan's text for policy %q is not what this credkeeper generates from the configuration (was the plan file edited?): run plan again", ErrStalePlan, c.Name)
		}
	}
	return nil
}

// checkCurrent refuses a change whose target moved since the plan.
func checkCurrent(ctx context.Context, store *vaultstore.Store, c Change) error {
	current, err := currentFingerprint(ctx, store, c)
	if err != nil {
		return err
	}
	if current != c.Fingerprint {
		return fmt.Errorf("%w: %s changed since it was made; run plan again", ErrStalePlan, c.Path())
	}
	return nil
}

func currentFingerprint(ctx context.Context, store *vaultstore.Store, c Change) (string, error) {
	switch c.Type {
	case TypePolicy:
		text, err := store.ReadPolicy(ctx, c.Name)
		if errors.Is(err, vaultstore.ErrNotFound) {
			return "", nil
		}
		return textFingerprint(text), err
	case TypeCIRole:
		data, exists, err := store.AuthRole(ctx, c.Mount, c.Name)
		if err != nil || !exists {
			return "", err
		}
		return roleFingerprint(data), nil
	default:
		info, err := store.CredentialInfo(ctx, c.Name)
		if errors.Is(err, vaultstore.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return info.Fingerprint, nil
	}
}

func applyChange(ctx context.Context, store *vaultstore.Store, c Change) error {
	switch {
	case c.Type == TypePolicy || c.Type == TypeCIRole:
		// Vault has no check-and-set for policies nor roles: re-read just
		// before writing.
		if err := checkCurrent(ctx, store, c); err != nil {
			return err
		}
		return applyPolicyOrRole(ctx, store, c)
	case c.Action == ActionDelete:
		return store.DeleteAll(ctx, c.Name)
	}
	if c.Metadata == nil {
		return fmt.Errorf("the plan has no metadata for %s", c.Name)
	}
	md, err := c.Metadata.toMetadata()
	if err != nil {
		return fmt.Errorf("the plan's metadata for %s: %w", c.Name, err)
	}
	if c.Action == ActionCreate {
		return store.CreateCredentialMetadata(ctx, c.Name, md)
	}
	return store.PutCredentialMetadata(ctx, c.Name, md, c.Fingerprint)
}

func applyPolicyOrRole(ctx context.Context, store *vaultstore.Store, c Change) error {
	switch {
	case c.Type == TypePolicy && c.Action == ActionDelete:
		return store.DeletePolicy(ctx, c.Name)
	case c.Type == TypePolicy:
		return store.WritePolicy(ctx, c.Name, c.Policy)
	case c.Action == ActionDelete:
		return store.DeleteAuthRole(ctx, c.Mount, c.Name)
	}
	return store.PutAuthRole(ctx, c.Mount, c.Name, c.Role)
}
