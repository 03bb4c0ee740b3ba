package oidcprovider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeTooOld(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"v20.19.0\n", ""},
		{"v20.20.2\n", ""},
		{"v22.1.0\n", ""},
		{"v18.19.0\n", "node 18.19.0 is too old: oidc-provider needs Node.js 20.19 or later (e.g. from NodeSource or with nvm)"},
		{"v20.18.3\n", "node 20.18.3 is too old: oidc-provider needs Node.js 20.19 or later (e.g. from NodeSource or with nvm)"},
		{"garbage", `node --version said "garbage", not a version: oidc-provider needs Node.js 20.19 or later`},
	} {
		if got := nodeTooOld(c.out); got != c.want {
			t.Errorf("nodeTooOld(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

// TestMinNodeIsTheEngines keeps MinNode, package.json's engines, the
// lock's root entry and scripts/prerequisites.sh's min_node one version.
func TestMinNodeIsTheEngines(t *testing.T) {
	var pkg struct {
		Engines map[string]string `json:"engines"`
	}
	b, err := os.ReadFile(filepath.Join(dir(), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	want := ">=20.19"
	if MinNode != [2]int{20, 19} || pkg.Engines["node"] != want {
		t.Errorf("package.json's engines.node is %q, MinNode %v: want %s", pkg.Engines["node"], MinNode, want)
	}
	var lock struct {
		Packages map[string]struct {
			Engines map[string]string `json:"engines"`
		} `json:"packages"`
	}
	if b, err = os.ReadFile(filepath.Join(dir(), "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	if got := lock.Packages[""].Engines["node"]; got != want {
		t.Errorf("package-lock.json's root engines.node is %q, want %s", got, want)
	}
	if b, err = os.ReadFile(filepath.Join(dir(), "..", "..", "scripts", "prerequisites.sh")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nmin_node=20.19\n") {
		t.Errorf("scripts/prerequisites.sh does not set min_node=20.19")
	}
}

// TestReadmeSaysWhatMakeTestNeeds: the README's Start here names the node
// make test needs, and its Environment table the variable make test sets.
func TestReadmeSaysWhatMakeTestNeeds(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(dir(), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start, _, _ := strings.Cut(readme[strings.Index(readme, "## Start here"):], "\n## A first session")
	for _, want := range []string{"Node.js 20.19 or later with `npm`", "npm registry", "`npm ci` in `tools/oidcprovider`"} {
		if !strings.Contains(start, want) {
			t.Errorf("README's Start here lacks %q", want)
		}
	}
	env := readme[strings.Index(readme, "\n## Environment\n"):]
	if !strings.Contains(env, "| `"+RequireEnv+"=1` |") {
		t.Errorf("README's Environment table lacks %s", RequireEnv)
	}
}
