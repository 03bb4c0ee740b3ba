package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadPlan feeds the saved-plan loader arbitrary files: it refuses
// what is not a plan of its format with an error, and never panics.
func FuzzLoadPlan(f *testing.F) {
	f.Add([]byte(`{"format_version":1,"mount":"secret","prefix":"credkeeper","changes":[],"notes":[]}`))
	f.Add([]byte(`{"format_version":1,"changes":[{"type":"policy","action":"create","name":"p","policy":"path \"x\" {}"}]}`))
	f.Add([]byte(`{"format_version":99}`))
	f.Add([]byte(`not json`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.plan")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadPlan(path)
		if err == nil && (p == nil || p.FormatVersion != PlanFormatVersion) {
			t.Errorf("accepted %q as a plan: %+v", b, p)
		}
	})
}
