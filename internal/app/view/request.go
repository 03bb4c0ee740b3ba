package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// RequestJSON is where a person's rotation of a credential stands, as
// status --json, rotate status --json and /api/v1/credentials show it:
// the step (requested, staged, done), who took it, when, with which
// ticket; and the open request with its follow-ups. Never a secret.
type RequestJSON struct {
	Step   string `json:"step"`
	At     string `json:"at,omitempty"`
	By     string `json:"by,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	// Version is the version a done rotation promoted.
	Version int `json:"version,omitempty"`
	// RequestedAt and RequestedBy are the open request's first asking.
	RequestedAt string         `json:"requested_at,omitempty"`
	RequestedBy string         `json:"requested_by,omitempty"`
	Note        string         `json:"note,omitempty"`
	SentTo      string         `json:"sent_to,omitempty"`
	FollowUps   []FollowUpJSON `json:"follow_ups,omitempty"`
}

// FollowUpJSON is one follow-up of an open request.
type FollowUpJSON struct {
	At     string `json:"at"`
	By     string `json:"by,omitempty"`
	Ticket string `json:"ticket,omitempty"`
	Note   string `json:"note,omitempty"`
	SentTo string `json:"sent_to,omitempty"`
}

// RotationEventJSON is one step of rotations/NAME's history.
type RotationEventJSON struct {
	Step     string `json:"step"`
	At       string `json:"at"`
	By       string `json:"by,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Note     string `json:"note,omitempty"`
	Version  int    `json:"version,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Class    string `json:"class,omitempty"`
	Deadline string `json:"deadline,omitempty"`
}

// Request is where rot stands, given whether a pair is staged now; nil
// when there is no step to show.
func Request(rot *vaultstore.Rotation, staged bool) *RequestJSON {
	step := vaultstore.RequestStep(rot, staged)
	if step == vaultstore.RequestStepNone {
		return nil
	}
	j := &RequestJSON{Step: step}
	if rot != nil && rot.Request != nil {
		q := rot.Request
		j.At, j.By, j.Ticket = dates.FormatTime(q.LastAt()), q.RequestedBy, q.LastTicket()
		j.RequestedAt, j.RequestedBy, j.Note, j.SentTo = dates.FormatTime(q.RequestedAt), q.RequestedBy, q.Note, q.SentTo
		for _, f := range q.FollowUps {
			j.FollowUps = append(j.FollowUps, FollowUpJSON{At: dates.FormatTime(f.At), By: f.By, Ticket: f.Ticket, Note: f.Note, SentTo: f.SentTo})
		}
		if n := len(q.FollowUps); n > 0 {
			j.By = q.FollowUps[n-1].By
		}
	}
	if ev, ok := lastEvent(rot, map[string]string{vaultstore.RequestStepStaged: vaultstore.EventStaged, vaultstore.RequestStepDone: vaultstore.EventPromoted}[step]); ok {
		j.At, j.By, j.Version = dates.FormatTime(ev.At), ev.By, ev.Version
		if ev.Ticket != "" {
			j.Ticket = ev.Ticket
		}
	}
	return j
}

// lastEvent is the latest event of step in rot's history.
func lastEvent(rot *vaultstore.Rotation, step string) (vaultstore.RotationEvent, bool) {
	if rot == nil || step == "" {
		return vaultstore.RotationEvent{}, false
	}
	for i := len(rot.History) - 1; i >= 0; i-- {
		if rot.History[i].Step == step {
			return rot.History[i], true
		}
	}
	return vaultstore.RotationEvent{}, false
}

// History is rot's history as JSON.
func History(rot *vaultstore.Rotation) []RotationEventJSON {
	if rot == nil {
		return nil
	}
	out := make([]RotationEventJSON, 0, len(rot.History))
	for _, ev := range rot.History {
		out = append(out, RotationEventJSON{Step: ev.Step, At: dates.FormatTime(ev.At), By: ev.By, Ticket: ev.Ticket, Note: ev.Note,
			Version: ev.Version, ClientID: ev.ClientID, Class: ev.Class, Deadline: dates.Format(ev.Deadline)})
	}
	return out
}

// RequestLine is j in a few words, for a table's cell or a status line:
// "requested 2026-11-26T09:00:00Z by alice, ticket INC123".
func RequestLine(j *RequestJSON) string {
	if j == nil {
		return ""
	}
	line := j.Step
	if j.Step == vaultstore.RequestStepDone && j.Version != 0 {
		line += fmt.Sprintf(" (version %d)", j.Version)
	}
	if j.At != "" {
		line += " " + j.At
	}
	if j.By != "" {
		line += " by " + j.By
	}
	if j.Ticket != "" {
		line += ", ticket " + j.Ticket
	}
	if n := len(j.FollowUps); n > 0 && j.Step == vaultstore.RequestStepRequested {
		times := fmt.Sprintf("%d times", n)
		if n == 1 {
			times = "once"
		}
		line += fmt.Sprintf(" (first asked %s, followed up %s)", j.RequestedAt, times)
	}
	return line
}

// WriteRequest prints what rotate request composed, and what became of
// it: the text to paste, and where it was sent.
func WriteRequest(w io.Writer, name string, rep *rotation.RequestReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\n", Dash(rep.To))
	fmt.Fprintf(&b, "Reply-To: %s\n", Dash(rep.ReplyTo))
	fmt.Fprintf(&b, "Subject: %s\n\n%s", rep.Subject, rep.Body)
	if !strings.HasSuffix(rep.Body, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("\n")
	switch {
	case rep.Sent:
		fmt.Fprintf(&b, "Sent to %s.\n", rep.To)
	default:
		b.WriteString("Not sent: paste it into your ticket system or mail client (--send mails it through the provider's support notifier).\n")
	}
	what := "Recorded the request"
	if rep.FollowUp {
		what = "Recorded a follow-up of the open request"
	}
	fmt.Fprintf(&b, "%s in rotations/%s. Once the new pair arrives: credkeeper rotate stage %s --client-id NEW_ID\n", what, name, name)
	_, err := io.WriteString(w, b.String())
	return err
}

// Prefixed is sep+s, or "" when s is empty.
func Prefixed(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// EventLine is one step of the history in a line: "2026-11-26T09:00:00Z
// promoted version 2 (client ID 0oa-new), by token-alice, ticket INC123,
// deadline 2026-12-26".
func EventLine(ev RotationEventJSON) string {
	line := ev.At + " " + ev.Step
	if ev.Version != 0 {
		line += fmt.Sprintf(" version %d", ev.Version)
	}
	if ev.ClientID != "" {
		line += " (client ID " + ev.ClientID + ")"
	}
	if ev.Class != "" {
		line += ": " + ev.Class
	}
	line += Prefixed(", by ", ev.By) + Prefixed(", ticket ", ev.Ticket) + Prefixed(", deadline ", ev.Deadline) + Prefixed(": ", ev.Note)
	return line
}
