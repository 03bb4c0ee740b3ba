package vaultstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/credname"
)

// Config says which Vault to talk to and where credkeeper's records live.
// Empty fields fall back to the environment, as the vault CLI reads it.
type Config struct {
	// Address of Vault; VAULT_ADDR when empty, else https://127.0.0.1:8200.
	Address string
	// Namespace (Vault Enterprise); VAULT_NAMESPACE when empty.
	Namespace string
	// CACert is a PEM file to verify Vault's TLS certificate; VAULT_CACERT when empty.
	CACert string
	// Mount is the KV v2 mount, "secret" by default.
	Mount string
	// Prefix is the folder under the mount, "credkeeper" by default.
	Prefix string
	// Auth is how to log in; token auth by default.
	Auth AuthConfig
	// Timeout bounds each request to Vault; 10s by default.
	Timeout time.Duration
	// Observe, when set, hears of every request to Vault: its operation
	// (read, write, list, delete, login) and outcome (ok, or the error's kind).
	Observe func(op, outcome string)
}

// Defaults for Config.
const (
	DefaultMount   = "secret"
	DefaultPrefix  = "credkeeper"
	DefaultTimeout = 10 * time.Second
)

// Store reads and writes credkeeper's records in one KV v2 mount.
type Store struct {
	client   *api.Client
	requests *atomic.Int64
	kv       *api.KVv2
	mount    string
	prefix   string
	auth     *authenticator
}

// Open builds a client from cfg and the environment and logs in. It sends
// at most the requests the login needs; it does not probe the mount.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	// A glob character or ".." in either would make the roles' policies
	// cover other folders than credkeeper's.
	if err := credname.CheckFolder("mount", orDefault(cfg.Mount, DefaultMount)); err != nil {
		return nil, err
	}
	if err := credname.CheckFolder("prefix", orDefault(cfg.Prefix, DefaultPrefix)); err != nil {
		return nil, err
	}
	requests := new(atomic.Int64)
	client, err := newClient(cfg, requests)
	if err != nil {
		return nil, err
	}
	s := &Store{
		client:   client,
		requests: requests,
		mount:    strings.Trim(orDefault(cfg.Mount, DefaultMount), "/"),
		prefix:   strings.Trim(orDefault(cfg.Prefix, DefaultPrefix), "/"),
	}
	s.kv = client.KVv2(s.mount)
	s.auth, err = newAuthenticator(client, cfg.Auth)
	if err != nil {
		return nil, err
	}
	if err := s.auth.login(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Address is the Vault address the store talks to.
func (s *Store) Address() string { return s.client.Address() }

// Mount is the KV v2 mount path, without slashes.
func (s *Store) Mount() string { return s.mount }

// Prefix is the folder under the mount, without slashes.
func (s *Store) Prefix() string { return s.prefix }

// Requests is how many HTTP requests this store has sent to Vault.
func (s *Store) Requests() int64 { return s.requests.Load() }

// countingTransport counts the requests that pass through it.
type countingTransport struct {
	base    http.RoundTripper
	n       *atomic.Int64
	observe func(op, outcome string)
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	resp, err := t.base.RoundTrip(r)
	if t.observe != nil {
		t.observe(requestOp(r), requestOutcome(resp, err))
	}
	return resp, err
}

// requestOp names a Vault request for metrics.
func requestOp(r *http.Request) string {
	switch {
	case strings.Contains(r.URL.Path, "/auth/") && strings.HasSuffix(r.URL.Path, "/login"):
		return "login"
	case strings.Contains(r.URL.Path, "/auth/token/"):
		return "token"
	case r.Method == "LIST" || r.URL.Query().Get("list") == "true":
		return "list"
	case r.Method == http.MethodGet:
		return "read"
	case r.Method == http.MethodDelete:
		return "delete"
	}
	return "write"
}

// requestOutcome names what a request's answer means for metrics, read as
// wrapErr reads it.
func requestOutcome(resp *http.Response, err error) string {
	if err != nil {
		return outcomeUnreachable
	}
	return classifyAnswer(resp.StatusCode, answerMessages(resp)).outcome
}

// maxErrorBody bounds how much of an error answer is read to classify it.
const maxErrorBody = 64 << 10

// answerMessages reads the messages of an error answer ({"errors": [...]})
// and leaves the body whole for the client to read again.
func answerMessages(resp *http.Response) []string {
	if resp.StatusCode < 400 || resp.Body == nil {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	var answer struct {
		Errors []string `json:"errors"`
	}
	_ = json.Unmarshal(body, &answer)
	return answer.Errors
}

// maxIdleConns is how many idle connections to Vault a Store keeps: more
// than the daemon's parallel checks.
const maxIdleConns = 32

func newClient(cfg Config, requests *atomic.Int64) (*api.Client, error) {
	// DefaultConfig reads VAULT_ADDR, VAULT_CACERT, VAULT_CAPATH,
	// VAULT_SKIP_VERIFY, VAULT_CLIENT_CERT and friends.
	vc := api.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("read Vault settings from the environment: %w", vc.Error)
	}
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	if cfg.CACert != "" {
		if err := vc.ConfigureTLS(&api.TLSConfig{CACert: cfg.CACert}); err != nil {
			return nil, fmt.Errorf("load Vault CA certificate %s: %w", cfg.CACert, err)
		}
	}
	// One backoff of credkeeper's governs; the client's own retries are off.
	vc.MaxRetries = 0
	// The pooled transport keeps GOMAXPROCS+1 idle connections: on a small
	// machine the daemon's parallel checks closed the rest after each
	// request and dialed again for the next one.
	if t, ok := vc.HttpClient.Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = maxIdleConns
	}
	vc.HttpClient.Transport = countingTransport{base: vc.HttpClient.Transport, n: requests, observe: cfg.Observe}
	vc.Timeout = cfg.Timeout
	if vc.Timeout <= 0 {
		vc.Timeout = DefaultTimeout
	}
	client, err := api.NewClient(vc) // reads VAULT_TOKEN and VAULT_NAMESPACE
	if err != nil {
		return nil, fmt.Errorf("create Vault client for %s: %w", vc.Address, err)
	}
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	return client, nil
}

// tokenFromEnvOrFile returns the token the vault CLI would use: VAULT_TOKEN,
// else the contents of ~/.vault-token.
func tokenFromEnvOrFile() (string, error) {
	if t := os.Getenv(api.EnvVaultToken); t != "" {
		return t, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(home, ".vault-token"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read ~/.vault-token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
