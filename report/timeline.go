package report

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/policies"
)

// Mark is one credential's deadline on the timeline, with where its
// rotation stands.
type Mark struct {
	Name     string
	Deadline time.Time
	// Requested is when the open request to the provider's support was
	// made (zero: none open); Ticket its reference.
	Requested time.Time
	Ticket    string
	// Staged: a new pair waits in pending/NAME.
	Staged bool
}

// Urgencies of a mark, by the days left to its deadline.
const (
	UrgencyOverdue = "overdue" // the deadline's date is today or past
	UrgencyUrgent  = "urgent"  // within UrgentDays
	UrgencySoon    = "soon"    // within SoonDays
	UrgencyLater   = "later"
)

// The urgency thresholds, in days: CTRP hands out the new pair two weeks
// before the change, and the first reminder of the yearly policy comes
// sixty days ahead.
const (
	UrgentDays = 14
	SoonDays   = 60
)

// UrgencyColors are the marks' fill colours.
var UrgencyColors = map[string]string{
	UrgencyOverdue: "#c62828",
	UrgencyUrgent:  "#ef6c00",
	UrgencySoon:    "#f9a825",
	UrgencyLater:   "#2e7d32",
}

// UrgencyOf is a deadline's urgency at now.
func UrgencyOf(deadline, now time.Time) string {
	switch left := policies.CalendarDays(now, deadline); {
	case left <= 0:
		return UrgencyOverdue
	case left <= UrgentDays:
		return UrgencyUrgent
	case left <= SoonDays:
		return UrgencySoon
	}
	return UrgencyLater
}

// markOf is the credential's current deadline as a mark, when it has one.
func markOf(cr CredentialRecords) (Mark, bool) {
	if cr.Info.Metadata.RotateBy.IsZero() {
		return Mark{}, false
	}
	m := Mark{Name: cr.Info.Name, Deadline: cr.Info.Metadata.RotateBy, Staged: cr.Pending != nil}
	if r := cr.Rotation; r != nil && r.Request != nil {
		m.Requested, m.Ticket = r.Request.RequestedAt, r.Request.LastTicket()
	}
	return m, true
}

// The timeline's geometry, in SVG user units.
const (
	tlWidth    = 960
	tlAxisFrom = 130 // x of today
	tlAxisTo   = 940 // x of twelve months on
	tlOverdueX = 62  // the column of overdue deadlines
	tlTop      = 28
	tlStep     = 18 // between stacked marks
	tlStack    = 8  // marks stacked in one week before "+N"
	tlRadius   = 5
)

