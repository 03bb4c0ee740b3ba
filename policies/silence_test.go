package policies

import (
	"strings"
	"testing"
	"time"
)

func TestASilenceLastsAtMostMaxSilence(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name       string
		until      time.Time
		maxSilence time.Duration
		wantErr    string
	}{
		{"a week is fine", now.Add(7 * day), 0, ""},
		{"exactly the default 90 days is fine", now.Add(90 * day), 0, ""},
		{"the last whole date within 90 days is fine", time.Date(2027, 2, 21, 0, 0, 0, 0, time.UTC), 0, ""},
		{"the next date is over the default", time.Date(2027, 2, 22, 0, 0, 0, 0, time.UTC), 0, `is more than 90d away: a silence lasts at most max_silence = "90d" (the notifications block); choose a date up to 2027-02-21`},
		{"9999-12-31 is over the default", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0, "is more than 90d away"},
		{"a shorter limit from the configuration holds", now.Add(8 * day), 7 * day, `is more than 7d away: a silence lasts at most max_silence = "7d"`},
		{"a longer limit from the configuration allows more", now.Add(200 * day), 365 * day, ""},
		{"now is not in the future", now, 0, "is not in the future"},
		{"the past is not in the future", now.Add(-day), 0, "is not in the future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSilenceUntil(tc.until, now, tc.maxSilence)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("CheckSilenceUntil = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
