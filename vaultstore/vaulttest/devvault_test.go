package vaulttest_test

import (
	"context"
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
