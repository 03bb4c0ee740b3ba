package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/report"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// A deadline is judged by the first promotion recorded against it that
// no rollback took back, by date; the current deadline only while no
// promotion answered it.
func TestDeadlineOutcomes(t *testing.T) {
	period := report.Period{Since: date("2026-01-01"), Until: date("2026-12-31")}
	promotedAt := func(at string, deadline string) vaultstore.RotationEvent {
		ts, _ := time.Parse(time.RFC3339, at)
		return vaultstore.RotationEvent{Step: vaultstore.EventPromoted, At: ts, Deadline: date(deadline)}
	}
	for _, tc := range []struct {
		name     string
		rotateBy string
		history  []vaultstore.RotationEvent
		want     string
	}{
		{"a promotion late on the deadline's own date meets it", "2027-03-01",
			[]vaultstore.RotationEvent{promotedAt("2026-03-01T23:59:00Z", "2026-03-01")}, "2026-03-01 met"},
		{"a promotion the day after misses it by one day", "2027-03-01",
			[]vaultstore.RotationEvent{promotedAt("2026-03-02T00:01:00Z", "2026-03-01")}, "2026-03-01 missed 1"},
		{"a second promotion against the same deadline (after a rollback) does not judge it again", "2027-03-01",
			[]vaultstore.RotationEvent{promotedAt("2026-02-20T10:00:00Z", "2026-03-01"), promotedAt("2026-03-05T10:00:00Z", "2026-03-01")}, "2026-03-01 met"},
		{"a rollback takes the promotion back: the next promotion against the deadline judges it", "2027-03-01",
			[]vaultstore.RotationEvent{promotedAt("2026-02-20T10:00:00Z", "2026-03-01"),
				{Step: vaultstore.EventRolledBack, At: date("2026-02-25"), Deadline: date("2026-03-01")},
				promotedAt("2026-03-03T10:00:00Z", "2026-03-01")}, "2026-03-01 missed 2"},
		{"a current deadline a promotion already answered is not counted twice", "2026-03-01",
			[]vaultstore.RotationEvent{promotedAt("2026-02-20T10:00:00Z", "2026-03-01")}, "2026-03-01 met"},
		{"a deadline passed unrotated is missed by the days since", "2026-11-20", nil, "2026-11-20 missed 3"},
		{"a deadline due today is open", "2026-11-23", nil, "2026-11-23 open"},
		{"a deadline outside the period is left out", "2027-01-01",
			[]vaultstore.RotationEvent{promotedAt("2025-12-01T10:00:00Z", "2025-12-10")}, ""},
		{"a promotion with no deadline recorded judges none", "",
			[]vaultstore.RotationEvent{{Step: vaultstore.EventPromoted, At: date("2026-05-01")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := report.CredentialRecords{Info: vaultstore.CredentialInfo{Name: "c"}, Rotation: &vaultstore.Rotation{History: tc.history}}
			if tc.rotateBy != "" {
				cr.Info.Metadata.RotateBy = date(tc.rotateBy)
			}
			r := report.Build(&report.Records{Credentials: []report.CredentialRecords{cr}}, period, now)
			var got []string
			for _, d := range r.Credentials[0].Deadlines {
				s := d.Deadline + " " + d.Outcome
				if d.DaysLate > 0 {
					s += " " + string(rune('0'+d.DaysLate))
				}
				got = append(got, s)
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("deadlines %q, want %q", got, tc.want)
			}
		})
	}
}

// The timeline: one mark per deadline of the next twelve months,
// coloured by urgency, overdue ones apart, requests ringed and staged
// pairs drawn as diamonds, names escaped, and no script.
func TestTimeline(t *testing.T) {
	marks := []report.Mark{
		{Name: "overdue", Deadline: now.Add(-2 * day)},
		{Name: "urgent", Deadline: now.Add(10 * day), Requested: now.Add(-3 * day), Ticket: "INC<1>"},
		{Name: "soon", Deadline: now.Add(40 * day), Staged: true},
		{Name: "later", Deadline: now.Add(200 * day)},
		{Name: `<script>alert(1)</script>`, Deadline: now.Add(300 * day)},
		{Name: "beyond", Deadline: now.Add(400 * day)},
	}
	svg := string(report.Timeline(marks, now))
	for _, s := range []string{
		`<g class="mark overdue" data-credential="overdue"><title>overdue: rotate by 2026-11-21 (2 days overdue)</title><circle cx="62.0"`,
		`<g class="mark urgent requested" data-credential="urgent"><title>urgent: rotate by 2026-12-03 (10 days left); new pair requested 2026-11-20, ticket INC&lt;1&gt;</title>`,
		`fill="#ef6c00"/><circle`, // the ring of the open request
		`<g class="mark soon staged" data-credential="soon"><title>soon: rotate by 2027-01-02 (40 days left); new pair staged</title><path d=`,
		`<g class="mark later" data-credential="later">`,
		`data-credential="&lt;script&gt;alert(1)&lt;/script&gt;"`,
		`1 more after 2027-11-23`,
		`>Jan 2027</text>`,
	} {
		if !strings.Contains(svg, s) {
			t.Errorf("the timeline lacks %s:\n%s", s, svg)
		}
	}
	if strings.Count(svg, `class="mark `) != 5 {
		t.Errorf("%d marks, want 5", strings.Count(svg, `class="mark `))
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "beyond") {
		t.Errorf("the timeline has a script or a deadline past twelve months:\n%s", svg)
	}

	// A crowded week stacks eight marks and says how many more.
	var crowd []report.Mark
	for i := range 11 {
		crowd = append(crowd, report.Mark{Name: "c" + string(rune('a'+i)), Deadline: now.Add(30 * day)})
	}
	svg = string(report.Timeline(crowd, now))
	if n := strings.Count(svg, `class="mark `); n != 8 || !strings.Contains(svg, `>+3</text>`) {
		t.Errorf("a crowded week: %d marks drawn, want 8 and +3:\n%s", n, svg)
	}
}

// Attack: the new pair is promoted a week before the deadline, then rolled
// back (the earlier pair, with its rotate_by, written back) and never
// promoted again. The credential runs on the old pair past its deadline,
// yet the audit report calls the deadline met and counts nothing missed.
func TestADeadlineRolledBackToTheOldPairAndNeverPromotedAgainIsNotMet(t *testing.T) {
	period := report.Period{Since: date("2026-01-01"), Until: date("2026-12-31")}
	history := []vaultstore.RotationEvent{
		{Step: vaultstore.EventPromoted, At: date("2026-02-20"), Deadline: date("2026-03-01"), Version: 2},
		{Step: vaultstore.EventRolledBack, At: date("2026-02-25"), Deadline: date("2026-03-01"), Version: 3, Note: "version 1 written back over version 2"},
	}
	cr := report.CredentialRecords{Info: vaultstore.CredentialInfo{Name: "c"}, Rotation: &vaultstore.Rotation{History: history}}
	cr.Info.Metadata.RotateBy = date("2026-03-01") // the old pair's, written back
	r := report.Build(&report.Records{Credentials: []report.CredentialRecords{cr}}, period, now)
	for _, d := range r.Credentials[0].Deadlines {
		if d.Outcome == report.OutcomeMet {
			t.Errorf("deadline %s: %s (%s), though the pair promoted for it was rolled back and the old one has been in use since %s", d.Deadline, d.Outcome, d.Detail, "2026-03-01")
		}
	}
	if r.Summary.Missed != 1 {
		t.Errorf("summary: %+v, want one missed deadline", r.Summary)
	}
}

// Held (passes): crafted owner, ticket, note, step author and silence
// reason reach the HTML report and its timeline as text, and the CSV
// neutralises every cell a spreadsheet would evaluate.
func TestCraftedTextIsInertInHTMLAndCSV(t *testing.T) {
	period := report.Period{Since: date("2026-01-01"), Until: date("2026-12-31")}
	x := `"><svg/onload=alert(1)><script>alert(2)</script></title><a href="javascript:alert(3)">`
	cr := report.CredentialRecords{Info: vaultstore.CredentialInfo{Name: "c"}, Rotation: &vaultstore.Rotation{
		History: []vaultstore.RotationEvent{{Step: vaultstore.EventRequested, At: date("2026-11-01"), By: "=cmd|' /C calc'!A0", Ticket: x, Note: "@SUM(1+1)" + x}},
		Request: &vaultstore.RotationRequest{RequestedAt: date("2026-11-01"), RequestedBy: "+1+1", Note: x},
	}}
	cr.Info.Metadata.RotateBy = date("2026-12-20")
	cr.Info.Metadata.Owner = x
	cr.Silences = []*vaultstore.Silence{{Until: date("2026-12-01"), Reason: "-2+3" + x, Kinds: []string{"ops"}, CreatedBy: "\t=1", CreatedAt: date("2026-11-10")}}
	r := report.Build(&report.Records{Credentials: []report.CredentialRecords{cr}}, period, now)
	var h, c strings.Builder
	if err := report.Write(&h, r, "html"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<svg/onload", "<script>alert", `href="javascript`, "<a href"} {
		if strings.Contains(h.String(), bad) {
			t.Errorf("the HTML holds %q", bad)
		}
	}
	if err := report.Write(&c, r, "csv"); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(c.String(), "\n") {
		for _, cell := range strings.Split(line, ",") {
			cell = strings.TrimPrefix(cell, `"`)
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a CSV cell a spreadsheet evaluates: %q (line %q)", cell, line)
			}
		}
	}
}

func TestParsePeriodNamesItsInput(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name         string
		parse        func(since, until string, now time.Time) (report.Period, error)
		since, until string
		want         string
	}{
		{"a flag", report.ParsePeriod, "bad", "", `--since "bad" is not a date: use YYYY-MM-DD (UTC)`},
		{"a query parameter", report.ParsePeriodQuery, "bad", "", `since "bad" is not a date: use YYYY-MM-DD (UTC)`},
		{"a query parameter, until", report.ParsePeriodQuery, "", "bad", `until "bad" is not a date: use YYYY-MM-DD (UTC)`},
		{"a query period backwards", report.ParsePeriodQuery, "2026-02-01", "2026-01-01", "until 2026-01-01 is before since 2026-02-01"},
	} {
		if _, err := c.parse(c.since, c.until, now); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}
