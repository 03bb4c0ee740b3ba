package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Period is the span a report covers: deadlines, steps, incidents,
// notices and silences from Since to Until, both dates included (UTC).
type Period struct {
	Since, Until time.Time
}

// DefaultPeriod is the year before now and the year after it: the
// deadlines just met or missed, and those still open.
func DefaultPeriod(now time.Time) Period {
	d := day(now)
	return Period{Since: d.AddDate(-1, 0, 0), Until: d.AddDate(1, 0, 0)}
}

// contains reports whether t falls on a date of the period.
func (p Period) contains(t time.Time) bool {
	d := day(t)
	return !d.Before(day(p.Since)) && !d.After(day(p.Until))
}

// overlaps reports whether [from, to] (to zero: still going) meets the period.
func (p Period) overlaps(from, to time.Time) bool {
	if day(from).After(day(p.Until)) {
		return false
	}
	return to.IsZero() || !day(to).Before(day(p.Since))
}

// Outcomes of a deadline.
const (
	// OutcomeMet: a new version was promoted on or before the deadline's date.
	OutcomeMet = "met"
	// OutcomeMissed: promoted after the deadline's date, or not yet
	// although the date has passed.
	OutcomeMissed = "missed"
	// OutcomeOpen: not promoted yet, and the date has not passed.
	OutcomeOpen = "open"
)

// Report is the audit report of one period.
type Report struct {
	GeneratedAt time.Time    `json:"generated_at"`
	Since       string       `json:"since"`
	Until       string       `json:"until"`
	Summary     Summary      `json:"summary"`
	Credentials []Credential `json:"credentials"`
	// Marks are the deadlines of the next twelve months after
	// GeneratedAt, for the timeline.
	Marks []Mark `json:"-"`
}

// Summary counts the period's deadlines by outcome.
type Summary struct {
	Credentials int `json:"credentials"`
	Deadlines   int `json:"deadlines"`
	MetOnTime   int `json:"met_on_time"`
	Missed      int `json:"missed"`
	Open        int `json:"open"`
}

// Credential is one credential's part of the report.
type Credential struct {
	Name        string     `json:"name"`
	Provider    string     `json:"provider,omitempty"`
	Environment string     `json:"environment,omitempty"`
	Owner       string     `json:"owner,omitempty"`
	RotateBy    string     `json:"rotate_by,omitempty"` // the current deadline
	Deadlines   []Deadline `json:"deadlines"`
	// Steps are the rotation steps taken in the period, oldest first.
	Steps []vaultstore.RotationEvent `json:"steps"`
	// Request is the request to the provider's support still open.
	Request *vaultstore.RotationRequest `json:"open_request,omitempty"`
	// Staged is the pair waiting in pending/NAME (its client ID, never
	// its secret).
	Staged    *Staged          `json:"staged,omitempty"`
	Incidents []Incident       `json:"incidents"`
	Notices   []ChannelNotices `json:"notices"`
	Silences  []Silence        `json:"silences"`
}

// Deadline is one rotation deadline and whether it was met.
type Deadline struct {
	Deadline   string    `json:"deadline"` // a date
	Outcome    string    `json:"outcome"`  // met, missed, open
	PromotedAt time.Time `json:"promoted_at,omitzero"`
	PromotedBy string    `json:"promoted_by,omitempty"`
	Version    int       `json:"version,omitempty"` // the version promoted
	DaysLate   int       `json:"days_late,omitempty"`
	DaysLeft   int       `json:"days_left,omitempty"`
	// Detail says it in words: "met: promoted on 2026-11-05 (version 3,
	// by token-alice)", "missed by 4 days: promoted on 2026-11-24 (…)",
	// "missed by 4 days: not rotated yet", "open: 30 days left".
	Detail string `json:"detail"`
	at     time.Time
}

