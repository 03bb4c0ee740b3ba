package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/internal/emulator"
)

func TestRotateRunbook(t *testing.T) {
	_, emu := checkEnv(t)
	const oldSecret, newSecret, typo = "Old-Pair-Secret-2026", "New-Pair-Secret-2027", "New-Pair-Secret-2O27"
	emu.AddClient(emulator.Client{ID: "0oa-2026", Secrets: []string{oldSecret}})
	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{newSecret}})
	setSecret(t, "ctrp-stage", "ctrp-stage", "0oa-2026", oldSecret, "--rotate-by", "2026-12-01")

	var outputs []result
	run := func(stdin string, wantCode int, want string, args ...string) result {
		t.Helper()
		r := credkeeper(t, stdin, args...)
		outputs = append(outputs, r)
		if r.code != wantCode || !strings.Contains(r.all(), want) {
			t.Fatalf("credkeeper %s: exit %d (want %d), want %q in\n%s", strings.Join(args, " "), r.code, wantCode, want, r.all())
		}
		return r
	}

	run(typo+"\n", 2, "Its check: invalid_client", "rotate", "stage", "ctrp-stage", "--client-id", "0oa-2027")
	run("", 1, "the staged pair's last check was invalid_client: promote refuses it", "rotate", "promote", "ctrp-stage")
	run(newSecret+"\n", 0, "Its check: ok", "rotate", "stage", "ctrp-stage", "--client-id", "0oa-2027", "--rotate-by", "2027-12-01")
	st := run("", 0, "pending", "rotate", "status", "ctrp-stage", "--json")
	var status map[string]any
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatal(err)
	}
	if p, _ := status["pending"].(map[string]any); p == nil || p["client_id"] != "0oa-2027" || p["last_class"] != "ok" || p["rotate_by"] != "2027-12-01" {
		t.Errorf("status --json pending: %v", status["pending"])
	}
	run("", 0, "Promoted: credentials/ctrp-stage is now version 2. Its check: ok", "rotate", "promote", "ctrp-stage")
	run("", 0, "rotate by 2027-12-01", "rotate", "status", "ctrp-stage")
	run("", 1, "no pair is staged", "rotate", "promote", "ctrp-stage")
	run("", 0, "credentials/ctrp-stage is now version 3", "rotate", "rollback", "ctrp-stage")
	run("", 0, "rotate by 2026-12-01", "rotate", "status", "ctrp-stage")
	run("", 0, `"current_version": 3`, "rotate", "status", "ctrp-stage", "--json")

	for _, r := range outputs {
		for _, s := range []string{oldSecret, newSecret, typo} {
			if strings.Contains(r.all(), s) {
				t.Errorf("a secret appears in rotate's output:\n%s", r.all())
			}
		}
	}
}

func TestStatusShowsDeadlinesChecksAndStagedPairs(t *testing.T) {
	env, emu := checkEnv(t)
	emu.AddClient(emulator.Client{ID: "0oa-a", Secrets: []string{"Secret-A-123"}})
	setSecret(t, "ctrp-stage", "ctrp-stage", "0oa-a", "Secret-A-123", "--rotate-by", "2026-12-03")
	setSecret(t, "old", "ctrp-stage", "0oa-a", "Wrong-B-456", "--rotate-by", "2026-11-20")
	if r := credkeeper(t, "", "check", "--all"); r.code != 2 {
		t.Fatalf("check: %d %s", r.code, r.all())
	}
	if r := credkeeper(t, "Secret-A-123\n", "rotate", "stage", "old", "--client-id", "0oa-a"); r.code != 0 {
		t.Fatalf("stage: %s", r.all())
	}
	table := credkeeper(t, "", "status")
	if table.code != 0 {
		t.Fatalf("status: %s", table.all())
	}
	for _, want := range []string{"ctrp-stage  stage        2026-12-03  10", "old         stage        2026-11-20  overdue 3", "expired  1         ok"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, table.stdout)
		}
	}
	js := credkeeper(t, "", "status", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(js.stdout), &rows); err != nil || len(rows) != 2 || rows[1]["days_left"] != float64(-3) || rows[1]["pending"] != "ok" {
		t.Errorf("status --json: %v %s", err, js.stdout)
	}

	// The same table with a token holding only the generated auditor policy.
	doc := credkeeper(t, "", "vault-policies", "print", "auditor")
	policy := "auditor-" + strings.ReplaceAll(env.Prefix, "/", "-")
	if err := env.Root.Sys().PutPolicy(policy, doc.stdout); err != nil {
		t.Fatal(err)
	}
	tok, err := env.Root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{policy}, NoDefaultPolicy: true, TTL: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", tok.Auth.ClientToken)
	audited := credkeeper(t, "", "status")
	if audited.code != 0 || audited.stdout != table.stdout {
		t.Errorf("status under the auditor policy: exit %d\n%s\nwant the same table as root's:\n%s", audited.code, audited.all(), table.stdout)
	}
	for _, r := range []result{table, js, audited} {
		if strings.Contains(r.all(), "Secret-A-123") || strings.Contains(r.all(), "Wrong-B-456") {
			t.Error("a secret appears in status")
		}
	}
}
