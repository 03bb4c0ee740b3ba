package rotation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify/notifytest"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// mailbox is a SupportMail that keeps what it was given.
type mailbox struct {
	via, to, replyTo, subject, body []string
	fail                            error
}

func (m *mailbox) send(_ context.Context, via, to, replyTo, subject, body string) error {
	if m.fail != nil {
		return m.fail
	}
	m.via, m.to, m.replyTo, m.subject, m.body = append(m.via, via), append(m.to, to), append(m.replyTo, replyTo), append(m.subject, subject), append(m.body, body)
	return nil
}

func steps(rot *vaultstore.Rotation) []string {
	var out []string
	for _, ev := range rot.History {
		out = append(out, ev.Step)
	}
	return out
}

func TestRequestIsSentRecordedAndFollowedUpThenClosedByThePromotion(t *testing.T) {
	r, emu := rotationWorld(t)
	ctx := context.Background()
	r.By = "token-alice"
	mb := &mailbox{}

	// The preset's support address; no via yet: --send says what to add.
	if _, err := r.Request(ctx, RequestOptions{Name: "ctrp-stage", Send: true, Mail: mb.send}); err == nil || !strings.Contains(err.Error(), `add support { via = "NOTIFIER" }`) {
		t.Fatalf("send without via: %v", err)
	}
	if rot, _ := r.rotationRecord(ctx, "ctrp-stage"); rot != nil {
		t.Fatalf("a request not sent is not recorded: %+v", rot)
	}
	p, _ := r.Config.Provider("ctrp-stage")
	p.Support.Via = "mail"
	r.Config.Providers["ctrp-stage"] = p

	mb.fail = errors.New("relay down")
	if _, err := r.Request(ctx, RequestOptions{Name: "ctrp-stage", Send: true, Mail: mb.send, Ticket: "INC123"}); err == nil || !strings.Contains(err.Error(), "nothing recorded") {
		t.Fatalf("a failed send: %v", err)
	}
	mb.fail = nil
	rep, err := r.Request(ctx, RequestOptions{Name: "ctrp-stage", Send: true, Mail: mb.send, Ticket: "INC123", Note: "asked by mail"})
	if err != nil || !rep.Sent || rep.FollowUp || rep.To != "CTRP_support@nih.gov" {
		t.Fatalf("request: %+v %v", rep, err)
	}
	if mb.to[0] != "CTRP_support@nih.gov" || mb.via[0] != "mail" || !strings.Contains(mb.subject[0], "New client ID and secret for stage before 2026-12-01") ||
		!strings.Contains(mb.body[0], "Current client ID:  0oa-2026") || !strings.Contains(mb.body[0], "(8 days left)") {
		t.Errorf("the mail: to %v via %v subject %q\n%s", mb.to, mb.via, mb.subject, mb.body)
	}
	notifytest.AssertNoSecret(t, "the request", append(mb.subject, mb.body...), "secret-2026")

	clock := r.Clock.(interface{ Advance(time.Duration) })
	clock.Advance(3 * 24 * time.Hour)
	r.By = "token-bob"
	rep, err = r.Request(ctx, RequestOptions{Name: "ctrp-stage", Note: "no answer yet"})
	if err != nil || !rep.FollowUp || rep.Sent || !strings.HasPrefix(rep.Subject, "Follow-up: ") || !strings.Contains(rep.Body, "our request of 2026-11-23 (our reference INC123)") {
		t.Fatalf("a second request: %+v %v", rep, err)
	}
	rot, _ := r.rotationRecord(ctx, "ctrp-stage")
	q := rot.Request
	if q == nil || q.RequestedBy != "token-alice" || q.Ticket != "INC123" || q.SentTo != "CTRP_support@nih.gov" || len(q.FollowUps) != 1 || q.FollowUps[0].By != "token-bob" || q.FollowUps[0].SentTo != "" {
		t.Fatalf("the open request: %+v", q)
	}
	if got := steps(rot); !slices.Equal(got, []string{"requested", "followed_up"}) || rot.Step != "" {
		t.Errorf("history %v, step %q", got, rot.Step)
	}
	if vaultstore.RequestStep(rot, false) != "requested" {
		t.Errorf("step %q", vaultstore.RequestStep(rot, false))
	}

	emu.AddClient(emulator.Client{ID: "0oa-2027", Secrets: []string{"secret-2027"}})
	if _, err := r.Stage(ctx, StageRequest{Name: "ctrp-stage", ClientID: "0oa-2027", ClientSecret: secret.New("secret-2027")}); err != nil {
		t.Fatal(err)
	}
	// The daemon checks the staged pair again: the same class adds nothing.
	for range 2 {
		if _, err := r.CheckPending(ctx, "ctrp-stage"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Promote(ctx, "ctrp-stage", PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	rot, _ = r.rotationRecord(ctx, "ctrp-stage")
	if got := steps(rot); !slices.Equal(got, []string{"requested", "followed_up", "staged", "proven", "promoted", "proven"}) {
		t.Fatalf("history %v", got)
	}
	if rot.Request != nil || vaultstore.RequestStep(rot, false) != "done" {
		t.Errorf("the promotion closes the request: %+v", rot.Request)
	}
	promoted := rot.History[4]
	if promoted.Version != 2 || promoted.ClientID != "0oa-2027" || promoted.By != "token-bob" || promoted.Ticket != "INC123" || !promoted.Deadline.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("promoted: %+v", promoted)
	}
	if proof := rot.History[3]; proof.Class != string(oauthcheck.ClassOK) || proof.ClientID != "0oa-2027" || proof.Version != 0 {
		t.Errorf("the staged pair's proof: %+v", proof)
	}
	if _, err := r.Rollback(ctx, "ctrp-stage", RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	rot, _ = r.rotationRecord(ctx, "ctrp-stage")
	if last := rot.History[len(rot.History)-1]; last.Step != "rolled_back" || last.Version != 3 || last.ClientID != "0oa-2026" || vaultstore.RequestStep(rot, false) != "" {
		t.Errorf("rolled back: %+v", last)
	}
	notifytest.AssertNoSecret(t, "rotations/ctrp-stage", []string{strings.Join(steps(rot), " "), fmtRotation(rot)}, "secret-2026", "secret-2027")
}

func fmtRotation(rot *vaultstore.Rotation) string {
	var b strings.Builder
	for _, ev := range rot.History {
		b.WriteString(ev.Step + " " + ev.By + " " + ev.ClientID + " " + ev.Note + " " + ev.Ticket + "\n")
	}
	return b.String()
}

// The automated rotation and a person's request never take each other for
// their own: a request is refused while an automated rotation is under
// way, and a rotation starts over a record holding a request, keeping it.
func TestRequestAndAutomatedRotationKeepApart(t *testing.T) {
	w := newOktaWorld(t)
	ctx := context.Background()
	w.r.By = "token-alice"
	if _, err := w.r.Request(ctx, RequestOptions{Name: "svc-reporting", Ticket: "INC9"}); err != nil {
		t.Fatal(err)
	}
	w.setNow(time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC))
	rep, err := w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "daemon r1"})
	if err != nil || rep.Step != StepPromoted {
		t.Fatalf("the automated rotation over a record with a request: %+v %v", rep, err)
	}
	if _, err := w.r.Request(ctx, RequestOptions{Name: "svc-reporting"}); err == nil || !strings.Contains(err.Error(), "automated rotation of svc-reporting is under way") {
		t.Errorf("a request during the rotation: %v", err)
	}
	w.clock.Advance(7*24*time.Hour + time.Minute)
	if rep, err = w.r.AutoRotate(ctx, "svc-reporting", AutoRotateOptions{Owner: "daemon r1"}); err != nil || rep.Step != StepDone {
		t.Fatalf("after the overlap: %+v %v", rep, err)
	}
	rot := w.rotation()
	want := []string{"requested", "started", "staged", "proven", "promoted", "proven", "retired"}
	if got := steps(rot); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	if rot.Request != nil {
		t.Errorf("the promotion closed the request: %+v", rot.Request)
	}
	for _, ev := range rot.History[1:] {
		if ev.By != "daemon r1" {
			t.Errorf("%s by %q, want the rotation's owner", ev.Step, ev.By)
		}
	}
	if _, err := w.r.Request(ctx, RequestOptions{Name: "svc-reporting"}); err != nil {
		t.Errorf("a request once the rotation is done: %v", err)
	}
}

func TestRequestToAProviderWithNoSupportContactIsRefusedAndNotRecorded(t *testing.T) {
	r, _ := rotationWorld(t)
	ctx := context.Background()
	p, _ := r.Config.Provider("ctrp-stage")
	p.Support.Email, p.Support.Name = "", ""
	r.Config.Providers["ctrp-stage"] = p
	rep, err := r.Request(ctx, RequestOptions{Name: "ctrp-stage", Ticket: "INC1"})
	if !errors.Is(err, ErrNoSupport) || !strings.Contains(err.Error(), `provider ctrp-stage has no support contact: add support { email = "..." } to its provider block`) || rep != nil {
		t.Fatalf("a request with no one to send it to: %+v %v", rep, err)
	}
	if rot, _ := r.rotationRecord(ctx, "ctrp-stage"); rot != nil {
		t.Fatalf("a refused request is not recorded: %+v", rot)
	}
}
