package vaultstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// appRole creates an AppRole role in the test Vault and writes its role ID
// and a secret ID to files, as an operator provisions a daemon.
func appRole(t *testing.T, env *vaulttest.Env, tokenTTL, tokenMaxTTL string, wrapped bool) vaultstore.AuthConfig {
	t.Helper()
	ctx := context.Background()
	role := "credkeeper-" + strings.ReplaceAll(env.Prefix, "/", "-")
	policy := "policy-" + role
	if err := env.Root.Sys().PutPolicyWithContext(ctx, policy, `path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Root.Logical().WriteWithContext(ctx, "auth/approle/role/"+role, map[string]any{
		"token_policies": policy, "token_ttl": tokenTTL, "token_max_ttl": tokenMaxTTL,
	}); err != nil {
		t.Fatal(err)
	}
	rid, err := env.Root.Logical().ReadWithContext(ctx, "auth/approle/role/"+role+"/role-id")
	if err != nil {
		t.Fatal(err)
	}
	client := env.Root
	if wrapped {
		client, _ = env.Root.Clone()
		client.SetToken(env.Token)
		client.SetWrappingLookupFunc(func(string, string) string { return "5m" })
	}
	sid, err := client.Logical().WriteWithContext(ctx, "auth/approle/role/"+role+"/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretID := ""
	if wrapped {
		secretID = sid.WrapInfo.Token
	} else {
		secretID = sid.Data["secret_id"].(string)
	}
	dir := t.TempDir()
	roleFile, secretFile := filepath.Join(dir, "role-id"), filepath.Join(dir, "secret-id")
	if err := os.WriteFile(roleFile, []byte(rid.Data["role_id"].(string)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(secretID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return vaultstore.AuthConfig{Method: vaultstore.AuthAppRole, RoleIDFile: roleFile, SecretIDFile: secretFile, SecretIDWrapped: wrapped}
}

func TestAppRoleLoginRenewsAndLogsInAgain(t *testing.T) {
	t.Parallel() // it waits for real token TTLs
	env := vaulttest.New(t)
	cfg := env.Config()
	cfg.Auth = appRole(t, env, "2s", "4s", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	store, err := vaultstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("AppRole login: %v", err)
	}
	if _, err := store.ListCredentials(ctx); err != nil {
		t.Fatalf("list with the AppRole token: %v", err)
	}

	events := make(chan vaultstore.AuthEvent, 64)
	keepCtx, stopKeeping := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- store.KeepLoggedIn(keepCtx, clockwork.NewRealClock(), func(e vaultstore.AuthEvent) { events <- e })
	}()

	var renewed, relogged bool
	for !(renewed && relogged) {
		select {
		case e := <-events:
			switch e.Kind {
			case "renewed":
				renewed = true
			case "login":
				relogged = true
			case "error":
				t.Logf("auth event: %v", e.Err)
			}
		case <-ctx.Done():
			t.Fatalf("within 30s: renewed=%v, logged in again=%v", renewed, relogged)
		}
	}
	// Past the first token's max TTL, the store still works on the new login.
	if _, err := store.ListCredentials(ctx); err != nil {
		t.Errorf("list after re-login: %v", err)
	}
	stopKeeping()
	if err := <-done; err != nil {
		t.Errorf("KeepLoggedIn returned %v", err)
	}
}

func TestAppRoleWithWrappedSecretID(t *testing.T) {
	env := vaulttest.New(t)
	cfg := env.Config()
	cfg.Auth = appRole(t, env, "1m", "5m", true)
	store, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("AppRole login with a wrapped secret ID: %v", err)
	}
	if _, err := store.ListCredentials(context.Background()); err != nil {
		t.Errorf("list: %v", err)
	}
}

// A wrapped secret ID is unwrapped once: the wrapping token is single-use,
// so the re-login at a token's max TTL uses the secret ID kept in memory.
func TestAppRoleWithWrappedSecretIDLogsInAgain(t *testing.T) {
	env := vaulttest.New(t)
	cfg := env.Config()
	cfg.Auth = appRole(t, env, "1m", "5m", true)
	ctx := context.Background()
	store, err := vaultstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("AppRole login with a wrapped secret ID: %v", err)
	}
	first := store.Token()
	if err := store.LogInAgain(ctx); err != nil {
		t.Fatalf("the second login: %v", err)
	}
	if store.Token() == first {
		t.Error("the second login should bring a new token")
	}
	if _, err := store.ListCredentials(ctx); err != nil {
		t.Errorf("list after the second login: %v", err)
	}
}

func TestAppRoleWithWrongSecretIDIsDenied(t *testing.T) {
	env := vaulttest.New(t)
	cfg := env.Config()
	cfg.Auth = appRole(t, env, "1m", "5m", false)
	if err := os.WriteFile(cfg.Auth.SecretIDFile, []byte("not-the-secret-id"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := vaultstore.Open(context.Background(), cfg)
	if err == nil {
		t.Fatal("login with a wrong secret ID succeeded")
	}
	if strings.Contains(err.Error(), "not-the-secret-id") {
		t.Errorf("error %q shows the secret ID", err)
	}
	var ve *vaultstore.Error
	if !errors.As(err, &ve) || ve.Path != "auth/approle/login" {
		t.Errorf("error %v should be a vaultstore.Error naming auth/approle/login", err)
	}
}

func TestAppRoleMissingFileSaysWhich(t *testing.T) {
	env := vaulttest.New(t)
	cfg := env.Config()
	cfg.Auth = vaultstore.AuthConfig{Method: vaultstore.AuthAppRole, RoleIDFile: "/nonexistent/role-id", SecretIDFile: "/nonexistent/secret-id"}
	_, err := vaultstore.Open(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "role_id_file") {
		t.Fatalf("error = %v, want it to name role_id_file", err)
	}
}

func TestLoginBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {50, time.Minute}} {
		if got := vaultstore.LoginBackoff(tc.failures); got != tc.want {
			t.Errorf("LoginBackoff(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestStaticTokenIsRenewedUntilItCannotBe(t *testing.T) {
	t.Parallel() // it waits for real token TTLs
	env := vaulttest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := env.Root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{TTL: "2s", ExplicitMaxTTL: "4s", Renewable: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.Config()
	cfg.Auth = vaultstore.AuthConfig{Method: vaultstore.AuthToken, Token: secret.New(tok.Auth.ClientToken)}
	store, err := vaultstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan vaultstore.AuthEvent, 64)
	go func() {
		_ = store.KeepLoggedIn(ctx, clockwork.NewRealClock(), func(e vaultstore.AuthEvent) { events <- e })
	}()
	var renewed bool
	for {
		select {
		case e := <-events:
			switch e.Kind {
			case "renewed":
				renewed = true
			case "expiring":
				if !renewed {
					t.Error("the token was never renewed before it expired")
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("no expiring event within 30s (renewed=%v)", renewed)
		}
	}
}

func ptr[T any](v T) *T { return &v }
