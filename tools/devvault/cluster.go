package main

// A Raft HA cluster in one process, for tests that need failover.
//
// Each core has its own Raft directory and its own plain-HTTP API listener on
// loopback; the cores talk to each other over Vault's TLS cluster port, as
// production nodes do, so a standby forwards requests to the active node.
// The cluster is assembled with the vault module's own cluster harness
// (vault.NewTestCluster), which the Vault team's HA tests use.
//
// When every core is unsealed and one is active, devvault prints:
//
//	{"addrs":["http://127.0.0.1:P0","http://127.0.0.1:P1","http://127.0.0.1:P2"],"active":"http://127.0.0.1:P0","token":"hvs.…"}
//
// and reads commands, one a line, from standard input:
//
//	kill N     stop core N abruptly: its API listener and open connections are
//	           closed and the core shuts down without stepping down
//	start N    bring core N back on the same address and its Raft data, unsealed
//	seal N     seal core N
//	unseal N   unseal core N
//
// N is the core's index in addrs, from 0. After each it prints one line,
//
//	{"change":"kill 0","active":"http://127.0.0.1:P1"}
//
// once the cluster has settled: with an active node when a quorum of unsealed
// cores is up (waiting up to a minute for the election), or with "active":""
// when none can be elected. A command that fails prints {"change":…,"error":…}.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	log "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/helper/namespace"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/physical/raft"
	"github.com/hashicorp/vault/vault"
)

// electionWait bounds how long a change waits for an active node.
const electionWait = time.Minute

type clusterRun struct {
	tb      *harnessTB
	cluster *vault.TestCluster
	opts    *vault.TestClusterOptions
	host    string
	addrs   []string

	mu      sync.Mutex
	servers []*http.Server // nil while the core is killed
	sealed  []bool         // sealed by a command
}

func runCluster(ctx context.Context, opts options, logger log.Logger) (err error) {
	if opts.dataDir != "" {
		entries, _ := os.ReadDir(opts.dataDir)
		if len(entries) > 0 {
			return fmt.Errorf("-data %s is not empty: a cluster starts from empty Raft directories (restarting a whole cluster from its data is not supported; use -cluster 1 for that)", opts.dataDir)
		}
	}
	root := opts.dataDir
	if root == "" {
		root, err = os.MkdirTemp("", "devvault-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(root)
	}
	host, port, _ := net.SplitHostPort(opts.listen)
	basePort, _ := strconv.Atoi(port)

	tb := &harnessTB{logger: logger}
	defer tb.runCleanups()
	c := &clusterRun{tb: tb, host: host}
	if err := tb.try(func() { c.start(root, opts.cluster, logger) }); err != nil {
		return fmt.Errorf("start a %d-core cluster: %w", opts.cluster, err)
	}
	defer c.stopAll()

	for i := range c.cluster.Cores {
		addr := net.JoinHostPort(host, "0")
		if basePort != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(basePort+i))
		}
		if err := c.serve(i, addr); err != nil {
			return err
		}
	}
	active, err := c.waitActive(ctx)
	if err != nil {
		return err
	}
	if err := setupMounts(ctx, active, c.cluster.RootToken); err != nil {
		return err
	}
	line, _ := json.Marshal(struct {
		Addrs  []string `json:"addrs"`
		Active string   `json:"active"`
		Token  string   `json:"token"`
	}{c.addrs, active, c.cluster.RootToken})
	fmt.Println(string(line))

	commands := make(chan string)
	go func() {
		defer close(commands)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			commands <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd, ok := <-commands:
			if !ok {
				commands = nil // standard input closed: run until a signal
				continue
			}
			if strings.TrimSpace(cmd) == "" {
				continue
			}
			fmt.Println(string(c.apply(ctx, cmd)))
		}
	}
}

