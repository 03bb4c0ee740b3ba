package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// samplePlan has one change of each kind and a notice of each kind.
func samplePlan() *Plan {
	return &Plan{
		FormatVersion: PlanFormatVersion, Mount: "secret", Prefix: "credkeeper",
		CreatedAt: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		Changes: []Change{
			{Action: ActionCreate, Type: TypeCredential, Name: "ctrp-prod",
				Metadata: &PlannedMetadata{Provider: "ctrp-prod", Environment: "prod", Owner: "oncall@example.org", Rotation: "yearly", RotateBy: "2026-12-20", MaxVersions: 10},
				Fields:   fieldChanges(PlannedMetadata{}, PlannedMetadata{Provider: "ctrp-prod", Environment: "prod", Owner: "oncall@example.org", Rotation: "yearly", RotateBy: "2026-12-20", MaxVersions: 10}),
				Note:     "metadata only: set its secret afterwards with credkeeper secret set ctrp-prod"},
			{Action: ActionUpdate, Type: TypeCredential, Name: "ctrp-stage", Version: 3, Fingerprint: "0123456789abcdef",
				Metadata: &PlannedMetadata{Provider: "ctrp-stage", Environment: "stage", Owner: "secops@example.org", Rotation: "yearly", IssuedAt: "2026-03-01", RotateBy: "2027-03-01", MaxVersions: 10},
				Fields:   []FieldChange{{"owner", "security@example.org", "secops@example.org"}, {"max_versions", "0", "10"}}},
			{Action: ActionDelete, Type: TypeCredential, Name: "legacy", Version: 1, Fingerprint: "fedcba9876543210",
				Metadata: &PlannedMetadata{Provider: "dmptool", Environment: "prod", MaxVersions: 10},
				Records:  []string{"credentials/legacy", "silences/legacy", "state/legacy"},
				Note:     "not declared in the configuration; deleted only by apply --prune"},
			{Action: ActionDelete, Type: TypeRecords, Name: "ghost", Records: []string{"rotations/ghost", "silences/ghost"},
				Note: "kept for a credential no longer in Vault; deleted only by apply --prune"},
			{Action: ActionCreate, Type: TypePolicy, Name: "credkeeper-ci", Note: "the ci role",
				Policy: "path \"secret/data/credkeeper/tokens/*\" {\n  capabilities = [\"read\"]\n}\n"},
			{Action: ActionUpdate, Type: TypePolicy, Name: "credkeeper-auditor", Note: "the auditor role", Fingerprint: "aaaaaaaaaaaaaaaa",
				Diff: "--- vault\n+++ config\n@@ -1,3 +1,3 @@\n path \"secret/data/credkeeper/state/*\" {\n-  capabilities = [\"read\", \"list\"]\n+  capabilities = [\"read\"]\n }\n"},
		},
		Notes: []Note{
			{Name: "ctrp-prod", Message: "has no secret in Vault yet: set it with credkeeper secret set ctrp-prod"},
			{Name: "ctrp-prod", Message: "rotation deadline 2026-12-20 is in 27 days, inside the yearly policy's first reminder (60 days)"},
			{Name: "dmp-old", Message: "is past its rotation deadline (2026-11-01, 22 days ago): request the new pair"},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestRenderPlanGolden(t *testing.T) {
	var text bytes.Buffer
	if err := RenderPlan(&text, samplePlan()); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", text.Bytes())

	js, err := json.MarshalIndent(samplePlan(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", append(js, '\n'))

	var none bytes.Buffer
	if err := RenderPlan(&none, &Plan{Mount: "secret", Prefix: "credkeeper", Notes: []Note{{Name: "x", Message: "has no secret in Vault yet: set it with credkeeper secret set x"}}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "no-changes.txt", none.Bytes())
}

func TestSavedPlanRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := SavePlan(path, samplePlan()); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	p, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(samplePlan())
	if !bytes.Equal(a, b) {
		t.Errorf("round trip differs:\n%s\n%s", a, b)
	}
	if err := os.WriteFile(path, []byte(`{"format_version": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPlan(path); err == nil {
		t.Error("a plan of another format should be refused")
	}
}
