package app

import (
	"context"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// StoreOverrides are command-line settings that win over the config file.
type StoreOverrides struct {
	Mount  string
	Prefix string
}

// StoreConfig is the vaultstore configuration a config file describes,
// with the command line's overrides applied. Empty fields fall back to
// the environment inside vaultstore.
func StoreConfig(cfg *config.Config, o StoreOverrides) vaultstore.Config {
	v := cfg.Vault
	sc := vaultstore.Config{
		Address: v.Address,
		Mount:   v.Mount,
		Prefix:  v.Prefix,
		Auth: vaultstore.AuthConfig{
			Method:          v.Auth.Method,
			Mount:           v.Auth.Mount,
			RoleIDFile:      v.Auth.RoleIDFile,
			SecretIDFile:    v.Auth.SecretIDFile,
			SecretIDWrapped: v.Auth.SecretIDWrapped,
			Role:            v.Auth.Role,
			JWTFile:         v.Auth.JWTFile,
		},
	}
	if o.Mount != "" {
		sc.Mount = o.Mount
	}
	if o.Prefix != "" {
		sc.Prefix = o.Prefix
	}
	return sc
}

// OpenStore opens the Vault store a config file describes.
func OpenStore(ctx context.Context, cfg *config.Config, o StoreOverrides) (*vaultstore.Store, error) {
	return vaultstore.Open(ctx, StoreConfig(cfg, o))
}
