package check

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// The cache gives back the state it was given, history and conditions and
// version alike, and its brief without them.
func TestCacheKeepsStatesWhole(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	st := &vaultstore.State{LastClass: "unavailable", LastCheck: t0, LastSuccess: t0.Add(-time.Hour), ConsecutiveFailures: 2,
		RejectedVersion: 3, RejectedClass: "invalid_client", RejectedAt: t0.Add(-48 * time.Hour), RetryAt: t0.Add(time.Minute), Version: 41}
	for i := range HistoryLength {
		st.History = append(st.History, vaultstore.CheckSummary{At: t0.Add(-time.Duration(i) * time.Hour), Class: "ok", Status: 200,
			Detail: fmt.Sprintf("the provider issued a token (check %d)", i), LatencyMS: int64(30 + i)})
	}
	st.Conditions = []vaultstore.Condition{{Type: "Valid", Status: "True", Reason: "ok", Message: "the provider issued a token", LastTransition: t0}}
	var c Cache
	c.putState("x", st)

	got := c.State("x")
	want, _ := json.Marshal(st)
	have, _ := json.Marshal(got)
	if string(have) != string(want) || got.Version != st.Version {
		t.Errorf("state back from the cache:\n%s (version %d)\nwant\n%s (version %d)", have, got.Version, want, st.Version)
	}
	if b, ok := c.Brief("x"); !ok || b.History != nil || b.Conditions != nil || b.LastClass != "unavailable" || !b.RetryAt.Equal(st.RetryAt) || b.ConsecutiveFailures != 2 {
		t.Errorf("brief: %+v", b)
	}
	c.putState("x", nil)
	if _, ok := c.Brief("x"); c.State("x") != nil || ok {
		t.Error("a forgotten state is still cached")
	}
}
