package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// SilenceRequest is what `credkeeper silence NAME` asks for.
type SilenceRequest struct {
	Name   string
	Until  string // a date (YYYY-MM-DD, UTC midnight) or an RFC 3339 time
	Reason string
	Kinds  []string // reminder, overdue, ops, incident, all (default: all)
	// MaxSilence is the notifications block's max_silence: how far away
	// Until may be (config.DefaultMaxSilence when 0).
	MaxSilence time.Duration
}

// SetSilence writes silences/NAME (check-and-set over the one there is),
// with who set it and when. It returns the silence and warnings for the
// person: silencing incidents of a credential that pages.
func SetSilence(ctx context.Context, store *vaultstore.Store, req SilenceRequest, now time.Time) (*vaultstore.Silence, []string, error) {
	if strings.TrimSpace(req.Reason) == "" {
		return nil, nil, errors.New("a silence needs --reason: say why, for whoever sees it on the status page")
	}
	until, err := dates.Parse(req.Until)
	if err == nil && until.IsZero() {
		err = errors.New("a silence needs --until, the date it lapses (YYYY-MM-DD)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--until %q: %w", req.Until, err)
	}
	if err := policies.CheckSilenceUntil(until, now, req.MaxSilence); err != nil {
		return nil, nil, fmt.Errorf("--until %q %w", req.Until, err)
	}
	kinds := req.Kinds
	if len(kinds) == 0 {
		kinds = []string{"all"}
	}
	expanded, err := policies.ExpandSilenceKinds(kinds)
	if err != nil {
		return nil, nil, err
	}
	info, err := store.CredentialInfo(ctx, req.Name)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if slices.Contains(expanded, policies.NoticeIncident) {
		warnings = append(warnings, fmt.Sprintf("incidents of %s (%s) will not page anyone until %s: a revoked or expired secret will go unnoticed",
			req.Name, info.Metadata.Environment, dates.FormatTime(until)))
	}
	cas := 0
	switch cur, err := store.GetSilence(ctx, req.Name); {
	case err == nil:
		cas = cur.Version
	case !errors.Is(err, vaultstore.ErrNotFound):
		return nil, nil, err
	}
	si := &vaultstore.Silence{Until: until, Reason: req.Reason, Kinds: expanded, CreatedBy: store.WhoAmI(ctx), CreatedAt: now.UTC().Truncate(time.Second)}
	v, err := store.PutSilence(ctx, req.Name, si, cas)
	if err != nil {
		return nil, warnings, err
	}
	si.Version = v
	return si, warnings, nil
}

// ExpireSilence ends a credential's silence now, keeping its record.
func ExpireSilence(ctx context.Context, store *vaultstore.Store, name string, now time.Time) (*vaultstore.Silence, error) {
	cur, err := store.GetSilence(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil, fmt.Errorf("%s has no silence", name)
	}
	if err != nil {
		return nil, err
	}
	if !cur.Active(now) {
		return cur, nil
	}
	cur.Until = now.UTC().Truncate(time.Second)
	cur.Reason += " (expired early by " + store.WhoAmI(ctx) + ")"
	v, err := store.PutSilence(ctx, name, cur, cur.Version)
	if err != nil {
		return nil, err
	}
	cur.Version = v
	return cur, nil
}
