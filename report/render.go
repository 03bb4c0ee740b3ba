package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Formats a report is written in.
var Formats = []string{"table", "json", "csv", "html"}

// CheckFormat refuses a format Write does not know.
func CheckFormat(format string) error {
	if format == "" || slices.Contains(Formats, format) {
		return nil
	}
	return fmt.Errorf("unknown report format %q: use %s", format, strings.Join(Formats, ", "))
}

// Write writes r in format: table, json, csv or html.
func Write(w io.Writer, r *Report, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	switch format {
	case "", "table":
		return WriteTable(w, r)
	case "json":
		return WriteJSON(w, r)
	case "csv":
		return WriteCSV(w, r)
	case "html":
		return WriteHTML(w, r)
	}
	return nil
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r for a terminal: the summary, then each credential's
// deadlines, steps, incidents, notices and silences.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := r.Summary
	fmt.Fprintf(tw, "Rotation report %s to %s (generated %s)\n", r.Since, r.Until, dates.FormatTime(r.GeneratedAt))
	fmt.Fprintf(tw, "Credentials: %d  Deadlines: %d  Met on time: %d  Missed: %d  Open: %d\n", s.Credentials, s.Deadlines, s.MetOnTime, s.Missed, s.Open)
	for _, c := range r.Credentials {
		fmt.Fprintf(tw, "\n%s\t%s\n", c.Name, oneLine(strings.Join(nonEmpty(c.Environment, c.Provider, c.Owner), " · ")))
		if len(c.Deadlines) == 0 {
			fmt.Fprintf(tw, "  deadline\tnone in the period\n")
		}
		for _, d := range c.Deadlines {
			fmt.Fprintf(tw, "  deadline %s\t%s\t%s\n", d.Deadline, strings.ToUpper(d.Outcome), oneLine(d.Detail))
		}
		if q := c.Request; q != nil {
			fmt.Fprintf(tw, "  open request\t%s\t%s\n", dates.FormatTime(q.RequestedAt), oneLine(requestWords(q.RequestedBy, q.LastTicket(), q.Note)))
		}
		if st := c.Staged; st != nil {
			fmt.Fprintf(tw, "  staged pair\t%s\t%s\n", dates.FormatTime(st.StagedAt), oneLine(stagedWords(st)))
		}
		for _, ev := range c.Steps {
			fmt.Fprintf(tw, "  step %s\t%s\t%s\n", ev.Step, dates.FormatTime(ev.At), oneLine(stepWords(ev)))
		}
		for _, in := range c.Incidents {
			fmt.Fprintf(tw, "  incident %s\t%s\t%s\n", dash(in.Class), dates.FormatTime(in.OpenedAt), incidentWords(in))
		}
		for _, n := range c.Notices {
			fmt.Fprintf(tw, "  notices %s\tsent %d, failed %d\t%s\n", oneLine(n.Channel), n.Sent, n.Failed, oneLine(noticeWords(n)))
		}
		for _, si := range c.Silences {
			fmt.Fprintf(tw, "  silence\t%s\t%s\n", dates.FormatTime(si.CreatedAt), oneLine(silenceWords(si)))
		}
	}
	return tw.Flush()
}

// WriteCSV writes r as one table of rows: credential, record (summary,
// deadline, request, staged, step, incident, notices, silence), date,
// outcome or step, who, detail. A cell that a spreadsheet would take for
// a formula is prefixed with a quote.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = cell(c)
		}
		_ = cw.Write(cells)
	}
	row("credential", "record", "at", "what", "by", "detail")
	s := r.Summary
	row("", "summary", r.Since+" to "+r.Until, "", "",
		fmt.Sprintf("credentials %d; deadlines %d; met on time %d; missed %d; open %d", s.Credentials, s.Deadlines, s.MetOnTime, s.Missed, s.Open))
	for _, c := range r.Credentials {
		for _, d := range c.Deadlines {
			row(c.Name, "deadline", d.Deadline, d.Outcome, d.PromotedBy, d.Detail)
		}
		if q := c.Request; q != nil {
			row(c.Name, "request", dates.FormatTime(q.RequestedAt), "open", q.RequestedBy, requestWords("", q.LastTicket(), q.Note))
		}
		if st := c.Staged; st != nil {
			row(c.Name, "staged", dates.FormatTime(st.StagedAt), dash(st.LastClass), "", stagedWords(st))
		}
		for _, ev := range c.Steps {
			row(c.Name, "step", dates.FormatTime(ev.At), ev.Step, ev.By, stepWords(withoutBy(ev)))
		}
		for _, in := range c.Incidents {
			row(c.Name, "incident", dates.FormatTime(in.OpenedAt), in.Class, "", incidentWords(in))
		}
		for _, n := range c.Notices {
			row(c.Name, "notices", "", n.Channel, "", fmt.Sprintf("sent %d, failed %d; %s", n.Sent, n.Failed, noticeWords(n)))
		}
		for _, si := range c.Silences {
			row(c.Name, "silence", dates.FormatTime(si.CreatedAt), strings.Join(si.Kinds, " "), si.By, silenceWords(si))
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell neutralises a CSV cell a spreadsheet would evaluate (=, +, -, @,
// a tab or a carriage return first).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps untrusted text on one line of a terminal: control
// characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func requestWords(by, ticket, note string) string {
	var parts []string
	if by != "" {
		parts = append(parts, "by "+by)
	}
	if ticket != "" {
		parts = append(parts, "ticket "+ticket)
	}
	if note != "" {
		parts = append(parts, strconv.Quote(note))
	}
	return strings.Join(parts, ", ")
}

func stagedWords(st *Staged) string {
	s := "client ID " + dash(st.ClientID)
	if st.LastClass != "" {
		s += fmt.Sprintf("; checked %s: %s", dates.FormatTime(st.CheckedAt), st.LastClass)
	} else {
		s += "; not checked yet"
	}
	return s
}

// withoutBy is ev without who took it (shown apart).
func withoutBy(ev vaultstore.RotationEvent) vaultstore.RotationEvent { ev.By = ""; return ev }

func stepWords(ev vaultstore.RotationEvent) string {
	parts := nonEmpty(requestWords(ev.By, ev.Ticket, ev.Note))
	if ev.Version > 0 {
		parts = append(parts, fmt.Sprintf("version %d", ev.Version))
	}
	if ev.ClientID != "" {
		parts = append(parts, "client ID "+ev.ClientID)
	}
	if ev.Class != "" {
		parts = append(parts, "class "+ev.Class)
	}
	if !ev.Deadline.IsZero() {
		parts = append(parts, "deadline "+dates.Format(ev.Deadline))
	}
	return strings.Join(parts, ", ")
}

func incidentWords(in Incident) string {
	if in.ResolvedAt.IsZero() {
		return in.Kind + ", still open"
	}
	return fmt.Sprintf("%s, resolved %s after %s", in.Kind, dates.FormatTime(in.ResolvedAt), in.TimeToResolve)
}

func noticeWords(n ChannelNotices) string {
	s := fmt.Sprintf("%d waiting, %d superseded", n.Unsent, n.Superseded)
	if n.LastError != "" {
		s += "; last error: " + n.LastError
	}
	return s
}

func silenceWords(si Silence) string {
	return fmt.Sprintf("%s until %s by %s: %s", strings.Join(si.Kinds, ", "), dates.FormatTime(si.Until), dash(si.By), si.Reason)
}
