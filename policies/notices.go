package policies

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
)

// Notice kinds.
const (
	NoticeReminder = "reminder" // a tier of the reminder ladder
	NoticeOverdue  = "overdue"  // the daily notice once the deadline passed
	NoticeIncident = "incident" // a credential failure opened an incident
	NoticeOps      = "ops"      // repeated failures that are not the credential's
	NoticeResolve  = "resolve"  // an incident or ops notice closed by an ok check
	// NoticeFollowUp: a request to the provider's support for a new pair
	// went unanswered (no pair staged) for follow_up_after. A silence of
	// reminders holds it back too.
	NoticeFollowUp = "follow_up"
)

// NoticeInput is everything the notice decision looks at. It is gathered
// by the caller; Due does no I/O and reads no clock.
type NoticeInput struct {
	Credential  string
	Environment string
	RotateBy    time.Time // zero: no deadline known, no reminders
	Policy      *config.RotationPolicy

	// LastClass and ConsecutiveFailures are the last check's outcome.
	LastClass           string
	ConsecutiveFailures int

	Notify           []string // the credential's channels
	Page             []string // its paging channels, for page environments
	PageEnvironments []string // nil: config.DefaultPageEnvironments
	OpsAfter         int      // zero: config.DefaultOpsAfter
	PageOps          bool     // page ops notices too (off by default)

	// Sent holds the dedup keys already claimed or sent, from the ledger.
	Sent map[string]bool
	// Open holds the keys of incidents and ops notices still open.
	Open []string

	// SilencedUntil and SilencedKinds are the credential's silence, if
	// any: notices of those kinds are not due before that time. A silence
	// lapses on its own; what it held back is due again after it, if it
	// still applies (today's overdue notice, the current reminder tier, an
	// incident still open).
	SilencedUntil time.Time
	SilencedKinds []string

	// RequestedAt is when the open request to the provider's support for
	// a new pair was last made or followed up (zero: none is open);
	// Staged, whether a new pair is staged. A request older than
	// FollowUpAfter (zero: config.DefaultFollowUpAfter) with nothing
	// staged is due a follow-up.
	RequestedAt   time.Time
	Staged        bool
	FollowUpAfter time.Duration

	Now time.Time
}

// SilenceKinds are the kinds of notice a silence can hold back. "all"
// stands for every one but incident: a production credential's failure
// pages unless a silence names incident on purpose.
var SilenceKinds = []string{NoticeReminder, NoticeOverdue, NoticeOps, NoticeIncident}

