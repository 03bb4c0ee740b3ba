package view

import (
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestRequestStepWithWhoWhenAndTicket(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	open := &vaultstore.Rotation{Request: &vaultstore.RotationRequest{RequestedAt: at, RequestedBy: "alice", Ticket: "INC123",
		FollowUps: []vaultstore.RequestFollowUp{{At: at.Add(7 * 24 * time.Hour), By: "bob"}}}}
	open.Append(vaultstore.RotationEvent{Step: "requested", At: at, By: "alice", Ticket: "INC123"})
	staged := &vaultstore.Rotation{Request: open.Request, History: append(append([]vaultstore.RotationEvent{}, open.History...),
		vaultstore.RotationEvent{Step: "staged", At: at.Add(8 * 24 * time.Hour), By: "carol", Ticket: "INC123", ClientID: "0oa-new"})}
	done := &vaultstore.Rotation{History: append(append([]vaultstore.RotationEvent{}, staged.History...),
		vaultstore.RotationEvent{Step: "promoted", At: at.Add(9 * 24 * time.Hour), By: "dave", Ticket: "INC123", Version: 2})}
	for _, tc := range []struct {
		name   string
		rot    *vaultstore.Rotation
		staged bool
		want   string
	}{
		{"nothing asked shows nothing", nil, false, ""},
		{"an open request: the latest asking, who made it, the ticket, the follow-ups", open, false, "requested 2026-11-30T09:30:00Z by bob, ticket INC123 (first asked 2026-11-23T09:30:00Z, followed up once)"},
		{"a staged pair: who staged it, when", staged, true, "staged 2026-12-01T09:30:00Z by carol, ticket INC123"},
		{"promoted: the new version, who, when", done, false, "done (version 2) 2026-12-02T09:30:00Z by dave, ticket INC123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RequestLine(Request(tc.rot, tc.staged)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if h := History(done); len(h) != 3 || h[2].Deadline != "" || h[2].Version != 2 || EventLine(h[1]) != "2026-12-01T09:30:00Z staged (client ID 0oa-new), by carol, ticket INC123" {
		t.Errorf("history %+v", h)
	}
}

func TestWriteRequestSaysWhatBecameOfIt(t *testing.T) {
	var b strings.Builder
	rep := &rotation.RequestReport{To: "CTRP_support@nih.gov", ReplyTo: "security@example.org", Subject: "New pair", Body: "Please.", Sent: true, FollowUp: true}
	if err := WriteRequest(&b, "ctrp-stage", rep); err != nil {
		t.Fatal(err)
	}
	want := "To: CTRP_support@nih.gov\nReply-To: security@example.org\nSubject: New pair\n\nPlease.\n\nSent to CTRP_support@nih.gov.\nRecorded a follow-up of the open request in rotations/ctrp-stage. Once the new pair arrives: credkeeper rotate stage ctrp-stage --client-id NEW_ID\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
