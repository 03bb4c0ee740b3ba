package vaultstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// ErrLoginRefused: Vault refused a login (a JWT whose audience, claims,
// signature or expiry the role does not accept; a service account the role
// does not bind). The error keeps Vault's reason; LoginRefusal returns it.
var ErrLoginRefused = errors.New("login refused")

// AuthMount is an auth method enabled in Vault.
type AuthMount struct {
	Path string // the mount path, without a trailing slash: "jwt-github"
	Type string // the method: "jwt", "kubernetes", "approle", …
}

// JWTAuthConfig is what a JWT auth mount trusts: the issuer it binds and
// where it finds the issuer's keys. It never holds a secret.
type JWTAuthConfig struct {
	BoundIssuer      string
	OIDCDiscoveryURL string
	JWKSURL          string
}

// AuthMounts lists the auth methods enabled in Vault, by path.
func (s *Store) AuthMounts(ctx context.Context) (map[string]AuthMount, error) {
	auths, err := s.client.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return nil, wrapErr("list auth methods", "sys/auth", s.Address(), err)
	}
	out := make(map[string]AuthMount, len(auths))
	for path, m := range auths {
		p := strings.TrimSuffix(path, "/")
		t := ""
		if m != nil {
			t = m.Type
		}
		out[p] = AuthMount{Path: p, Type: t}
	}
	return out, nil
}

// JWTAuthConfig reads the configuration of the JWT auth method at mount;
// ErrNotFound when the mount is missing or not configured.
func (s *Store) JWTAuthConfig(ctx context.Context, mount string) (JWTAuthConfig, error) {
	path := "auth/" + strings.Trim(mount, "/") + "/config"
	sec, err := s.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return JWTAuthConfig{}, wrapErr("read auth config", path, s.Address(), err)
	}
	if sec == nil || sec.Data == nil {
		return JWTAuthConfig{}, &Error{Op: "read auth config", Path: path, Kind: ErrNotFound}
	}
	return JWTAuthConfig{
		BoundIssuer:      stringField(sec.Data, "bound_issuer"),
		OIDCDiscoveryURL: stringField(sec.Data, "oidc_discovery_url"),
		JWKSURL:          stringField(sec.Data, "jwks_url"),
	}, nil
}

// AuthRole reads the role name of the auth method at mount, as Vault
// answers it (durations in seconds, lists as lists); false when it does not
// exist.
func (s *Store) AuthRole(ctx context.Context, mount, name string) (map[string]any, bool, error) {
	path, err := authRolePath(mount, name)
	if err != nil {
		return nil, false, err
	}
	sec, err := s.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		e := wrapErr("read auth role", path, s.Address(), err)
		if errors.Is(e, ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, e
	}
	if sec == nil || sec.Data == nil {
		return nil, false, nil
	}
	return sec.Data, true, nil
}

// PutAuthRole creates or replaces the role name of the auth method at
// mount with data, exactly as given.
func (s *Store) PutAuthRole(ctx context.Context, mount, name string, data map[string]any) error {
	path, err := authRolePath(mount, name)
	if err != nil {
		return err
	}
	_, err = s.client.Logical().WriteWithContext(ctx, path, data)
	return wrapErr("write auth role", path, s.Address(), err)
}

// DeleteAuthRole removes the role name of the auth method at mount; a role
// already gone is not an error.
func (s *Store) DeleteAuthRole(ctx context.Context, mount, name string) error {
	path, err := authRolePath(mount, name)
	if err != nil {
		return err
	}
	_, err = s.client.Logical().DeleteWithContext(ctx, path)
	return wrapErr("delete auth role", path, s.Address(), err)
}

