package policies

import (
	"github.com/credkeeper/credkeeper/config"
	"slices"
	"strings"
	"testing"
	"time"
)

var deadline = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func yearlyWithEscalation() *config.RotationPolicy {
	p := config.Yearly()
	p.Escalate = []config.Escalation{{From: day(7), Notify: []string{"oncall"}}}
	return p
}

func keys(ns []DueNotice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Key)
	}
	return out
}

func TestDueReminders(t *testing.T) {
	base := NoticeInput{Credential: "ctrp-stage", Environment: "stage", RotateBy: deadline, Policy: yearlyWithEscalation(), LastClass: "ok", Notify: []string{"security"}}
	at := func(before time.Duration, sent ...string) NoticeInput {
		in := base
		in.Now = deadline.Add(-before)
		in.Sent = map[string]bool{}
		for _, s := range sent {
			in.Sent[s] = true
		}
		return in
	}
	for _, tc := range []struct {
		name     string
		in       NoticeInput
		want     []string
		channels []string
	}{
		{"nothing before the first tier", at(day(61)), nil, nil},
		{"the 60-day tier", at(day(60)), []string{"reminder/ctrp-stage/2027-03-01/60d"}, []string{"security"}},
		{"sent once only", at(day(59), "reminder/ctrp-stage/2027-03-01/60d"), nil, nil},
		{"the 30-day tier", at(day(30), "reminder/ctrp-stage/2027-03-01/60d"), []string{"reminder/ctrp-stage/2027-03-01/30d"}, []string{"security"}},
		{"after downtime, only the nearest missed tier", at(day(10)), []string{"reminder/ctrp-stage/2027-03-01/14d"}, []string{"security"}},
		{"escalation from 7 days on", at(day(7), "reminder/ctrp-stage/2027-03-01/14d"), []string{"reminder/ctrp-stage/2027-03-01/7d"}, []string{"security", "oncall"}},
		{"the last tier", at(day(1) - time.Hour), []string{"reminder/ctrp-stage/2027-03-01/1d"}, []string{"security", "oncall"}},
		{"overdue, daily", at(-day(2)), []string{"reminder/ctrp-stage/2027-03-01/overdue/2027-03-03"}, []string{"security", "oncall"}},
		{"overdue sent today", at(-day(2)-time.Hour, "reminder/ctrp-stage/2027-03-01/overdue/2027-03-03"), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Due(tc.in)
			if !slices.Equal(keys(got), tc.want) {
				t.Fatalf("Due = %v, want %v", keys(got), tc.want)
			}
			if len(got) == 1 && !slices.Equal(got[0].Channels, tc.channels) {
				t.Errorf("channels = %v, want %v", got[0].Channels, tc.channels)
			}
		})
	}
}

func TestAMovedDeadlineStartsAFreshLadder(t *testing.T) {
	sent := map[string]bool{"reminder/ctrp-stage/2027-03-01/14d": true}
	in := NoticeInput{Credential: "ctrp-stage", RotateBy: deadline.AddDate(1, 0, 0), Policy: config.Yearly(), Now: deadline.AddDate(1, 0, 0).Add(-day(13)), Sent: sent}
	if got := keys(Due(in)); !slices.Equal(got, []string{"reminder/ctrp-stage/2028-03-01/14d"}) {
		t.Errorf("Due = %v", got)
	}
}

