package vaultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/credkeeper/credkeeper/internal/parallel"
)

// Silence is silences/NAME: the notices of one credential that people
// asked not to be sent until a date, and who asked.
type Silence struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
	// Kinds are the notice kinds silenced: reminder, overdue, ops,
	// incident.
	Kinds     []string  `json:"kinds"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Version is the KV version this silence was read from; not stored.
	Version int `json:"-"`
}

// Active reports whether the silence's own Until is still ahead at now.
// What the daemon holds back is decided elsewhere (the daemon bounds a
// silence by max_silence from when it was set); this record only says what
// was asked for.
func (s *Silence) Active(now time.Time) bool { return s != nil && now.Before(s.Until) }

// GetSilence reads silences/NAME.
func (s *Store) GetSilence(ctx context.Context, name string) (*Silence, error) {
	var si Silence
	v, err := s.getJSON(ctx, KindSilences, name, &si)
	if err != nil {
		return nil, err
	}
	si.Version = v
	return &si, nil
}

// PutSilence writes silences/NAME if its version is still cas (0: only if
// there is none); it returns the new version.
func (s *Store) PutSilence(ctx context.Context, name string, si *Silence, cas int) (int, error) {
	return s.putJSON(ctx, KindSilences, name, si, cas)
}

// ListSilences reads every silence, by credential name.
func (s *Store) ListSilences(ctx context.Context) (map[string]*Silence, error) {
	names, err := s.list(ctx, KindSilences)
	if err != nil {
		return nil, err
	}
	out := make([]*Silence, len(names))
	errs := make([]error, len(names))
	parallel.Do(len(names), 8, func(i int) {
		si, err := s.GetSilence(ctx, names[i])
		if err != nil && !errors.Is(err, ErrNotFound) {
			errs[i] = err
		}
		out[i] = si
	})
	m := make(map[string]*Silence, len(names))
	for i, n := range names {
		if out[i] != nil {
			m[n] = out[i]
		}
	}
	return m, errors.Join(errs...)
}

// WhoAmI names the Vault token in use, for records of who did what: its
// display name (as Vault forms it from the auth method, e.g. token-alice
// or approle), with its entity ID when it has one.
func (s *Store) WhoAmI(ctx context.Context) string {
	self, err := s.client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil || self == nil {
		return "unknown"
	}
	name, _ := self.Data["display_name"].(string)
	if name == "" {
		name = "unknown"
	}
	if entity, _ := self.Data["entity_id"].(string); entity != "" {
		name += " (entity " + entity + ")"
	}
	return name
}

// SilenceHistory reads every version of silences/NAME that KV v2 still
// holds, oldest first: each silence set on the credential, and each change
// to one (an early end). A version deleted or destroyed is left out. It
// reads what the auditor policy grants (the record's metadata and data),
// for the audit report.
func (s *Store) SilenceHistory(ctx context.Context, name string) ([]*Silence, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rel := s.relPath(KindSilences, name)
	versions, err := s.kv.GetVersionsAsList(ctx, rel)
	if err != nil {
		return nil, wrapErr("read metadata", s.metaPath(KindSilences, name), s.Address(), err)
	}
	var out []*Silence
	for _, v := range versions {
		if !v.DeletionTime.IsZero() || v.Destroyed {
			continue
		}
		sec, err := s.kv.GetVersion(ctx, rel, v.Version)
		if err != nil {
			return nil, wrapErr("read", fmt.Sprintf("%s?version=%d", s.dataPath(KindSilences, name), v.Version), s.Address(), err)
		}
		if sec.Data == nil {
			continue
		}
		var si Silence
		b, err := json.Marshal(sec.Data)
		if err == nil {
			err = json.Unmarshal(b, &si)
		}
		if err != nil {
			return nil, &Error{Op: "read", Path: s.dataPath(KindSilences, name), Kind: ErrMalformed, Err: err}
		}
		si.Version = v.Version
		out = append(out, &si)
	}
	slices.SortFunc(out, func(a, b *Silence) int { return a.Version - b.Version })
	return out, nil
}
