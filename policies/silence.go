package policies

import (
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
)

// Silences last at most the notifications block's max_silence, so that
// none outlives the reason it was set for.
const (
	DefaultMaxSilence = 90 * 24 * time.Hour
	MinMaxSilence     = 24 * time.Hour
	MaxMaxSilence     = 365 * 24 * time.Hour
)

// CheckSilenceUntil refuses a silence set at now to last until until: one
// that is not in the future, or that lasts longer than maxSilence
// (DefaultMaxSilence when 0). Its error completes a sentence about until.
func CheckSilenceUntil(until, now time.Time, maxSilence time.Duration) error {
	if maxSilence <= 0 {
		maxSilence = DefaultMaxSilence
	}
	if !until.After(now) {
		return fmt.Errorf("is not in the future")
	}
	if limit := now.Add(maxSilence); until.After(limit) {
		return fmt.Errorf("is more than %s away: a silence lasts at most max_silence = %q (the notifications block); choose a date up to %s",
			ShortDuration(maxSilence), ShortDuration(maxSilence), dates.Format(limit))
	}
	return nil
}
