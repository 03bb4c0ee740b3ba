package rotation

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
		row := CredentialStatus{Name: in.Name, Environment: in.Metadata.Environment, Provider: in.Metadata.Provider, Owner: in.Metadata.Owner,
			RotateBy: in.Metadata.RotateBy, Version: in.Version}
		if si := silences[in.Name]; si.Active(now) {
			row.Silence = si
		}
		if !row.RotateBy.IsZero() {
			row.DaysLeft = policies.CalendarDays(now, row.RotateBy)
		}
		switch st, err := store.GetState(ctx, in.Name); {
		case err == nil:
			row.LastClass, row.LastCheck, row.LastSuccess, row.Failures = st.LastClass, st.LastCheck, st.LastSuccess, st.ConsecutiveFailures
		case !errors.Is(err, vaultstore.ErrNotFound):
			errs[i] = err
			return
		}
		if hasPending[in.Name] {
			switch p, err := store.PendingInfo(ctx, in.Name); {
			case err == nil && p.LastClass != "":
				row.Pending = p.LastClass
			case err == nil:
				row.Pending = "staged"
			case !errors.Is(err, vaultstore.ErrNotFound):
				errs[i] = err
				return
			}
		}
		rows[i] = row
	})
	return rows, errors.Join(errs...)
}
