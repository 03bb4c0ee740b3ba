package policies

import (
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
)

// CheckSilenceUntil refuses a silence set at now to last until until: one
// that is not in the future, or that lasts longer than maxSilence
// (config.DefaultMaxSilence when 0). Its error completes a sentence about until.
func CheckSilenceUntil(until, now time.Time, maxSilence time.Duration) error {
	if maxSilence <= 0 {
		maxSilence = config.DefaultMaxSilence
	}
	if !until.After(now) {
		return fmt.Errorf("is not in the future")
	}
	if limit := now.Add(maxSilence); until.After(limit) {
		return fmt.Errorf("is more than %s away: a silence lasts at most max_silence = %q (the notifications block); choose a date up to %s",
			dates.ShortDuration(maxSilence), dates.ShortDuration(maxSilence), dates.Format(limit))
	}
	return nil
}
