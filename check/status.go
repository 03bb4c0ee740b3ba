package check

import (
	"context"
	"errors"
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

// StatusAll gathers every credential's status: metadata, state and
// whether a pair is staged, reading state several at a time.
func StatusAll(ctx context.Context, store *vaultstore.Store, now time.Time) ([]CredentialStatus, error) {
	infos, err := store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
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
	rows := make([]CredentialStatus, len(infos))
	errs := make([]error, len(infos))
	parallel.Do(len(infos), 16, func(i int) {
		in := infos[i]
		st, err := store.GetState(ctx, in.Name)
		switch {
		case errors.Is(err, vaultstore.ErrNotFound):
			st = nil
		case err != nil:
			errs[i] = err
			return
		}
		var pending *vaultstore.PendingInfo
		if hasPending[in.Name] {
			switch pending, err = store.PendingInfo(ctx, in.Name); {
			case errors.Is(err, vaultstore.ErrNotFound):
				pending = nil
			case err != nil:
				errs[i] = err
				return
			}
		}
		rows[i] = StatusOf(in, st, pending, silences[in.Name], now)
	})
	return rows, errors.Join(errs...)
}
