package vaulttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cluster is a Vault HA cluster on Raft integrated storage (bin/devvault
// -cluster N), private to one test, whose nodes the test can kill, start,
// seal and unseal to cause failovers.
type Cluster struct {
	// Addrs are the nodes' API addresses, in devvault's order: node i is
	// Addrs[i] for Kill(i) and the others.
	Addrs []string
	Token string

	mu     sync.Mutex
	active string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
}

// NewCluster starts an n-node cluster for the test and stops it when the
// test ends. Like New, it fails the test when no devvault can be had and
// CREDKEEPER_REQUIRE_VAULT=1, and skips it otherwise.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin, err := findDevvault()
	if err != nil {
		unavailable(t, err)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-cluster", fmt.Sprint(n), "-log-level", "warn")
	// Raft logs every peer it cannot reach, which a failover test causes on
	// purpose: the log is shown only when the test fails.
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	c := &Cluster{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("devvault -cluster %d's log:\n%s", n, logs.String())
		}
	})
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	line, err := c.next(3 * time.Minute)
	if err != nil {
		t.Fatalf("devvault -cluster %d: %v", n, err)
	}
	var ready struct {
		Addrs  []string `json:"addrs"`
		Active string   `json:"active"`
		Token  string   `json:"token"`
	}
	if err := json.Unmarshal([]byte(line), &ready); err != nil || len(ready.Addrs) != n || ready.Active == "" {
		t.Fatalf("devvault -cluster %d's ready line %q: %v", n, line, err)
	}
	c.Addrs, c.active, c.Token = ready.Addrs, ready.Active, ready.Token
	return c
}

// Env is a test's share of the cluster, through node i's address.
func (c *Cluster) Env(t testing.TB, node int) *Env {
	t.Helper()
	return newEnv(t, &Server{Addr: c.Addrs[node], Token: c.Token})
}

// Active is the active node's address as last reported ("" when none).
func (c *Cluster) Active() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// Node is the index of addr in Addrs, or -1.
func (c *Cluster) Node(addr string) int {
	for i, a := range c.Addrs {
		if a == addr {
			return i
		}
	}
	return -1
}

// Kill stops node i abruptly and returns the active node's address once the
// cluster has settled ("" when no quorum is left).
func (c *Cluster) Kill(t testing.TB, i int) string { t.Helper(); return c.do(t, "kill", i) }

// Start brings node i back, unsealed, with its data.
func (c *Cluster) Start(t testing.TB, i int) string { t.Helper(); return c.do(t, "start", i) }

// Seal seals node i.
func (c *Cluster) Seal(t testing.TB, i int) string { t.Helper(); return c.do(t, "seal", i) }

// Unseal unseals node i.
func (c *Cluster) Unseal(t testing.TB, i int) string { t.Helper(); return c.do(t, "unseal", i) }

// Raw sends devvault one line as it is and returns the line it answers.
func (c *Cluster) Raw(t testing.TB, line string) string {
	t.Helper()
	if _, err := fmt.Fprintln(c.stdin, line); err != nil {
		t.Fatalf("devvault %s: %v", line, err)
	}
	answer, err := c.next(2 * time.Minute)
	if err != nil {
		t.Fatalf("devvault %s: %v", line, err)
	}
	return answer
}

func (c *Cluster) do(t testing.TB, verb string, i int) string {
	t.Helper()
	change := fmt.Sprintf("%s %d", verb, i)
	line := c.Raw(t, change)
	var r struct {
		Change string  `json:"change"`
		Active *string `json:"active"`
		Error  string  `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.Change != change {
		t.Fatalf("devvault %s answered %q: %v", change, line, err)
	}
	if r.Error != "" || r.Active == nil {
		t.Fatalf("devvault %s: %s", change, r.Error)
	}
	c.mu.Lock()
	c.active = *r.Active
	c.mu.Unlock()
	return *r.Active
}

func (c *Cluster) next(within time.Duration) (string, error) {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", errors.New("devvault exited")
		}
		return strings.TrimSpace(line), nil
	case <-time.After(within):
		return "", fmt.Errorf("no answer within %s", within)
	}
}

func (c *Cluster) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
