package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// memLedger is ledger/NAME with check-and-set, in memory; interfere, when
// set, is another writer that changes the ledger just before a write.
type memLedger struct {
	mu        sync.Mutex
	l         vaultstore.Ledger
	writes    int
	interfere int
}

func (m *memLedger) GetLedger(_ context.Context, _ string) (*vaultstore.Ledger, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.l.Version == 0 {
		return nil, vaultstore.ErrNotFound
	}
	l := m.l
	return &l, nil
}

func (m *memLedger) PutLedger(_ context.Context, _ string, l *vaultstore.Ledger, cas int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.interfere > 0 {
		m.interfere--
		m.l.Version++
	}
	if cas != m.l.Version {
		return 0, vaultstore.ErrCASConflict
	}
	m.writes++
	m.l = *l
	m.l.Version = cas + 1
	return m.l.Version, nil
}

func TestMarkWritesOnlyWhatItMarks(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	mine := vaultstore.LedgerEntry{Key: "reminder/c/30d", Channel: "security", ClaimedAt: now.Add(-time.Minute), ClaimedBy: "a", ClaimNonce: "n1"}
	theirs := mine
	theirs.ClaimedAt, theirs.ClaimedBy, theirs.ClaimNonce = now, "b", "n2"
	for _, tc := range []struct {
		name       string
		held       vaultstore.LedgerEntry
		interfere  int
		wantWrites int
		wantSent   bool
		wantErr    bool
	}{
		{"its own claim is marked sent", mine, 0, 1, true, false},
		{"another writer first: it reads again and marks", mine, 1, 1, true, false},
		{"a claim taken over by another replica is left to it, unwritten", theirs, 0, 0, false, false},
		{"a ledger that keeps changing is not marked", mine, 3, 0, false, true},
	} {
		store := &memLedger{l: vaultstore.Ledger{Version: 4, Entries: []vaultstore.LedgerEntry{tc.held}}, interfere: tc.interfere}
		p := &Pipeline{Ledger: store}
		err := p.mark(context.Background(), "c", now, item{entry: mine, channel: "security"}, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: mark: %v", tc.name, err)
		}
		if store.writes != tc.wantWrites {
			t.Errorf("%s: %d writes of the ledger, want %d", tc.name, store.writes, tc.wantWrites)
		}
		if sent := !store.l.Entries[0].SentAt.IsZero(); sent != tc.wantSent {
			t.Errorf("%s: the entry is sent: %v, want %v", tc.name, sent, tc.wantSent)
		}
	}
}

func TestUpdateLedgerWritesNothingWhenNothingChanges(t *testing.T) {
	store := &memLedger{}
	p := &Pipeline{Ledger: store}
	wrote, err := p.updateLedger(context.Background(), "c", func(*vaultstore.Ledger) *vaultstore.Ledger { return nil })
	if wrote || err != nil || store.writes != 0 {
		t.Errorf("an unchanged ledger: wrote %v, %v, %d writes", wrote, err, store.writes)
	}
	wrote, err = p.updateLedger(context.Background(), "c", func(l *vaultstore.Ledger) *vaultstore.Ledger {
		return &vaultstore.Ledger{Entries: []vaultstore.LedgerEntry{{Key: "k", Channel: "security"}}}
	})
	if !wrote || err != nil || store.writes != 1 {
		t.Fatalf("a new ledger: wrote %v, %v, %d writes", wrote, err, store.writes)
	}
	if held, _ := p.Held(context.Background(), "c"); held.Version != 1 || len(held.Entries) != 1 {
		t.Errorf("the pipeline holds %+v, want what it wrote at version 1", held)
	}
	store.interfere = 3
	_, err = p.updateLedger(context.Background(), "c", func(l *vaultstore.Ledger) *vaultstore.Ledger {
		return &vaultstore.Ledger{Entries: l.Entries}
	})
	if !errors.Is(err, errLedgerKeptChanging) {
		t.Errorf("a ledger changed before every write: %v", err)
	}
}
