package vaultstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestRotationRecordKeepsRequestAndHistoryBesideTheAutomatedSteps(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

	in := &vaultstore.Rotation{
		Step: "promoted", OldSecretID: "ocs1", StartedAt: at,
		Request: &vaultstore.RotationRequest{RequestedAt: at, RequestedBy: "token-alice", Ticket: "INC123", Note: "asked", SentTo: "support@example.org",
			FollowUps: []vaultstore.RequestFollowUp{{At: at.Add(7 * 24 * time.Hour), By: "token-bob", Ticket: "INC124"}}},
	}
	in.Append(vaultstore.RotationEvent{Step: vaultstore.EventRequested, At: at.Add(500 * time.Millisecond), By: "token-alice", Ticket: "INC123"})
	in.Append(vaultstore.RotationEvent{Step: vaultstore.EventPromoted, At: at.Add(time.Hour), Version: 2, ClientID: "new-id", Deadline: date("2026-03-31")})
	v, err := store.PutRotation(ctx, "ctrp-stage", in, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetRotation(ctx, "ctrp-stage")
	if err != nil {
		t.Fatal(err)
	}
	in.Version = v
	if !reflect.DeepEqual(got, in) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, in)
	}
	if got.History[0].At != at {
		t.Errorf("an event's time is kept to the second: %v", got.History[0].At)
	}
	if got.Request.LastTicket() != "INC124" || !got.Request.LastAt().Equal(at.Add(7*24*time.Hour)) {
		t.Errorf("the latest follow-up: ticket %q at %v", got.Request.LastTicket(), got.Request.LastAt())
	}
}

func TestRequestStep(t *testing.T) {
	open := &vaultstore.Rotation{Request: &vaultstore.RotationRequest{RequestedAt: time.Now()}}
	done := &vaultstore.Rotation{History: []vaultstore.RotationEvent{{Step: vaultstore.EventRequested}, {Step: vaultstore.EventStaged}, {Step: vaultstore.EventPromoted}}}
	rolledBack := &vaultstore.Rotation{History: append(append([]vaultstore.RotationEvent{}, done.History...), vaultstore.RotationEvent{Step: vaultstore.EventRolledBack})}
	auto := &vaultstore.Rotation{Step: "staged"}
	for _, tc := range []struct {
		name   string
		rot    *vaultstore.Rotation
		staged bool
		want   string
	}{
		{"no record and nothing staged is no step", nil, false, ""},
		{"a pair staged without a request is staged", nil, true, "staged"},
		{"an open request with nothing staged is requested", open, false, "requested"},
		{"an open request with a pair staged is staged", open, true, "staged"},
		{"a promotion that closed the request is done", done, false, "done"},
		{"a rollback after the promotion is no step", rolledBack, false, ""},
		{"an automated rotation in progress is no request", auto, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vaultstore.RequestStep(tc.rot, tc.staged); got != tc.want {
				t.Errorf("RequestStep = %q, want %q", got, tc.want)
			}
		})
	}
}
