package vaultstore

import "context"

// LogInAgain logs in afresh, as KeepLoggedIn does when a token reaches its
// max TTL, without waiting for it.
func (s *Store) LogInAgain(ctx context.Context) error { return s.auth.login(ctx) }

// Token is the Vault token the store uses now.
func (s *Store) Token() string { return s.client.Token() }
