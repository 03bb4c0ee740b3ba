package policies

import (
	"slices"
	"testing"
	"time"
)

func TestDueFollowUp(t *testing.T) {
	requested := deadline.Add(-day(30))
	base := NoticeInput{Credential: "ctrp-stage", Environment: "stage", RotateBy: deadline, Policy: yearlyWithEscalation(), LastClass: "ok",
		Notify: []string{"security"}, RequestedAt: requested}
	// The 30-day reminder went out the day the request was made.
	sent := map[string]bool{"reminder/ctrp-stage/2027-03-01/30d": true}
	followUp := "reminder/ctrp-stage/2027-03-01/follow-up/20270130T000000Z"
	for _, tc := range []struct {
		name     string
		edit     func(in *NoticeInput)
		want     []string
		channels []string
	}{
		{"nothing while the request is younger than follow_up_after", func(in *NoticeInput) { in.Now = requested.Add(day(7) - time.Minute) }, nil, nil},
		{"a follow-up once the request is 7 days old, to the owner and the escalation channels", func(in *NoticeInput) { in.Now = requested.Add(day(7)) },
			[]string{followUp}, []string{"security", "oncall"}},
		{"sent once only", func(in *NoticeInput) { in.Now = requested.Add(day(8)); in.Sent[followUp] = true }, nil, nil},
		{"none when a new pair is staged", func(in *NoticeInput) { in.Now = requested.Add(day(8)); in.Staged = true }, nil, nil},
		{"none without an open request", func(in *NoticeInput) { in.Now = requested.Add(day(8)); in.RequestedAt = time.Time{} }, nil, nil},
		{"follow_up_after of the credential", func(in *NoticeInput) { in.Now = requested.Add(day(3)); in.FollowUpAfter = day(3) }, []string{followUp}, nil},
		{"a request followed up waits follow_up_after again, under its own key", func(in *NoticeInput) {
			in.Sent[followUp] = true
			in.RequestedAt = requested.Add(day(8))
			in.Now = requested.Add(day(15))
		}, []string{"reminder/ctrp-stage/2027-03-01/follow-up/20270207T000000Z"}, nil},
		{"beside a reminder tier reached the same day, after it", func(in *NoticeInput) { in.Now = deadline.Add(-day(14)) },
			[]string{"reminder/ctrp-stage/2027-03-01/14d", followUp}, nil},
		{"after the deadline, beside the overdue notice", func(in *NoticeInput) { in.Now = deadline.Add(day(1)) },
			[]string{"reminder/ctrp-stage/2027-03-01/overdue/2027-03-02", followUp}, nil},
		{"a silence of reminders holds it back", func(in *NoticeInput) {
			in.Now = requested.Add(day(7))
			in.SilencedUntil, in.SilencedKinds = deadline, []string{NoticeReminder}
		}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Sent = cloneSent(sent)
			tc.edit(&in)
			got := Due(in)
			if !slices.Equal(keys(got), tc.want) {
				t.Fatalf("Due = %v, want %v", keys(got), tc.want)
			}
			if tc.channels != nil && !slices.Equal(got[0].Channels, tc.channels) {
				t.Errorf("channels = %v, want %v", got[0].Channels, tc.channels)
			}
			for _, d := range got {
				if d.Key == followUp && (d.Kind != NoticeFollowUp || d.DaysLeft != CalendarDays(in.Now, deadline)) {
					t.Errorf("the follow-up: %+v", d)
				}
			}
		})
	}
}

func cloneSent(m map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
