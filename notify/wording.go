package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// About is what a notice is about: a credential, its deadline and its
// last check.
type About struct {
	Credential          string
	Environment         string
	Provider            string
	Deadline            time.Time
	Class               string // the last check's
	ConsecutiveFailures int
	// Request is the open request to the provider's support for a new
	// pair (nil: none); Staged, whether a new pair is staged.
	Request *vaultstore.RotationRequest
	Staged  bool
}

// Compose words a notice found due, for people: its summary and what to
// do. With Subject and Text, all of a notice's wording is here.
func Compose(d Due, a About, now time.Time) Notice {
	nt := Notice{Key: d.Key, Kind: d.Kind, Credential: a.Credential, Environment: a.Environment, Provider: a.Provider,
		Deadline: a.Deadline, DaysLeft: d.DaysLeft, Class: a.Class, Page: d.Page, Resolves: d.Resolves, At: now}
	hint := ProviderHint(a.Provider)
	if a.Request != nil {
		nt.Request = RequestLine(a.Request, a.Staged, d.DaysLeft, now)
	}
	switch d.Kind {
	case KindReminder:
		nt.Summary = fmt.Sprintf("%s must be rotated by %s: %d days left.", a.Credential, dates.Format(a.Deadline), d.DaysLeft)
		nt.Action = hint + ", then stage it with credkeeper rotate stage " + a.Credential + " and promote it."
		if a.Request != nil {
			nt.Summary = fmt.Sprintf("%s must be rotated by %s: %s.", a.Credential, dates.Format(a.Deadline), nt.Request)
			nt.Action = requestAction(a)
		}
	case KindFollowUp:
		nt.Summary = fmt.Sprintf("The request for a new pair for %s has had no answer: %s.", a.Credential, nt.Request)
		nt.Action = "follow it up with the provider's support: credkeeper rotate request " + a.Credential + " --send adds a follow-up to the same request; once the new pair arrives, stage it with credkeeper rotate stage " + a.Credential + "."
	case KindOverdue:
		nt.Summary = fmt.Sprintf("%s is past its rotation deadline of %s.", a.Credential, dates.Format(a.Deadline))
		nt.Action = hint + " now: the provider may retire the pair at any moment."
		if a.Request != nil {
			nt.Summary = fmt.Sprintf("%s is past its rotation deadline of %s; %s.", a.Credential, dates.Format(a.Deadline), nt.Request)
			nt.Action = requestAction(a) + " The provider may retire the pair at any moment."
		}
	case KindIncident:
		nt.Summary = fmt.Sprintf("%s is refused by its provider: %s.", a.Credential, d.Class)
		nt.Action = "run credkeeper check " + a.Credential + " for the provider's answer; " + hint + " if the pair was retired."
	case KindOps:
		nt.Summary = fmt.Sprintf("%s could not be checked %d times in a row: %s.", a.Credential, a.ConsecutiveFailures, d.Class)
		nt.Action = "the provider or the network is in trouble, not the credential; credkeeper keeps retrying."
	case KindResolve:
		nt.Summary = fmt.Sprintf("%s works again.", a.Credential)
		nt.Action = "nothing."
	}
	return nt
}

// ProviderHint says where a new pair comes from.
func ProviderHint(provider string) string {
	switch {
	case strings.HasPrefix(provider, "ctrp"):
		return "request the new client ID and secret from CTRP support (CTRP_support@nih.gov)"
	case strings.HasPrefix(provider, "dmptool"):
		return "regenerate the client secret in DMPTool's developer tools"
	}
	return "obtain a new client secret from the provider"
}

// RequestLine words an open request for a new pair at now, for a notice:
// "requested 9 days ago by alice, ticket INC123; no new pair staged yet;
// 5 days left". daysLeft is the whole days to the deadline.
func RequestLine(q *vaultstore.RotationRequest, staged bool, daysLeft int, now time.Time) string {
	var b strings.Builder
	b.WriteString("requested " + ago(q.RequestedAt, now))
	if q.RequestedBy != "" {
		b.WriteString(" by " + q.RequestedBy)
	}
	if t := q.LastTicket(); t != "" {
		b.WriteString(", ticket " + t)
	}
	if n := len(q.FollowUps); n > 0 {
		fmt.Fprintf(&b, ", followed up %s", ago(q.FollowUps[n-1].At, now))
	}
	if staged {
		b.WriteString("; a new pair is staged")
	} else {
		b.WriteString("; no new pair staged yet")
	}
	switch {
	case daysLeft == 1:
		b.WriteString("; 1 day left")
	case daysLeft >= 0:
		fmt.Fprintf(&b, "; %d days left", daysLeft)
	case daysLeft == -1:
		b.WriteString("; 1 day overdue")
	default:
		fmt.Fprintf(&b, "; %d days overdue", -daysLeft)
	}
	return b.String()
}

// ago says how long before now t was, in whole days ("today" under one).
func ago(t, now time.Time) string {
	switch days := int(now.Sub(t) / (24 * time.Hour)); {
	case days <= 0:
		return "today"
	case days == 1:
		return "1 day ago"
	default:
		return fmt.Sprintf("%d days ago", days)
	}
}

// requestAction is what to do while a request is open.
func requestAction(a About) string {
	if a.Staged {
		return "a new pair is staged: once its check is ok, promote it with credkeeper rotate promote " + a.Credential + "."
	}
	return "wait for the provider's support to answer, or follow up with credkeeper rotate request " + a.Credential + " --send; stage the new pair with credkeeper rotate stage " + a.Credential + " and promote it."
}
