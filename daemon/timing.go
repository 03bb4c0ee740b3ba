package daemon

import (
	"hash/fnv"
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

// Offset is name's stable place within an interval: the same for every
// replica and every restart (an FNV-1a hash of the name), and spread
// evenly across the interval over many names.
func Offset(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// spread shifts a schedule by a fixed offset. A cron expression fires
// offset later than it would; an @every schedule fires on a grid anchored
// at the Unix epoch and shifted by offset, so that it does not depend on
// when the daemon started.
type spread struct {
	base   cron.Schedule
	offset time.Duration
}

func (s spread) Next(t time.Time) time.Time {
	if every, ok := s.base.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		d := int64(every.Delay)
		k := t.Add(-s.offset).UnixNano()/d + 1
		return time.Unix(0, k*d).Add(s.offset).In(t.Location())
	}
	return s.base.Next(t.Add(-s.offset)).Add(s.offset)
}

// Spread returns s shifted by offset (use Offset of the credential's name
// within Interval(s)), for cron expressions and @every schedules alike.
func Spread(s cron.Schedule, offset time.Duration) cron.Schedule {
	return spread{base: s, offset: offset}
}

// Interval estimates a schedule's period from the time after t.
func Interval(s cron.Schedule, t time.Time) time.Duration {
	first := s.Next(t)
	return s.Next(first).Sub(first)
}

// CanTakeLease reports whether this process, replica id with process
// nonce, may take or keep the leader lease: it is free (none, or
// released), already this process's own, or another's that has not
// changed for ttl of this process's own time: observedAt is when it last
// saw the record change (client-go's observed time). A lease under the
// same replica ID but another nonce is another process's (a second one
// started with the same ID, or this one's predecessor that crashed): it
// is taken only once it lapses. The holder's ExpiresAt is never compared
// with this replica's clock, so clock skew between replicas cannot make
// two leaders.
func CanTakeLease(cur *vaultstore.Lease, id, nonce string, observedAt, now time.Time, ttl time.Duration) bool {
	return cur == nil || cur.Holder == "" || cur.Holder == id && cur.Nonce == nonce || !now.Before(observedAt.Add(ttl))
}

// RenewalOverdue reports whether a leader whose last successful renewal
// was at lastRenewed must stop now, before its lease can lapse: a slow
// read followed by a slow write can outlast the lease without any
// renewal failing. The margin is a fifth of the TTL.
func RenewalOverdue(lastRenewed, now time.Time, ttl time.Duration) bool {
	return !now.Before(lastRenewed.Add(ttl - ttl/5))
}
