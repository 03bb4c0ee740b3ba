package rotation

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
)

var planNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func parseConfig(t testing.TB, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}
