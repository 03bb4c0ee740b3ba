package rotation

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/policies"
)

var planNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func parseConfig(t testing.TB, src string) *policies.Config {
	t.Helper()
	cfg, diags := policies.Parse([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}
