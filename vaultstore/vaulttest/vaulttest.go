// Package vaulttest gives tests a real Vault: the Vault core built as
// tools/devvault, started once per test binary, with a fresh prefix for
// every test so that tests never see each other's records.
//
// It uses CREDKEEPER_TEST_VAULT_ADDR and CREDKEEPER_TEST_VAULT_TOKEN when
// they are set; otherwise it starts bin/devvault (found by walking up from
// the working directory to the module root, or named by CREDKEEPER_DEVVAULT).
// When neither is possible the test is skipped, unless
// CREDKEEPER_REQUIRE_VAULT=1, when it fails: `make test` sets that, so the
// Vault tests can never pass by being skipped.
//
// A test binary that uses it wires it in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }
package vaulttest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Environment variables read by this package.
const (
	EnvAddr     = "CREDKEEPER_TEST_VAULT_ADDR"
	EnvToken    = "CREDKEEPER_TEST_VAULT_TOKEN"
	EnvRequire  = "CREDKEEPER_REQUIRE_VAULT"
	EnvDevvault = "CREDKEEPER_DEVVAULT"
)

// Server is a running Vault.
type Server struct {
	Addr  string
	Token string
	// DataDir is the -data directory of a private server, which keeps the
	// unseal key; empty for the shared one.
	DataDir string
	cmd     *exec.Cmd
}

// Env is one test's share of the Vault: a root client and a fresh prefix
// under the KV v2 mount "secret".
type Env struct {
	Addr   string
	Token  string
	Mount  string
	Prefix string
	// Root is a client with the root token, for setting up policies,
	// roles and records the test needs.
	Root *api.Client

	srv *Server
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Main runs the tests and then stops the devvault started for them, if any.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// New returns an Env in the shared Vault, skipping or failing the test when
// no Vault can be had (see the package doc).
func New(t testing.TB) *Env {
	t.Helper()
	sharedOnce.Do(func() {
		if addr := os.Getenv(EnvAddr); addr != "" {
			shared = &Server{Addr: addr, Token: os.Getenv(EnvToken)}
			return
		}
		shared, sharedErr = Start()
	})
	if sharedErr != nil {
		unavailable(t, sharedErr)
	}
	return newEnv(t, shared)
}

// NewOwn starts an in-memory Vault of the test's own, stopped when the
// test ends: for a benchmark whose figures must not depend on what the
// runs before it left in the shared Vault (every record and version they
// wrote grows the heap Vault's garbage collector scans). With
// CREDKEEPER_TEST_VAULT_ADDR set it is New.
func NewOwn(t testing.TB) *Env {
	t.Helper()
	if os.Getenv(EnvAddr) != "" {
		return New(t)
	}
	srv, err := Start()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(srv.Stop)
	return newEnv(t, srv)
}

// NewPrivate starts a Vault of the test's own, for tests that do what
// would disturb others (sealing it, say). It keeps its storage and unseal
// key in a temporary directory, so that Unseal can open it again. It is
// stopped when the test ends.
func NewPrivate(t testing.TB) (*Env, *Server) {
	t.Helper()
	dir := t.TempDir()
	srv, err := Start("-data", dir)
	if err != nil {
		unavailable(t, err)
	}
	srv.DataDir = dir
	t.Cleanup(srv.Stop)
	return newEnv(t, srv), srv
}

// Unseal unseals a private server sealed by the test, with the key its data
// directory keeps, and waits until it serves again.
func (e *Env) Unseal(t testing.TB, srv *Server) {
	t.Helper()
	if srv.DataDir == "" {
		t.Fatal("only a private server (NewPrivate) can be unsealed")
	}
	b, err := os.ReadFile(filepath.Join(srv.DataDir, "keys.json"))
	if err != nil {
		t.Fatalf("read the unseal key: %v", err)
	}
	var keys struct {
		UnsealKey string `json:"unseal_key"`
	}
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("parse keys.json: %v", err)
	}
	st, err := e.Root.Sys().Unseal(keys.UnsealKey)
	if err != nil || st.Sealed {
		t.Fatalf("unseal: %+v, %v", st, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Ready once a KV read answers (404 counts): the mount is loaded.
		_, err := e.Root.Logical().Read(e.Mount + "/data/" + e.Prefix + "/unseal-probe")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vault did not serve within 30s of unsealing: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("no Vault for this test, and %s=1: %v", EnvRequire, err)
	}
	t.Skipf("no Vault for this test (set %s=1 to make this a failure): %v", EnvRequire, err)
}

func newEnv(t testing.TB, srv *Server) *Env {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = srv.Addr
	cfg.MaxRetries = 0
	root, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("vault client: %v", err)
	}
	root.SetToken(srv.Token)
	return &Env{Addr: srv.Addr, Token: srv.Token, Mount: "secret", Prefix: "test/" + randomHex(6), Root: root, srv: srv}
}

