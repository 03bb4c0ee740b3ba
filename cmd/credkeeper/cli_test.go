package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
	"github.com/jonboulle/clockwork"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain runs the tests against the shared devvault, and serves the
// testscript files' credkeeper command (the same binary, run again).
func TestMain(m *testing.M) {
	testscript.Main(vaultM{m}, map[string]func(){"credkeeper": func() { os.Exit(scriptMain()) }})
}

// vaultM stops the devvault the tests started once they are done.
type vaultM struct{ m *testing.M }

func (v vaultM) Run() int { return vaulttest.Main(v.m) }

// result is what one command line did.
type result struct {
	stdout, stderr string
	code           int
}

// all is everything the command printed, for leak scans.
func (r result) all() string { return r.stdout + r.stderr }

// testNow is the time every in-process command line runs at.
var testNow = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// credkeeper runs one command line in process, with stdin, at testNow.
func credkeeper(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, stdin, false, args...)
}

func runCLI(t *testing.T, stdin string, terminal bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	s := streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}
	code := runWith(context.Background(), clockwork.NewFakeClockAt(testNow), args, s, func(o *globalOptions) {
		o.isTerminal = func() bool { return terminal }
	})
	return result{out.String(), errb.String(), code}
}

// cliEnv points the CLI at a fresh prefix of the test Vault, with no
// config file in the working directory.
func cliEnv(t *testing.T) *vaulttest.Env {
	t.Helper()
	env := vaulttest.New(t)
	env.Setenv(t)
	t.Setenv("CREDKEEPER_CONFIG", "")
	t.Chdir(t.TempDir())
	return env
}

