package report

import (
	"embed"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
)

//go:embed templates/report.html
var files embed.FS

var page = template.Must(template.New("").Funcs(template.FuncMap{
	"datetime": func(t time.Time) string { return dash(dates.FormatTime(t)) },
	"date":     func(t time.Time) string { return dash(dates.Format(t)) },
	"join":     strings.Join,
}).ParseFS(files, "templates/report.html"))

// htmlData is what the HTML report shows.
type htmlData struct {
	*Report
	Timeline template.HTML
}

// ContentSecurityPolicy is the policy the HTML report is served under:
// its own inline style, nothing else (no script, no other origin).
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// WriteHTML writes r as one self-contained HTML file: inline CSS, the
// timeline as an inline SVG, no script, laid out to print.
func WriteHTML(w io.Writer, r *Report) error {
	return page.ExecuteTemplate(w, "report.html", htmlData{Report: r, Timeline: Timeline(r.Marks, r.GeneratedAt)})
}
