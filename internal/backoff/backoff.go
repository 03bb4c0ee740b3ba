// Package backoff is the one exponential backoff credkeeper waits by, for
// checks of a provider that is down and for Vault logins that fail. It is
// a pure function of the failure count: nothing here sleeps.
package backoff

import "time"

// Exponential is the wait after n consecutive failures: base, 2·base,
// 4·base … capped at limit; 0 before the first failure.
func Exponential(failures int, base, limit time.Duration) time.Duration {
	if failures < 1 {
		return 0
	}
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
