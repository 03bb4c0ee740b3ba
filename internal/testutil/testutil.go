// Package testutil holds helpers shared by credkeeper's tests.
package testutil

import (
	"testing"
	"time"
)

// Eventually polls cond every 50 ms and fails the test when it is not
// true within the given time. It is for waiting on a daemon's real
// schedule, never for asserting speed.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
