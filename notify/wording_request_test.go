package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestNoticesShowTheOpenRequest(t *testing.T) {
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	now := deadline.Add(-5 * 24 * time.Hour).Add(10 * time.Hour)
	q := &vaultstore.RotationRequest{RequestedAt: now.Add(-9*24*time.Hour - time.Hour), RequestedBy: "alice", Ticket: "INC123"}
	a := About{Credential: "ctrp-stage", Environment: "stage", Provider: "ctrp-stage", Deadline: deadline, Class: "ok", Request: q}
	for _, tc := range []struct {
		name   string
		d      Due
		a      About
		want   []string
		action string
	}{
		{"a reminder says who asked when, the ticket, that nothing is staged, and the days left", Due{Kind: KindReminder, DaysLeft: 5}, a,
			[]string{"ctrp-stage must be rotated by 2027-03-01: requested 9 days ago by alice, ticket INC123; no new pair staged yet; 5 days left."},
			"credkeeper rotate request ctrp-stage --send"},
		{"a reminder with the pair staged says to promote it", Due{Kind: KindReminder, DaysLeft: 5}, func() About { b := a; b.Staged = true; return b }(),
			[]string{"a new pair is staged; 5 days left"}, "credkeeper rotate promote ctrp-stage"},
		{"a follow-up suggests following up the request", Due{Kind: KindFollowUp, DaysLeft: 5}, a,
			[]string{"The request for a new pair for ctrp-stage has had no answer: requested 9 days ago by alice, ticket INC123; no new pair staged yet; 5 days left."},
			"credkeeper rotate request ctrp-stage --send adds a follow-up"},
		{"an overdue notice shows the open request", Due{Kind: KindOverdue, DaysLeft: -2}, a,
			[]string{"ctrp-stage is past its rotation deadline of 2027-03-01; requested 9 days ago by alice, ticket INC123; no new pair staged yet; 2 days overdue."},
			"follow up with credkeeper rotate request ctrp-stage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nt := Compose(tc.d, tc.a, now)
			for _, w := range tc.want {
				if !strings.Contains(nt.Summary, w) {
					t.Errorf("summary %q lacks %q", nt.Summary, w)
				}
			}
			if !strings.Contains(nt.Action, tc.action) {
				t.Errorf("action %q lacks %q", nt.Action, tc.action)
			}
			if body := Text(nt); !strings.Contains(body, "Request:      requested 9 days ago by alice") {
				t.Errorf("the body shows the request:\n%s", body)
			}
		})
	}
	q.FollowUps = []vaultstore.RequestFollowUp{{At: now.Add(-2 * 24 * time.Hour), By: "bob", Ticket: "INC124"}}
	if got := RequestLine(q, false, 1, now); got != "requested 9 days ago by alice, ticket INC124, followed up 2 days ago; no new pair staged yet; 1 day left" {
		t.Errorf("RequestLine after a follow-up = %q", got)
	}
	if s := Subject(Compose(Due{Kind: KindFollowUp, DaysLeft: 5}, a, now)); s != "[credkeeper] ctrp-stage (stage): no new pair yet, follow up the request (5 days left)" {
		t.Errorf("subject %q", s)
	}
	if silenced(Silence{Until: deadline, Kinds: []string{KindReminder}}, now)(KindFollowUp) != true {
		t.Error("a silence of reminders holds back follow-ups")
	}
}
