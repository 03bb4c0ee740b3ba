package vaulttest_test

import (
	"context"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func clientFor(t *testing.T, env *vaulttest.Env) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = env.Addr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(env.Token)
	return c
}

func writeSecret(s *vaulttest.Server, value string) error {
	cfg := api.DefaultConfig()
	cfg.Address = s.Addr
	c, err := api.NewClient(cfg)
	if err != nil {
		return err
	}
	c.SetToken(s.Token)
	_, err = c.KVv2("secret").Put(context.Background(), "devvault-test/x", map[string]any{"value": value})
	return err
}
