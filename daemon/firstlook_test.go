package daemon

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestQuietSinceLastCheck(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	yearly := config.Yearly() // longest tier 60 days
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	none := &time.Time{}
	okState := func(rotateBy *time.Time) vaultstore.State {
		return vaultstore.State{LastClass: "ok", LastCheck: now.Add(-10 * time.Minute), RotateBy: rotateBy,
			History: []vaultstore.CheckSummary{{At: now.Add(-10 * time.Minute), Class: "ok"}}}
	}
	failedOnce := okState(none)
	failedOnce.History = append(failedOnce.History, vaultstore.CheckSummary{At: now.Add(-time.Hour), Class: "invalid_client"})
	failing := okState(none)
	failing.LastClass, failing.ConsecutiveFailures = "unavailable", 1
	for _, tc := range []struct {
		name        string
		st          vaultstore.State
		autoRotates bool
		quiet       bool
		remindAt    time.Time
	}{
		{"a state written before the deadline was kept cannot tell", okState(nil), false, false, time.Time{}},
		{"a credential without a deadline has no reminder to wait for", okState(none), false, true, time.Time{}},
		{"a deadline beyond the longest tier waits for that tier's moment", okState(at(90 * 24 * time.Hour)), false, true, now.Add(30 * 24 * time.Hour)},
		{"a deadline within the longest tier may have a reminder decided and unclaimed", okState(at(59 * 24 * time.Hour)), false, false, time.Time{}},
		{"a deadline passed may have an overdue reminder", okState(at(-time.Hour)), false, false, time.Time{}},
		{"a failing credential may have an alert due", failing, false, false, time.Time{}},
		{"a recovered credential may have a resolution waiting", failedOnce, false, false, time.Time{}},
		{"a credential that rotates itself may have a rotation notice waiting", okState(none), true, false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remindAt, quiet := QuietSinceLastCheck(yearly, tc.st, tc.autoRotates, now)
			if quiet != tc.quiet || !remindAt.Equal(tc.remindAt) {
				t.Errorf("QuietSinceLastCheck = %v, %v; want %v, %v", remindAt, quiet, tc.remindAt, tc.quiet)
			}
		})
	}
}
