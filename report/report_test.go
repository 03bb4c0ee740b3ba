package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/report"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

var (
	now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day = 24 * time.Hour
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// auditWorld is a year of records as the daemon and the CLI write them,
// in the real Vault core, and a store whose token holds the generated
// auditor policy alone.
type auditWorld struct {
	root, auditor *vaultstore.Store
	secrets       []string
}

func notice(t *testing.T, n notify.Notice) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newAuditWorld(t *testing.T) *auditWorld {
	env := vaulttest.New(t)
	ctx := context.Background()
	w := &auditWorld{root: env.Store(t)}
	doc, err := policies.PolicyDocument(config.RoleAuditor, env.Mount, env.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	w.auditor = env.StoreWithPolicy(t, "auditor", doc)

	put := func(name, id, sec string, rotateBy time.Time, env string) {
		t.Helper()
		if _, err := w.root.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: id, ClientSecret: secret.New(sec),
			Metadata: vaultstore.CredentialMetadata{Provider: name, Environment: env, Owner: "security@example.org", Rotation: "yearly", RotateBy: rotateBy}}, 0); err != nil {
			t.Fatal(err)
		}
		w.secrets = append(w.secrets, sec)
	}
	// ctrp-stage: rotated on time this year by the request flow; its
	// next deadline is open.
	put("ctrp-stage", "0oa-stage-2026", "Stage-Secret-2026-abcdef", date("2027-11-10"), "stage")
	stage := &vaultstore.Rotation{}
	for _, ev := range []vaultstore.RotationEvent{
		{Step: vaultstore.EventRequested, At: date("2026-10-01").Add(9 * time.Hour), By: "token-alice", Ticket: "INC123", Note: "for the yearly change"},
		{Step: vaultstore.EventFollowedUp, At: date("2026-10-09").Add(9 * time.Hour), By: "token-alice", Ticket: "INC123"},
		{Step: vaultstore.EventStaged, At: date("2026-10-20").Add(10 * time.Hour), By: "token-bob", ClientID: "0oa-stage-2026"},
		{Step: vaultstore.EventProven, At: date("2026-10-20").Add(10*time.Hour + time.Minute), By: "token-bob", ClientID: "0oa-stage-2026", Class: "ok"},
		{Step: vaultstore.EventPromoted, At: date("2026-11-05").Add(14 * time.Hour), By: "token-bob", Version: 2, ClientID: "0oa-stage-2026", Deadline: date("2026-11-10")},
		{Step: vaultstore.EventRetired, At: date("2026-11-06").Add(8 * time.Hour), By: "token-bob", ClientID: "0oa-stage-2025"},
	} {
		stage.Append(ev)
	}
	if _, err := w.root.PutRotation(ctx, "ctrp-stage", stage, 0); err != nil {
		t.Fatal(err)
	}
	// ctrp-prod: promoted four days late; a request for next year is
	// open already and a pair staged.
	put("ctrp-prod", "0oa-prod-2026", "Prod-Secret-2026-ghijkl", now.Add(10*day), "prod")
	prod := &vaultstore.Rotation{Request: &vaultstore.RotationRequest{RequestedAt: now.Add(-3 * day), RequestedBy: "token-carol", Ticket: "INC456", SentTo: "CTRP_support@nih.gov", FollowUps: []vaultstore.RequestFollowUp{{At: now.Add(-day), By: "token-carol"}}}}
	prod.Append(vaultstore.RotationEvent{Step: vaultstore.EventPromoted, At: date("2025-12-05").Add(9 * time.Hour), By: "token-carol", Version: 4, Deadline: date("2025-12-01")})
	prod.Append(vaultstore.RotationEvent{Step: vaultstore.EventRequested, At: now.Add(-3 * day), By: "token-carol", Ticket: "INC456"})
	if _, err := w.root.PutRotation(ctx, "ctrp-prod", prod, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.root.PutPending(ctx, "ctrp-prod", &vaultstore.Pending{ClientID: "0oa-prod-2027", ClientSecret: secret.New("Staged-Prod-Secret-2027-mnopqr"), StagedAt: now.Add(-day)}, 0); err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, "Staged-Prod-Secret-2027-mnopqr")
	// dmp: its deadline passed five days ago unrotated; an incident
	// resolved in three hours, one still open; notices sent and failed;
	// a silence.
	put("dmp", "12345", "Dmp-Secret-stuvwx", now.Add(-5*day), "")
	opened, resolved := now.Add(-20*day), now.Add(-20*day+3*time.Hour)
	ledger := &vaultstore.Ledger{
		Entries: []vaultstore.LedgerEntry{
			{Key: "dmp/incident/invalid_client/1", Channel: "security-email", SentAt: opened, Notice: notice(t, notify.Notice{Kind: notify.KindIncident, Class: "invalid_client", At: opened})},
			{Key: "dmp/incident/invalid_client/1", Channel: "oncall", SentAt: opened, Notice: notice(t, notify.Notice{Kind: notify.KindIncident, Class: "invalid_client", At: opened})},
			{Key: "dmp/resolve/1", Channel: "security-email", SentAt: resolved, Notice: notice(t, notify.Notice{Kind: notify.KindResolve, Resolves: "dmp/incident/invalid_client/1", At: resolved})},
			{Key: "dmp/reminder/7d", Channel: "security-email", SentAt: now.Add(-12 * day), Notice: notice(t, notify.Notice{Kind: notify.KindReminder, At: now.Add(-12 * day)})},
			{Key: "dmp/reminder/7d", Channel: "slack-security", Attempts: 3, LastError: "slack answered 500", Notice: notice(t, notify.Notice{Kind: notify.KindReminder, At: now.Add(-12 * day)})},
			{Key: "dmp/ops/unavailable/2", Channel: "security-email", SentAt: now.Add(-day), Notice: notice(t, notify.Notice{Kind: notify.KindOps, Class: "unavailable", At: now.Add(-day)})},
			{Key: "dmp/reminder/old", Channel: "security-email", SentAt: date("2024-01-01"), Notice: notice(t, notify.Notice{Kind: notify.KindReminder, At: date("2024-01-01")})},
		},
		Incidents: []vaultstore.Incident{{Key: "dmp/ops/unavailable/2", Class: "unavailable", OpenedAt: now.Add(-day)}},
	}
	if _, err := w.root.PutLedger(ctx, "dmp", ledger, 0); err != nil {
		t.Fatal(err)
	}
	// Two silences: one set in the summer and ended early (two versions
	// of one silence), then the one in force.
	summer := &vaultstore.Silence{Until: date("2026-07-30"), Reason: "provider outage", Kinds: []string{"ops", "reminder"}, CreatedBy: "token-erin", CreatedAt: date("2026-07-01")}
	if _, err := w.root.PutSilence(ctx, "dmp", summer, 0); err != nil {
		t.Fatal(err)
	}
	summer.Until, summer.Reason = date("2026-07-10"), "provider outage (expired early by token-erin)"
	if _, err := w.root.PutSilence(ctx, "dmp", summer, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.root.PutSilence(ctx, "dmp", &vaultstore.Silence{Until: now.Add(10 * day), Reason: "=HYPERLINK(\"x\") provider migration", Kinds: []string{"ops"}, CreatedBy: "token-dave", CreatedAt: now.Add(-2 * day)}, 2); err != nil {
		t.Fatal(err)
	}
	// far: nothing happened; its deadline is beyond the period.
	put("far", "0oa-far", "Far-Secret-yzabcd", now.Add(500*day), "stage")
	return w
}

func (w *auditWorld) assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range w.secrets {
		if strings.Contains(text, s) {
			t.Errorf("the %s report shows a secret", where)
		}
	}
}

