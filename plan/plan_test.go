package plan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
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

const planConfig = `
credential "ctrp-stage" {
  provider  = "ctrp-stage"
  owner     = "security@example.org"
}
credential "ctrp-prod" {
  provider  = "ctrp-prod"
  owner     = "oncall@example.org"
  rotate_by = "2026-12-20"
}
`

func mustPlan(t *testing.T, store *vaultstore.Store, cfg *config.Config) *Plan {
	t.Helper()
	p, err := MakePlan(context.Background(), store, cfg, planNow)
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	return p
}

func mustApply(t *testing.T, store *vaultstore.Store, p *Plan, o ApplyOptions) *ApplyReport {
	t.Helper()
	rep, err := Apply(context.Background(), store, p, o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return rep
}

func TestPlanApplyPlanConverges(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	cfg := parseConfig(t, planConfig)

	p := mustPlan(t, store, cfg)
	if add, change, destroy := p.Counts(); add != 2 || change != 0 || destroy != 0 {
		t.Fatalf("plan on an empty prefix: %d %d %d\n%+v", add, change, destroy, p.Changes)
	}
	var notes []string
	for _, n := range p.Notes {
		notes = append(notes, n.Name+" "+n.Message)
	}
	all := strings.Join(notes, "\n")
	if !strings.Contains(all, "ctrp-stage has no secret in Vault yet") || !strings.Contains(all, "ctrp-prod rotation deadline 2026-12-20 is in 27 days") {
		t.Errorf("notices:\n%s", all)
	}

	rep := mustApply(t, store, p, ApplyOptions{})
	if len(rep.Applied) != 2 {
		t.Errorf("applied %d changes", len(rep.Applied))
	}
	info, err := store.CredentialInfo(context.Background(), "ctrp-prod")
	if err != nil || info.Metadata.Owner != "oncall@example.org" || info.Metadata.Environment != "prod" || info.Metadata.Rotation != "yearly" || info.Version != 0 || info.MaxVersions != 10 {
		t.Fatalf("after apply: %+v %v", info, err)
	}
	if again := mustPlan(t, store, cfg); again.HasChanges() {
		t.Errorf("plan right after apply has changes: %+v", again.Changes)
	}

	// The secret set afterwards keeps the applied metadata.
	c := &vaultstore.Credential{Name: "ctrp-prod", ClientID: "id", ClientSecret: secret.New("s"), Metadata: info.Metadata}
	if _, err := store.PutCredential(context.Background(), c, 0); err != nil {
		t.Fatalf("secret set after apply: %v", err)
	}
	if again := mustPlan(t, store, cfg); again.HasChanges() {
		t.Errorf("plan after the secret was set has changes: %+v", again.Changes)
	}
}

func TestPlanShowsMetadataChangesAndUndeclaredRecords(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	ctx := context.Background()
	mustApply(t, store, mustPlan(t, store, parseConfig(t, planConfig)), ApplyOptions{})
	// A record nobody declared.
	if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: "legacy", ClientID: "id", ClientSecret: secret.New("s"),
		Metadata: vaultstore.CredentialMetadata{Provider: "dmptool", Owner: "old@example.org"}}, 0); err != nil {
		t.Fatal(err)
	}

	changed := strings.Replace(planConfig, "security@example.org", "secops@example.org", 1)
	p := mustPlan(t, store, parseConfig(t, changed))
	if add, change, destroy := p.Counts(); add != 0 || change != 1 || destroy != 1 {
		t.Fatalf("counts %d %d %d: %+v", add, change, destroy, p.Changes)
	}
	var update, del Change
	for _, c := range p.Changes {
		switch c.Action {
		case ActionUpdate:
			update = c
		case ActionDelete:
			del = c
		}
	}
	if update.Name != "ctrp-stage" || len(update.Fields) != 1 || update.Fields[0] != (FieldChange{"owner", "security@example.org", "secops@example.org"}) {
		t.Errorf("update: %+v", update)
	}
	if del.Name != "legacy" || del.Version != 1 {
		t.Errorf("delete: %+v", del)
	}

	rep := mustApply(t, store, p, ApplyOptions{})
	if len(rep.Applied) != 1 || len(rep.Skipped) != 1 || rep.Skipped[0].Name != "legacy" {
		t.Errorf("without --prune: applied %d, skipped %+v", len(rep.Applied), rep.Skipped)
	}
	if _, err := store.GetCredential(ctx, "legacy"); err != nil {
		t.Errorf("legacy should survive apply without --prune: %v", err)
	}

	p = mustPlan(t, store, parseConfig(t, changed))
	rep = mustApply(t, store, p, ApplyOptions{Prune: true})
	if len(rep.Applied) != 1 || rep.Applied[0].Name != "legacy" {
		t.Errorf("with --prune: %+v", rep.Applied)
	}
	if _, err := store.CredentialInfo(ctx, "legacy"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("legacy after --prune: %v", err)
	}
	if again := mustPlan(t, store, parseConfig(t, changed)); again.HasChanges() {
		t.Errorf("converged: %+v", again.Changes)
	}
}

