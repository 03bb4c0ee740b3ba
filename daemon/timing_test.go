package daemon

import (
	"fmt"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 7: 30 * time.Minute, 100: 30 * time.Minute} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestNotBefore(t *testing.T) {
	last := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   vaultstore.State
		want time.Time
	}{
		{"ok runs on schedule", vaultstore.State{LastClass: "ok", LastCheck: last}, time.Time{}},
		{"invalid_client runs on schedule (the lockout record guards it)", vaultstore.State{LastClass: "invalid_client", LastCheck: last, ConsecutiveFailures: 4}, time.Time{}},
		{"unavailable backs off", vaultstore.State{LastClass: "unavailable", LastCheck: last, ConsecutiveFailures: 3}, last.Add(2 * time.Minute)},
		{"rate_limited waits for the reset", vaultstore.State{LastClass: "rate_limited", LastCheck: last, ConsecutiveFailures: 1, RetryAt: last.Add(5 * time.Minute)}, last.Add(5 * time.Minute)},
		{"rate_limited with an early reset still backs off", vaultstore.State{LastClass: "rate_limited", LastCheck: last, ConsecutiveFailures: 2, RetryAt: last.Add(time.Second)}, last.Add(time.Minute)},
	} {
		if got := NotBefore(tc.st); !got.Equal(tc.want) {
			t.Errorf("%s: NotBefore = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRenewAt(t *testing.T) {
	issued := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lifetime, renewBefore, wantLead time.Duration
	}{
		{8 * time.Hour, 10 * time.Minute, 8 * time.Hour / 3},   // a third of 8h beats 10m
		{30 * time.Minute, 10 * time.Minute, 10 * time.Minute}, // 10m equals a third of 30m
		{15 * time.Minute, 10 * time.Minute, 10 * time.Minute}, // renew_before beats a third
		{2 * time.Hour, 90 * time.Minute, 90 * time.Minute},
	} {
		expires := issued.Add(tc.lifetime)
		if got := RenewAt(issued, expires, tc.renewBefore); !got.Equal(expires.Add(-tc.wantLead)) {
			t.Errorf("lifetime %v, renew_before %v: RenewAt = %v, want %v before expiry", tc.lifetime, tc.renewBefore, got, tc.wantLead)
		}
	}
}

// RenewAt never asks for a renewal sooner than a tenth of the token's life
// (nor MinRenewInterval) after it was issued, whatever renew_before says:
// otherwise the renewal timer fires at once, forever.
func TestRenewAtNeverSpins(t *testing.T) {
	issued := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                  string
		lifetime, renewBefore time.Duration
		wantAfterIssue        time.Duration
	}{
		{"the default 10m against 5-minute tokens", 5 * time.Minute, 10 * time.Minute, 30 * time.Second},
		{"9h against 8-hour tokens", 8 * time.Hour, 9 * time.Hour, 48 * time.Minute},
		{"renew_before equal to the life", time.Hour, time.Hour, 6 * time.Minute},
		{"a token that expired before it was issued", -time.Hour, 10 * time.Minute, MinRenewInterval},
		{"a token of no life at all", 0, 10 * time.Minute, MinRenewInterval},
		{"a token of a few seconds", 5 * time.Second, 10 * time.Minute, MinRenewInterval},
		{"a negative renew_before", time.Hour, -time.Hour, 40 * time.Minute},
	} {
		got := RenewAt(issued, issued.Add(tc.lifetime), tc.renewBefore)
		if want := issued.Add(tc.wantAfterIssue); !got.Equal(want) {
			t.Errorf("%s: RenewAt = issued + %v, want issued + %v", tc.name, got.Sub(issued), tc.wantAfterIssue)
		}
	}
}

func TestSpreadShiftsWithinOneInterval(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	every, _ := cron.ParseStandard("*/30 * * * *")
	if got := Interval(every, now); got != 30*time.Minute {
		t.Fatalf("Interval = %v", got)
	}
	s := Spread(every, 15*time.Minute)
	first := s.Next(now)
	if want := now.Add(15 * time.Minute); !first.Equal(want) {
		t.Errorf("first run %v, want %v", first, want)
	}
	if second := s.Next(first); second.Sub(first) != 30*time.Minute {
		t.Errorf("the interval is kept: %v", second.Sub(first))
	}
	if got := Spread(every, 0).Next(now); !got.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("no spread: %v", got)
	}
}