// Staged is a pair waiting to be promoted.
type Staged struct {
	ClientID  string    `json:"client_id,omitempty"`
	StagedAt  time.Time `json:"staged_at,omitzero"`
	LastClass string    `json:"last_class,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Incident is an alert opened for a credential: when, and when (if) it
// was resolved.
type Incident struct {
	Key        string    `json:"key"`
	Kind       string    `json:"kind"` // incident (the credential failed) or ops (not its fault)
	Class      string    `json:"class,omitempty"`
	OpenedAt   time.Time `json:"opened_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// TimeToResolve is ResolvedAt - OpenedAt in words ("3h0m"); empty
	// while open. Seconds is the same in seconds.
	TimeToResolve string `json:"time_to_resolve,omitempty"`
	Seconds       int64  `json:"time_to_resolve_seconds,omitempty"`
}

// ChannelNotices counts one channel's notices of the period.
type ChannelNotices struct {
	Channel    string `json:"channel"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`     // not delivered: the last attempt failed
	Unsent     int    `json:"unsent"`     // claimed or waiting, no attempt failed yet
	Superseded int    `json:"superseded"` // set aside, a nearer notice replaced it
	// LastError is the last failure's reason, as the ledger keeps it
	// (redacted where it was recorded).
	LastError string `json:"last_error,omitempty"`
}

