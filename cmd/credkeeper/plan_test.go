package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

const (
	planStage = `
credential "ctrp-stage" {
  provider = "ctrp-stage"
  owner    = "security@example.org"
}
`
	planProd = `
credential "ctrp-prod" {
  provider  = "ctrp-prod"
  owner     = "oncall@example.org"
  rotate_by = "2027-03-01"
}
`
)

func vaultBlock(prefix string) string { return "vault {\n  prefix = \"" + prefix + "\"\n}\n" }

func writeConfig(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile("credkeeper.hcl", []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Each step is a command line and the exit status it must end with, as a
// testscript would read; the steps run in order against one Vault prefix.
func TestPlanAndApplyExitCodes(t *testing.T) {
	env := cliEnv(t)
	writeConfig(t, vaultBlock(env.Prefix)+planStage+planProd)
	step := func(terminal bool, stdin string, wantCode int, wantOut string, args ...string) result {
		t.Helper()
		r := runCLI(t, stdin, terminal, args...)
		if r.code != wantCode || !strings.Contains(r.all(), wantOut) {
			t.Fatalf("credkeeper %s: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, wantCode, wantOut, r.stdout, r.stderr)
		}
		return r
	}

	step(false, "", 2, "Plan: 2 to add, 0 to change, 0 to destroy.", "plan", "--detailed-exitcode")
	step(false, "", 0, "Plan: 2 to add", "plan")
	step(false, "", 1, "no terminal to ask for confirmation on", "apply")
	step(true, "no\n", 1, "apply cancelled: nothing was changed", "apply")
	step(false, "", 2, "Plan: 2 to add", "plan", "--detailed-exitcode")
	step(true, "yes\n", 0, "Apply complete! Changes: 2 added, 0 changed, 0 destroyed.", "apply")
	step(false, "", 0, "No changes. Vault matches the configuration.", "plan", "--detailed-exitcode")
	step(false, "", 0, "No changes.", "apply")

	// A change, saved, made stale by a hand edit, refused.
	writeConfig(t, vaultBlock(env.Prefix)+strings.Replace(planStage, "security@", "secops@", 1)+planProd)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	step(false, "", 2, `~ owner        = "security@example.org" -> "secops@example.org"`, "plan", "--out", planFile, "--detailed-exitcode")
	if info, err := os.Stat(planFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("saved plan: %v %v", info, err)
	}
	if err := env.Root.KVv2("secret").PatchMetadata(context.Background(), env.Prefix+"/credentials/ctrp-stage",
		api.KVMetadataPatchInput{CustomMetadata: map[string]interface{}{"owner": "hand@example.org"}}); err != nil {
		t.Fatal(err)
	}
	step(false, "", 1, "the plan is stale: credentials/ctrp-stage changed since it was made; run plan again", "apply", planFile)
	step(false, "", 2, `"hand@example.org" -> "secops@example.org"`, "plan", "--out", planFile, "--detailed-exitcode")
	step(false, "", 0, "Apply complete! Changes: 0 added, 1 changed, 0 destroyed.", "apply", planFile)

	// An undeclared record survives apply without --prune.
	writeConfig(t, vaultBlock(env.Prefix)+strings.Replace(planStage, "security@", "secops@", 1))
	step(false, "", 2, "- credential \"ctrp-prod\"", "plan", "--detailed-exitcode")
	step(false, "", 0, "credentials/ctrp-prod is not declared in the configuration and was left in place", "apply", "--auto-approve")
	step(false, "", 0, "Apply complete! Changes: 0 added, 0 changed, 1 destroyed.", "apply", "--auto-approve", "--prune")
	step(false, "", 0, "No changes.", "plan", "--detailed-exitcode")

	js := step(false, "", 0, `"changes": []`, "plan", "--json")
	if !strings.Contains(js.stdout, `"format_version": 1`) {
		t.Errorf("plan --json:\n%s", js.stdout)
	}
	writeConfig(t, "credential \"x\" {\n  provider = \"nope\"\n}\n")
	step(false, "", 1, "credkeeper.hcl:2:14: error: Unknown provider", "plan", "--detailed-exitcode")
}

func TestVaultPoliciesPrint(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CREDKEEPER_CONFIG", "")
	r := credkeeper(t, "", "vault-policies", "print", "ci", "--prefix", "teams/sec")
	if r.code != 0 || !strings.Contains(r.stdout, `path "secret/data/teams/sec/tokens/*" {`) || strings.Contains(r.stdout, "credentials") {
		t.Errorf("ci policy: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	all := credkeeper(t, "", "vault-policies", "print")
	for _, want := range []string{`# policy "credkeeper-daemon" (the daemon role)`, `# policy "credkeeper-ci" (the ci role)`, `# policy "credkeeper-auditor" (the auditor role)`} {
		if !strings.Contains(all.stdout, want) {
			t.Errorf("print lacks %s:\n%s", want, all.stdout)
		}
	}
	if bad := credkeeper(t, "", "vault-policies", "print", "root"); bad.code != 1 || !strings.Contains(bad.stderr, `unknown role "root"`) {
		t.Errorf("unknown role: %d %q", bad.code, bad.stderr)
	}
}

func TestFmt(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CREDKEEPER_CONFIG", "")
	messy := "credential \"a\" {\n  provider = \"ctrp-int\"\n  owner = \"x@example.org\"\n}\n"
	writeConfig(t, messy)
	if r := credkeeper(t, "", "fmt", "--check", "--diff"); r.code != 3 || !strings.Contains(r.stdout, `+  owner    = "x@example.org"`) {
		t.Errorf("fmt --check: %d\n%s", r.code, r.stdout)
	}
	if b, _ := os.ReadFile("credkeeper.hcl"); string(b) != messy {
		t.Error("fmt --check must not change the file")
	}
	if r := credkeeper(t, "", "fmt"); r.code != 0 || r.stdout != "credkeeper.hcl\n" {
		t.Errorf("fmt: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := credkeeper(t, "", "fmt", "--check"); r.code != 0 || r.stdout != "" {
		t.Errorf("fmt --check after fmt: %d %q", r.code, r.stdout)
	}
	writeConfig(t, "credential \"a\" {\n  provider = \n")
	if r := credkeeper(t, "", "fmt"); r.code != 1 || !strings.Contains(r.stderr, "credkeeper.hcl:2:") {
		t.Errorf("fmt of a file that does not parse: %d %q", r.code, r.stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
