package app

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/policies"
)

// CISnippet gathers what ci snippet prints for the ci_access block name:
// its role for the mount and prefix cfg names (with the command line's
// overrides), Vault's address (the vault block's, else VAULT_ADDR), and
// how long the job runs.
func CISnippet(cfg *config.Config, o StoreOverrides, name string, jobTime time.Duration) (view.CISnippet, error) {
	a, ok := cfg.CIAccessByName(name)
	if !ok {
		var names []string
		for _, b := range cfg.CIAccess {
			names = append(names, b.Name)
		}
		if len(names) == 0 {
			return view.CISnippet{}, fmt.Errorf("the configuration has no ci_access block: declare one (see the README's \"CI reads a token\")")
		}
		return view.CISnippet{}, fmt.Errorf("no ci_access block is named %q: the configuration declares %s", name, strings.Join(names, ", "))
	}
	sc := StoreConfig(cfg, o)
	s := view.CISnippet{Access: a, KVMount: sc.Mount, Prefix: sc.Prefix, JobTime: jobTime, VaultAddr: sc.Address}
	if s.VaultAddr == "" {
		s.VaultAddr = os.Getenv("VAULT_ADDR")
	}
	for _, r := range policies.CIRolesAt(cfg, sc.Mount, sc.Prefix) {
		if r.Name == name {
			s.Role = r
		}
	}
	if sc.Mount != config.DefaultMount {
		s.StoreFlags += " --mount " + sc.Mount
	}
	if sc.Prefix != config.DefaultPrefix {
		s.StoreFlags += " --prefix " + sc.Prefix
	}
	return s, nil
}

// CISetup is what ci setup-commands prints from: cfg's CI auth mounts and
// the issuers they should trust.
func CISetup(cfg *config.Config) view.CISetup {
	v := cfg.Vault
	return view.CISetup{
		GitHubMount: v.GitHubJWTMount, GitLabMount: v.GitLabJWTMount, KubernetesMount: v.KubernetesMount,
		GitHubIssuer: v.GitHubIssuer, GitLabIssuer: v.GitLabIssuer,
	}
}
