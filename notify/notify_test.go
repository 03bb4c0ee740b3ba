package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type flaky struct {
	failures int
	retry    bool
	calls    int
}

func (f *flaky) Notify(context.Context, Notice) (bool, error) {
	f.calls++
	if f.calls <= f.failures {
		return f.retry, errors.New("receiver down")
	}
	return false, nil
}

func TestSendRetriesOnlyWhatRetryCanFix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := &flaky{failures: 2, retry: true}
	if err := Send(ctx, f, "test", Notice{Key: "k"}, nil); err != nil || f.calls != 3 {
		t.Errorf("retryable failures: %v after %d calls, want success on the 3rd", err, f.calls)
	}
	f = &flaky{failures: 5, retry: false}
	if err := Send(ctx, f, "test", Notice{Key: "k"}, nil); err == nil || f.calls != 1 {
		t.Errorf("a permanent failure: %v after %d calls, want one call and an error", err, f.calls)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel2()
	f = &flaky{failures: 100, retry: true}
	if err := Send(short, f, "test", Notice{Key: "k"}, nil); err == nil || !strings.Contains(err.Error(), "receiver down") {
		t.Errorf("out of time: %v", err)
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