// start builds the cluster: core 0 initializes Raft, the others join it as
// voters (autopilot off, so a quorum exists as soon as they join).
func (c *clusterRun) start(root string, n int, logger log.Logger) {
	bridge := raft.NewClusterAddrBridge()
	c.opts = &vault.TestClusterOptions{
		NumCores:           n,
		KeepStandbysSealed: true,
		HandlerFunc:        vaulthttp.Handler,
		Logger:             logger,
		TempDir:            filepath.Join(root, "tls"),
		KVVersion:          "2",
		PhysicalFactory: func(t testing.TB, idx int, logger log.Logger, _ map[string]interface{}) *vault.PhysicalBackendBundle {
			dir := filepath.Join(root, fmt.Sprintf("core-%d", idx))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			backend, err := raft.NewRaftBackend(map[string]string{
				"path":    dir,
				"node_id": fmt.Sprintf("core-%d", idx),
				// Production's default multiplier is 5; 1 elects in about a second.
				"performance_multiplier": "1",
			}, logger.Named("raft"))
			if err != nil {
				t.Fatal(err)
			}
			rb := backend.(*raft.RaftBackend)
			rb.SetServerAddressProvider(bridge)
			return &vault.PhysicalBackendBundle{
				Backend: backend,
				// A killed core's Raft files are closed, never removed: start
				// brings the core back with its data.
				Cleanup:          func() { _ = rb.Close() },
				MutateCoreConfig: func(conf *vault.CoreConfig) { conf.ClusterAddrBridge = bridge },
			}
		},
		SetupFunc: func(t testing.TB, tc *vault.TestCluster) {
			leader := tc.Cores[0]
			join := []*raft.LeaderJoinInfo{{LeaderAPIAddr: leader.Client.Address(), TLSConfig: leader.TLSConfig()}}
			for _, core := range tc.Cores[1:] {
				if _, err := core.JoinRaftCluster(namespace.RootContext(context.Background()), join, false); err != nil {
					t.Fatal(err)
				}
				tc.UnsealCore(t, core)
			}
		},
	}
	conf := coreConfig()
	conf.DisableAutopilot = true
	c.cluster = vault.NewTestCluster(c.tb, conf, c.opts)
	c.servers = make([]*http.Server, n)
	c.sealed = make([]bool, n)
	c.addrs = make([]string, n)
}

// serve puts core i's API on plain HTTP at addr.
func (c *clusterRun) serve(i int, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("core %d: listen on %s: %w", i, addr, err)
	}
	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           c.cluster.Cores[i].Core,
		ListenerConfig: &configutil.Listener{Address: c.host},
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	c.mu.Lock()
	c.servers[i] = srv
	c.addrs[i] = "http://" + ln.Addr().String()
	c.mu.Unlock()
	return nil
}

func (c *clusterRun) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, srv := range c.servers {
		if srv != nil {
			_ = srv.Close()
		}
	}
	_ = c.tb.try(func() { c.cluster.Cleanup() })
}

// apply runs one command and reports the cluster's state after it.
func (c *clusterRun) apply(ctx context.Context, line string) []byte {
	type report struct {
		Change string  `json:"change"`
		Active *string `json:"active,omitempty"`
		Error  string  `json:"error,omitempty"`
	}
	line = strings.Join(strings.Fields(line), " ")
	fail := func(err error) []byte {
		b, _ := json.Marshal(report{Change: line, Error: err.Error()})
		return b
	}
	verb, arg, _ := strings.Cut(line, " ")
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || n >= len(c.addrs) {
		return fail(fmt.Errorf("want kill|start|seal|unseal N with N from 0 to %d", len(c.addrs)-1))
	}
	core := c.cluster.Cores[n]
	switch verb {
	case "kill":
		c.mu.Lock()
		srv := c.servers[n]
		c.servers[n] = nil
		c.mu.Unlock()
		if srv == nil {
			return fail(fmt.Errorf("core %d is not running", n))
		}
		_ = srv.Close() // drops open connections mid-request
		err = c.tb.try(func() { c.cluster.StopCore(c.tb, n) })
	case "start":
		c.mu.Lock()
		running := c.servers[n] != nil
		c.mu.Unlock()
		if running {
			return fail(fmt.Errorf("core %d is already running", n))
		}
		err = c.tb.try(func() {
			c.cluster.StartCore(c.tb, n, c.opts)
			c.cluster.UnsealCore(c.tb, c.cluster.Cores[n])
		})
		if err == nil {
			err = c.serve(n, strings.TrimPrefix(c.addrs[n], "http://")) // the address it had
		}
	case "seal":
		err = c.tb.try(func() { core.Seal(c.tb) })
		c.setSealed(n, err == nil)
	case "unseal":
		err = c.tb.try(func() { c.cluster.UnsealCore(c.tb, core) })
		c.setSealed(n, err != nil)
	default:
		return fail(fmt.Errorf("unknown command %q: want kill|start|seal|unseal N", verb))
	}
	if err != nil {
		return fail(err)
	}
	active := ""
	if c.quorum() {
		active, err = c.waitActive(ctx)
		if err != nil {
			return fail(err)
		}
	}
	b, _ := json.Marshal(report{Change: line, Active: &active})
	return b
}