// Silence is a silence set on the credential's notices, as it last stood.
type Silence struct {
	Kinds     []string  `json:"kinds"`
	Reason    string    `json:"reason"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	Until     time.Time `json:"until"`
}

// Build makes the report of period from recs, at now. It is a pure
// function of its arguments.
func Build(recs *Records, period Period, now time.Time) *Report {
	r := &Report{GeneratedAt: now.UTC().Truncate(time.Second), Since: dates.Format(period.Since), Until: dates.Format(period.Until)}
	for _, cr := range recs.Credentials {
		c := credential(cr, period, now)
		r.Credentials = append(r.Credentials, c)
		r.Summary.Credentials++
		for _, d := range c.Deadlines {
			r.Summary.Deadlines++
			switch d.Outcome {
			case OutcomeMet:
				r.Summary.MetOnTime++
			case OutcomeMissed:
				r.Summary.Missed++
			case OutcomeOpen:
				r.Summary.Open++
			}
		}
		if m, ok := markOf(cr); ok {
			r.Marks = append(r.Marks, m)
		}
	}
	return r
}

func credential(cr CredentialRecords, period Period, now time.Time) Credential {
	md := cr.Info.Metadata
	c := Credential{Name: cr.Info.Name, Provider: md.Provider, Environment: md.Environment, Owner: md.Owner,
		Deadlines: deadlines(cr, period, now), Steps: []vaultstore.RotationEvent{}, Incidents: []Incident{}, Notices: []ChannelNotices{}, Silences: []Silence{}}
	if !md.RotateBy.IsZero() {
		c.RotateBy = dates.Format(md.RotateBy)
	}
	if rot := cr.Rotation; rot != nil {
		for _, ev := range rot.History {
			if period.contains(ev.At) {
				c.Steps = append(c.Steps, ev)
			}
		}
		c.Request = rot.Request
	}
	if p := cr.Pending; p != nil {
		c.Staged = &Staged{ClientID: p.ClientID, StagedAt: p.StagedAt, LastClass: p.LastClass, CheckedAt: p.CheckedAt}
	}
	if cr.Ledger != nil {
		c.Incidents = incidents(cr.Ledger, period)
		c.Notices = notices(cr.Ledger, period)
	}
	c.Silences = silences(cr.Silences, period)
	return c
}

// silences are the silences that held at some time in the period: each
// silence set once, as its last version says (an early end shortens it
// and says who ended it).
func silences(versions []*vaultstore.Silence, period Period) []Silence {
	type set struct {
		at time.Time
		by string
	}
	last := map[set]*vaultstore.Silence{}
	var order []set
	for _, si := range versions {
		k := set{si.CreatedAt, si.CreatedBy}
		if last[k] == nil {
			order = append(order, k)
		}
		last[k] = si
	}
	out := []Silence{}
	for _, k := range order {
		si := last[k]
		if period.overlaps(si.CreatedAt, si.Until) {
			out = append(out, Silence{Kinds: si.Kinds, Reason: si.Reason, By: si.CreatedBy, CreatedAt: si.CreatedAt, Until: si.Until})
		}
	}
	return out
}

// deadlines are the credential's deadlines in the period: each one a
// promotion was recorded against, and the current one when no promotion
// answered it yet. A rollback to the pair a promotion replaced takes that
// answer back: the deadline is judged again by the next promotion against
// it, or, while none came, as not rotated yet.
func deadlines(cr CredentialRecords, period Period, now time.Time) []Deadline {
	out := []Deadline{}
	answered := map[string]*vaultstore.RotationEvent{}
	rolledBack := map[string]vaultstore.RotationEvent{}
	var keys []string
	if cr.Rotation != nil {
		for i := range cr.Rotation.History {
			ev := &cr.Rotation.History[i]
			if ev.Deadline.IsZero() {
				continue
			}
			key := dates.Format(ev.Deadline)
			switch ev.Step {
			case vaultstore.EventPromoted:
				if answered[key] != nil {
					continue // promoted again while the first promotion stands: it answered the deadline
				}
				if _, seen := rolledBack[key]; !seen {
					keys = append(keys, key)
				}
				answered[key] = ev
			case vaultstore.EventRolledBack:
				if answered[key] == nil {
					continue
				}
				delete(answered, key)
				rolledBack[key] = *ev
			}
		}
	}
	for _, key := range keys {
		if ev := answered[key]; ev != nil {
			if period.contains(ev.Deadline) {
				out = append(out, promoted(*ev))
			}
			continue
		}
		if rb := rolledBack[key]; period.contains(rb.Deadline) {
			d := pending(rb.Deadline, now)
			d.Detail += ": the pair promoted for it was rolled back on " + dates.Format(rb.At)
			out = append(out, d)
		}
	}
	if rb := cr.Info.Metadata.RotateBy; !rb.IsZero() && period.contains(rb) {
		key := dates.Format(rb)
		if _, judged := rolledBack[key]; answered[key] == nil && !judged {
			out = append(out, pending(rb, now))
		}
	}
	slices.SortFunc(out, func(a, b Deadline) int { return a.at.Compare(b.at) })
	return out
}

// promoted judges a deadline by the promotion recorded against it: met
// when the promotion came on or before the deadline's date.
func promoted(ev vaultstore.RotationEvent) Deadline {
	d := Deadline{Deadline: dates.Format(ev.Deadline), PromotedAt: ev.At, PromotedBy: ev.By, Version: ev.Version, at: ev.Deadline}
	var about []string
	if ev.Version > 0 {
		about = append(about, fmt.Sprintf("version %d", ev.Version))
	}
	if ev.By != "" {
		about = append(about, "by "+ev.By)
	}
	promotion := "promoted on " + dates.Format(ev.At)
	if len(about) > 0 {
		promotion += " (" + strings.Join(about, ", ") + ")"
	}
	if late := policies.CalendarDays(ev.Deadline, ev.At); late > 0 {
		d.Outcome, d.DaysLate = OutcomeMissed, late
		d.Detail = fmt.Sprintf("missed by %s: %s", days(late), promotion)
		return d
	}
	d.Outcome = OutcomeMet
	d.Detail = "met: " + promotion
	return d
}

// pending judges a deadline no promotion answered yet, at now.
func pending(rotateBy, now time.Time) Deadline {
	d := Deadline{Deadline: dates.Format(rotateBy), at: rotateBy}
	left := policies.CalendarDays(now, rotateBy)
	if left < 0 {
		d.Outcome, d.DaysLate = OutcomeMissed, -left
		d.Detail = fmt.Sprintf("missed by %s: not rotated yet", days(-left))
		return d
	}
	d.Outcome, d.DaysLeft = OutcomeOpen, left
	if left == 0 {
		d.Detail = "open: due today"
	} else {
		d.Detail = fmt.Sprintf("open: %s left", days(left))
	}
	return d
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// incidents are the incidents that were open at some time in the period:
// opened by an incident or ops notice, resolved by the resolve notice
// that names it, still open while the ledger lists it.
func incidents(l *vaultstore.Ledger, period Period) []Incident {
	byKey := map[string]*Incident{}
	var order []string
	for _, e := range l.Entries {
		var nt notify.Notice
		if json.Unmarshal(e.Notice, &nt) != nil {
			continue
		}
		switch nt.Kind {
		case notify.KindIncident, notify.KindOps:
			if byKey[e.Key] == nil {
				byKey[e.Key] = &Incident{Key: e.Key, Kind: nt.Kind, Class: nt.Class, OpenedAt: nt.At}
				order = append(order, e.Key)
			}
		case notify.KindResolve:
			if in := byKey[nt.Resolves]; in != nil && (in.ResolvedAt.IsZero() || nt.At.Before(in.ResolvedAt)) {
				in.ResolvedAt = nt.At
			}
		}
	}
	for _, open := range l.Incidents {
		in := byKey[open.Key]
		if in == nil {
			in = &Incident{Key: open.Key, Kind: notify.KindIncident, Class: open.Class, OpenedAt: open.OpenedAt}
			byKey[open.Key] = in
			order = append(order, open.Key)
		}
		in.ResolvedAt = time.Time{} // the ledger lists it open
	}
	out := []Incident{}
	for _, k := range order {
		in := *byKey[k]
		if !period.overlaps(in.OpenedAt, in.ResolvedAt) {
			continue
		}
		if !in.ResolvedAt.IsZero() {
			d := in.ResolvedAt.Sub(in.OpenedAt).Truncate(time.Second)
			in.Seconds, in.TimeToResolve = int64(d/time.Second), dates.ShortDuration(d)
		}
		out = append(out, in)
	}
	slices.SortStableFunc(out, func(a, b Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out
}

// notices counts the period's notices per channel, by what became of them.
func notices(l *vaultstore.Ledger, period Period) []ChannelNotices {
	byChannel := map[string]*ChannelNotices{}
	for _, e := range l.Entries {
		var nt notify.Notice
		_ = json.Unmarshal(e.Notice, &nt)
		at := nt.At
		if at.IsZero() {
			at = e.ClaimedAt
		}
		if !period.contains(at) {
			continue
		}
		c := byChannel[e.Channel]
		if c == nil {
			c = &ChannelNotices{Channel: e.Channel}
			byChannel[e.Channel] = c
		}
		switch {
		case !e.SentAt.IsZero():
			c.Sent++
		case e.Superseded:
			c.Superseded++
		case e.LastError != "":
			c.Failed++
		default:
			c.Unsent++
		}
		if e.LastError != "" {
			c.LastError = e.LastError
		}
	}
	out := []ChannelNotices{}
	for _, c := range byChannel {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ChannelNotices) int { return strings.Compare(a.Channel, b.Channel) })
	return out
}

// day is t's UTC date at midnight.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParsePeriod reads the flags --since and --until (YYYY-MM-DD, UTC;
// either empty for DefaultPeriod's) at now, refusing a period that ends
// before it starts.
func ParsePeriod(since, until string, now time.Time) (Period, error) {
	return parsePeriod("--since", since, "--until", until, now)
}

// ParsePeriodQuery is ParsePeriod for the query parameters since and
// until, whose errors name the parameters as written in a URL.
func ParsePeriodQuery(since, until string, now time.Time) (Period, error) {
	return parsePeriod("since", since, "until", until, now)
}

func parsePeriod(sinceName, since, untilName, until string, now time.Time) (Period, error) {
	p := DefaultPeriod(now)
	for _, f := range []struct {
		flag, value string
		into        *time.Time
	}{{sinceName, since, &p.Since}, {untilName, until, &p.Until}} {
		if f.value == "" {
			continue
		}
		d, err := dates.Parse(f.value)
		if err != nil {
			return p, fmt.Errorf("%s %q is not a date: use YYYY-MM-DD (UTC)", f.flag, f.value)
		}
		*f.into = d
	}
	if p.Until.Before(p.Since) {
		return p, fmt.Errorf("%s %s is before %s %s", untilName, dates.Format(p.Until), sinceName, dates.Format(p.Since))
	}
	return p, nil
}