// AuthRoles lists the roles of the auth method at mount, sorted.
func (s *Store) AuthRoles(ctx context.Context, mount string) ([]string, error) {
	path := "auth/" + strings.Trim(mount, "/") + "/role"
	sec, err := s.client.Logical().ListWithContext(ctx, path)
	if err != nil {
		e := wrapErr("list auth roles", path, s.Address(), err)
		if errors.Is(e, ErrNotFound) {
			return nil, nil
		}
		return nil, e
	}
	var names []string
	if sec != nil {
		if keys, ok := sec.Data["keys"].([]any); ok {
			for _, k := range keys {
				if n, ok := k.(string); ok {
					names = append(names, n)
				}
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func authRolePath(mount, name string) (string, error) {
	mount = strings.Trim(mount, "/")
	if mount == "" || name == "" || strings.ContainsAny(name, "/*+") || strings.Contains(mount, "..") {
		return "", &Error{Op: "auth role", Kind: ErrInvalidName, Err: fmt.Errorf("mount %q, role %q", mount, name)}
	}
	return "auth/" + mount + "/role/" + name, nil
}

// LoginJWT logs in to the Vault at addr with Vault's JWT auth method at
// mount, as role, with jwt (an OIDC ID token from a CI platform), exactly
// as a CI job does. The Store uses the token the login gave, with the
// default KV mount and prefix. A refusal is an error of kind
// ErrLoginRefused keeping Vault's reason; the JWT is never part of it.
func LoginJWT(ctx context.Context, addr, mount, role, jwt string) (*Store, error) {
	return Open(ctx, Config{Address: addr, Auth: AuthConfig{Method: AuthJWT, Mount: mount, Role: role, JWT: secret.New(jwt)}})
}

// LoginKubernetes logs in to the Vault at addr with Vault's Kubernetes
// auth method at mount, as role, with a service account's jwt, as a pod
// does. Otherwise as LoginJWT.
func LoginKubernetes(ctx context.Context, addr, mount, role, jwt string) (*Store, error) {
	return Open(ctx, Config{Address: addr, Auth: AuthConfig{Method: AuthKubernetes, Mount: mount, Role: role, JWT: secret.New(jwt)}})
}

// LoginRefusal returns Vault's reason for refusing a login, and whether err
// is such a refusal.
func LoginRefusal(err error) (string, bool) {
	var ve *Error
	if !errors.As(err, &ve) || ve.Kind != ErrLoginRefused || ve.Err == nil {
		return "", false
	}
	return ve.Err.Error(), true
}

// jwtLogin is the login request of Vault's JWT auth method.
type jwtLogin struct {
	mount, role string
	jwt         secret.Value
}

func (l jwtLogin) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	return client.Logical().WriteWithContext(ctx, "auth/"+l.mount+"/login", map[string]any{
		"role": l.role, "jwt": l.jwt.Reveal(),
	})
}

// wrapLoginErr reads a failed login: Vault's 400 and 403 answers to a login
// are refusals whose reason (Vault's message, which never holds the
// credential sent) is kept; others read as any request's.
func wrapLoginErr(path, addr string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 400 || re.StatusCode == 403) {
		reason := vaultMessages(re.Errors)
		if reason == "" {
			reason = "permission denied"
		}
		return &Error{Op: "log in", Path: path, Kind: ErrLoginRefused, Err: errors.New(reason),
			Hint: "the auth method's role does not accept this identity"}
	}
	return wrapErr("log in", path, addr, err)
}

// ReadAllowed tells whether this store's token may read the data of the
// record kind/name (a record not written yet counts as allowed when the
// policy allows the read) and whether one is there. It keeps nothing of
// what it read: it proves what a CI login can and cannot read.
func (s *Store) ReadAllowed(ctx context.Context, kind, name string) (allowed, exists bool, err error) {
	_, _, err = s.readData(ctx, kind, name)
	return accessOutcome(err)
}

// ListAllowed tells whether this store's token may list the records of
// kind, and whether there are any.
func (s *Store) ListAllowed(ctx context.Context, kind string) (allowed, exists bool, err error) {
	names, err := s.list(ctx, kind)
	if err == nil && len(names) == 0 {
		return true, false, nil
	}
	return accessOutcome(err)
}

func accessOutcome(err error) (allowed, exists bool, _ error) {
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, ErrNotFound):
		return true, false, nil
	case errors.Is(err, ErrPermissionDenied):
		return false, false, nil
	}
	return false, false, err
}

// LoginPolicies are the policies Vault's login gave the store's token
// (none for token auth, which sends no login).
func (s *Store) LoginPolicies() []string {
	if s.auth == nil {
		return nil
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if s.auth.secret == nil || s.auth.secret.Auth == nil {
		return nil
	}
	return append([]string(nil), s.auth.secret.Auth.Policies...)
}
