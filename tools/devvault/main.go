// Command devvault runs the real HashiCorp Vault core, in one process, for
// credkeeper's tests and demo.
//
// It is built from the github.com/hashicorp/vault module (BUSL-licensed) and
// is for development and tests only: the credkeeper product never imports it.
// It initializes a core with a single unseal key, unseals it, mounts KV v2 at
// secret/, AppRole at approle/ and Kubernetes auth at kubernetes/ (the latter
// unconfigured), and serves the Vault HTTP API on the given loopback address.
// Vault's JWT/OIDC auth method is registered as the builtin credential type
// "jwt" but not mounted: tests mount and configure it (against their own
// OIDC issuer) as an operator would.
//
// When it is ready it prints exactly one JSON line to standard output:
//
//	{"addr":"http://127.0.0.1:PORT","token":"<root token>"}
//
// It exits 0 on SIGTERM or SIGINT. With -data DIR the storage is a directory
// instead of memory, and the unseal key and root token are kept in DIR (mode
// 0600) so that a restarted devvault comes back with its data.
//
// With -cluster N (N > 1) it runs N Vault cores on Raft integrated storage
// instead, as a production HA cluster runs, and takes commands on standard
// input to cause failovers; see cluster.go.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	log "github.com/hashicorp/go-hclog"
	jwtauth "github.com/hashicorp/vault-plugin-auth-jwt"
	kubeauth "github.com/hashicorp/vault-plugin-auth-kubernetes"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/helper/testhelpers/corehelpers"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical"
	"github.com/hashicorp/vault/sdk/physical/file"
	"github.com/hashicorp/vault/sdk/physical/inmem"
	"github.com/hashicorp/vault/vault"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "devvault: error: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	listen      string
	dataDir     string
	allowRemote bool
	logLevel    string
	cluster     int
}

func run() error {
	var opts options
	flag.StringVar(&opts.listen, "listen", "127.0.0.1:8200", "address to serve the Vault API on (port 0 picks a free port)")
	flag.StringVar(&opts.dataDir, "data", "", "keep storage, unseal key and root token in this directory instead of memory")
	flag.BoolVar(&opts.allowRemote, "allow-remote", false, "allow a non-loopback -listen address")
	flag.StringVar(&opts.logLevel, "log-level", "error", "Vault core log level on stderr (trace, debug, info, warn, error, off)")
	flag.IntVar(&opts.cluster, "cluster", 1, "number of Vault cores; more than 1 runs a Raft HA cluster that takes kill/start/seal/unseal N on standard input")
	flag.Parse()

	if err := checkListenAddr(opts.listen, opts.allowRemote); err != nil {
		return err
	}
	if opts.cluster < 1 || opts.cluster > 7 {
		return fmt.Errorf("-cluster %d: a cluster has 1 to 7 cores", opts.cluster)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logger := log.New(&log.LoggerOptions{Name: "devvault", Level: log.LevelFromString(opts.logLevel), Output: os.Stderr})
	if opts.cluster > 1 {
		return runCluster(ctx, opts, logger)
	}

	backend, err := newStorage(opts.dataDir, logger)
	if err != nil {
		return err
	}
	conf := coreConfig()
	conf.Physical, conf.Logger = backend, logger
	core, err := vault.NewCore(conf)
	if err != nil {
		return fmt.Errorf("create vault core: %w", err)
	}
	defer core.Shutdown()

	keys, err := initAndUnseal(ctx, core, opts.dataDir)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.listen, err)
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: &configutil.Listener{Address: host},
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	addr := "http://" + ln.Addr().String()
	if err := setupMounts(ctx, addr, keys.RootToken); err != nil {
		return err
	}

	line, _ := json.Marshal(struct {
		Addr  string `json:"addr"`
		Token string `json:"token"`
	}{addr, keys.RootToken})
	fmt.Println(string(line))

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

// coreConfig is what every core devvault runs has: KV, AppRole, Kubernetes
// and JWT auth, and no mlock.
func coreConfig() *vault.CoreConfig {
	return &vault.CoreConfig{
		DisableMlock:    true,
		LogicalBackends: map[string]logical.Factory{"kv": kv.Factory},
		CredentialBackends: map[string]logical.Factory{
			"approle":    approle.Factory,
			"kubernetes": kubeauth.Factory,
			"jwt":        jwtauth.Factory,
		},
		BuiltinRegistry: corehelpers.NewMockBuiltinRegistry(),
	}
}

// checkListenAddr refuses anything but a loopback address unless allowRemote.
func checkListenAddr(listen string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", listen, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to listen on %q: devvault serves a root token with no TLS; use a loopback address such as 127.0.0.1:0, or pass -allow-remote", listen)
	}
	return nil
}

