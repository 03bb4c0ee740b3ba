package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the import path every project package starts with.
const module = "github.com/credkeeper/credkeeper"

// goPackage is what the layers read of one package in `go list -json`.
type goPackage struct {
	ImportPath string
	Imports    []string // its non-test files' imports
	Deps       []string // everything its non-test files link, transitively
	Error      *struct{ Err string }
}

// The house is layered: internal/'s leaves import nothing of the project
// but other leaves; only cmd/ and internal/app/... import internal/app/...
// (the composition root and what people see); only cmd/, internal/app/...
// and daemon itself import the daemon, which sits right below the root;
// the credtest world is imported by tests only; config links no net/http;
// notify/... reaches neither policies nor config. The graph is the
// product's: the imports of every package's non-test files, as `go list`
// reads them (a test is a program on top of what it tests). Each
// violation names the import.
func TestTheHouseIsLayered(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("go list named no packages")
	}
	for _, v := range layerViolations(pkgs) {
		t.Error(v)
	}
}

// The rules refuse each arrow back up, named by its import, and let every
// arrow down through.
func TestLayerViolationsNameTheImport(t *testing.T) {
	p := func(path string, imports ...string) goPackage {
		full := func(s string) string { return module + "/" + s }
		out := goPackage{ImportPath: full(path)}
		for _, imp := range imports {
			out.Imports = append(out.Imports, full(imp))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		pkg  goPackage
		want string // "" when the package keeps the layers
	}{
		{"a leaf importing a leaf", p("internal/text", "internal/secret"), ""},
		{"a leaf importing the engine", p("internal/metrics", "notify"),
			"internal/metrics imports notify: a leaf under internal/ imports only other leaves"},
		{"a leaf importing the root's room", p("internal/credtest", "internal/app/web"),
			"internal/credtest imports internal/app/web: a leaf under internal/ imports only other leaves"},
		{"the engine importing what people see", p("rotation", "internal/app/web"),
			"rotation imports internal/app/web: only cmd/ and internal/app/... import internal/app/..."},
		{"a command importing the root", p("cmd/credkeeper", "internal/app", "internal/app/view", "daemon"), ""},
		{"the root's rooms importing each other and the engine", p("internal/app/web", "internal/app/view", "daemon", "rotation"), ""},
		{"the engine importing the daemon", p("rotation", "daemon"),
			"rotation imports daemon: only cmd/, internal/app/... and daemon itself import the daemon's wiring"},
		{"a package importing the daemon's subpackage", p("notify/slack", "daemon/loop"),
			"notify/slack imports daemon/loop: only cmd/, internal/app/... and daemon itself import the daemon's wiring"},
		{"the product importing the test world", p("daemon", "credtest"),
			"daemon imports credtest: the test world is for tests only"},
		{"notify importing the language", p("notify/email", "config"),
			"notify/email imports config: notify/... imports neither policies nor config"},
		{"notify importing the decisions", p("notify", "policies"),
			"notify imports policies: notify/... imports neither policies nor config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := layerViolations([]goPackage{tc.pkg})
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("violations %q, want none", got)
			case tc.want != "" && !slices.Contains(got, tc.want):
				t.Errorf("violations %q, want %q", got, tc.want)
			}
		})
	}

	// What a package links is followed to the import that brings it.
	cfg := goPackage{ImportPath: module + "/config", Imports: []string{module + "/internal/urlcheck"}, Deps: []string{"net/http", "net/url", module + "/internal/urlcheck"}}
	urlcheck := goPackage{ImportPath: module + "/internal/urlcheck", Imports: []string{"net/http"}, Deps: []string{"net/http"}}
	want := "config links net/http, through config -> internal/urlcheck -> net/http: the configuration language does no HTTP"
	if got := layerViolations([]goPackage{cfg, urlcheck}); !slices.Contains(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}
	notifyPkg := goPackage{ImportPath: module + "/notify", Imports: []string{module + "/vaultstore"}, Deps: []string{module + "/vaultstore", module + "/policies"}}
	store := goPackage{ImportPath: module + "/vaultstore", Imports: []string{module + "/policies"}, Deps: []string{module + "/policies"}}
	want = "notify links policies, through notify -> vaultstore -> policies: notify/... imports neither policies nor config"
	if got := layerViolations([]goPackage{notifyPkg, store}); !slices.Contains(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}
}

