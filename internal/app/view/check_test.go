package view

import (
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/oauthcheck"
)

// The table writes a token's remaining life as the configuration writes
// durations, rounded to the minute: whole days as days, as renew_before and
// max_token_ttl are written.
func TestWriteCheckTableWritesLifetimesAsTheConfigurationDoes(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		left time.Duration
		want string
	}{
		{"hours", 8*time.Hour - 200*time.Millisecond, "in 8h"},
		{"hours and minutes", 90*time.Minute + 10*time.Second, "in 1h30m"},
		{"whole days as days", 48 * time.Hour, "in 2d"},
		{"under half a minute as zero", 20 * time.Second, "in 0s"},
	} {
		var b strings.Builder
		r := oauthcheck.Result{Name: "ctrp-stage", Class: oauthcheck.ClassOK, ExpiresAt: now.Add(tc.left)}
		if err := WriteCheckTable(&b, []oauthcheck.Result{r}, now); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), " "+tc.want+" ") {
			t.Errorf("%s: the table says\n%s\nwant %q", tc.name, b.String(), tc.want)
		}
	}
}
