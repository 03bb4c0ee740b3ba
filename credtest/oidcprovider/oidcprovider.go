package oidcprovider

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// RequireEnv, set to 1, makes a missing node or oidc-provider fail a
// test instead of skipping it.
const RequireEnv = "CREDKEEPER_REQUIRE_OIDC_PROVIDER"

// Client is a client registered with the server: it may use
// client_credentials and authenticates with private_key_jwt against JWKS.
type Client struct {
	ID   string
	JWKS jose.JSONWebKeySet
}

// Server is a running oidc-provider.
type Server struct {
	Issuer   string
	TokenURL string
}

// dir is tools/oidcprovider in this module.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", "oidcprovider")
}

// unavailable skips or, under RequireEnv, fails the test.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("node's oidc-provider is required (%s=1) but %s: run scripts/prerequisites.sh test", RequireEnv, why)
	}
	t.Skipf("node's oidc-provider is not available (%s); set %s=1 to fail instead", why, RequireEnv)
}

// MinNode is the oldest node oidc-provider runs on (crypto.hash,
// URL.parse), as tools/oidcprovider/package.json's engines says.
var MinNode = [2]int{20, 19}

// nodeTooOld says why node --version's output is not a node oidc-provider
// runs on, or "" when it is.
func nodeTooOld(version string) string {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return fmt.Sprintf("node --version said %q, not a version: oidc-provider needs Node.js %d.%d or later", v, MinNode[0], MinNode[1])
	}
	if major < MinNode[0] || major == MinNode[0] && minor < MinNode[1] {
		return fmt.Sprintf("node %s is too old: oidc-provider needs Node.js %d.%d or later (e.g. from NodeSource or with nvm)", v, MinNode[0], MinNode[1])
	}
	return ""
}

// Start runs oidc-provider on 127.0.0.1 with clients until the test ends.
func Start(t testing.TB, clients ...Client) *Server {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not installed")
	}
	if out, err := exec.Command(node, "--version").Output(); err != nil {
		unavailable(t, "node --version failed: "+err.Error())
	} else if why := nodeTooOld(string(out)); why != "" {
		unavailable(t, why)
	}
	d := dir()
	if _, err := os.Stat(filepath.Join(d, "node_modules", "oidc-provider", "package.json")); err != nil {
		unavailable(t, "tools/oidcprovider/node_modules lacks oidc-provider (npm ci there)")
	}
	type jsonClient struct {
		ClientID string             `json:"client_id"`
		JWKS     jose.JSONWebKeySet `json:"jwks"`
	}
	var cs []jsonClient
	for _, c := range clients {
		cs = append(cs, jsonClient{c.ID, c.JWKS})
	}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(d, "server.js"), cfg)
	cmd.Dir = d
	cmd.Stderr = &testLog{t: t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oidc-provider: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the server stops when its standard input closes
		if err := cmd.Wait(); err != nil {
			t.Logf("oidc-provider: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("oidc-provider did not say where it listens: %v", err)
	}
	var s struct {
		Issuer   string `json:"issuer"`
		TokenURL string `json:"token_url"`
	}
	if err := json.Unmarshal(line, &s); err != nil || s.TokenURL == "" {
		t.Fatalf("oidc-provider's first line %q: %v", line, err)
	}
	return &Server{Issuer: s.Issuer, TokenURL: s.TokenURL}
}

// testLog passes the server's standard error to the test's log.
type testLog struct{ t testing.TB }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Logf("oidc-provider: %s", p)
	return len(p), nil
}
