package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the configuration loader arbitrary text: it may refuse
// it, with diagnostics that point into the file, but must never panic.
// Seeds: every configuration under testdata/ and examples/.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.hcl", "../examples/*.hcl"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Add("credential \"x\" {\n  provider = \"ctrp-stage\"\n  check = \"@every 10s\"\n}\n")
	f.Add("provider \"p\" {\n  token_url = \"http://127.0.0.1/t\"\n  requests_per_second = 1e308\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		cfg, diags := Parse([]byte(src), "fuzz.hcl")
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Filename != "fuzz.hcl" {
				t.Errorf("a diagnostic points outside the file: %v", d)
			}
		}
		if !diags.HasErrors() && cfg == nil {
			t.Error("no errors and no configuration")
		}
		if !diags.HasErrors() {
			for _, c := range cfg.Credentials {
				if c.Schedule == nil || strings.TrimSpace(c.Name) == "" {
					t.Errorf("an accepted credential without a schedule or name: %+v", c)
				}
			}
		}
	})
}