func newStorage(dataDir string, logger log.Logger) (physical.Backend, error) {
	if dataDir == "" {
		return inmem.NewInmem(nil, logger)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "storage"), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return file.NewFileBackend(map[string]string{"path": filepath.Join(dataDir, "storage")}, logger)
}

// keyFile is what -data keeps between runs: enough to unseal and to log in.
type keyFile struct {
	UnsealKey string `json:"unseal_key"` // base64
	RootToken string `json:"root_token"`
}

func initAndUnseal(ctx context.Context, core *vault.Core, dataDir string) (*keyFile, error) {
	inited, err := core.Initialized(ctx)
	if err != nil {
		return nil, fmt.Errorf("read initialization state: %w", err)
	}
	var keys *keyFile
	if inited {
		if dataDir == "" {
			return nil, errors.New("in-memory storage is unexpectedly initialized")
		}
		keys, err = readKeyFile(dataDir)
		if err != nil {
			return nil, err
		}
	} else {
		res, err := core.Initialize(ctx, &vault.InitParams{
			BarrierConfig:  &vault.SealConfig{SecretShares: 1, SecretThreshold: 1},
			RecoveryConfig: &vault.SealConfig{SecretShares: 1, SecretThreshold: 1},
		})
		if err != nil {
			return nil, fmt.Errorf("initialize vault: %w", err)
		}
		keys = &keyFile{UnsealKey: base64.StdEncoding.EncodeToString(res.SecretShares[0]), RootToken: res.RootToken}
		if dataDir != "" {
			if err := writeKeyFile(dataDir, keys); err != nil {
				return nil, err
			}
		}
	}
	key, err := base64.StdEncoding.DecodeString(keys.UnsealKey)
	if err != nil {
		return nil, fmt.Errorf("decode unseal key: %w", err)
	}
	if _, err := core.Unseal(key); err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	// Unsealing finishes in the background; wait until the core is active.
	deadline := time.Now().Add(30 * time.Second)
	for core.Sealed() {
		if time.Now().After(deadline) {
			return nil, errors.New("vault did not unseal within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return keys, nil
}

func readKeyFile(dir string) (*keyFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		return nil, fmt.Errorf("read unseal key: %w (the data directory has storage but no keys.json)", err)
	}
	var k keyFile
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "keys.json"), err)
	}
	return &k, nil
}

func writeKeyFile(dir string, k *keyFile) error {
	b, _ := json.Marshal(k)
	return os.WriteFile(filepath.Join(dir, "keys.json"), b, 0o600)
}

// setupMounts mounts KV v2 at secret/, AppRole at approle/ and Kubernetes
// at kubernetes/ through the HTTP API, as an operator would, and returns
// once a write under secret/ succeeds (the KV v2 upgrade takes a moment).
func setupMounts(ctx context.Context, addr, token string) error {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	client, err := api.NewClient(cfg)
	if err != nil {
		return err
	}
	client.SetToken(token)
	sys := client.Sys()

	mounts, err := sys.ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	if _, ok := mounts["secret/"]; !ok {
		if err := sys.MountWithContext(ctx, "secret", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			return fmt.Errorf("mount kv v2 at secret/: %w", err)
		}
	}
	auths, err := sys.ListAuthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list auth methods: %w", err)
	}
	for _, m := range []string{"approle", "kubernetes"} {
		if _, ok := auths[m+"/"]; ok {
			continue
		}
		if err := sys.EnableAuthWithOptionsWithContext(ctx, m, &api.EnableAuthOptions{Type: m}); err != nil {
			return fmt.Errorf("enable %s auth: %w", m, err)
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.Logical().WriteWithContext(ctx, "secret/data/devvault/ready", map[string]any{"data": map[string]any{"ready": true}})
		if err == nil {
			_, err = client.Logical().DeleteWithContext(ctx, "secret/metadata/devvault/ready")
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kv v2 at secret/ did not become writable: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
