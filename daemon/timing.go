package daemon

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/internal/backoff"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Backoff bounds for checks of a provider that is down.
const (
	BackoffBase = 30 * time.Second
	BackoffMax  = 30 * time.Minute
)

// Backoff is the wait after n consecutive failures: 30s, 1m, 2m … 30m.
func Backoff(failures int) time.Duration {
	return backoff.Exponential(failures, BackoffBase, BackoffMax)
}

// NotBefore is the earliest time the next scheduled check of a credential
// may run, from its stored state: after unavailable or protocol, an
// exponential backoff from the last check; after rate_limited, the later of
// that and the provider's reset time. Zero means "on schedule".
func NotBefore(st vaultstore.State) time.Time {
	switch oauthcheck.Class(st.LastClass) {
	case oauthcheck.ClassUnavailable, oauthcheck.ClassProtocol:
		return st.LastCheck.Add(Backoff(st.ConsecutiveFailures))
	case oauthcheck.ClassRateLimited:
		t := st.LastCheck.Add(Backoff(st.ConsecutiveFailures))
		if st.RetryAt.After(t) {
			t = st.RetryAt
		}
		return t
	}
	return time.Time{}
}

// MinRenewInterval is the least time between a token's issue and its
// renewal, however short its life.
const MinRenewInterval = 30 * time.Second

// RenewAt is when a published token should be replaced: when less than
// renewBefore, or a third of its lifetime, whichever is larger, is left;
// but never sooner than a tenth of its lifetime, nor MinRenewInterval,
// after it was issued. A renew_before as long as the token's life, or a
// token that expired as it came, cannot make renewals spin.
func RenewAt(issued, expires time.Time, renewBefore time.Duration) time.Time {
	life := expires.Sub(issued)
	earliest := issued.Add(max(life/10, MinRenewInterval))
	at := expires.Add(-max(renewBefore, life/3))
	if at.Before(earliest) {
		return earliest
	}
	return at
}

// offsetSchedule shifts a cron schedule by a fixed offset, so that many
// credentials on the same schedule do not all fire at once.
type offsetSchedule struct {
	cron.Schedule
	offset time.Duration
}

func (s offsetSchedule) Next(t time.Time) time.Time {
	return s.Schedule.Next(t.Add(-s.offset)).Add(s.offset)
}

// Interval estimates a schedule's period from the time after t.
func Interval(s cron.Schedule, t time.Time) time.Duration {
	first := s.Next(t)
	return s.Next(first).Sub(first)
}

// Spread returns s shifted by a fraction (0 <= frac < 1) of its interval.
// The jitter is chosen by the caller, so the schedule itself stays a pure
// function of its inputs.
func Spread(s cron.Schedule, frac float64, now time.Time) cron.Schedule {
	return offsetSchedule{Schedule: s, offset: time.Duration(frac * float64(Interval(s, now)))}
}

// CanTakeLease reports whether replica me may take or keep the leader
// lease: it is free, expired, or already its own.
func CanTakeLease(cur *vaultstore.Lease, me string, now time.Time) bool {
	return cur == nil || cur.Holder == me || !now.Before(cur.ExpiresAt)
}
