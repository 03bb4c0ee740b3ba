package notify

import (
	"slices"
	"time"
)

// silenced is the silence stage: which kinds of notice the credential's
// silence holds back at now. A silence lapses on its own; what it held
// back is due again after it, if the decision still finds it due.
func silenced(s Silence, now time.Time) func(kind string) bool {
	return func(kind string) bool {
		if kind == KindFollowUp {
			kind = KindReminder // a silence of reminders holds back their follow-ups
		}
		return now.Before(s.Until) && slices.Contains(s.Kinds, kind)
	}
}
