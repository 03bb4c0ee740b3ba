package view

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// SilenceJSON is one row of silence list --json.
type SilenceJSON struct {
	Credential string   `json:"credential"`
	Until      string   `json:"until"`
	Active     bool     `json:"active"`
	Kinds      []string `json:"kinds"`
	Reason     string   `json:"reason"`
	CreatedBy  string   `json:"created_by"`
	CreatedAt  string   `json:"created_at"`
}

// Silences is every silence as silence list prints it, by credential name.
func Silences(all map[string]*vaultstore.Silence, now time.Time) []SilenceJSON {
	out := make([]SilenceJSON, 0, len(all))
	for name, si := range all {
		out = append(out, SilenceJSON{Credential: name, Until: dates.FormatTime(si.Until), Active: si.Active(now), Kinds: si.Kinds,
			Reason: si.Reason, CreatedBy: si.CreatedBy, CreatedAt: dates.FormatTime(si.CreatedAt)})
	}
	slices.SortFunc(out, func(a, b SilenceJSON) int { return strings.Compare(a.Credential, b.Credential) })
	return out
}

// WriteSilenceTable prints silences as a table.
func WriteSilenceTable(w io.Writer, rows []SilenceJSON) error {
	tw := table(w)
	fmt.Fprintln(tw, "CREDENTIAL\tUNTIL\tACTIVE\tKINDS\tREASON\tBY")
	for _, r := range rows {
		active := "no"
		if r.Active {
			active = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Credential, r.Until, active, strings.Join(r.Kinds, ","), r.Reason, r.CreatedBy)
	}
	return tw.Flush()
}
