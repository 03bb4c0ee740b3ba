package web

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/credkeeper/credkeeper/report"
)

// auditReport serves /report: the audit report (package report) as one
// self-contained HTML file, or ?format=json, csv or table; ?since= and
// ?until= (YYYY-MM-DD) choose the period as the command's flags do. It
// reads Vault through the daemon's store, as the command does through
// the auditor's.
func (p *Pages) auditReport(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	q := r.URL.Query()
	period, err := report.ParsePeriodQuery(q.Get("since"), q.Get("until"), now)
	if err != nil {
		answerError(w, false, http.StatusBadRequest, err.Error())
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "html"
	}
	if err := report.CheckFormat(format); err != nil {
		answerError(w, false, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := report.Gather(r.Context(), p.Store)
	if err != nil {
		fail(w, false, "", err)
		return
	}
	var b bytes.Buffer
	if err := report.Write(&b, report.Build(recs, period, now), format); err != nil {
		answerError(w, false, http.StatusInternalServerError, err.Error())
		return
	}
	switch format {
	case "html":
		// The report is one file with its own inline style: its policy
		// lets that style in, and still no script.
		w.Header().Set("Content-Security-Policy", report.ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	case "json":
		w.Header().Set("Content-Type", "application/json")
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="credkeeper-report.csv"`)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	_, _ = w.Write(b.Bytes())
}

// timeline is the status page's deadline timeline: the rows' deadlines
// of the next twelve months, drawn as the HTML report draws them.
func timeline(rows []Row, now time.Time) template.HTML {
	marks := make([]report.Mark, 0, len(rows))
	for _, r := range rows {
		if !r.HasDeadline {
			continue
		}
		m := report.Mark{Name: r.Name, Deadline: r.RotateBy, Staged: r.Pending != ""}
		if rot := r.Rotation; rot != nil && rot.Request != nil {
			m.Requested, m.Ticket = rot.Request.RequestedAt, rot.Request.LastTicket()
		}
		marks = append(marks, m)
	}
	return report.Timeline(marks, now)
}
