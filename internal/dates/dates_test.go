package dates

import (
	"testing"
	"time"
)

func TestFormatAndParseRoundTrip(t *testing.T) {
	day := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	if got := Format(day); got != "2027-03-01" {
		t.Errorf("Format = %q", got)
	}
	if got, err := Parse("2027-03-01"); err != nil || !got.Equal(day) {
		t.Errorf("Parse = %v, %v", got, err)
	}
	if got, err := Parse("2027-03-01T00:00:00Z"); err != nil || !got.Equal(day) {
		t.Errorf("Parse of RFC 3339 = %v, %v", got, err)
	}
	if got, err := Parse(""); err != nil || !got.IsZero() {
		t.Errorf("Parse(\"\") = %v, %v", got, err)
	}
	if _, err := Parse("March 1"); err == nil {
		t.Error("Parse of a non-date succeeded")
	}
	if Format(time.Time{}) != "" || FormatTime(time.Time{}) != "" {
		t.Error("the zero time is written as \"\"")
	}
	if got := FormatTime(time.Date(2027, 3, 1, 12, 30, 0, 0, time.FixedZone("x", 3600))); got != "2027-03-01T11:30:00Z" {
		t.Errorf("FormatTime = %q", got)
	}
}

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero is zero seconds", 0, "0s"},
		{"seconds stay", time.Second, "1s"},
		{"a negative value keeps its sign", -5 * time.Second, "-5s"},
		{"minutes drop the zero seconds", 10 * time.Minute, "10m"},
		{"minutes and seconds stay", 90 * time.Second, "1m30s"},
		{"hours drop the zero minutes and seconds", 8 * time.Hour, "8h"},
		{"hours and minutes drop the zero seconds", 90 * time.Minute, "1h30m"},
		{"a negative hour", -time.Hour, "-1h"},
		{"a whole day is a day", 24 * time.Hour, "1d"},
		{"whole days are days", 365 * 24 * time.Hour, "365d"},
		{"a day and an hour is hours", 25 * time.Hour, "25h"},
	} {
		if got := ShortDuration(tc.d); got != tc.want {
			t.Errorf("%s: ShortDuration(%v) = %q, want %q", tc.name, tc.d, got, tc.want)
		}
	}
}