// ServerCPU is the CPU time (user and system) used so far by the devvault
// process that serves e: a benchmark reads Vault's share of a piece of
// work from it. It is zero when that Vault was not started here (one named
// by CREDKEEPER_TEST_VAULT_ADDR) or /proc cannot tell.
func (e *Env) ServerCPU() time.Duration {
	if e.srv == nil || e.srv.cmd == nil || e.srv.cmd.Process == nil {
		return 0
	}
	return ProcessCPU(e.srv.cmd.Process.Pid)
}

// ProcessCPU is the CPU time (user and system) process pid has used, from
// /proc/PID/stat at the usual 100 ticks a second (zero where there is no
// /proc).
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command's name, which may hold spaces
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// Config is a vaultstore.Config for this Env with the root token.
func (e *Env) Config() vaultstore.Config {
	return vaultstore.Config{
		Address: e.Addr, Mount: e.Mount, Prefix: e.Prefix,
		Auth:    vaultstore.AuthConfig{Method: vaultstore.AuthToken, Token: secret.New(e.Token)},
		Timeout: 5 * time.Second,
	}
}

// Store opens a vaultstore.Store on this Env with the root token.
func (e *Env) Store(t testing.TB) *vaultstore.Store {
	t.Helper()
	s, err := vaultstore.Open(context.Background(), e.Config())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

// CountedStore opens a store whose requests pass through a counting proxy
// to this Env's Vault, and returns the proxy: a benchmark reads from it how
// many reads and writes a piece of work cost.
func (e *Env) CountedStore(t testing.TB) (*vaultstore.Store, *testutil.CountingProxy) {
	t.Helper()
	proxy := testutil.NewCountingProxy(t, e.Addr)
	cfg := e.Config()
	cfg.Address = proxy.URL()
	s, err := vaultstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s, proxy
}

// StoreWithPolicy writes an ACL policy named name (made unique to this
// Env) with text, and opens a store whose token holds that policy alone.
func (e *Env) StoreWithPolicy(t testing.TB, name, text string) *vaultstore.Store {
	t.Helper()
	name = e.PolicyName(name)
	if err := e.Root.Sys().PutPolicyWithContext(context.Background(), name, text); err != nil {
		t.Fatalf("write policy %s: %v", name, err)
	}
	return e.StoreAs(t, name)
}

// PolicyName makes a policy name unique to this Env: name-<prefix>.
func (e *Env) PolicyName(name string) string {
	return name + "-" + strings.ReplaceAll(e.Prefix, "/", "-")
}

// StoreAs opens a store on this Env whose token holds exactly the named
// policies (not even Vault's default policy).
func (e *Env) StoreAs(t testing.TB, policies ...string) *vaultstore.Store {
	t.Helper()
	ctx := context.Background()
	tok, err := e.Root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: policies, NoDefaultPolicy: true, TTL: "10m"})
	if err != nil {
		t.Fatalf("create a token with %v: %v", policies, err)
	}
	cfg := e.Config()
	cfg.Auth.Token = secret.New(tok.Auth.ClientToken)
	s, err := vaultstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open a store with %v: %v", policies, err)
	}
	return s
}