// ExpandSilenceKinds turns the kinds a person gave (all, or a list of
// SilenceKinds) into the list a silence records.
func ExpandSilenceKinds(kinds []string) ([]string, error) {
	var out []string
	for _, k := range kinds {
		switch {
		case k == "all":
			out = append(out, NoticeReminder, NoticeOverdue, NoticeOps)
		case slices.Contains(SilenceKinds, k):
			out = append(out, k)
		default:
			return nil, fmt.Errorf("unknown notice kind %q: use reminder, overdue, ops, incident or all", k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (in NoticeInput) silenced(kind string) bool {
	return in.Now.Before(in.SilencedUntil) && slices.Contains(in.SilencedKinds, SilenceKindOf(kind))
}

// SilenceKindOf is the kind of silence that holds back a notice of kind:
// its own, but a follow-up is a reminder's.
func SilenceKindOf(kind string) string {
	if kind == NoticeFollowUp {
		return NoticeReminder
	}
	return kind
}

// DueNotice is one message due, with the key that keeps it from going out twice.
type DueNotice struct {
	Key      string
	Kind     string
	Channels []string
	Page     bool          // send as a page (PagerDuty trigger) where the channel pages
	Tier     time.Duration // the reminder tier, for reminders
	DaysLeft int           // whole calendar days to the deadline (negative when past)
	Class    string        // the class behind an incident or ops notice
	Resolves string        // for a resolve, the key of what it closes
}

// ReminderKey is a reminder's dedup key: reminder/NAME/DEADLINE/TIER.
// A deadline that moves makes new keys, and so a fresh ladder.
func ReminderKey(name string, rotateBy time.Time, tier time.Duration) string {
	return fmt.Sprintf("reminder/%s/%s/%s", name, dates.Format(rotateBy), tierName(tier))
}

// IncidentKey is an incident's dedup key: incident/NAME/CLASS.
func IncidentKey(name, class string) string { return "incident/" + name + "/" + class }

// OpsKey is an ops notice's dedup key: ops/NAME/CLASS.
func OpsKey(name, class string) string { return "ops/" + name + "/" + class }

func tierName(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.String()
}

// Due returns the notices due at in.Now that the ledger has not seen, in
// the order they should go out.
func Due(in NoticeInput) []DueNotice {
	var out []DueNotice
	for _, d := range slices.Concat(dueReminders(in), dueFollowUp(in), dueAlerts(in)) {
		if !in.silenced(d.Kind) {
			out = append(out, d)
		}
	}
	return out
}

func dueReminders(in NoticeInput) []DueNotice {
	if in.RotateBy.IsZero() || in.Policy == nil {
		return nil
	}
	days := CalendarDays(in.Now, in.RotateBy)
	if !in.Now.Before(in.RotateBy) {
		key := fmt.Sprintf("reminder/%s/%s/overdue/%s", in.Credential, dates.Format(in.RotateBy), dates.Format(in.Now))
		if in.Sent[key] {
			return nil
		}
		return []DueNotice{{Key: key, Kind: NoticeOverdue, Channels: channelsAt(in.Policy, 0, in.Notify), DaysLeft: days}}
	}
	// The nearest tier whose moment has come; tiers passed over while the
	// daemon was down are superseded by it.
	tiers := slices.Clone(in.Policy.Remind)
	sort.Slice(tiers, func(i, j int) bool { return tiers[i] < tiers[j] })
	for _, tier := range tiers {
		if in.Now.Before(in.RotateBy.Add(-tier)) {
			continue
		}
		key := ReminderKey(in.Credential, in.RotateBy, tier)
		if in.Sent[key] {
			return nil
		}
		return []DueNotice{{Key: key, Kind: NoticeReminder, Channels: channelsAt(in.Policy, tier, in.Notify), Tier: tier, DaysLeft: days}}
	}
	return nil
}

// FollowUpKey is a follow-up's dedup key:
// reminder/NAME/DEADLINE/follow-up/REQUESTED, one for each time the
// request was made, so that following it up starts the wait anew. It is
// one of the reminder keys: a nearer reminder sets it aside, and a new
// deadline makes it stale.
func FollowUpKey(name string, rotateBy, requestedAt time.Time) string {
	return fmt.Sprintf("reminder/%s/%s/follow-up/%s", name, dates.Format(rotateBy), requestedAt.UTC().Format("20060102T150405Z"))
}

// dueFollowUp is the follow-up due when the open request is older than
// follow_up_after with no pair staged: to the credential's channels and
// every escalation's, before the deadline or after it.
func dueFollowUp(in NoticeInput) []DueNotice {
	if in.RequestedAt.IsZero() || in.Staged || in.RotateBy.IsZero() || in.Policy == nil {
		return nil
	}
	after := in.FollowUpAfter
	if after <= 0 {
		after = config.DefaultFollowUpAfter
	}
	if in.Now.Sub(in.RequestedAt) < after {
		return nil
	}
	key := FollowUpKey(in.Credential, in.RotateBy, in.RequestedAt)
	if in.Sent[key] {
		return nil
	}
	return []DueNotice{{Key: key, Kind: NoticeFollowUp, Channels: channelsAt(in.Policy, 0, in.Notify), DaysLeft: CalendarDays(in.Now, in.RotateBy)}}
}

// channelsAt is the credential's channels plus every escalation whose tier
// the reminder has reached (an escalation "7d" applies from 7 days out on).
func channelsAt(p *config.RotationPolicy, tier time.Duration, base []string) []string {
	chans := slices.Clone(base)
	for _, e := range p.Escalate {
		if tier <= e.From {
			for _, c := range e.Notify {
				if !slices.Contains(chans, c) {
					chans = append(chans, c)
				}
			}
		}
	}
	return chans
}

func dueAlerts(in NoticeInput) []DueNotice {
	var out []DueNotice
	class := in.LastClass
	credentialFailure := class == "invalid_client" || class == "invalid_grant" || class == "expired"
	if class == "ok" {
		for _, key := range in.Open {
			rk := "resolve/" + key
			if !in.Sent[rk] {
				out = append(out, DueNotice{Key: rk, Kind: NoticeResolve, Channels: in.channelsFor(key), Page: in.pages(key), Resolves: key})
			}
		}
		return out
	}
	switch {
	case credentialFailure:
		key := IncidentKey(in.Credential, class)
		if !slices.Contains(in.Open, key) && !in.Sent[key] {
			out = append(out, DueNotice{Key: key, Kind: NoticeIncident, Channels: in.channelsFor(key), Page: in.pages(key), Class: class})
		}
	case class != "":
		opsAfter := in.OpsAfter
		if opsAfter <= 0 {
			opsAfter = config.DefaultOpsAfter
		}
		key := OpsKey(in.Credential, class)
		if in.ConsecutiveFailures >= opsAfter && !slices.Contains(in.Open, key) && !in.Sent[key] {
			out = append(out, DueNotice{Key: key, Kind: NoticeOps, Channels: in.channelsFor(key), Page: in.pages(key), Class: class})
		}
	}
	return out
}

// pages reports whether an incident or ops key pages on-call.
func (in NoticeInput) pages(key string) bool {
	envs := in.PageEnvironments
	if envs == nil {
		envs = config.DefaultPageEnvironments
	}
	if !slices.Contains(envs, in.Environment) || len(in.Page) == 0 {
		return false
	}
	if len(key) >= 4 && key[:4] == "ops/" {
		return in.PageOps
	}
	return true
}

func (in NoticeInput) channelsFor(key string) []string {
	chans := slices.Clone(in.Notify)
	if in.pages(key) {
		for _, c := range in.Page {
			if !slices.Contains(chans, c) {
				chans = append(chans, c)
			}
		}
	}
	return chans
}

// CalendarDays is the number of UTC calendar days from now's date to to's.
func CalendarDays(now, to time.Time) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(day(to).Sub(day(now)).Hours() / 24)
}