// @every schedules spread too (shifting them once cancelled out), by a
// stable offset from a hash of the name: 1,000 credentials on @every 60s
// fall across the minute, none later than the first interval, and the same
// name lands on the same second whenever the daemon starts.
func TestEverySchedulesSpread(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	every := cron.Every(60 * time.Second)
	perSecond := map[int64]int{}
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("cred-%04d", i)
		s := Spread(every, Offset(name, time.Minute))
		next := s.Next(now)
		if next.Sub(now) <= 0 || next.Sub(now) > time.Minute {
			t.Fatalf("%s first runs %v after start, want within the first interval", name, next.Sub(now))
		}
		if again := s.Next(next); again.Sub(next) != time.Minute {
			t.Fatalf("%s: the interval is kept: %v", name, again.Sub(next))
		}
		if later := Spread(every, Offset(name, time.Minute)).Next(now.Add(37 * time.Second)); later.Sub(next)%time.Minute != 0 {
			t.Fatalf("%s: a restart 37s later puts it %v off its grid", name, later.Sub(next)%time.Minute)
		}
		perSecond[next.Unix()]++
	}
	for sec, n := range perSecond {
		if n > 3*1000/60 {
			t.Errorf("second %d holds %d of 1,000 checks: more than 3x the average", sec-now.Unix(), n)
		}
	}
}

// A credential's first check after a start comes within
// first_check_within, at its name's place in that window, unless its own
// schedule comes sooner.
func TestFirstCheckAtComesWithinTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	hourly := Spread(cron.Every(time.Hour), Offset("x", time.Hour))
	if got, want := FirstCheckAt(hourly, "x", time.Minute, now), now.Add(Offset("x", time.Minute)); !got.Equal(want) || !got.Before(now.Add(time.Minute)) {
		t.Errorf("first check %v, want %v (within a minute)", got, want)
	}
	everySecond := cron.Every(time.Second)
	if got := FirstCheckAt(everySecond, "x", time.Minute, now); !got.Equal(everySecond.Next(now)) {
		t.Errorf("a schedule that comes sooner: %v, want %v", got, everySecond.Next(now))
	}
}

func TestCanTakeLease(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ttl := 10 * time.Second
	// The holder's clock is an hour behind: its ExpiresAt means nothing here.
	held := &vaultstore.Lease{Holder: "a", Nonce: "process-1", ExpiresAt: now.Add(-time.Hour)}
	for _, tc := range []struct {
		name       string
		lease      *vaultstore.Lease
		id, nonce  string
		observedAt time.Time
		want       bool
	}{
		{"no lease", nil, "b", "process-2", now, true},
		{"a released lease", &vaultstore.Lease{Holder: ""}, "b", "process-2", now, true},
		{"its own", held, "a", "process-1", now, true},
		{"another's, seen changing just now", held, "b", "process-2", now, false},
		{"another's, unchanged for less than the TTL", held, "b", "process-2", now.Add(-9 * time.Second), false},
		{"another's, unchanged for the TTL", held, "b", "process-2", now.Add(-ttl), true},
		{"another process's under the same replica ID, seen changing just now", held, "a", "process-2", now, false},
		{"another process's under the same replica ID, unchanged for less than the TTL", held, "a", "process-2", now.Add(-9 * time.Second), false},
		{"a crashed predecessor's under the same replica ID, unchanged for the TTL", held, "a", "process-2", now.Add(-ttl), true},
		{"one written before leases named processes, under the same replica ID", &vaultstore.Lease{Holder: "a"}, "a", "process-2", now, false},
	} {
		if got := CanTakeLease(tc.lease, tc.id, tc.nonce, tc.observedAt, now, ttl); got != tc.want {
			t.Errorf("%s: CanTakeLease = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRenewalOverdue(t *testing.T) {
	renewed := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ttl := 30 * time.Second
	for after, want := range map[time.Duration]bool{
		0: false, 10 * time.Second: false, 23 * time.Second: false, 24 * time.Second: true, time.Hour: true,
	} {
		if got := RenewalOverdue(renewed, renewed.Add(after), ttl); got != want {
			t.Errorf("%v after the last renewal: overdue = %v, want %v", after, got, want)
		}
	}
}
