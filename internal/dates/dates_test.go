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
