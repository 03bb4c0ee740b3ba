package app

import (
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/policies"
)

// VaultPolicies are the Vault ACL policies credkeeper manages for the
// mount and prefix cfg names (with the command line's overrides): every
// role's, under the names of cfg's vault_policies block or the defaults,
// then the scoped CI policies, then the ci_access blocks' policies.
func VaultPolicies(cfg *config.Config, o StoreOverrides) ([]policies.ManagedPolicy, error) {
	sc := StoreConfig(cfg, o)
	names := config.DefaultVaultPolicyNames()
	if cfg.VaultPolicies != nil {
		names = *cfg.VaultPolicies
	}
	docs, err := policies.Documents(names, sc.Mount, sc.Prefix, cfg.AutoRotated()...)
	if err != nil {
		return nil, err
	}
	for _, r := range policies.CIRolesAt(cfg, sc.Mount, sc.Prefix) {
		docs = append(docs, policies.ManagedPolicy{Name: r.PolicyName, Role: config.RoleCI, Text: r.Policy, Scope: r.Credentials})
	}
	return docs, nil
}

// VaultPolicy is one role's policy document (daemon, operator, ci or
// auditor) for the mount and prefix cfg names.
func VaultPolicy(cfg *config.Config, o StoreOverrides, role string) (string, error) {
	sc := StoreConfig(cfg, o)
	return policies.PolicyDocument(role, sc.Mount, sc.Prefix, cfg.AutoRotated()...)
}
