package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

type flaky struct {
	mu       sync.Mutex
	failures int
	retry    bool
	calls    int
}

func (f *flaky) Notify(context.Context, Notice) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
		return f.retry, errors.New("receiver down")
	}
	return false, nil
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Send waits between attempts on the clock it is given: the test advances
// a fake one, and the retries follow it.
func TestSendRetriesOnlyWhatRetryCanFix(t *testing.T) {
	for _, tc := range []struct {
		name      string
		channel   *flaky
		giveUpAt  int // cancel the send after this many waits (0: never)
		wantCalls int
		wantErr   string
	}{
		{"retryable failures are retried until one succeeds", &flaky{failures: 2, retry: true}, 0, 3, ""},
		{"a failure no retry can fix is tried once", &flaky{failures: 5, retry: false}, 0, 1, "receiver down"},
		{"out of time, the last failure is what is returned", &flaky{failures: 100, retry: true}, 4, 4, "receiver down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- Send(ctx, clock, tc.channel, "test", Notice{Key: "k"}, nil) }()
			waits := 0
			var err error
		loop:
			for {
				select {
				case err = <-done:
					break loop
				default:
				}
				block, stop := context.WithTimeout(ctx, 10*time.Millisecond)
				if clock.BlockUntilContext(block, 1) == nil { // Send waits between attempts
					waits++
					if waits == tc.giveUpAt {
						cancel()
					} else {
						clock.Advance(MaxBackoff)
					}
				}
				stop()
			}
			if got := tc.channel.count(); got != tc.wantCalls {
				t.Errorf("%d attempts, want %d", got, tc.wantCalls)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestSubjectAndTextSayWhatToDo(t *testing.T) {
	n := Notice{Kind: "reminder", Credential: "ctrp-prod", Environment: "prod", Provider: "ctrp-prod",
		Deadline: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), DaysLeft: 14, Class: "ok",
		Summary: "ctrp-prod must be rotated by 2027-03-01", Action: "request the new pair from CTRP support"}
	if s := Subject(n); s != "[credkeeper] ctrp-prod (prod) must be rotated by 2027-03-01: 14 days left" {
		t.Errorf("subject %q", s)
	}
	text := Text(n)
	for _, want := range []string{"Deadline:     2027-03-01", "Days left:    14", "Last check:   ok", "What to do: request the new pair from CTRP support"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
