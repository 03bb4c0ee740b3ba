package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/notify/notifytest"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// The CLI's behaviour as scripts anyone can read: testdata/script/*.txtar,
// each a list of command lines with the output and exit status they must
// have, run against the real Vault core (a fresh prefix per script, in
// $PREFIX). A script writes its configuration with `subst`, which expands
// $PREFIX and other variables in a file.
func TestScripts(t *testing.T) {
	env := vaulttest.New(t)
	cert, caFile := notifytest.TestCert(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			e.Setenv("VAULT_ADDR", env.Addr)
			e.Setenv("VAULT_TOKEN", env.Token)
			e.Setenv("PREFIX", "script/"+hex.EncodeToString(b))
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("CREDKEEPER_CONFIG", "")
			e.Setenv(envNow, testNow.Format(time.RFC3339))
			// A token endpoint emulator of the script's own, on loopback.
			emu := emulator.New(emulator.Options{LockoutAfter: 3, APIToken: scriptOktaAPIToken, Clock: clockwork.NewRealClock()})
			srv := httptest.NewServer(emu)
			e.Defer(srv.Close)
			e.Values[emulatorKey{}] = emu
			e.Setenv("EMULATOR", srv.URL)
			e.Setenv("CTRP_STAGE_TOKEN_URL", srv.URL+"/oauth2/"+emulator.AuthServerStage+"/v1/token")
			e.Setenv("CTRP_PROD_TOKEN_URL", srv.URL+"/oauth2/"+emulator.AuthServerProd+"/v1/token")
			e.Values[ciWorldKey{}] = &scriptCIWorld{}
			return setupScriptRelay(t, e, cert, caFile)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":           cmdExits,
			"perm":            cmdPerm,
			"subst":           cmdSubst,
			"vault-set-meta":  cmdVaultSetMeta,
			"emulator-client": cmdEmulatorClient,
			"emulator-app":    cmdEmulatorApp,
			"ci-world":        cmdCIWorld,
			"mint-jwt":        cmdMintJWT,
			"mail-save":       cmdMailSave,
			"emulator-keys":   cmdEmulatorKeys,
		},
		RequireExplicitExec: true,
	})
}

// The test binary's credkeeper reads two variables of its own, which the
// product does not know: the time it runs at, and whether to take standard
// input for a terminal (to answer apply's question).
const (
	envNow      = "CREDKEEPER_SCRIPT_NOW"
	envTerminal = "CREDKEEPER_SCRIPT_TERMINAL"
)

// scriptMain is credkeeper as the scripts run it.
func scriptMain() int {
	var clock clockwork.Clock = clockwork.NewRealClock()
	if now, err := time.Parse(time.RFC3339, os.Getenv(envNow)); err == nil {
		clock = clockwork.NewFakeClockAt(now)
	}
	return runWith(context.Background(), clock, os.Args[1:], streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, func(o *globalOptions) {
		if os.Getenv(envTerminal) == "1" {
			o.isTerminal = func() bool { return true }
		}
	})
}

// exits N COMMAND [ARG...]: run the command, which must exit with status
// N; its output is kept for stdout and stderr, as exec's is.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// perm MODE FILE: the file's permission bits are MODE (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm MODE FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := info.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// subst FILE...: expand $VARIABLES in each file, in place.
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: subst FILE...")
	}
	for _, f := range args {
		path := ts.MkAbs(f)
		b, err := os.ReadFile(path)
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(os.Expand(string(b), ts.Getenv)), 0o600))
	}
}

// vault-set-meta NAME KEY=VALUE: change a credential's custom metadata in
// Vault by hand, as a person with the vault CLI would.
func cmdVaultSetMeta(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: vault-set-meta NAME KEY=VALUE")
	}
	key, value, ok := strings.Cut(args[1], "=")
	if !ok {
		ts.Fatalf("usage: vault-set-meta NAME KEY=VALUE")
	}
	cfg := api.DefaultConfig()
	cfg.Address = ts.Getenv("VAULT_ADDR")
	c, err := api.NewClient(cfg)
	ts.Check(err)
	c.SetToken(ts.Getenv("VAULT_TOKEN"))
	err = c.KVv2("secret").PatchMetadata(context.Background(), fmt.Sprintf("%s/credentials/%s", ts.Getenv("PREFIX"), args[0]),
		api.KVMetadataPatchInput{CustomMetadata: map[string]any{key: value}})
	ts.Check(err)
}

type emulatorKey struct{}

// cmdEmulatorClient registers a client with the script's emulator:
// emulator-client ID SECRET [SCOPE...].
// scriptOktaAPIToken is the API token of the scripts' Okta secrets API.
const scriptOktaAPIToken = "00Script-Okta-Api-Token-0123456789"

// emulator-app ID APP_ID SECRET: a client whose secrets Okta's secrets API
// manages as app APP_ID (API token: the file okta-api-token a script writes
// with scriptOktaAPIToken).
func cmdEmulatorApp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: emulator-app ID APP_ID SECRET")
	}
	emu := ts.Value(emulatorKey{}).(*emulator.Server)
	emu.AddClient(emulator.Client{ID: args[0], AppID: args[1], Secrets: []string{args[2]}})
}

func cmdEmulatorClient(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: emulator-client ID SECRET [SCOPE...]")
	}
	emu := ts.Value(emulatorKey{}).(*emulator.Server)
	emu.AddClient(emulator.Client{ID: args[0], Secrets: []string{args[1]}, Scopes: args[2:]})
}

// emulator-keys ID JWKS_FILE...: a client authenticating with the keys of
// the JWKS documents (as keygen prints them), all of them ACTIVE: the
// keys registered at the provider.
func cmdEmulatorKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: emulator-keys ID JWKS_FILE...")
	}
	var keys []emulator.ClientKey
	for _, f := range args[1:] {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(ts.ReadFile(f)), &set); err != nil {
			ts.Fatalf("%s is not a JWKS: %v", f, err)
		}
		for _, k := range set.Keys {
			keys = append(keys, emulator.ClientKey{ID: k.KeyID, JWK: k, Status: emulator.KeyActive})
		}
	}
	emu := ts.Value(emulatorKey{}).(*emulator.Server)
	emu.AddClient(emulator.Client{ID: args[0], Keys: keys})
}
