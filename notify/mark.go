package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// mark is the mark stage: it records one delivery's outcome in the ledger
// as soon as that channel is done, on a deadline of its own (a channel
// slow enough to outlast the round must not leave a sent notice unmarked,
// to go out again as a duplicate): sent, or not sent with the channel's
// error (LastError) and its claim released for a later round. It marks
// only the very claim it sent under: an entry claimed again since (by
// another replica, or after a lapse) is that claim's to mark.
func (p *Pipeline) mark(base context.Context, name string, now time.Time, it item, sendErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(base), p.markTimeout())
	defer cancel()
	w := p.writer(name)
	w.Lock()
	defer w.Unlock()
	_, err := p.updateLedger(ctx, name, func(l *vaultstore.Ledger) *vaultstore.Ledger {
		next := &vaultstore.Ledger{Entries: slices.Clone(l.Entries), Incidents: slices.Clone(l.Incidents)}
		changed := false
		for j := range next.Entries {
			e := &next.Entries[j]
			if claimOf(*e) != claimOf(it.entry) || !e.SentAt.IsZero() {
				continue
			}
			if sendErr == nil {
				e.SentAt, e.LastError = now, ""
			} else {
				e.ClaimedAt, e.LastError = time.Time{}, sendErr.Error()
			}
			changed = true
		}
		if !changed {
			return nil // the claim is marked already, or is another's now
		}
		return next
	})
	if errors.Is(err, errLedgerKeptChanging) {
		return fmt.Errorf("ledger/%s: the send of %s through %s was not marked; it may be repeated once", name, it.entry.Key, it.channel)
	}
	if err != nil {
		return err
	}
	if sendErr == nil {
		p.forgetUnmarked(it.entry)
		if p.Hooks.AfterMark != nil {
			p.Hooks.AfterMark(it.entry.Key)
		}
	}
	return nil
}
