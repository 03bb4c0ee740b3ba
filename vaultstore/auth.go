package vaultstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/backoff"
	"github.com/credkeeper/credkeeper/internal/secret"
)

// Auth methods.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
	// AuthJWT is Vault's JWT/OIDC method used with a JWT in hand, as a CI
	// job logs in with its platform's OIDC ID token.
	AuthJWT = "jwt"
)

// DefaultKubernetesJWTFile is where Kubernetes mounts a pod's service account token.
const DefaultKubernetesJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// AuthConfig says how to log in to Vault.
type AuthConfig struct {
	// Method is "token" (the default), "approle" or "kubernetes".
	Method string
	// Mount is the auth method's mount path; the method's name by default.
	Mount string

	// Token, for token auth; VAULT_TOKEN, then ~/.vault-token, when empty.
	Token secret.Value

	// RoleIDFile and SecretIDFile, for AppRole.
	RoleIDFile   string
	SecretIDFile string
	// SecretIDWrapped: SecretIDFile holds a response-wrapping token that
	// unwraps to the secret ID.
	SecretIDWrapped bool

	// Role and JWTFile, for Kubernetes; Role for JWT.
	Role    string
	JWTFile string
	// JWT, for JWT auth (and Kubernetes auth instead of JWTFile): the
	// token itself, held as a secret.
	JWT secret.Value
}

// AuthEvent reports what the login keeper did, for logs and metrics.
type AuthEvent struct {
	Kind string // "login", "renewed", "expiring", "error"
	TTL  time.Duration
	Err  error
}

type authenticator struct {
	client *api.Client
	cfg    AuthConfig

	mu     sync.Mutex
	secret *api.Secret // the login's auth secret, for the lifetime watcher
	// secretID is the AppRole secret ID unwrapped from a single-use
	// wrapping token, kept for every later login.
	secretID secret.Value
}

func newAuthenticator(client *api.Client, cfg AuthConfig) (*authenticator, error) {
	switch cfg.Method {
	case "", AuthToken:
		cfg.Method = AuthToken
	case AuthAppRole:
		if cfg.RoleIDFile == "" || cfg.SecretIDFile == "" {
			return nil, errors.New("approle auth needs role_id_file and secret_id_file")
		}
	case AuthKubernetes:
		if cfg.Role == "" {
			return nil, errors.New("kubernetes auth needs a role")
		}
		if cfg.JWTFile == "" && cfg.JWT.IsZero() {
			cfg.JWTFile = DefaultKubernetesJWTFile
		}
	case AuthJWT:
		if cfg.Role == "" {
			return nil, errors.New("jwt auth needs a role")
		}
		if cfg.JWT.IsZero() {
			return nil, errors.New("jwt auth needs a JWT")
		}
	default:
		return nil, fmt.Errorf("unknown Vault auth method %q: use token, approle, kubernetes or jwt", cfg.Method)
	}
	if cfg.Mount == "" {
		cfg.Mount = cfg.Method
	}
	return &authenticator{client: client, cfg: cfg}, nil
}

// login obtains a token and sets it on the client. Token auth sends no
// request: the token is checked by the first request that uses it.
func (a *authenticator) login(ctx context.Context) error {
	var (
		sec *api.Secret
		err error
	)
	switch a.cfg.Method {
	case AuthToken:
		err = a.useToken()
	case AuthAppRole:
		sec, err = a.loginAppRole(ctx)
	case AuthKubernetes:
		sec, err = a.loginKubernetes(ctx)
	case AuthJWT:
		sec, err = a.loginWith(ctx, jwtLogin{mount: a.cfg.Mount, role: a.cfg.Role, jwt: a.cfg.JWT})
	}
	if err != nil {
		return err
	}
	a.setSecret(sec)
	return nil
}

func (a *authenticator) setSecret(sec *api.Secret) {
	a.mu.Lock()
	a.secret = sec
	a.mu.Unlock()
}

func (a *authenticator) useToken() error {
	tok := a.cfg.Token.Reveal()
	if tok == "" {
		var err error
		if tok, err = tokenFromEnvOrFile(); err != nil {
			return &Error{Op: "login", Err: err}
		}
	}
	if tok == "" {
		return &Error{Op: "login", Kind: ErrPermissionDenied, Err: errors.New("no Vault token"),
			Hint: "set VAULT_TOKEN, run vault login, or configure auth \"approle\" or auth \"kubernetes\" in the vault block"}
	}
	a.client.SetToken(tok)
	return nil
}

