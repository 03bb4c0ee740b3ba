package check

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// CredentialStatus is one row of `credkeeper status`: a credential's
// deadline and last check in one place. It holds no secret.
type CredentialStatus struct {
	Name        string
	Environment string
	Provider    string
	Owner       string
	RotateBy    time.Time
	DaysLeft    int // calendar days to the deadline; meaningless when RotateBy is zero
	Version     int
	LastClass   string
	LastCheck   time.Time
	LastSuccess time.Time
	Failures    int
	Pending     string // the staged pair's last class, "staged" when unchecked, "" when none
	// Silence is the credential's silence while it holds (nil otherwise).
	Silence *vaultstore.Silence
	// Rotation is rotations/NAME (nil: none): the open request for a new
	// pair, the history of rotations, an automated rotation's progress.
	Rotation *vaultstore.Rotation
}

// StatusOf is one credential's status from what Vault holds for it: its
// metadata, its state (nil: never checked), its staged pair (nil: none)
// and its silence (nil: none; a lapsed one is not shown).
func StatusOf(in vaultstore.CredentialInfo, st *vaultstore.State, pending *vaultstore.PendingInfo, si *vaultstore.Silence, now time.Time) CredentialStatus {
	row := CredentialStatus{Name: in.Name, Environment: in.Metadata.Environment, Provider: in.Metadata.Provider, Owner: in.Metadata.Owner,
		RotateBy: in.Metadata.RotateBy, Version: in.Version}
	if !row.RotateBy.IsZero() {
		row.DaysLeft = policies.CalendarDays(now, row.RotateBy)
	}
	if st != nil {
		row.LastClass, row.LastCheck, row.LastSuccess, row.Failures = st.LastClass, st.LastCheck, st.LastSuccess, st.ConsecutiveFailures
	}
	switch {
	case pending != nil && pending.LastClass != "":
		row.Pending = pending.LastClass
	case pending != nil:
		row.Pending = "staged"
	}
	if si.Active(now) {
		row.Silence = si
	}
	return row
}

// StatusAll gathers every credential's status from Vault: metadata,
// state and whether a pair is staged, several credentials at a time.
func StatusAll(ctx context.Context, store *vaultstore.Store, now time.Time) ([]CredentialStatus, error) {
	return StatusHeld(ctx, store, nil, now)
}

// statusReads is how many credentials a status reads at once.
const statusReads = 16

// StatusHeld is StatusAll answered from what held (the leading replica's
// Cache) holds: the lists of credentials, staged pairs, silences and
// rotations are read, each silence, the rotation records of the rows
// within RequestHorizon of their deadline or with a pair staged, and a
// credential's metadata and state only when held lacks them (a
// credential the configuration does not declare, or not checked yet),
// several at a time. A nil held reads every credential.
func StatusHeld(ctx context.Context, store *vaultstore.Store, held *Cache, now time.Time) ([]CredentialStatus, error) {
	names, err := store.CredentialNames(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	hasPending, err := store.Staged(ctx)
	if err != nil {
		return nil, err
	}
	silences, err := store.ListSilences(ctx)
	if errors.Is(err, vaultstore.ErrPermissionDenied) {
		silences, err = nil, nil // a policy written before silences: they are not shown
	}
	if err != nil {
		return nil, err
	}
	rotations, err := store.RotationNames(ctx)
	if errors.Is(err, vaultstore.ErrPermissionDenied) {
		rotations, err = nil, nil // a policy that cannot read them: requests are not shown
	}
	if err != nil {
		return nil, err
	}
	rows := make([]CredentialStatus, len(names))
	found := make([]bool, len(names))
	errs := make([]error, len(names))
	var unheld []int
	for i, name := range names {
		if hasPending[name] {
			unheld = append(unheld, i) // the staged pair's state is read
			continue
		}
		if info, st, ok := held.Held(name); ok {
			if st.LastCheck.IsZero() {
				st = nil // never checked
			}
			rows[i], found[i] = StatusOf(info, st, nil, silences[name], now), true
			continue
		}
		unheld = append(unheld, i)
	}
	parallel.Do(len(unheld), statusReads, func(k int) {
		i := unheld[k]
		rows[i], found[i], errs[i] = readStatus(ctx, store, names[i], hasPending[names[i]], silences[names[i]], now)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := rows[:0]
	for i, row := range rows {
		if found[i] {
			out = append(out, row)
		}
	}
	return out, readRotations(ctx, store, out, rotations)
}

// RequestHorizon is how near its deadline a credential's rotations/NAME is
// read for a status row: a request for a new pair is made in the weeks
// before the deadline and stays open until a pair is promoted. A row with
// a staged pair, or past its deadline, is read too; others (a deadline
// met and a year away) show no step in the list, and a credential's own
// page reads its record whatever the date.
const RequestHorizon = 120 * 24 * time.Hour

// readRotations sets the Rotation of the rows that have a rotations/NAME
// record (names) and may show a request's step, reading them several at
// a time.
func readRotations(ctx context.Context, store *vaultstore.Store, rows []CredentialStatus, names []string) error {
	has := make(map[string]bool, len(names))
	for _, n := range names {
		has[n] = true
	}
	var read []int
	for i, r := range rows {
		if has[r.Name] && (r.Pending != "" || !r.RotateBy.IsZero() && r.DaysLeft <= int(RequestHorizon/(24*time.Hour))) {
			read = append(read, i)
		}
	}
	errs := make([]error, len(read))
	parallel.Do(len(read), statusReads, func(k int) {
		rot, err := store.GetRotation(ctx, rows[read[k]].Name)
		switch {
		case err == nil:
			rows[read[k]].Rotation = rot
		case !errors.Is(err, vaultstore.ErrNotFound) && !errors.Is(err, vaultstore.ErrPermissionDenied):
			errs[k] = err
		}
	})
	return errors.Join(errs...)
}

// readStatus reads one credential's status from Vault; found is false
// when it was deleted since it was listed.
func readStatus(ctx context.Context, store *vaultstore.Store, name string, staged bool, si *vaultstore.Silence, now time.Time) (CredentialStatus, bool, error) {
	in, err := store.CredentialInfo(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		return CredentialStatus{}, false, nil
	case err != nil:
		return CredentialStatus{}, false, err
	}
	st, err := store.GetState(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		st = nil
	case err != nil:
		return CredentialStatus{}, false, err
	}
	var pending *vaultstore.PendingInfo
	if staged {
		switch pending, err = store.PendingInfo(ctx, name); {
		case errors.Is(err, vaultstore.ErrNotFound):
			pending = nil
		case err != nil:
			return CredentialStatus{}, false, err
		}
	}
	return StatusOf(*in, st, pending, si, now), true, nil
}