func TestStalePlanIsRefused(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	mustApply(t, store, mustPlan(t, store, parseConfig(t, planConfig)), ApplyOptions{})

	changed := strings.Replace(planConfig, "oncall@example.org", "pager@example.org", 1)
	p := mustPlan(t, store, parseConfig(t, changed))
	// Another writer edits the metadata by hand in Vault.
	if err := env.Root.KVv2("secret").PatchMetadata(ctx, env.Prefix+"/credentials/ctrp-prod",
		api.KVMetadataPatchInput{CustomMetadata: map[string]interface{}{"owner": "someone@example.org"}}); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, store, p, ApplyOptions{})
	if !errors.Is(err, ErrStalePlan) || err.Error() != "the plan is stale: credentials/ctrp-prod changed since it was made; run plan again" {
		t.Fatalf("stale plan: %v", err)
	}
	info, _ := store.CredentialInfo(ctx, "ctrp-prod")
	if info.Metadata.Owner != "someone@example.org" {
		t.Errorf("the hand edit must survive: owner %q", info.Metadata.Owner)
	}

	// A new data version is a change too.
	p = mustPlan(t, store, parseConfig(t, changed))
	if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: "ctrp-prod", ClientID: "id", ClientSecret: secret.New("s"), Metadata: info.Metadata}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, store, p, ApplyOptions{}); !errors.Is(err, ErrStalePlan) {
		t.Fatalf("plan stale by a new version: %v", err)
	}
}

func TestConflictMidApplyReportsWhatWasAndWasNotApplied(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	mustApply(t, store, mustPlan(t, store, parseConfig(t, planConfig)), ApplyOptions{})

	changed := strings.NewReplacer("security@example.org", "a@example.org", "oncall@example.org", "b@example.org").Replace(planConfig)
	p := mustPlan(t, store, parseConfig(t, changed))
	if len(p.Changes) != 2 {
		t.Fatalf("want two updates, got %+v", p.Changes)
	}
	// Another writer edits the second credential after apply's checks.
	race := func(c Change) {
		if c.Name == "ctrp-prod" {
			_ = env.Root.KVv2("secret").PatchMetadata(ctx, env.Prefix+"/credentials/ctrp-prod",
				api.KVMetadataPatchInput{CustomMetadata: map[string]interface{}{"owner": "racer@example.org"}})
		}
	}
	rep, err := Apply(ctx, store, p, ApplyOptions{beforeChange: race})
	if !errors.Is(err, vaultstore.ErrCASConflict) || !strings.Contains(err.Error(), "credentials/ctrp-prod") {
		t.Fatalf("conflict: %v", err)
	}
	if len(rep.Applied) != 1 || rep.Applied[0].Name != "ctrp-stage" || len(rep.NotApplied) != 1 || rep.NotApplied[0].Name != "ctrp-prod" {
		t.Errorf("report: applied %+v, not applied %+v", rep.Applied, rep.NotApplied)
	}
	stage, _ := store.CredentialInfo(ctx, "ctrp-stage")
	prod, _ := store.CredentialInfo(ctx, "ctrp-prod")
	if stage.Metadata.Owner != "a@example.org" || prod.Metadata.Owner != "racer@example.org" {
		t.Errorf("owners after the conflict: %q %q", stage.Metadata.Owner, prod.Metadata.Owner)
	}
}

