package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wallClock are the functions of package time that read or wait on the
// wall clock; realClock are clockwork's that make a real clock.
var (
	wallClock = []string{"Now", "Since", "Until", "After", "Sleep", "NewTimer", "NewTicker", "Tick", "AfterFunc"}
	realClock = []string{"NewRealClock"}
)

// wallClockAllowed are the packages (by their folder in the module) whose
// non-test code may use the wall clock, each for its reason. Main packages
// are always allowed: main creates the one real clock.
var wallClockAllowed = map[string]string{
	// Starts real devvault processes for tests and waits, in real time,
	// for them to listen, to unseal and to stop.
	"vaultstore/vaulttest": "waits on real Vault processes",
	// Eventually polls, in real time, what runs in real time in tests: a
	// daemon in another process, a check whose HTTP answer is on its way.
	"internal/testutil": "polls real processes and requests in tests",
	// The emulator's delay fault holds a real HTTP answer for real time,
	// which the client's own real timeout races; its notion of now is its
	// Options.Clock.
	"internal/emulator": "delays real HTTP answers",
}

// TestNoWallClock fails, naming file:line, for every use of the wall clock
// in non-test code outside main packages and wallClockAllowed: time is
// injected as a clockwork.Clock so that tests advance a fake one.
func TestNoWallClock(t *testing.T) {
	root := moduleRoot(t)
	found, err := wallClockUses(root, wallClockAllowed)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("the wall clock is read outside main (take a clockwork.Clock instead):\n\t%s", strings.Join(found, "\n\t"))
	}
}

// The check finds every form of a call, under any name time is imported
// as, a function value as much as a call, and skips what it must skip.
func TestNoWallClockFindsEveryForm(t *testing.T) {
	dir := t.TempDir()
	write := func(path, src string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.org/m\n")
	write("a/a.go", `package a

import (
	"time"
	wall "time"

	"github.com/jonboulle/clockwork"
)

var now = time.Now

func f() {
	<-time.After(time.Second)
	_ = wall.Since(time.Time{})
	_ = clockwork.NewRealClock()
	_ = time.Duration(3) // not the clock
}
`)
	write("a/a_test.go", "package a\n\nimport \"time\"\n\nvar _ = time.Now()\n")
	write("cmd/x/main.go", "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(0) }\n")
	write("allowed/b.go", "package b\n\nimport \"time\"\n\nvar _ = time.Now()\n")
	write("tools/t/t.go", "package t\n\nimport \"time\"\n\nvar _ = time.Now()\n")
	write("tools/go.mod", "module example.org/tools\n")
	write("nested/go.mod", "module example.org/nested\n")
	write("nested/n.go", "package n\n\nimport \"time\"\n\nvar _ = time.Now()\n")
	write("a/testdata/d.go", "package d\n\nimport \"time\"\n\nvar _ = time.Now()\n")

	found, err := wallClockUses(dir, map[string]string{"allowed": "a test's"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/a.go:10: time.Now", "a/a.go:13: time.After", "a/a.go:14: time.Since", "a/a.go:15: clockwork.NewRealClock"}
	if !slices.Equal(found, want) {
		t.Errorf("found\n\t%s\nwant\n\t%s", strings.Join(found, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// moduleRoot is the folder of the go.mod above the test's.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// wallClockUses lists, as "file:line: pkg.Func" with the file relative to
// root, every use of the wall clock in the non-test Go files of the module
// at root: a call or a function value. It skips other modules (a folder
// with its own go.mod, such as tools/), testdata and hidden folders, main
// packages, and the folders of allowed.
func wallClockUses(root string, allowed map[string]string) ([]string, error) {
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			name := d.Name()
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, ok := allowed[rel]; ok {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		for _, use := range clockUses(f) {
			found = append(found, rel+":"+strconv.Itoa(fset.Position(use.pos).Line)+": "+use.name)
		}
		return nil
	})
	return found, err
}

type clockUse struct {
	pos  token.Pos
	name string
}

// clockUses are f's uses of wallClock through package time and of
// realClock through clockwork, under whatever names f imports them as.
// A local name that shadows the import is not told apart: a selector on
// it is reported too (rename the local), never missed.
func clockUses(f *ast.File) []clockUse {
	pkgs := map[string]string{} // local name -> "time" or "clockwork"
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		var pkg, local string
		switch path {
		case "time":
			pkg, local = "time", "time"
		case "github.com/jonboulle/clockwork":
			pkg, local = "clockwork", "clockwork"
		default:
			continue
		}
		if imp.Name != nil {
			local = imp.Name.Name
		}
		if local != "_" && local != "." {
			pkgs[local] = pkg
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	var uses []clockUse
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		var banned []string
		switch pkgs[id.Name] {
		case "time":
			banned = wallClock
		case "clockwork":
			banned = realClock
		default:
			return true
		}
		if slices.Contains(banned, sel.Sel.Name) {
			uses = append(uses, clockUse{sel.Pos(), pkgs[id.Name] + "." + sel.Sel.Name})
		}
		return true
	})
	return uses
}