// listPackages runs `go list` over the module: its packages and every
// package they link, so that a chain of imports can be followed.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the import graph: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-e", "-deps", "-json=ImportPath,Imports,Deps,Error", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// layerViolations names every import of pkgs that runs against the
// layers, as "A imports B: the rule" (paths relative to the module).
func layerViolations(pkgs []goPackage) []string {
	byPath := map[string]goPackage{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	var out []string
	for _, p := range pkgs {
		from, ok := projectPath(p.ImportPath)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			to, ok := projectPath(imp)
			if !ok {
				continue
			}
			if rule := arrowRule(from, to); rule != "" {
				out = append(out, fmt.Sprintf("%s imports %s: %s", from, to, rule))
			}
		}
		if from == "config" && slices.ContainsFunc(p.Deps, isHTTP) {
			out = append(out, fmt.Sprintf("config links net/http, through %s: the configuration language does no HTTP",
				chain(byPath, p, isHTTP)))
		}
		if under(from, "notify") {
			forbidden := func(dep string) bool {
				rel, ok := projectPath(dep)
				return ok && (under(rel, "policies") || under(rel, "config"))
			}
			for _, dep := range p.Deps {
				rel, _ := projectPath(dep)
				if forbidden(dep) && !slices.Contains(p.Imports, dep) {
					out = append(out, fmt.Sprintf("%s links %s, through %s: notify/... imports neither policies nor config",
						from, rel, chain(byPath, p, func(s string) bool { return s == dep })))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// arrowRule is the rule an import from one project package to another
// breaks, or "" when the arrow points down.
func arrowRule(from, to string) string {
	switch {
	case isLeaf(from) && !isLeaf(to):
		return "a leaf under internal/ imports only other leaves"
	case under(to, "internal/app") && !under(from, "cmd") && !under(from, "internal/app"):
		return "only cmd/ and internal/app/... import internal/app/..."
	case under(to, "daemon") && !under(from, "cmd") && !under(from, "internal/app") && !under(from, "daemon"):
		return "only cmd/, internal/app/... and daemon itself import the daemon's wiring"
	case under(to, "credtest") && !under(from, "credtest"):
		return "the test world is for tests only"
	case under(from, "notify") && (under(to, "policies") || under(to, "config")):
		return "notify/... imports neither policies nor config"
	}
	return ""
}

// isLeaf reports whether a project package is one of internal/'s leaves:
// anything under internal/ but the composition root's room.
func isLeaf(rel string) bool {
	return under(rel, "internal") && rel != "internal" && !under(rel, "internal/app")
}

// isHTTP reports whether an import path is net/http or under it.
func isHTTP(path string) bool { return under(path, "net/http") }

// under reports whether path is dir or inside it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// projectPath is an import path relative to the module, and whether it
// is the project's.
func projectPath(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// chain is the shortest run of imports from p to a package that match
// wants, as "a -> b -> c" (project paths relative to the module); p alone
// when pkgs do not say.
func chain(pkgs map[string]goPackage, p goPackage, wants func(string) bool) string {
	prev := map[string]string{p.ImportPath: ""}
	queue := []string{p.ImportPath}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur != p.ImportPath && wants(cur) {
			var names []string
			for at := cur; at != ""; at = prev[at] {
				rel, ok := projectPath(at)
				if !ok {
					rel = at
				}
				names = append(names, rel)
			}
			slices.Reverse(names)
			return strings.Join(names, " -> ")
		}
		for _, imp := range pkgs[cur].Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	rel, _ := projectPath(p.ImportPath)
	return rel
}