// Pruning a credential removes every record kept for it, its silence and
// rotation records included, and the plan says which: a credential
// declared again later under the same name inherits nothing. Records a
// credential left behind when it was removed by other means are pruned too.
func TestPruneRemovesEveryRecordOfACredential(t *testing.T) {
	store := vaulttest.New(t).Store(t)
	ctx := context.Background()
	cfg := parseConfig(t, planConfig)
	mustApply(t, store, mustPlan(t, store, cfg), ApplyOptions{})
	if _, err := store.PutCredential(ctx, &vaultstore.Credential{Name: "legacy", ClientID: "id", ClientSecret: secret.New("Legacy-Secret"),
		Metadata: vaultstore.CredentialMetadata{Provider: "dmptool"}}, 0); err != nil {
		t.Fatal(err)
	}
	forever := &vaultstore.Silence{Until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Reason: "retired", Kinds: []string{"reminder"}, CreatedBy: "test", CreatedAt: planNow}
	for _, name := range []string{"legacy", "ghost"} {
		if _, err := store.PutSilence(ctx, name, forever, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.PutRotation(ctx, name, &vaultstore.Rotation{Step: "started"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.PutState(ctx, "legacy", &vaultstore.State{LastClass: "ok"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutLedger(ctx, "legacy", &vaultstore.Ledger{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutToken(ctx, "legacy", &vaultstore.Token{AccessToken: secret.New("Legacy-Token"), ExpiresAt: planNow.Add(time.Hour)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutPending(ctx, "legacy", &vaultstore.Pending{ClientID: "id2", ClientSecret: secret.New("Legacy-Staged"), StagedAt: planNow}, 0); err != nil {
		t.Fatal(err)
	}

	p := mustPlan(t, store, cfg)
	var text strings.Builder
	if err := RenderPlan(&text, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`# credentials/legacy will be destroyed`,
		`- records      = ["credentials/legacy", "ledger/legacy", "pending/legacy", "rotations/legacy", "silences/legacy", "state/legacy", "tokens/legacy"]`,
		`# ghost's records will be destroyed`,
		`- records      = ["rotations/ghost", "silences/ghost"]`,
		`Plan: 0 to add, 0 to change, 2 to destroy.`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the plan does not say %q:\n%s", want, text.String())
		}
	}
	kept := mustApply(t, store, p, ApplyOptions{})
	var left []string
	for _, c := range kept.Skipped {
		left = append(left, c.LeftInPlace())
	}
	if want := []string{
		"credentials/legacy is not declared in the configuration and was left in place; apply --prune deletes it.",
		"ghost's records (rotations/ghost, silences/ghost) were left in place; apply --prune deletes them.",
	}; strings.Join(left, "\n") != strings.Join(want, "\n") {
		t.Errorf("apply without --prune says:\n%s\nwant:\n%s", strings.Join(left, "\n"), strings.Join(want, "\n"))
	}
	mustApply(t, store, p, ApplyOptions{Prune: true})

	for _, name := range []string{"legacy", "ghost"} {
		for _, tc := range []struct {
			record string
			read   func() error
		}{
			{"credentials", func() error { return second(store.CredentialInfo(ctx, name)) }},
			{"pending", func() error { return second(store.PendingInfo(ctx, name)) }},
			{"state", func() error { return second(store.GetState(ctx, name)) }},
			{"tokens", func() error { return second(store.GetToken(ctx, name)) }},
			{"ledger", func() error { return second(store.GetLedger(ctx, name)) }},
			{"silences", func() error { return second(store.GetSilence(ctx, name)) }},
			{"rotations", func() error { return second(store.GetRotation(ctx, name)) }},
		} {
			if err := tc.read(); !errors.Is(err, vaultstore.ErrNotFound) {
				t.Errorf("%s/%s after apply --prune: %v, want not found", tc.record, name, err)
			}
		}
	}
	if again := mustPlan(t, store, cfg); again.HasChanges() {
		t.Errorf("converged: %+v", again.Changes)
	}
}
