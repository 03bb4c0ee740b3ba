package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every credkeeper command README.md shows in a shell example is run by
// a script test (testdata/script) or by the demo (scripts/demo.sh): the
// same subcommand with at least the same flags, so that an example cannot
// drift from what the command accepts.
func TestReadmeShellExamplesAreExercised(t *testing.T) {
	examples := readmeCommands(t)
	if len(examples) < 5 {
		t.Fatalf("found %d credkeeper commands in README.md's shell examples", len(examples))
	}
	var runs []string
	scripts, _ := filepath.Glob("testdata/script/*.txtar")
	for _, f := range append(scripts, "../../scripts/demo.sh") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if i := strings.Index(line, "credkeeper "); i >= 0 {
				runs = append(runs, line[i:])
			}
		}
	}
	for _, ex := range examples {
		words, flags := commandShape(ex)
		found := false
		for _, r := range runs {
			rw, rf := commandShape(r)
			if strings.HasPrefix(strings.Join(rw, " ")+" ", strings.Join(words, " ")+" ") && containsAll(rf, flags) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md's example %q is not run by any script test or the demo", ex)
		}
	}
}

var credkeeperCmd = regexp.MustCompile(`(?:^|[|$(]\s*)(?:bin/)?(credkeeper [^)#<|]*)`)

// readmeCommands are the credkeeper command lines of README.md's sh blocks.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			for _, m := range credkeeperCmd.FindAllStringSubmatch(line, -1) {
				out = append(out, strings.TrimSpace(m[1]))
			}
		}
	}
	return out
}

// commandShape is a command line's subcommand words (up to the first
// flag, without placeholders' values) and its flags.
func commandShape(line string) (words, flags []string) {
	for i, f := range strings.Fields(line) {
		switch {
		case strings.HasPrefix(f, "--"):
			flags = append(flags, strings.SplitN(f, "=", 2)[0])
		case len(flags) == 0 && i < 3 && !strings.ContainsAny(f, `"'$.…/`):
			words = append(words, f)
		}
	}
	if len(words) > 2 {
		words = words[:2] // credkeeper and the subcommand; arguments vary
	}
	return words, flags
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
