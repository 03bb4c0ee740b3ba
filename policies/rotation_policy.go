package policies

import (
	"time"

	"github.com/credkeeper/credkeeper/config"
)

// NextReminder is the first moment after now at which a reminder of p
// about the deadline rotateBy falls due (a tier's lead time before it, or the
// deadline itself, when it turns overdue), zero when none is left. A
// daemon checks then, so that a reminder goes out at its moment rather
// than at the credential's next scheduled check, up to an interval late.
func NextReminder(p *config.RotationPolicy, rotateBy, now time.Time) time.Time {
	if rotateBy.IsZero() || !now.Before(rotateBy) {
		return time.Time{}
	}
	next := rotateBy
	for _, tier := range p.Remind {
		if at := rotateBy.Add(-tier); at.After(now) && at.Before(next) {
			next = at
		}
	}
	return next
}
