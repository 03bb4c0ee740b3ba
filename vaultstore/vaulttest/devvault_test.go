package vaulttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

func devvault(t *testing.T) string {
	t.Helper()
	bin, err := vaulttest.Binary()
	if err != nil {
		if os.Getenv(vaulttest.EnvRequire) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return bin
}

func TestDevvaultKeepsDataAcrossRestartWithDataDir(t *testing.T) {
	devvault(t)
	dir := t.TempDir()
	ctx := context.Background()

	first, err := vaulttest.Start("-data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSecret(first, "kept"); err != nil {
		first.Stop()
		t.Fatal(err)
	}
	if err := first.Terminate(); err != nil {
		t.Fatalf("devvault on SIGTERM: %v, want exit 0", err)
	}
	info, err := os.Stat(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("keys.json mode = %v, want 0600", info.Mode().Perm())
	}

	second, err := vaulttest.Start("-data", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	if second.Token != first.Token {
		t.Error("the restarted devvault should keep its root token")
	}
	env := &vaulttest.Env{Addr: second.Addr, Token: second.Token}
	client := clientFor(t, env)
	sec, err := client.KVv2("secret").Get(ctx, "devvault-test/x")
	if err != nil || sec.Data["value"] != "kept" {
		t.Fatalf("after restart: %v, %v", sec, err)
	}
}

func TestDevvaultRefusesANonLoopbackAddress(t *testing.T) {
	bin := devvault(t)
	out, err := exec.Command(bin, "-listen", "0.0.0.0:0").CombinedOutput()
	if err == nil {
		t.Fatal("devvault listened on 0.0.0.0")
	}
	if !strings.Contains(string(out), "-allow-remote") {
		t.Errorf("message %q should name -allow-remote", out)
	}
}

// A three-node Raft cluster fails over when its active node is killed or
// sealed, keeps what was written through a standby, and takes a killed
// node back with its data.
func TestDevvaultClusterFailsOverAndKeepsWrites(t *testing.T) {
	devvault(t)
	c := vaulttest.NewCluster(t, 3)
	ctx := context.Background()
	first := c.Node(c.Active())
	if first < 0 {
		t.Fatalf("active %q is not one of %v", c.Active(), c.Addrs)
	}
	standby := (first + 1) % 3
	client := clientFor(t, c.Env(t, standby))
	put := func(v string) {
		t.Helper()
		if _, err := client.KVv2("secret").Put(ctx, "devvault-test/x", map[string]any{"value": v}); err != nil {
			t.Fatalf("write %s through standby %d: %v", v, standby, err)
		}
	}
	get := func(through int) string {
		t.Helper()
		sec, err := clientFor(t, c.Env(t, through)).KVv2("secret").Get(ctx, "devvault-test/x")
		if err != nil {
			t.Fatalf("read through node %d: %v", through, err)
		}
		return fmt.Sprint(sec.Data["value"])
	}
	put("before")

	next := c.Kill(t, first)
	if next == "" || next == c.Addrs[first] {
		t.Fatalf("after killing active node %d the active is %q", first, next)
	}
	if v := get(standby); v != "before" {
		t.Fatalf("after the failover: %q, want before", v)
	}
	put("after")
	if again := c.Kill(t, c.Node(next)); again != "" {
		t.Fatalf("one node of three left: active %q, want none", again)
	}
	if back := c.Start(t, first); back == "" {
		t.Fatal("two nodes of three up again: no active node")
	}
	if v := get(first); v != "after" {
		t.Fatalf("the restarted node reads %q, want after", v)
	}
	c.Start(t, c.Node(next))

	active := c.Node(c.Active())
	if moved := c.Seal(t, active); moved == "" || moved == c.Addrs[active] {
		t.Fatalf("after sealing the active node the active is %q", moved)
	}
	c.Unseal(t, active)
	put("sealed and back")
	for i := range c.Addrs {
		if v := get(i); v != "sealed and back" {
			t.Errorf("node %d reads %q", i, v)
		}
	}
}

// A command devvault cannot carry out is answered with an error line, and
// the cluster goes on.
func TestDevvaultClusterAnswersABadCommandWithAnError(t *testing.T) {
	devvault(t)
	c := vaulttest.NewCluster(t, 3)
	active := c.Node(c.Active())
	for line, want := range map[string]string{
		"reboot 1":                      `unknown command "reboot"`,
		"kill 3":                        "N from 0 to 2",
		"kill":                          "N from 0 to 2",
		fmt.Sprintf("start %d", active): "already running",
	} {
		var answer struct{ Change, Error string }
		if err := json.Unmarshal([]byte(c.Raw(t, line)), &answer); err != nil || !strings.Contains(answer.Error, want) {
			t.Errorf("%q: %+v %v, want an error saying %q", line, answer, err, want)
		}
	}
	if got := c.Kill(t, active); got == "" || got == c.Addrs[active] {
		t.Errorf("after the bad commands, a kill of the active node: active %q", got)
	}
	var answer struct{ Error string }
	if err := json.Unmarshal([]byte(c.Raw(t, fmt.Sprintf("kill %d", active))), &answer); err != nil || !strings.Contains(answer.Error, "not running") {
		t.Errorf("killing a killed node: %+v %v", answer, err)
	}
}
