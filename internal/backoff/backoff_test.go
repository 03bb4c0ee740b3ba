package backoff

import (
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		0: 0, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 1000: time.Minute,
	} {
		if got := Exponential(failures, time.Second, time.Minute); got != want {
			t.Errorf("Exponential(%d) = %v, want %v", failures, got, want)
		}
	}
}
