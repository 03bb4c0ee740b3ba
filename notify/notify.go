package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
)

// Notice kinds. The first five are the daemon's decisions (policies
// names them the same); the others are announced outside the ledger.
const (
	KindReminder       = "reminder"        // a tier of the reminder ladder
	KindOverdue        = "overdue"         // the daily notice once the deadline passed
	KindIncident       = "incident"        // a credential failure opened an incident
	KindOps            = "ops"             // repeated failures that are not the credential's
	KindResolve        = "resolve"         // an incident or ops notice closed by an ok check
	KindFollowUp       = "follow_up"       // a request for a new pair went unanswered for follow_up_after
	KindRotated        = "rotated"         // a rotation completed (a PagerDuty change event)
	KindRotationFailed = "rotation_failed" // an automated rotation stopped at a step
	KindTest           = "test"            // credkeeper notify test
)

// Notice is one message for people. It never holds a secret.
type Notice struct {
	Key         string    `json:"key"`  // the dedup key
	Kind        string    `json:"kind"` // reminder, overdue, incident, ops, resolve, rotated, test
	Credential  string    `json:"credential"`
	Environment string    `json:"environment,omitempty"`
	Provider    string    `json:"provider,omitempty"`
	Deadline    time.Time `json:"deadline,omitzero"`
	DaysLeft    int       `json:"days_left"`
	Class       string    `json:"class,omitempty"`    // the last check's class
	Page        bool      `json:"page,omitempty"`     // page on-call where the channel pages
	Resolves    string    `json:"resolves,omitempty"` // for a resolve: the key it closes
	Request     string    `json:"request,omitempty"`  // the open request for a new pair, worded (RequestLine)
	Summary     string    `json:"summary"`            // one line
	Action      string    `json:"action"`             // what to do next
	At          time.Time `json:"at"`
}

// Notifier delivers a notice over one channel. retry says whether trying
// again can help (a 5xx, a 429, a network error), not whether to.
type Notifier interface {
	Notify(ctx context.Context, n Notice) (retry bool, err error)
}

// RetryableStatus reports whether an HTTP status is worth retrying.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// Subject is a notice's one-line title.
func Subject(n Notice) string {
	env := ""
	if n.Environment != "" {
		env = " (" + n.Environment + ")"
	}
	switch n.Kind {
	case "resolve":
		return fmt.Sprintf("[credkeeper] RESOLVED: %s%s works again", n.Credential, env)
	case "incident":
		return fmt.Sprintf("[credkeeper] %s%s is refused: %s", n.Credential, env, n.Class)
	case "ops":
		return fmt.Sprintf("[credkeeper] %s%s cannot be checked: %s", n.Credential, env, n.Class)
	case "overdue":
		return fmt.Sprintf("[credkeeper] %s%s is past its rotation deadline (%s)", n.Credential, env, dates.Format(n.Deadline))
	case "reminder":
		return fmt.Sprintf("[credkeeper] %s%s must be rotated by %s: %d days left", n.Credential, env, dates.Format(n.Deadline), n.DaysLeft)
	case KindFollowUp:
		return fmt.Sprintf("[credkeeper] %s%s: no new pair yet, follow up the request (%d days left)", n.Credential, env, n.DaysLeft)
	case KindRotated:
		return fmt.Sprintf("[credkeeper] %s%s was rotated", n.Credential, env)
	case KindRotationFailed:
		return fmt.Sprintf("[credkeeper] %s%s: the automated rotation stopped", n.Credential, env)
	}
	return "[credkeeper] " + n.Summary
}

// Text is a notice's plain-text body: what happened and what to do.
func Text(n Notice) string {
	var b strings.Builder
	b.WriteString(n.Summary + "\n\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", v)
		}
	}
	row("Credential", n.Credential)
	row("Environment", n.Environment)
	row("Provider", n.Provider)
	if !n.Deadline.IsZero() {
		row("Deadline", dates.Format(n.Deadline))
		row("Days left", fmt.Sprint(n.DaysLeft))
	}
	row("Last check", n.Class)
	row("Request", n.Request)
	if n.Action != "" {
		b.WriteString("\nWhat to do: " + n.Action + "\n")
	}
	return b.String()
}

// ErrConfig marks a channel configuration that cannot work.
var ErrConfig = errors.New("notifier configuration")

// HTTPClient is the client every HTTP channel sends through: client (the
// default client when nil) refusing every redirect. A redirect would turn
// a POST into a GET that counts as delivered, or carry the notice and its
// secret (a routing key, a signature) to another host; the channel takes
// the 3xx as a failure instead (a StatusError that never names where it
// pointed).
func HTTPClient(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
