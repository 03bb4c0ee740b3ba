package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

func entry(key, kind string, sent bool) vaultstore.LedgerEntry {
	payload, _ := json.Marshal(Notice{Key: key, Kind: kind})
	e := vaultstore.LedgerEntry{Key: key, Channel: "security", Notice: payload}
	if sent {
		e.SentAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return e
}

// flaps is n settled ops notices and their resolves.
func flaps(n int) []vaultstore.LedgerEntry {
	var out []vaultstore.LedgerEntry
	for i := range n {
		out = append(out, entry(fmt.Sprintf("ops/c/unavailable/%d", i), KindOps, true), entry(fmt.Sprintf("resolve/ops/c/unavailable/%d", i), KindResolve, true))
	}
	return out
}

func TestTheLedgerCapDropsWhatNoDecisionReadsFirst(t *testing.T) {
	current := entry("reminder/c/2027-03-01/30d", KindReminder, true)
	past := entry("reminder/c/2026-03-01/30d", KindReminder, true)
	incident := entry("incident/c/invalid_client", KindIncident, true)
	unsent := entry("reminder/c/2027-03-01/14d", KindReminder, false)
	stale := func(key string) bool {
		return strings.HasPrefix(key, "reminder/c/") && !strings.HasPrefix(key, "reminder/c/2027-03-01/")
	}
	for _, tc := range []struct {
		name      string
		entries   []vaultstore.LedgerEntry
		incidents []vaultstore.Incident
		kept      []string // keys that must stay
		dropped   []string // keys that must go
		size      int
	}{
		{name: "the current deadline's sent reminder outlives a hundred flapping ops notices after it",
			entries: append([]vaultstore.LedgerEntry{current}, flaps(60)...), kept: []string{current.Key}, dropped: []string{"ops/c/unavailable/0"}, size: LedgerKeep},
		{name: "an open incident's page outlives the ops notices",
			entries: append([]vaultstore.LedgerEntry{incident}, flaps(60)...), incidents: []vaultstore.Incident{{Key: incident.Key}},
			kept: []string{incident.Key}, size: LedgerKeep},
		{name: "a past deadline's reminder goes before the current one",
			entries: append([]vaultstore.LedgerEntry{past}, slices.Repeat([]vaultstore.LedgerEntry{current}, LedgerKeep)...), kept: []string{current.Key}, dropped: []string{past.Key}, size: LedgerKeep},
		{name: "an unsent notice is never dropped, even past the cap",
			entries: append([]vaultstore.LedgerEntry{unsent}, slices.Repeat([]vaultstore.LedgerEntry{current}, LedgerKeep)...), kept: []string{unsent.Key}, size: LedgerKeep},
		{name: "a ledger within the cap is kept whole",
			entries: append([]vaultstore.LedgerEntry{current}, flaps(10)...), kept: []string{current.Key, "ops/c/unavailable/0"}, size: 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trim(&vaultstore.Ledger{Entries: tc.entries, Incidents: tc.incidents}, stale)
			keys := map[string]bool{}
			for _, e := range got {
				keys[e.Key] = true
			}
			if len(got) != tc.size {
				t.Errorf("kept %d entries, want %d", len(got), tc.size)
			}
			for _, k := range tc.kept {
				if !keys[k] {
					t.Errorf("%s was dropped", k)
				}
			}
			for _, k := range tc.dropped {
				if keys[k] {
					t.Errorf("%s was kept", k)
				}
			}
		})
	}
}
