package check

import (
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Target is one credential as a check, and every step after it, needs it
// from the configuration: resolved once (ResolveTarget), so that no step
// looks the credential up again by its name.
type Target struct {
	Name string
	// Decl is the credential's block; nil when the configuration does not
	// declare it (then its provider comes from its metadata in Vault).
	Decl *config.Credential
	// Provider is Decl's provider, nil when there is no Decl or the
	// provider is neither a provider block nor a preset.
	Provider *config.Provider
	// Endpoint is Provider's (zero without one).
	Endpoint oauthcheck.Endpoint
	// Policy is Decl's rotation policy (nil without a Decl).
	Policy *config.RotationPolicy
}

// ResolveTarget resolves name in cfg: one lookup of its block, and one of
// its provider.
func ResolveTarget(cfg *config.Config, name string) Target {
	t := Target{Name: name}
	decl, ok := cfg.Credential(name)
	if !ok {
		return t
	}
	t.Decl = decl
	if p, ok := cfg.Provider(decl.Provider); ok {
		t.Provider, t.Endpoint = p, EndpointOf(p)
	}
	t.Policy = cfg.RotationPolicies[decl.Rotation]
	if t.Policy == nil {
		t.Policy = config.Yearly()
	}
	return t
}

// Declared reports whether the configuration declares the credential.
func (t *Target) Declared() bool { return t.Decl != nil }

// userGrant reports whether the credential is a stored user grant.
func (t *Target) userGrant() bool {
	return t.Decl != nil && t.Decl.Grant == config.GrantAuthorizationCode
}

// For is the provider, endpoint and deadline a check of cred sends with:
// the declaration's provider, and the deadline in Vault, else the
// declared one. For a credential the configuration does not declare, the
// provider its metadata names, looked up in cfg (its only use). problem,
// when not empty, says why the credential cannot be checked (a
// misconfigured check's detail).
func (t *Target) For(cfg *config.Config, cred *vaultstore.Credential) (p *config.Provider, e oauthcheck.Endpoint, rotateBy time.Time, problem string) {
	rotateBy = cred.Metadata.RotateBy
	providerName := cred.Metadata.Provider
	if t.Decl != nil {
		providerName = t.Decl.Provider
		if rotateBy.IsZero() {
			rotateBy = t.Decl.RotateBy
		}
		p, e = t.Provider, t.Endpoint
	} else if providerName != "" && cfg != nil {
		if found, ok := cfg.Provider(providerName); ok {
			p, e = found, EndpointOf(found)
		}
	}
	switch {
	case providerName == "":
		return nil, e, rotateBy, "the credential names no provider: set it with credkeeper secret set " + cred.Name + " --provider P, or declare a credential block"
	case p == nil:
		return nil, e, rotateBy, fmt.Sprintf("the credential's provider %q is neither a provider block nor a preset (%v): declare it in the config", providerName, config.PresetNames())
	}
	return p, e, rotateBy, ""
}

// Resolve finds a credential's provider and deadline in cfg: the config's
// credential block first, then the metadata in Vault. problem, when not
// empty, says why the credential cannot be checked.
func Resolve(cfg *config.Config, cred *vaultstore.Credential) (p *config.Provider, rotateBy time.Time, problem string) {
	t := ResolveTarget(cfg, cred.Name)
	p, _, rotateBy, problem = t.For(cfg, cred)
	return p, rotateBy, problem
}