// The report is made from Vault alone under a token holding only the
// auditor policy: every deadline judged, every step with who and when,
// incidents with their time to resolve, notices per channel, silences.
func TestTheReportUnderTheAuditorPolicy(t *testing.T) {
	w := newAuditWorld(t)
	ctx := context.Background()
	if _, err := w.auditor.GetCredential(ctx, "dmp"); !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Fatalf("the auditor read a credential's secret: %v", err)
	}
	recs, err := report.Gather(ctx, w.auditor)
	if err != nil {
		t.Fatalf("gather under the auditor policy: %v", err)
	}
	r := report.Build(recs, report.DefaultPeriod(now), now)

	if want := (report.Summary{Credentials: 4, Deadlines: 5, MetOnTime: 1, Missed: 2, Open: 2}); r.Summary != want {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}
	by := map[string]report.Credential{}
	for _, c := range r.Credentials {
		by[c.Name] = c
	}
	deadlines := func(name string) string {
		var out []string
		for _, d := range by[name].Deadlines {
			out = append(out, d.Deadline+" "+d.Outcome+": "+d.Detail)
		}
		return strings.Join(out, "\n")
	}
	for name, want := range map[string]string{
		"ctrp-stage": "2026-11-10 met: met: promoted on 2026-11-05 (version 2, by token-bob)\n2027-11-10 open: open: 352 days left",
		"ctrp-prod":  "2025-12-01 missed: missed by 4 days: promoted on 2025-12-05 (version 4, by token-carol)\n2026-12-03 open: open: 10 days left",
		"dmp":        "2026-11-18 missed: missed by 5 days: not rotated yet",
		"far":        "",
	} {
		if got := deadlines(name); got != want {
			t.Errorf("%s's deadlines:\n got %s\nwant %s", name, got, want)
		}
	}
	var steps []string
	for _, ev := range by["ctrp-stage"].Steps {
		steps = append(steps, ev.Step+" "+ev.By)
	}
	if got := strings.Join(steps, ", "); got != "requested token-alice, followed_up token-alice, staged token-bob, proven token-bob, promoted token-bob, retired token-bob" {
		t.Errorf("ctrp-stage's steps: %s", got)
	}
	if q := by["ctrp-prod"].Request; q == nil || q.Ticket != "INC456" || q.RequestedBy != "token-carol" {
		t.Errorf("ctrp-prod's open request: %+v", q)
	}
	if st := by["ctrp-prod"].Staged; st == nil || st.ClientID != "0oa-prod-2027" {
		t.Errorf("ctrp-prod's staged pair: %+v", st)
	}
	in := by["dmp"].Incidents
	if len(in) != 2 || in[0].Class != "invalid_client" || in[0].TimeToResolve != "3h" || in[0].Seconds != 3*3600 || in[1].Kind != "ops" || !in[1].ResolvedAt.IsZero() {
		t.Errorf("dmp's incidents: %+v", in)
	}
	wantNotices := []report.ChannelNotices{
		{Channel: "oncall", Sent: 1},
		{Channel: "security-email", Sent: 4},
		{Channel: "slack-security", Failed: 1, LastError: "slack answered 500"},
	}
	if got, _ := json.Marshal(by["dmp"].Notices); string(got) != string(must(json.Marshal(wantNotices))) {
		t.Errorf("dmp's notices per channel:\n got %s\nwant %s", got, must(json.Marshal(wantNotices)))
	}
	if si := by["dmp"].Silences; len(si) != 2 || si[0].By != "token-erin" || si[0].Reason != "provider outage (expired early by token-erin)" ||
		!si[0].Until.Equal(date("2026-07-10")) || si[1].By != "token-dave" {
		t.Errorf("dmp's silences, each once as it last stood: %+v", si)
	}

	// Every format, without a secret.
	for _, format := range report.Formats {
		var b bytes.Buffer
		if err := report.Write(&b, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		w.assertNoSecret(t, format, b.String())
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// The JSON, CSV and table forms say the same things, each in its way.
func TestTheFormats(t *testing.T) {
	w := newAuditWorld(t)
	recs, err := report.Gather(context.Background(), w.auditor)
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(recs, report.DefaultPeriod(now), now)
	out := func(format string) string {
		var b bytes.Buffer
		if err := report.Write(&b, r, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	var decoded struct {
		Since       string         `json:"since"`
		Summary     map[string]int `json:"summary"`
		Credentials []struct {
			Name      string `json:"name"`
			Deadlines []struct {
				Deadline, Outcome, Detail string
				DaysLate                  int `json:"days_late"`
			} `json:"deadlines"`
			Steps []struct{ Step, By string } `json:"steps"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(out("json")), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Since != "2025-11-23" || decoded.Summary["met_on_time"] != 1 || decoded.Summary["missed"] != 2 || decoded.Summary["open"] != 2 {
		t.Errorf("json: since %s, summary %v", decoded.Since, decoded.Summary)
	}
	if d := decoded.Credentials[0].Deadlines; decoded.Credentials[0].Name != "ctrp-prod" || d[0].Outcome != "missed" || d[0].DaysLate != 4 {
		t.Errorf("json: %+v", decoded.Credentials[0])
	}

	rows, err := csv.NewReader(strings.NewReader(out("csv"))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if strings.Join(rows[0], ",") != "credential,record,at,what,by,detail" {
		t.Errorf("csv header: %v", rows[0])
	}
	want := map[string]bool{
		"ctrp-stage,deadline,2026-11-10,met,token-bob,met: promoted on 2026-11-05 (version 2, by token-bob)":     false,
		"ctrp-stage,step,2026-10-01T09:00:00Z,requested,token-alice,ticket INC123, \"for the yearly change\"":    false,
		"dmp,incident,2026-11-03T12:00:00Z,invalid_client,,incident, resolved 2026-11-03T15:00:00Z after 3h":     false,
		"dmp,notices,,slack-security,,sent 0, failed 1; 0 waiting, 0 superseded; last error: slack answered 500": false,
	}
	for _, row := range rows {
		line := strings.Join(row, ",")
		if _, ok := want[line]; ok {
			want[line] = true
		}
		for _, c := range row {
			if strings.HasPrefix(c, "=") {
				t.Errorf("csv: a cell a spreadsheet would evaluate: %q", c)
			}
		}
	}
	for line, seen := range want {
		if !seen {
			t.Errorf("csv lacks the row %q", line)
		}
	}

	table := out("table")
	for _, s := range []string{
		"Credentials: 4  Deadlines: 5  Met on time: 1  Missed: 2  Open: 2",
		"deadline 2026-11-18", "MISSED",
		"missed by 5 days: not rotated yet",
		"open request",
		"by token-carol, ticket INC456",
		"staged pair",
		"client ID 0oa-prod-2027; not checked yet",
		"step promoted",
		"incident invalid_client",
		"resolved 2026-11-03T15:00:00Z after 3h",
		"notices slack-security",
		"ops until 2026-12-03T12:00:00Z by token-dave",
	} {
		if !strings.Contains(table, s) {
			t.Errorf("the table lacks %q:\n%s", s, table)
		}
	}

	html := out("html")
	for _, s := range []string{`<svg class="timeline"`, `<table id="summary">`, `id="credential-ctrp-stage"`, "sent to CTRP_support@nih.gov, followed up once."} {
		if !strings.Contains(html, s) {
			t.Errorf("the HTML lacks %s", s)
		}
	}
	for _, s := range []string{"<script", "<link", "src=\"http", "time(s)"} {
		if strings.Contains(html, s) {
			t.Errorf("the HTML is not self-contained: it has %s", s)
		}
	}
	if err := report.Write(&bytes.Buffer{}, r, "pdf"); err == nil || !strings.Contains(err.Error(), `unknown report format "pdf": use table, json, csv, html`) {
		t.Errorf("an unknown format: %v", err)
	}
}