func TestDueAlerts(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	base := NoticeInput{Credential: "ctrp-prod", Environment: "prod", Notify: []string{"security"}, Page: []string{"oncall"}, Now: now}
	with := func(f func(*NoticeInput)) NoticeInput { in := base; f(&in); return in }
	for _, tc := range []struct {
		name string
		in   NoticeInput
		want []DueNotice
	}{
		{"a production credential failure pages", with(func(in *NoticeInput) { in.LastClass = "invalid_client"; in.ConsecutiveFailures = 1 }),
			[]DueNotice{{Key: "incident/ctrp-prod/invalid_client", Kind: NoticeIncident, Channels: []string{"security", "oncall"}, Page: true, Class: "invalid_client"}}},
		{"a stage failure notifies without paging", with(func(in *NoticeInput) { in.LastClass = "expired"; in.Environment = "stage" }),
			[]DueNotice{{Key: "incident/ctrp-prod/expired", Kind: NoticeIncident, Channels: []string{"security"}, Class: "expired"}}},
		{"an open incident is not opened again", with(func(in *NoticeInput) {
			in.LastClass = "invalid_client"
			in.Open = []string{"incident/ctrp-prod/invalid_client"}
		}), nil},
		{"ok resolves what is open", with(func(in *NoticeInput) { in.LastClass = "ok"; in.Open = []string{"incident/ctrp-prod/invalid_client"} }),
			[]DueNotice{{Key: "resolve/incident/ctrp-prod/invalid_client", Kind: NoticeResolve, Channels: []string{"security", "oncall"}, Page: true, Resolves: "incident/ctrp-prod/invalid_client"}}},
		{"an outage below ops_after is quiet", with(func(in *NoticeInput) { in.LastClass = "unavailable"; in.ConsecutiveFailures = 2 }), nil},
		{"an outage at ops_after is an ops notice, never a page", with(func(in *NoticeInput) { in.LastClass = "unavailable"; in.ConsecutiveFailures = 3 }),
			[]DueNotice{{Key: "ops/ctrp-prod/unavailable", Kind: NoticeOps, Channels: []string{"security"}, Class: "unavailable"}}},
		{"ops pages only when configured", with(func(in *NoticeInput) { in.LastClass = "rate_limited"; in.ConsecutiveFailures = 5; in.PageOps = true }),
			[]DueNotice{{Key: "ops/ctrp-prod/rate_limited", Kind: NoticeOps, Channels: []string{"security", "oncall"}, Page: true, Class: "rate_limited"}}},
		{"custom page environments", with(func(in *NoticeInput) {
			in.LastClass = "invalid_grant"
			in.Environment = "stage"
			in.PageEnvironments = []string{"stage"}
		}),
			[]DueNotice{{Key: "incident/ctrp-prod/invalid_grant", Kind: NoticeIncident, Channels: []string{"security", "oncall"}, Page: true, Class: "invalid_grant"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Due(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("Due = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Key != w.Key || g.Kind != w.Kind || g.Page != w.Page || g.Class != w.Class || g.Resolves != w.Resolves || !slices.Equal(g.Channels, w.Channels) {
					t.Errorf("notice %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// Two yearly cycles, hour by hour, with the daemon down for stretches:
// every tier of every deadline goes out exactly once, in order, except
// tiers superseded while it was down.
func TestLadderOverTwoYears(t *testing.T) {
	policy := config.Yearly()
	first := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	second := first.AddDate(1, 0, 0)
	sent := map[string]bool{}
	var order []string
	down := func(t time.Time) bool { // down for two stretches, across the 30d tier of the second year
		return t.After(second.Add(-day(33))) && t.Before(second.Add(-day(12)))
	}
	for now := first.AddDate(-1, 0, 0); now.Before(second.Add(day(2))); now = now.Add(time.Hour) {
		rotateBy := first
		if now.After(first.Add(day(1))) { // rotated the day after the first deadline
			rotateBy = second
		}
		if down(now) {
			continue
		}
		for _, n := range Due(NoticeInput{Credential: "c", RotateBy: rotateBy, Policy: policy, LastClass: "ok", Sent: sent, Now: now}) {
			if sent[n.Key] {
				t.Fatalf("%s sent twice", n.Key)
			}
			sent[n.Key] = true
			order = append(order, strings.TrimPrefix(n.Key, "reminder/c/"))
		}
	}
	want := []string{
		"2027-03-01/60d", "2027-03-01/30d", "2027-03-01/14d", "2027-03-01/7d", "2027-03-01/3d", "2027-03-01/1d",
		"2027-03-01/overdue/2027-03-01", "2027-03-01/overdue/2027-03-02",
		"2028-03-01/60d", "2028-03-01/14d", "2028-03-01/7d", "2028-03-01/3d", "2028-03-01/1d",
		"2028-03-01/overdue/2028-03-01", "2028-03-01/overdue/2028-03-02",
	}
	if !slices.Equal(order, want) {
		t.Errorf("sent, in order:\n%v\nwant:\n%v", order, want)
	}
}

// A silence holds back the kinds it names until it lapses, and no others;
// "all" leaves incidents alone.
func TestSilencesHoldBackTheirKindsUntilTheyLapse(t *testing.T) {
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	overdue := NoticeInput{Credential: "c", Environment: "prod", RotateBy: deadline, Policy: config.Yearly(), LastClass: "ok",
		Notify: []string{"security"}, Page: []string{"oncall"}, Sent: map[string]bool{}, Now: deadline.Add(36 * time.Hour)}
	refused := overdue
	refused.RotateBy, refused.LastClass = time.Time{}, "invalid_client"
	all, err := ExpandSilenceKinds([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		in    NoticeInput
		kinds []string
		until time.Time
		want  string // the kind due, "" for none
	}{
		{"overdue, no silence", overdue, nil, time.Time{}, NoticeOverdue},
		{"overdue, silenced", overdue, []string{NoticeOverdue}, deadline.Add(7 * 24 * time.Hour), ""},
		{"overdue, silence lapsed", overdue, []string{NoticeOverdue}, deadline.Add(24 * time.Hour), NoticeOverdue},
		{"overdue, silence of another kind", overdue, []string{NoticeReminder}, deadline.Add(7 * 24 * time.Hour), NoticeOverdue},
		{"overdue, all", overdue, all, deadline.Add(7 * 24 * time.Hour), ""},
		{"incident, all", refused, all, deadline.Add(7 * 24 * time.Hour), NoticeIncident},
		{"incident, silenced on purpose", refused, []string{NoticeIncident}, deadline.Add(7 * 24 * time.Hour), ""},
	} {
		in := tc.in
		in.SilencedKinds, in.SilencedUntil = tc.kinds, tc.until
		due := Due(in)
		got := ""
		if len(due) > 0 {
			got = due[0].Kind
		}
		if got != tc.want || len(due) > 1 {
			t.Errorf("%s: due %+v, want %q", tc.name, due, tc.want)
		}
	}
	if _, err := ExpandSilenceKinds([]string{"pages"}); err == nil {
		t.Error("an unknown kind was accepted")
	}
}
