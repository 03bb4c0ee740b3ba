package web_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/app/web"
)

// The index leads with what needs a person: overdue, then the
// credential's own failures, then the provider's, then the soonest
// deadline (a row without one last), then by name; in that order
// whatever order the rows came in.
func TestRowsSortByUrgencyThenDeadlineThenName(t *testing.T) {
	day := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	row := func(name, urgency, class string, rotateBy time.Time) web.Row {
		return web.Row{CredentialStatus: check.CredentialStatus{Name: name, LastClass: class, RotateBy: rotateBy},
			Urgency: urgency, HasDeadline: !rotateBy.IsZero()}
	}
	want := []web.Row{
		row("overdue-a", "overdue", "ok", day.AddDate(0, 0, -3)),
		row("overdue-b", "overdue", "ok", day.AddDate(0, 0, -1)),
		row("revoked", "failing", "invalid_client", day.AddDate(0, 2, 0)),
		row("down-a", "failing", "unavailable", day.AddDate(0, 1, 0)),
		row("down-b", "failing", "unavailable", time.Time{}),
		row("soon", "soon", "ok", day.AddDate(0, 0, 5)),
		row("later-a", "", "ok", day.AddDate(0, 6, 0)),
		row("later-b", "", "ok", day.AddDate(0, 6, 0)),
		row("no-deadline-a", "", "ok", time.Time{}),
		row("no-deadline-b", "", "", time.Time{}),
	}
	names := func(rows []web.Row) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Name)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rows := slices.Clone(want)
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		web.SortByUrgency(rows)
		if got := names(rows); !slices.Equal(got, names(want)) {
			t.Fatalf("sorted as %v, want %v", got, names(want))
		}
	}
}
