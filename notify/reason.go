package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"syscall"
)

// StatusError is a channel's HTTP answer that was not a success.
type StatusError struct {
	Service string // "the webhook", "slack", "pagerduty"
	Status  int
	Detail  string // what the service said, redacted and short; may be empty
}

func (e *StatusError) Error() string {
	if e.Status >= 300 && e.Status < 400 { // never where it points: a URL may carry a token
		return fmt.Sprintf("%s answered %d, a redirect, which a notice never follows: set the channel's URL to the receiver itself", e.Service, e.Status)
	}
	if e.Detail == "" {
		return fmt.Sprintf("%s answered %d", e.Service, e.Status)
	}
	return fmt.Sprintf("%s answered %d %s", e.Service, e.Status, e.Detail)
}

// Failure reasons, the values of credkeeper_notice_failures_total's
// reason label.
const (
	ReasonTimeout     = "timeout"      // no answer in time
	ReasonRefused     = "refused"      // the connection was refused or reset
	ReasonRateLimited = "rate_limited" // 429
	ReasonServerError = "server_error" // 5xx, or an SMTP relay's temporary failure
	ReasonRejected    = "rejected"     // another 4xx, or an SMTP refusal: the request or its credentials
	ReasonConfig      = "config"       // the notifier's configuration (a secret file, a URL)
	ReasonOther       = "other"
)

// Reason sorts a delivery failure for metrics and the status page.
func Reason(err error) string {
	var (
		se *StatusError
		te *textproto.Error
		ne net.Error
	)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrConfig):
		return ReasonConfig
	case errors.As(err, &se):
		switch {
		case se.Status == 429:
			return ReasonRateLimited
		case se.Status >= 500:
			return ReasonServerError
		}
		return ReasonRejected
	case errors.As(err, &te):
		if te.Code >= 400 && te.Code < 500 {
			return ReasonServerError
		}
		return ReasonRejected
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(),
		strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "deadline exceeded"), strings.Contains(msg, "i/o timeout"):
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "connection reset"):
		return ReasonRefused
	}
	return ReasonOther
}