// tokenSecret looks up the token in use, to learn whether and for how long
// it can be renewed.
func (a *authenticator) tokenSecret(ctx context.Context) (*api.Secret, error) {
	self, err := a.client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, wrapErr("look up the Vault token", "auth/token/lookup-self", a.client.Address(), err)
	}
	renewable, _ := self.TokenIsRenewable()
	ttl, _ := self.TokenTTL()
	return &api.Secret{Auth: &api.SecretAuth{ClientToken: a.client.Token(), Renewable: renewable, LeaseDuration: int(ttl.Seconds())}}, nil
}

func (a *authenticator) loginAppRole(ctx context.Context) (*api.Secret, error) {
	roleID, err := readTrimmed(a.cfg.RoleIDFile, "AppRole role_id_file")
	if err != nil {
		return nil, err
	}
	secretID := &approle.SecretID{FromFile: a.cfg.SecretIDFile}
	if a.cfg.SecretIDWrapped {
		id, err := a.unwrappedSecretID(ctx)
		if err != nil {
			return nil, err
		}
		secretID = &approle.SecretID{FromString: id.Reveal()}
	}
	method, err := approle.NewAppRoleAuth(roleID, secretID, approle.WithMountPath(a.cfg.Mount))
	if err != nil {
		return nil, &Error{Op: "login", Path: "auth/" + a.cfg.Mount, Err: err}
	}
	return a.loginWith(ctx, method)
}

// unwrappedSecretID is the secret ID behind the response-wrapping token in
// SecretIDFile. The wrapping token works once, so it is unwrapped at the
// first login and the secret ID kept in memory for the re-logins that
// follow; a restarted process needs a freshly wrapped secret ID.
func (a *authenticator) unwrappedSecretID(ctx context.Context) (secret.Value, error) {
	a.mu.Lock()
	id := a.secretID
	a.mu.Unlock()
	if !id.IsZero() {
		return id, nil
	}
	wrapping, err := readTrimmed(a.cfg.SecretIDFile, "AppRole secret_id_file (a wrapping token)")
	if err != nil {
		return secret.Value{}, err
	}
	unwrapper, err := a.client.Clone()
	if err != nil {
		return secret.Value{}, &Error{Op: "unwrap the secret ID", Err: err}
	}
	unwrapper.SetToken(wrapping)
	sec, err := unwrapper.Logical().UnwrapWithContext(ctx, "")
	if err != nil {
		e := wrapErr("unwrap the secret ID", "sys/wrapping/unwrap", a.client.Address(), err)
		var ve *Error
		if errors.As(e, &ve) && ve.Hint == "" {
			ve.Hint = "a wrapping token works once: write a freshly wrapped secret ID to secret_id_file (vault write -wrap-ttl=… -f auth/approle/role/ROLE/secret-id), or an unwrapped one with secret_id_wrapped = false"
		}
		return secret.Value{}, e
	}
	var raw string
	if sec != nil {
		raw, _ = sec.Data["secret_id"].(string)
	}
	if raw == "" {
		return secret.Value{}, &Error{Op: "unwrap the secret ID", Path: "sys/wrapping/unwrap", Err: errors.New("the wrapped response holds no secret_id")}
	}
	id = secret.New(raw)
	a.mu.Lock()
	a.secretID = id
	a.mu.Unlock()
	return id, nil
}

func (a *authenticator) loginKubernetes(ctx context.Context) (*api.Secret, error) {
	token := kubernetes.WithServiceAccountToken(a.cfg.JWT.Reveal())
	if a.cfg.JWT.IsZero() {
		if _, err := readTrimmed(a.cfg.JWTFile, "Kubernetes service account token"); err != nil {
			return nil, err
		}
		token = kubernetes.WithServiceAccountTokenPath(a.cfg.JWTFile)
	}
	method, err := kubernetes.NewKubernetesAuth(a.cfg.Role,
		kubernetes.WithMountPath(a.cfg.Mount), token)
	if err != nil {
		return nil, &Error{Op: "login", Path: "auth/" + a.cfg.Mount, Err: err}
	}
	return a.loginWith(ctx, method)
}

