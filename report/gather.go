package report

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Records is what Vault holds that the report reads, per credential.
type Records struct {
	Credentials []CredentialRecords
}

// CredentialRecords are one credential's records, as far as they exist:
// a nil field is a record Vault does not hold.
type CredentialRecords struct {
	Info     vaultstore.CredentialInfo
	Rotation *vaultstore.Rotation
	Ledger   *vaultstore.Ledger
	// Silences are the versions of silences/NAME KV v2 still holds,
	// oldest first: every silence set, and every change to one.
	Silences []*vaultstore.Silence
	Pending  *vaultstore.PendingInfo
}

// gatherReads is how many credentials Gather reads at once.
const gatherReads = 8

// Gather reads every credential's metadata, rotation record, ledger,
// silences (every version kept) and staged pair's metadata: what the auditor policy grants,
// never a secret. A record that does not exist is left nil; any other
// failure (Vault down, a permission denied) is returned.
func Gather(ctx context.Context, store *vaultstore.Store) (*Records, error) {
	infos, err := store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CredentialRecords, len(infos))
	errs := make([]error, len(infos))
	parallel.Do(len(infos), gatherReads, func(i int) {
		name := infos[i].Name
		r := CredentialRecords{Info: infos[i]}
		var all []error
		var err error
		if r.Rotation, err = store.GetRotation(ctx, name); err != nil {
			r.Rotation, all = nil, append(all, absent(err))
		}
		if r.Ledger, err = store.GetLedger(ctx, name); err != nil {
			r.Ledger, all = nil, append(all, absent(err))
		}
		if r.Silences, err = store.SilenceHistory(ctx, name); err != nil {
			r.Silences, all = nil, append(all, absent(err))
		}
		if r.Pending, err = store.PendingInfo(ctx, name); err != nil {
			r.Pending, all = nil, append(all, absent(err))
		}
		out[i], errs[i] = r, errors.Join(all...)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b CredentialRecords) int { return strings.Compare(a.Info.Name, b.Info.Name) })
	return &Records{Credentials: out}, nil
}

// absent is err, or nil when it says the record does not exist.
func absent(err error) error {
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil
	}
	return err
}
