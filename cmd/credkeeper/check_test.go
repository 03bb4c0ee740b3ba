package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// checkEnv is a Vault prefix, an emulator, and a config in the working
// directory whose providers point at the emulator.
func checkEnv(t *testing.T) (*vaulttest.Env, *emulator.Server) {
	t.Helper()
	env := cliEnv(t)
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf(`vault {
  prefix = %q
}
provider "ctrp-stage" {
  token_url = "%[2]s/oauth2/%[3]s/v1/token"
}
provider "dmptool" {
  token_url = "%[2]s/oauth/token"
  scopes    = ["public", "read_dmps"]
  probe { url = "%[2]s/api/v2/templates" }
}
`, env.Prefix, srv.URL, emulator.AuthServerStage)
	if err := os.WriteFile("credkeeper.hcl", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return env, emu
}

func setSecret(t *testing.T, name, provider, clientID, secret string, extra ...string) {
	t.Helper()
	args := append([]string{"secret", "set", name, "--client-id", clientID, "--provider", provider}, extra...)
	if r := credkeeper(t, secret+"\n", args...); r.code != 0 {
		t.Fatalf("secret set %s: %s", name, r.stderr)
	}
}

func TestCheckPrintsClassesAndExitsByWhatFailed(t *testing.T) {
	_, emu := checkEnv(t)
	secrets := map[string]string{"stage": "Stage-Secret-0001", "dmp": "Dmp-Secret-0002", "wrong": "Wrong-Secret-0003", "down": "Down-Secret-0004"}
	emu.AddClient(emulator.Client{ID: "0oa1stage", Secrets: []string{secrets["stage"]}})
	emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{secrets["dmp"]}, Scopes: []string{"public", "read_dmps"}})
	emu.AddClient(emulator.Client{ID: "0oa-down", Secrets: []string{secrets["down"]}})
	emu.InjectFault("0oa-down", emulator.Fault{Kind: emulator.FaultStatus, Status: 503})
	setSecret(t, "ctrp-stage", "ctrp-stage", "0oa1stage", secrets["stage"])
	setSecret(t, "dmptool", "dmptool", "12345", secrets["dmp"])
	setSecret(t, "ctrp-wrong", "ctrp-stage", "0oa1stage", secrets["wrong"])
	setSecret(t, "ctrp-down", "ctrp-stage", "0oa-down", secrets["down"])

	var outputs []result
	run := func(args ...string) result {
		r := credkeeper(t, "", args...)
		outputs = append(outputs, r)
		return r
	}

	ok := run("check", "ctrp-stage", "dmptool")
	if ok.code != 0 {
		t.Errorf("all ok: exit %d\n%s%s", ok.code, ok.stdout, ok.stderr)
	}
	if !strings.Contains(ok.stdout, "ctrp-stage  stage        ok     in 8h") {
		t.Errorf("table:\n%s", ok.stdout)
	}

	down := run("check", "ctrp-stage", "ctrp-down")
	if down.code != 3 || !strings.Contains(down.stdout, "unavailable") {
		t.Errorf("only the provider is down: exit %d, want 3\n%s", down.code, down.stdout)
	}

	all := run("check", "--all", "--json")
	if all.code != 2 {
		t.Errorf("a wrong secret among them: exit %d, want 2\n%s", all.code, all.stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(all.stdout), &rows); err != nil {
		t.Fatalf("--json: %v\n%s", err, all.stdout)
	}
	byName := map[string]map[string]any{}
	for _, r := range rows {
		for _, k := range []string{"name", "class", "status", "error_code", "detail", "expires_at", "latency_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["name"], k)
			}
		}
		byName[r["name"].(string)] = r
	}
	if c := byName["ctrp-wrong"]; c["class"] != "invalid_client" || c["status"] != float64(401) || c["error_code"] != "invalid_client" {
		t.Errorf("ctrp-wrong: %v", c)
	}
	if c := byName["dmptool"]; c["class"] != "ok" || c["scope"] != "public read_dmps" || c["probe_status"] != float64(200) {
		t.Errorf("dmptool: %v", c)
	}
	if c := byName["ctrp-down"]; c["class"] != "unavailable" || c["status"] != float64(503) {
		t.Errorf("ctrp-down: %v", c)
	}

	// The refused version is not sent again.
	before := emu.Requests("0oa1stage")
	again := run("check", "ctrp-wrong")
	if again.code != 2 || !strings.Contains(again.stdout, "not re-sent") || emu.Requests("0oa1stage") != before {
		t.Errorf("second check of a refused version: exit %d, requests %d -> %d\n%s", again.code, before, emu.Requests("0oa1stage"), again.stdout)
	}
	forced := run("check", "ctrp-wrong", "--force")
	if forced.code != 2 || emu.Requests("0oa1stage") != before+1 {
		t.Errorf("--force sends: requests %d -> %d", before, emu.Requests("0oa1stage"))
	}

	usage := run("check")
	if usage.code != 1 || !strings.Contains(usage.stderr, "pass --all") {
		t.Errorf("no names: exit %d %q", usage.code, usage.stderr)
	}
	missing := run("check", "nope")
	if missing.code != 1 || !strings.Contains(missing.stderr, "not found") {
		t.Errorf("a missing credential: exit %d %q", missing.code, missing.stderr)
	}

	for _, r := range outputs {
		for name, s := range secrets {
			if strings.Contains(r.all(), s) {
				t.Errorf("the %s secret appears in check's output:\n%s", name, r.all())
			}
		}
	}
}

// daemon --once: one cycle for a CronJob, with check's exit statuses, the
// tokens published and the lease given back.
func TestDaemonOnce(t *testing.T) {
	env, emu := checkEnv(t)
	emu.AddClient(emulator.Client{ID: "0oa1stage", Secrets: []string{"Once-Stage-Secret-1"}})
	cfg := readFile(t, "credkeeper.hcl") + `
credential "ctrp-stage" {
  provider = "ctrp-stage"
  publish_token {}
}
credential "ctrp-wrong" {
  provider = "ctrp-stage"
}
`
	writeConfig(t, cfg)
	setSecret(t, "ctrp-stage", "ctrp-stage", "0oa1stage", "Once-Stage-Secret-1")
	setSecret(t, "ctrp-wrong", "ctrp-stage", "0oa1stage", "Once-Wrong-Secret-2")
	r := credkeeper(t, "", "daemon", "--once", "--log-format", "json")
	if r.code != 2 || !strings.Contains(r.stdout, "ctrp-stage") || !strings.Contains(r.stdout, "invalid_client") {
		t.Fatalf("daemon --once: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := env.Root.KVv2("secret").Get(context.Background(), env.Prefix+"/tokens/ctrp-stage"); err != nil {
		t.Errorf("the token was not published: %v", err)
	}
	lease, err := env.Root.KVv2("secret").Get(context.Background(), env.Prefix+"/leases/daemon")
	if err != nil || lease.Data["holder"] != "" {
		t.Errorf("the lease is given back: %v %v", lease, err)
	}
	if strings.Contains(r.all(), "Once-Stage-Secret-1") || strings.Contains(r.all(), "Once-Wrong-Secret-2") {
		t.Error("a secret appears in the output")
	}
}
