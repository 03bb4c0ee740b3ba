package vaultstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// Every version of silences/NAME still held is read back, oldest first; a
// deleted version is left out, and a credential never silenced has none.
func TestSilenceHistoryReadsEveryVersionKept(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	for i, reason := range []string{"outage", "outage (expired early by token-erin)", "migration"} {
		si := &vaultstore.Silence{Until: at.AddDate(0, 0, 10*(i+1)), Reason: reason, Kinds: []string{"ops"}, CreatedBy: "token-erin", CreatedAt: at}
		if _, err := store.PutSilence(ctx, "dmp", si, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Root.KVv2(env.Mount).DeleteVersions(ctx, env.Prefix+"/silences/dmp", []int{2}); err != nil {
		t.Fatal(err)
	}
	got, err := store.SilenceHistory(ctx, "dmp")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != 1 || got[0].Reason != "outage" || got[1].Version != 3 || got[1].Reason != "migration" || got[1].CreatedBy != "token-erin" {
		t.Errorf("history %+v, want versions 1 (outage) and 3 (migration)", got)
	}
	if _, err := store.SilenceHistory(ctx, "never-silenced"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("a credential never silenced: %v, want not found", err)
	}
}
