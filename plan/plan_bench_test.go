package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// BenchmarkPlan1000 plans 1,000 declared credentials, already applied,
// against the real Vault core, and reports the Vault requests per plan.
func BenchmarkPlan1000(b *testing.B) {
	const n = 1000
	store := vaulttest.New(b).Store(b)
	var src strings.Builder
	for i := range n {
		fmt.Fprintf(&src, "credential \"c%04d\" {\n  provider = \"ctrp-stage\"\n  owner = \"team%d@example.org\"\n}\n", i, i%7)
	}
	cfg := parseConfig(b, src.String())
	ctx := context.Background()
	p, err := MakePlan(ctx, store, cfg, planNow)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Apply(ctx, store, p, ApplyOptions{}); err != nil {
		b.Fatal(err)
	}

	before := store.Requests()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := MakePlan(ctx, store, cfg, planNow)
		if err != nil {
			b.Fatal(err)
		}
		if p.HasChanges() {
			b.Fatalf("%d changes after apply", len(p.Changes))
		}
	}
	b.ReportMetric(float64(store.Requests()-before)/float64(b.N), "vault-requests/op")
	b.ReportMetric(float64(store.Requests()-before)/float64(b.N)/n, "vault-requests/credential")
}