func TestSecretSetListShowNeverPrintTheSecret(t *testing.T) {
	env := cliEnv(t)
	const clientSecret = "Zq8-very-secret-value-Lm3"

	set := credkeeper(t, clientSecret+"\n", "--prefix", env.Prefix, "secret", "set", "ctrp-stage",
		"--client-id", "0oa1stage", "--provider", "ctrp-stage", "--owner", "security@example.org", "--rotate-by", "2027-03-01")
	if set.code != 0 {
		t.Fatalf("secret set exited %d: %s", set.code, set.stderr)
	}
	if want := "Success! Wrote secret/" + env.Prefix + "/credentials/ctrp-stage (version 1).\n"; set.stdout != want {
		t.Errorf("secret set printed %q, want %q", set.stdout, want)
	}

	list := credkeeper(t, "", "--prefix", env.Prefix, "secret", "list", "--json")
	if list.code != 0 {
		t.Fatalf("secret list --json exited %d: %s", list.code, list.stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(list.stdout), &rows); err != nil {
		t.Fatalf("secret list --json is not JSON: %v\n%s", err, list.stdout)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	want := map[string]any{
		"name": "ctrp-stage", "provider": "ctrp-stage", "environment": "stage", "owner": "security@example.org",
		"issued_at": "2026-11-23", "rotate_by": "2027-03-01", "version": float64(1),
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("list %s = %v, want %v", k, rows[0][k], v)
		}
	}

	table := credkeeper(t, "", "--prefix", env.Prefix, "secret", "list")
	show := credkeeper(t, "", "--prefix", env.Prefix, "secret", "show", "ctrp-stage")
	showJSON := credkeeper(t, "", "--prefix", env.Prefix, "secret", "show", "ctrp-stage", "--json")
	for _, r := range []result{table, show, showJSON} {
		if r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	}
	if !strings.Contains(table.stdout, "ctrp-stage  ctrp-stage  stage") || !strings.Contains(table.stdout, "2027-03-01") {
		t.Errorf("table:\n%s", table.stdout)
	}
	if !strings.Contains(show.stdout, "owner         security@example.org") {
		t.Errorf("show:\n%s", show.stdout)
	}

	// The secret went to Vault …
	stored, err := env.Root.KVv2("secret").Get(context.Background(), env.Prefix+"/credentials/ctrp-stage")
	if err != nil || stored.Data["client_secret"] != clientSecret {
		t.Fatalf("stored record: %v", err)
	}
	// … and nowhere else.
	for _, r := range []result{set, list, table, show, showJSON} {
		if strings.Contains(r.all(), clientSecret) {
			t.Errorf("the client secret appears in output:\n%s", r.all())
		}
	}
}

func TestSecretSetRefusesBadInputBeforeWriting(t *testing.T) {
	env := cliEnv(t)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"an empty secret", "\n", []string{"secret", "set", "x", "--client-id", "a"}, "the client secret is empty"},
		{"no secret at all", "", []string{"secret", "set", "x", "--client-id", "a"}, "the client secret is empty"},
		{"a path in the name", "s\n", []string{"secret", "set", "../x", "--client-id", "a"}, `invalid credential name: "../x"`},
		{"an upper-case name", "s\n", []string{"secret", "set", "Prod", "--client-id", "a"}, `invalid credential name: "Prod"`},
		{"no client ID", "s\n", []string{"secret", "set", "x"}, `required flag(s) "client-id" not set`},
		{"a bad date", "s\n", []string{"secret", "set", "x", "--client-id", "a", "--rotate-by", "03/01/2027"}, `--rotate-by "03/01/2027" is not a date`},
		{"an unknown provider", "s\n", []string{"secret", "set", "x", "--client-id", "a", "--provider", "okta"}, `unknown provider "okta"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := credkeeper(t, tc.stdin, append([]string{"--prefix", env.Prefix}, tc.args...)...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if !strings.HasPrefix(r.stderr, "credkeeper: error: ") || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr = %q, want credkeeper: error: …%s…", r.stderr, tc.wantErr)
			}
		})
	}
	list := credkeeper(t, "", "--prefix", env.Prefix, "secret", "list", "--json")
	if strings.TrimSpace(list.stdout) != "[]" {
		t.Errorf("nothing should have been written, list = %s", list.stdout)
	}
}

func TestSecretSetTakesMetadataFromConfigAndKeepsItOnUpdate(t *testing.T) {
	env := cliEnv(t)
	cfg := `vault {
  prefix = "` + env.Prefix + `"
}
credential "ctrp-prod" {
  provider  = "ctrp-prod"
  owner     = "oncall@example.org"
  rotate_by = "2027-02-01"
}
`
	if err := os.WriteFile("credkeeper.hcl", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := credkeeper(t, "one\n", "secret", "set", "ctrp-prod", "--client-id", "id1"); r.code != 0 {
		t.Fatalf("set: %s", r.stderr)
	}
	r := credkeeper(t, "", "secret", "show", "ctrp-prod", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s %s", err, r.stdout, r.stderr)
	}
	if got["provider"] != "ctrp-prod" || got["environment"] != "prod" || got["owner"] != "oncall@example.org" || got["rotate_by"] != "2027-02-01" {
		t.Errorf("metadata from the config: %v", got)
	}

	// An update with a new owner keeps the rest and writes version 2.
	if r := credkeeper(t, "two\n", "secret", "set", "ctrp-prod", "--client-id", "id1", "--owner", "sec@example.org"); r.code != 0 || !strings.Contains(r.stdout, "version 2") {
		t.Fatalf("second set: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = credkeeper(t, "", "secret", "show", "ctrp-prod", "--json")
	_ = json.Unmarshal([]byte(r.stdout), &got)
	if got["owner"] != "sec@example.org" || got["rotate_by"] != "2027-02-01" || got["version"] != float64(2) {
		t.Errorf("after update: %v", got)
	}
}

func TestVaultErrorsAreClearAndExitOne(t *testing.T) {
	cliEnv(t)
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	r := credkeeper(t, "", "secret", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "vault is unreachable") || !strings.Contains(r.stderr, "check VAULT_ADDR") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestShowMissingCredentialSaysHowToAddIt(t *testing.T) {
	env := cliEnv(t)
	r := credkeeper(t, "", "--prefix", env.Prefix, "secret", "show", "nope")
	if r.code != 1 || !strings.Contains(r.stderr, "credkeeper secret set nope") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := credkeeper(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "credkeeper ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
}