func (a *authenticator) loginWith(ctx context.Context, method api.AuthMethod) (*api.Secret, error) {
	path := "auth/" + a.cfg.Mount + "/login"
	sec, err := a.client.Auth().Login(ctx, method)
	if err != nil {
		return nil, wrapLoginErr(path, a.client.Address(), err)
	}
	if sec == nil || sec.Auth == nil {
		return nil, &Error{Op: "log in", Path: path, Err: errors.New("vault returned no token")}
	}
	return sec, nil
}

// KeepLoggedIn renews the login with api.LifetimeWatcher and logs in again
// when the token can no longer be renewed, until ctx ends. A failed login is
// retried with backoff. A static token (token auth) is renewed while it can
// be; when it cannot, KeepLoggedIn reports "expiring" and waits. Its own
// waits (a backoff, a login's two thirds of life) are on clock. onEvent
// (which may be nil) hears of each step.
func (s *Store) KeepLoggedIn(ctx context.Context, clock clockwork.Clock, onEvent func(AuthEvent)) error {
	if onEvent == nil {
		onEvent = func(AuthEvent) {}
	}
	return s.auth.keep(ctx, clock, onEvent)
}

func (a *authenticator) keep(ctx context.Context, clock clockwork.Clock, onEvent func(AuthEvent)) error {
	failures := 0
	for ctx.Err() == nil {
		sec, err := a.current(ctx, onEvent)
		if err != nil {
			failures++
			onEvent(AuthEvent{Kind: "error", Err: err})
			if !sleepCtx(ctx, clock, LoginBackoff(failures)) {
				return nil
			}
			continue
		}
		failures = 0
		ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
		switch {
		case ttl == 0:
			// A token that never expires (a root token) needs no care.
			<-ctx.Done()
			return nil
		case sec.Auth.Renewable:
			if err := a.watch(ctx, sec, onEvent); err != nil && ctx.Err() == nil {
				onEvent(AuthEvent{Kind: "error", Err: err})
			}
		case a.cfg.Method != AuthToken:
			// Not renewable: log in again at two thirds of its life.
			if !sleepCtx(ctx, clock, ttl*2/3) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if a.cfg.Method == AuthToken {
			// Nothing can replace a static token: say so and wait.
			onEvent(AuthEvent{Kind: "expiring", TTL: ttl})
			<-ctx.Done()
			return nil
		}
		a.setSecret(nil) // renewal is over: log in again
	}
	return nil
}

// current returns the login's auth secret, logging in when there is none.
func (a *authenticator) current(ctx context.Context, onEvent func(AuthEvent)) (*api.Secret, error) {
	if a.cfg.Method == AuthToken {
		return a.tokenSecret(ctx)
	}
	a.mu.Lock()
	sec := a.secret
	a.mu.Unlock()
	if sec != nil {
		return sec, nil
	}
	if err := a.login(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	sec = a.secret
	a.mu.Unlock()
	onEvent(AuthEvent{Kind: "login", TTL: time.Duration(sec.Auth.LeaseDuration) * time.Second})
	return sec, nil
}

func sleepCtx(ctx context.Context, clock clockwork.Clock, d time.Duration) bool {
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

func (a *authenticator) watch(ctx context.Context, sec *api.Secret, onEvent func(AuthEvent)) error {
	w, err := a.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: sec})
	if err != nil {
		return err
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.DoneCh():
			// Renewal ended: the token reached its max TTL or renewal failed.
			return err
		case r := <-w.RenewCh():
			ttl := time.Duration(0)
			if r.Secret != nil && r.Secret.Auth != nil {
				ttl = time.Duration(r.Secret.Auth.LeaseDuration) * time.Second
			}
			onEvent(AuthEvent{Kind: "renewed", TTL: ttl})
		}
	}
}

// LoginBackoff is the wait before login attempt n+1 after n consecutive
// failures: 1s, 2s, 4s … capped at one minute.
func LoginBackoff(failures int) time.Duration {
	return backoff.Exponential(failures, time.Second, time.Minute)
}

func readTrimmed(path, what string) (string, error) {
	v, err := secret.ReadFile(path, what)
	if err != nil {
		return "", &Error{Op: "login", Err: err}
	}
	return v.Reveal(), nil
}
