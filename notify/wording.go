package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
)

// About is what a notice is about: a credential, its deadline and its
// last check.
type About struct {
	Credential          string
	Environment         string
	Provider            string
	Deadline            time.Time
	Class               string // the last check's
	ConsecutiveFailures int
}

// Compose words a notice found due, for people: its summary and what to
// do. With Subject and Text, all of a notice's wording is here.
func Compose(d Due, a About, now time.Time) Notice {
	nt := Notice{Key: d.Key, Kind: d.Kind, Credential: a.Credential, Environment: a.Environment, Provider: a.Provider,
		Deadline: a.Deadline, DaysLeft: d.DaysLeft, Class: a.Class, Page: d.Page, Resolves: d.Resolves, At: now}
	hint := ProviderHint(a.Provider)
	switch d.Kind {
	case KindReminder:
		nt.Summary = fmt.Sprintf("%s must be rotated by %s: %d days left.", a.Credential, dates.Format(a.Deadline), d.DaysLeft)
		nt.Action = hint + ", then stage it with credkeeper rotate stage " + a.Credential + " and promote it."
	case KindOverdue:
		nt.Summary = fmt.Sprintf("%s is past its rotation deadline of %s.", a.Credential, dates.Format(a.Deadline))
		nt.Action = hint + " now: the provider may retire the pair at any moment."
	case KindIncident:
		nt.Summary = fmt.Sprintf("%s is refused by its provider: %s.", a.Credential, d.Class)
		nt.Action = "run credkeeper check " + a.Credential + " for the provider's answer; " + hint + " if the pair was retired."
	case KindOps:
		nt.Summary = fmt.Sprintf("%s could not be checked %d times in a row: %s.", a.Credential, a.ConsecutiveFailures, d.Class)
		nt.Action = "the provider or the network is in trouble, not the credential; credkeeper keeps retrying."
	case KindResolve:
		nt.Summary = fmt.Sprintf("%s works again.", a.Credential)
		nt.Action = "nothing."
	}
	return nt
}

// ProviderHint says where a new pair comes from.
func ProviderHint(provider string) string {
	switch {
	case strings.HasPrefix(provider, "ctrp"):
		return "request the new client ID and secret from CTRP support (CTRP_support@nih.gov)"
	case strings.HasPrefix(provider, "dmptool"):
		return "regenerate the client secret in DMPTool's developer tools"
	}
	return "obtain a new client secret from the provider"
}