// Timeline draws the deadlines of the next twelve months after now as an
// inline SVG: one mark per deadline, stacked by week, coloured by
// urgency; a ring around a mark whose request to support is open, a
// diamond for a staged pair; overdue deadlines in a column of their own
// on the left. Each mark's <title> names the credential. It has no
// script, and every name is escaped.
func Timeline(marks []Mark, now time.Time) template.HTML {
	today := day(now)
	end := today.AddDate(1, 0, 0)
	span := end.Sub(today).Hours() / 24
	type placed struct {
		Mark
		urgency string
		x       float64
	}
	columns := map[int][]placed{} // by week; -1 is the overdue column
	later := 0
	for _, m := range marks {
		d := day(m.Deadline)
		if d.After(end) {
			later++
			continue
		}
		p := placed{Mark: m, urgency: UrgencyOf(m.Deadline, now)}
		week := -1
		if d.After(today) {
			days := d.Sub(today).Hours() / 24
			week = int(days) / 7
			p.x = tlAxisFrom + float64(week*7+3)/span*(tlAxisTo-tlAxisFrom)
		} else {
			p.x = tlOverdueX
		}
		columns[week] = append(columns[week], p)
	}
	stack := 1
	for _, col := range columns {
		stack = max(stack, min(len(col), tlStack+1))
	}
	axisY := tlTop + stack*tlStep + 4
	height := axisY + 64

	var b strings.Builder
	total := len(marks) - later
	fmt.Fprintf(&b, `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s">`,
		tlWidth, height, esc(fmt.Sprintf("Rotation deadlines from %s to %s: %d", dates.Format(today), dates.Format(end), total)))
	fmt.Fprintf(&b, `<title>Rotation deadlines, %s to %s</title>`, dates.Format(today), dates.Format(end))
	// The axis, month ticks and the overdue column's label.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="1"/>`, tlAxisFrom, axisY, tlAxisTo, axisY)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="middle" fill="#c62828">overdue</text>`, tlOverdueX, axisY+16)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb" stroke-dasharray="2 3"/>`, (tlOverdueX+tlAxisFrom)/2+4, tlTop-6, (tlOverdueX+tlAxisFrom)/2+4, axisY)
	for m := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0); !m.After(end); m = m.AddDate(0, 1, 0) {
		x := tlAxisFrom + m.Sub(today).Hours()/24/span*(tlAxisTo-tlAxisFrom)
		label := m.Format("Jan")
		if m.Month() == time.January {
			label = m.Format("Jan 2006")
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`, x, axisY-4, x, axisY+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#333">%s</text>`, x, axisY+16, label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="start" fill="#333">today %s</text>`, tlAxisFrom, tlTop-12, dates.Format(today))
	// The marks, week by week.
	weeks := make([]int, 0, len(columns))
	for w := range columns {
		weeks = append(weeks, w)
	}
	slices.Sort(weeks)
	for _, w := range weeks {
		col := columns[w]
		slices.SortStableFunc(col, func(a, b placed) int {
			if c := a.Deadline.Compare(b.Deadline); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		for i, p := range col {
			y := float64(axisY - tlStep*(i+1))
			if i == tlStack {
				fmt.Fprintf(&b, `<text class="more" x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#333">+%d</text>`, p.x, y+4, len(col)-tlStack)
				break
			}
			b.WriteString(markSVG(p.Mark, p.urgency, p.x, y, now))
		}
	}
	// The legend.
	ly := axisY + 40
	x := tlAxisFrom
	for _, u := range []string{UrgencyOverdue, UrgencyUrgent, UrgencySoon, UrgencyLater} {
		words := map[string]string{UrgencyOverdue: "overdue", UrgencyUrgent: fmt.Sprintf("within %d days", UrgentDays),
			UrgencySoon: fmt.Sprintf("within %d days", SoonDays), UrgencyLater: "later"}[u]
		fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="%d" fill="%s"/><text x="%d" y="%d" font-size="11" fill="#333">%s</text>`,
			x, ly, tlRadius, UrgencyColors[u], x+9, ly+4, words)
		x += 30 + 7*len(words)
	}
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="%d" fill="#999"/><circle cx="%d" cy="%d" r="%d" fill="none" stroke="#1a1a1a" stroke-width="1.5"/><text x="%d" y="%d" font-size="11" fill="#333">requested</text>`,
		x, ly, tlRadius, x, ly, tlRadius+3, x+11, ly+4)
	x += 90
	fmt.Fprintf(&b, `<path d="%s" fill="#999"/><text x="%d" y="%d" font-size="11" fill="#333">pair staged</text>`, diamond(float64(x), float64(ly)), x+10, ly+4)
	x += 95
	if later > 0 {
		fmt.Fprintf(&b, `<text class="later" x="%d" y="%d" font-size="11" fill="#333">%d more after %s</text>`, x, ly+4, later, dates.Format(end))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
}

// markSVG is one mark: a circle (a diamond when a pair is staged), ringed
// when a request is open, with a <title> that says it all in words.
func markSVG(m Mark, urgency string, x, y float64, now time.Time) string {
	title := fmt.Sprintf("%s: rotate by %s", m.Name, dates.Format(m.Deadline))
	switch left := policies.CalendarDays(now, m.Deadline); {
	case left < 0:
		title += fmt.Sprintf(" (%s overdue)", days(-left))
	case left == 0:
		title += " (due today)"
	default:
		title += fmt.Sprintf(" (%s left)", days(left))
	}
	if !m.Requested.IsZero() {
		title += "; new pair requested " + dates.Format(m.Requested)
		if m.Ticket != "" {
			title += ", ticket " + m.Ticket
		}
	}
	if m.Staged {
		title += "; new pair staged"
	}
	var b strings.Builder
	classes := "mark " + urgency
	if !m.Requested.IsZero() {
		classes += " requested"
	}
	if m.Staged {
		classes += " staged"
	}
	fmt.Fprintf(&b, `<g class="%s" data-credential="%s"><title>%s</title>`, classes, esc(m.Name), esc(title))
	if m.Staged {
		fmt.Fprintf(&b, `<path d="%s" fill="%s"/>`, diamond(x, y), UrgencyColors[urgency])
	} else {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%d" fill="%s"/>`, x, y, tlRadius, UrgencyColors[urgency])
	}
	if !m.Requested.IsZero() {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%d" fill="none" stroke="#1a1a1a" stroke-width="1.5"/>`, x, y, tlRadius+3)
	}
	b.WriteString(`</g>`)
	return b.String()
}

func diamond(x, y float64) string {
	r := float64(tlRadius + 1)
	return fmt.Sprintf("M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y-r, x+r, y, x, y+r, x-r, y)
}

func esc(s string) string { return html.EscapeString(s) }