func (c *clusterRun) setSealed(i int, sealed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sealed[i] = sealed
}

// quorum says whether a majority of cores is running and unsealed, so that
// an active node can be elected.
func (c *clusterRun) quorum() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	up := 0
	for i, srv := range c.servers {
		if srv != nil && !c.sealed[i] {
			up++
		}
	}
	return up*2 > len(c.servers)
}

// waitActive waits until the cluster has settled as a client sees it: one
// running core's /v1/sys/health says active (200) and every other running
// core not sealed by a command says standby (429), so that each of them
// serves and forwards. It returns the active core's address.
func (c *clusterRun) waitActive(ctx context.Context) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(electionWait)
	for {
		c.mu.Lock()
		var addrs []string
		for i, srv := range c.servers {
			if srv != nil && !c.sealed[i] {
				addrs = append(addrs, c.addrs[i])
			}
		}
		c.mu.Unlock()
		active, standbys := "", 0
		for _, addr := range addrs {
			resp, err := client.Get(addr + "/v1/sys/health")
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				active = addr
			case http.StatusTooManyRequests:
				standbys++
			}
		}
		if active != "" && standbys == len(addrs)-1 {
			return active, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the cluster did not settle with one active core within %s", electionWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// harnessTB lets the vault module's cluster harness, written for tests, run
// in this program: a Fatal unwinds to the nearest try, which returns it as an
// error. Methods the harness does not call panic on the nil embedded TB.
type harnessTB struct {
	testing.TB
	logger   log.Logger
	mu       sync.Mutex
	cleanups []func()
}

type harnessFatal struct{ msg string }

func (t *harnessTB) try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			hf, ok := r.(harnessFatal)
			if !ok {
				panic(r)
			}
			err = errors.New(hf.msg)
		}
	}()
	f()
	return nil
}

func (t *harnessTB) runCleanups() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (t *harnessTB) Helper()                         {}
func (t *harnessTB) Name() string                    { return "devvault" }
func (t *harnessTB) Failed() bool                    { return false }
func (t *harnessTB) Log(args ...any)                 { t.logger.Debug(fmt.Sprint(args...)) }
func (t *harnessTB) Logf(format string, args ...any) { t.logger.Debug(fmt.Sprintf(format, args...)) }
func (t *harnessTB) Error(args ...any)               { t.Fatal(args...) }
func (t *harnessTB) Errorf(format string, args ...any) {
	t.Fatalf(format, args...)
}
func (t *harnessTB) Fatal(args ...any) { panic(harnessFatal{fmt.Sprint(args...)}) }
func (t *harnessTB) Fatalf(format string, args ...any) {
	panic(harnessFatal{fmt.Sprintf(format, args...)})
}
func (t *harnessTB) FailNow()                 { t.Fatal("FailNow") }
func (t *harnessTB) Skip(args ...any)         { t.Fatal(args...) }
func (t *harnessTB) Skipf(f string, a ...any) { t.Fatalf(f, a...) }
func (t *harnessTB) SkipNow()                 { t.Fatal("SkipNow") }
func (t *harnessTB) Context() context.Context {
	return context.Background()
}
func (t *harnessTB) TempDir() string {
	dir, err := os.MkdirTemp("", "devvault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
func (t *harnessTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
