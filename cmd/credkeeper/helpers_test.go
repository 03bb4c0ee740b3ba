package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// ctrpConfig is the head of a test's configuration: env's prefix, the four
// roles' Vault policies named for it (tests share a Vault, never its
// policies), and the emulator's CTRP Stage and Production servers as the
// providers ctrp-stage and ctrp-prod. suffix is what the policy names end in.
func ctrpConfig(env *vaulttest.Env, emulatorURL string) (hcl, suffix string) {
	suffix = strings.ReplaceAll(env.Prefix, "/", "-")
	return fmt.Sprintf(`vault {
  prefix = %q
}
vault_policies {
  daemon   = "daemon-%[2]s"
  operator = "operator-%[2]s"
  ci       = "ci-%[2]s"
  auditor  = "auditor-%[2]s"
}
provider "ctrp-stage" {
  token_url = "%[3]s/oauth2/%[4]s/v1/token"
}
provider "ctrp-prod" {
  token_url = "%[3]s/oauth2/%[5]s/v1/token"
}
`, env.Prefix, suffix, emulatorURL, emulator.AuthServerStage, emulator.AuthServerProd), suffix
}

func writeConfig(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile("credkeeper.hcl", []byte(src), 0o600); err != nil {
		t.Fatal(err)
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