// Setenv points the vault environment variables at this Env for the test.
func (e *Env) Setenv(t *testing.T) {
	t.Setenv("VAULT_ADDR", e.Addr)
	t.Setenv("VAULT_TOKEN", e.Token)
	t.Setenv("HOME", t.TempDir()) // no stray ~/.vault-token
}

// Start runs bin/devvault on a free loopback port and waits for its
// ready line. Extra flags (such as -data DIR) are passed on.
func Start(flags ...string) (*Server, error) {
	bin, err := findDevvault()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, flags...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	type ready struct {
		Addr  string `json:"addr"`
		Token string `json:"token"`
	}
	lines := make(chan ready, 1)
	errs := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			errs <- fmt.Errorf("devvault exited before it was ready: %v", sc.Err())
			return
		}
		var r ready
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			errs <- fmt.Errorf("devvault's ready line %q: %w", sc.Text(), err)
			return
		}
		lines <- r
	}()
	select {
	case r := <-lines:
		return &Server{Addr: r.Addr, Token: r.Token, cmd: cmd}, nil
	case err := <-errs:
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("devvault was not ready within 2 minutes")
	}
}

// Stop ends a devvault started by Start; a Vault named by the environment
// is left alone.
func (s *Server) Stop() { _ = s.Terminate() }

// Terminate sends SIGTERM to a devvault started by Start and returns how it
// exited (nil for exit status 0). It kills it after 10 seconds.
func (s *Server) Terminate() error {
	if s == nil || s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		return errors.New("devvault did not exit within 10s of SIGTERM")
	}
}

// Binary is the path of bin/devvault, as Start finds it.
func Binary() (string, error) { return findDevvault() }

func findDevvault() (string, error) {
	if p := os.Getenv(EnvDevvault); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/credkeeper/credkeeper\n") {
				bin := filepath.Join(dir, "bin", "devvault")
				if _, err := os.Stat(bin); err != nil {
					return "", fmt.Errorf("%s not found: run make devvault", bin)
				}
				return bin, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root not found above the working directory; set " + EnvDevvault)
		}
		dir = parent
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// EnableJWTAuth enables Vault's JWT auth method at mount and configures it
// to trust the OIDC issuer at discoveryURL (whose tokens must carry iss =
// boundIssuer), as an operator does for GitHub Actions or GitLab: vault
// auth enable -path=MOUNT jwt; vault write auth/MOUNT/config
// oidc_discovery_url=… bound_issuer=…. The mount is removed when the test
// ends.
func (e *Env) EnableJWTAuth(t testing.TB, mount, discoveryURL, boundIssuer string) {
	t.Helper()
	e.enableAuth(t, mount, "jwt", map[string]any{"oidc_discovery_url": discoveryURL, "bound_issuer": boundIssuer})
}

// EnableKubernetesAuth enables Vault's Kubernetes auth method at mount and
// points it at the API server at host (a TokenReview stand-in), as an
// operator does: vault auth enable -path=MOUNT kubernetes; vault write
// auth/MOUNT/config kubernetes_host=…. The mount is removed when the test
// ends.
func (e *Env) EnableKubernetesAuth(t testing.TB, mount, host string) {
	t.Helper()
	e.enableAuth(t, mount, "kubernetes", map[string]any{
		"kubernetes_host": host, "token_reviewer_jwt": "reviewer-jwt", "disable_local_ca_jwt": true,
	})
}

func (e *Env) enableAuth(t testing.TB, mount, typ string, config map[string]any) {
	t.Helper()
	ctx := context.Background()
	if err := e.Root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: typ}); err != nil {
		t.Fatalf("enable %s auth at %s: %v", typ, mount, err)
	}
	t.Cleanup(func() { _ = e.Root.Sys().DisableAuthWithContext(context.Background(), mount) })
	if _, err := e.Root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", config); err != nil {
		t.Fatalf("configure %s auth at %s: %v", typ, mount, err)
	}
}

// UniqueName makes a name (a mount path, a role) unique to this Env:
// name-<prefix>.
func (e *Env) UniqueName(name string) string { return e.PolicyName(name) }
