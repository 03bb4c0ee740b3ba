package policies

import (
	"github.com/credkeeper/credkeeper/config"
	"testing"
	"time"
)

// The next reminder's moment is the nearest tier still ahead, then the
// deadline itself; nothing once the deadline has passed.
func TestNextReminder(t *testing.T) {
	day := 24 * time.Hour
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	p := config.Yearly()
	for _, tc := range []struct {
		now, want time.Time
	}{
		{deadline.Add(-90 * day), deadline.Add(-60 * day)},
		{deadline.Add(-60 * day), deadline.Add(-30 * day)},
		{deadline.Add(-10 * day), deadline.Add(-7 * day)},
		{deadline.Add(-36 * time.Hour), deadline.Add(-day)},
		{deadline.Add(-time.Hour), deadline},
		{deadline, time.Time{}},
	} {
		if got := NextReminder(p, deadline, tc.now); !got.Equal(tc.want) {
			t.Errorf("at %v: next reminder %v, want %v", tc.now, got, tc.want)
		}
	}
	if got := NextReminder(p, time.Time{}, deadline); !got.IsZero() {
		t.Errorf("no deadline: %v", got)
	}
}
