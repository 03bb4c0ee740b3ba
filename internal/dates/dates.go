// Package dates is credkeeper's one way of writing dates, times and
// durations: a day as YYYY-MM-DD (rotation deadlines, issue dates) and an
// instant as RFC 3339, both in UTC, the zero time as ""; a duration as the
// configuration writes it ("365d", "10m", "1h30m"). It does no I/O and reads
// no clock.
package dates

import (
	"fmt"
	"strings"
	"time"
)

// Layout is how a day is written.
const Layout = "2006-01-02"

// Format writes t's day in UTC; "" for the zero time.
func Format(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(Layout)
}

// Parse reads a day written as YYYY-MM-DD; an RFC 3339 time (as a hand
// edit in Vault might leave) is accepted too. "" is the zero time.
func Parse(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(Layout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return t.UTC(), nil
}

// FormatTime writes an instant as RFC 3339 in UTC; "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ShortDuration writes d as the configuration language reads it: whole days
// as "365d", otherwise Go's form without its zero units ("10m", not
// "10m0s"; "8h", not "8h0m0s"); zero is "0s". It keeps what precision d
// has: a caller that shows minutes rounds d first.
func ShortDuration(d time.Duration) string {
	if d != 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
