package notify

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"syscall"
	"testing"
)

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("%w: no such file", ErrConfig), ReasonConfig},
		{&StatusError{Service: "the webhook", Status: 429}, ReasonRateLimited},
		{fmt.Errorf("siem after 3 attempts: %w", &StatusError{Service: "the webhook", Status: 503}), ReasonServerError},
		{&StatusError{Service: "slack", Status: 404, Detail: `"no_service"`}, ReasonRejected},
		{&textproto.Error{Code: 451, Msg: "try later"}, ReasonServerError},
		{&textproto.Error{Code: 550, Msg: "no such user"}, ReasonRejected},
		{context.DeadlineExceeded, ReasonTimeout},
		{errors.New(`Post "http://x": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`), ReasonTimeout},
		{fmt.Errorf("post: %w", syscall.ECONNREFUSED), ReasonRefused},
		{errors.New("post to Slack: the request failed (dial tcp 127.0.0.1:9: connect: connection refused)"), ReasonRefused},
		{errors.New("something else"), ReasonOther},
	} {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
