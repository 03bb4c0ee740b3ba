package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// MarkTimeout bounds marking sent notices in the ledger, apart from the
// deadline of the check that sent them.
const MarkTimeout = 10 * time.Second

// LedgerKeep is how many entries ledger/NAME keeps.
const LedgerKeep = 100

// Notifications sends the notices policies.Due decides, through the
// channels, with ledger/NAME in Vault as the record: a notice is claimed
// (check-and-set) before it is sent and marked sent after, so that it is
// delivered at least once and, but for a crash between the send and the
// mark, exactly once, across restarts and replicas. A claim older than
// ClaimTimeout whose send was never confirmed is retried, and so is a
// failed send, on later ticks, until it succeeds or a nearer notice
// supersedes it.
type Notifications struct {
	Store    *vaultstore.Store
	Config   *policies.Config
	Channels map[string]notify.Notifier
	Logger   *slog.Logger
	// Replica names this process in claims.
	Replica string
	// ClaimTimeout: a claim older than this, never marked sent, is retried (default 5m).
	ClaimTimeout time.Duration
	// Since is when this process started. A claim under its own Replica
	// made before then is a previous process's, killed before it marked the
	// send: it is retried at once, not after ClaimTimeout. (Two live
	// processes never share a replica ID: the leader lease depends on it.)
	Since time.Time
	// SendTimeout bounds one notice's delivery, retries included (default 30s).
	SendTimeout time.Duration
	// Observe, when set, hears of every delivery through a channel, its
	// retries done: err nil is a delivery (for metrics).
	Observe func(channel, kind string, err error, at time.Time)

	mu      sync.Mutex
	ledgers map[string]*vaultstore.Ledger // as last read or written by this replica
	// unmarked are the notices this process delivered whose mark did not
	// reach Vault (Vault unreachable or slow just then), by ledger key and
	// channel: the next tick marks them instead of sending them again.
	// Only a crash loses this memory, and with it the promise.
	unmarked map[string]time.Time
	// silences are silences/*, as last read (RefreshSilences).
	silences map[string]*vaultstore.Silence

	// A test's hooks, to crash between a claim and its send, and between a
	// send and its mark, and to know which sends were marked.
	afterClaim, afterSend, afterMark func(key string)
}

func (n *Notifications) claimTimeout() time.Duration {
	if n.ClaimTimeout > 0 {
		return n.ClaimTimeout
	}
	return 5 * time.Minute
}

// unsent reports whether ledger/NAME holds a notice not yet sent nor
// superseded: one whose send failed, or whose claimer died before
// sending. Reading it warms the ledger for the tick that follows.
func (n *Notifications) unsent(ctx context.Context, name string) (bool, error) {
	l, err := n.ledger(ctx, name)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(l.Entries, func(e vaultstore.LedgerEntry) bool { return e.SentAt.IsZero() && !e.Superseded }), nil
}

// RefreshSilences reads every silence from Vault: one list request, and a
// read for each silence there is. The daemon does it with each lease
// renewal, so a silence set with the CLI holds within a third of the
// lease's life.
func (n *Notifications) RefreshSilences(ctx context.Context) error {
	all, err := n.Store.ListSilences(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.silences = all
	n.mu.Unlock()
	return nil
}

func (n *Notifications) silence(name string) *vaultstore.Silence {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.silences[name]
}

// Forget drops what this replica remembers of the ledgers (after it lost
// and regained the lease, say): the next tick reads them from Vault.
func (n *Notifications) Forget() {
	n.mu.Lock()
	n.ledgers = nil
	n.mu.Unlock()
}

// CredentialFacts are what a tick needs to know of a credential.
type CredentialFacts struct {
	Name        string
	Environment string
	Provider    string
	RotateBy    time.Time
	// Rotation is the rotation policy its metadata in Vault names.
	Rotation string
	State    vaultstore.State
}

type sendItem struct {
	entry  vaultstore.LedgerEntry
	notice notify.Notice
}

// Setup is one configuration and the channels built from it: what a tick
// decides and sends by, taken once so that a reload never splits a tick.
type Setup struct {
	Config   *policies.Config
	Channels map[string]notify.Notifier
}

// Tick sends the notices due for one credential at now, under the
// notifications' current configuration. In steady state, when nothing is
// due, it sends no request to Vault.
func (n *Notifications) Tick(ctx context.Context, f CredentialFacts, now time.Time) error {
	return n.TickUnder(ctx, n.setup(), f, now)
}

// TickUnder is Tick under a given setup: the daemon's snapshot of the
// configuration its check ran under.
func (n *Notifications) TickUnder(ctx context.Context, s Setup, f CredentialFacts, now time.Time) error {
	for attempt := 0; attempt < 3; attempt++ {
		l, err := n.ledger(ctx, f.Name)
		if err != nil {
			return err
		}
		next, items, marked, superseded := n.plan(s.Config, l, f, now)
		if len(items) == 0 && len(marked) == 0 && !superseded {
			return nil
		}
		v, err := n.Store.PutLedger(ctx, f.Name, next, l.Version)
		if errors.Is(err, vaultstore.ErrCASConflict) {
			n.drop(f.Name) // another replica claimed first: look again
			continue
		}
		if err != nil {
			return err
		}
		next.Version = v
		n.keep(f.Name, next)
		n.forgetUnmarked(marked)
		for _, k := range marked {
			if n.afterMark != nil {
				n.afterMark(strings.SplitN(k, "\x00", 2)[0])
			}
		}
		if len(items) == 0 {
			return nil
		}
		return n.send(ctx, s.Channels, f.Name, items, now)
	}
	return fmt.Errorf("ledger/%s kept changing under this replica; the notices will be tried on the next tick", f.Name)
}

// plan returns the ledger with the claims of this tick, what to send, the
// sends of this process it marks now that an earlier mark failed, and
// whether it set aside unsent reminders of a deadline that has passed on.
func (n *Notifications) plan(cfg *policies.Config, l *vaultstore.Ledger, f CredentialFacts, now time.Time) (next *vaultstore.Ledger, items []sendItem, marked []string, superseded bool) {
	next = &vaultstore.Ledger{Entries: slices.Clone(l.Entries), Incidents: slices.Clone(l.Incidents)}
	n.mu.Lock()
	for i := range next.Entries {
		e := &next.Entries[i]
		if at, ok := n.unmarked[unmarkedKey(e.Key, e.Channel)]; ok && e.SentAt.IsZero() {
			e.SentAt, e.LastError = at, ""
			marked = append(marked, unmarkedKey(e.Key, e.Channel))
		}
	}
	n.mu.Unlock()
	claim := func(e *vaultstore.LedgerEntry) {
		e.ClaimedAt, e.ClaimedBy = now, n.Replica
		e.Attempts++
		var nt notify.Notice
		_ = json.Unmarshal(e.Notice, &nt)
		items = append(items, sendItem{entry: *e, notice: nt})
	}

	due := policies.Due(n.input(cfg, next, f, now))
	for _, d := range due {
		nt := notify.Compose(d, notify.About{Credential: f.Name, Environment: f.Environment, Provider: f.Provider, Deadline: f.RotateBy, Class: f.State.LastClass, ConsecutiveFailures: f.State.ConsecutiveFailures}, now)
		payload, _ := json.Marshal(nt)
		if d.Kind == policies.NoticeReminder || d.Kind == policies.NoticeOverdue {
			supersede(next, f.Name, d.Key)
		}
		switch d.Kind {
		case policies.NoticeIncident, policies.NoticeOps:
			next.Incidents = append(next.Incidents, vaultstore.Incident{Key: d.Key, Class: d.Class, OpenedAt: now})
		case policies.NoticeResolve:
			next.Incidents = slices.DeleteFunc(next.Incidents, func(i vaultstore.Incident) bool { return i.Key == d.Resolves })
		}
		for _, ch := range d.Channels {
			next.Entries = append(next.Entries, vaultstore.LedgerEntry{Key: d.Key, Channel: ch, Notice: payload})
			claim(&next.Entries[len(next.Entries)-1])
		}
	}
	// Earlier sends that failed, or whose claim lapsed unconfirmed.
	timeout := n.claimTimeout()
	current := "reminder/" + f.Name + "/" + dates.Format(f.RotateBy) + "/"
	for i := range next.Entries {
		e := &next.Entries[i]
		if !e.SentAt.IsZero() || e.Superseded || slices.ContainsFunc(items, func(it sendItem) bool { return it.entry.Key == e.Key && it.entry.Channel == e.Channel }) {
			continue
		}
		if strings.HasPrefix(e.Key, "reminder/"+f.Name+"/") && !f.RotateBy.IsZero() && !strings.HasPrefix(e.Key, current) {
			e.Superseded, superseded = true, true // about a deadline the credential no longer has: it was rotated
			continue
		}
		if e.ClaimedAt.IsZero() || now.Sub(e.ClaimedAt) >= timeout || n.predecessors(e) {
			claim(e)
		}
	}
	if len(next.Entries) > LedgerKeep {
		next.Entries = next.Entries[len(next.Entries)-LedgerKeep:]
	}
	return next, items, marked, superseded
}

// predecessors reports whether e was claimed by this replica's previous
// process.
func (n *Notifications) predecessors(e *vaultstore.LedgerEntry) bool {
	return e.ClaimedBy == n.Replica && !n.Since.IsZero() && e.ClaimedAt.Before(n.Since)
}

func unmarkedKey(key, channel string) string { return key + "\x00" + channel }

func (n *Notifications) rememberUnmarked(key, channel string, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unmarked == nil {
		n.unmarked = map[string]time.Time{}
	}
	n.unmarked[unmarkedKey(key, channel)] = at
}

func (n *Notifications) forgetUnmarked(keys []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range keys {
		delete(n.unmarked, k)
	}
}

// supersede marks unsent reminders of the same credential as replaced.
func supersede(l *vaultstore.Ledger, name, by string) {
	prefix := "reminder/" + name + "/"
	for i := range l.Entries {
		e := &l.Entries[i]
		if strings.HasPrefix(e.Key, prefix) && e.Key != by && e.SentAt.IsZero() {
			e.Superseded = true
		}
	}
}

func (n *Notifications) setup() Setup {
	n.mu.Lock()
	defer n.mu.Unlock()
	return Setup{Config: n.Config, Channels: n.Channels}
}

// input gathers the decision's inputs from the config, the facts and the ledger.
func (n *Notifications) input(cfg *policies.Config, l *vaultstore.Ledger, f CredentialFacts, now time.Time) policies.NoticeInput {
	in := policies.NoticeInput{Credential: f.Name, Environment: f.Environment, RotateBy: f.RotateBy,
		LastClass: f.State.LastClass, ConsecutiveFailures: f.State.ConsecutiveFailures,
		PageEnvironments: cfg.Notifications.PageEnvironments, OpsAfter: cfg.Notifications.OpsAfter, PageOps: cfg.Notifications.PageOps,
		Sent: map[string]bool{}, Now: now}
	if decl, ok := cfg.Credential(f.Name); ok {
		in.Notify, in.Page = decl.Notify, decl.Page
	}
	in.Policy = cfg.RotationPolicyFor(f.Name, f.Rotation)
	if si := n.silence(f.Name); si != nil {
		in.SilencedUntil, in.SilencedKinds = si.Until, si.Kinds
	}
	for _, e := range l.Entries {
		if strings.HasPrefix(e.Key, "reminder/") {
			in.Sent[e.Key] = true
		}
	}
	for _, i := range l.Incidents {
		in.Open = append(in.Open, i.Key)
	}
	return in
}

// send delivers the claimed items and records the outcome, re-reading the
// ledger when another writer changed it meanwhile.
func (n *Notifications) send(ctx context.Context, channels map[string]notify.Notifier, name string, items []sendItem, now time.Time) error {
	errs := make([]error, len(items))
	for i, it := range items {
		if n.afterClaim != nil {
			n.afterClaim(it.entry.Key)
		}
		errs[i] = n.deliver(ctx, channels, it.entry.Channel, it.notice, now)
		if errs[i] == nil {
			n.rememberUnmarked(it.entry.Key, it.entry.Channel, now)
			n.logger().Info("notice sent", "credential", name, "key", it.entry.Key, "channel", it.entry.Channel)
			if n.afterSend != nil {
				n.afterSend(it.entry.Key)
			}
		}
	}
	// What was sent is marked on a deadline of its own: a channel slow
	// enough to outlast the check must not leave a sent notice unmarked,
	// to be sent again as a duplicate.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), MarkTimeout)
	defer cancel()
	for attempt := 0; attempt < 3; attempt++ {
		l, err := n.ledger(ctx, name)
		if err != nil {
			return err
		}
		next := &vaultstore.Ledger{Entries: slices.Clone(l.Entries), Incidents: slices.Clone(l.Incidents)}
		for i, it := range items {
			for j := range next.Entries {
				e := &next.Entries[j]
				if e.Key != it.entry.Key || e.Channel != it.entry.Channel || e.ClaimedBy != n.Replica || !e.SentAt.IsZero() {
					continue
				}
				if errs[i] == nil {
					e.SentAt, e.LastError = now, ""
				} else {
					e.ClaimedAt, e.LastError = time.Time{}, errs[i].Error()
				}
			}
		}
		v, err := n.Store.PutLedger(ctx, name, next, l.Version)
		if errors.Is(err, vaultstore.ErrCASConflict) {
			n.drop(name)
			continue
		}
		if err != nil {
			return err
		}
		next.Version = v
		n.keep(name, next)
		for i, it := range items {
			if errs[i] == nil {
				n.forgetUnmarked([]string{unmarkedKey(it.entry.Key, it.entry.Channel)})
				if n.afterMark != nil {
					n.afterMark(it.entry.Key)
				}
			}
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("ledger/%s: the sends were not marked; they may be repeated once", name)
}

func (n *Notifications) ledger(ctx context.Context, name string) (*vaultstore.Ledger, error) {
	n.mu.Lock()
	l := n.ledgers[name]
	n.mu.Unlock()
	if l != nil {
		return l, nil
	}
	l, err := n.Store.GetLedger(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		l, err = noLedger, nil
	}
	if err != nil {
		return nil, err
	}
	n.keep(name, l)
	return l, nil
}

// noLedger is every credential's ledger until its first notice: one
// value, read only (plan copies before it changes anything), so that
// thousands of quiet credentials cost a map entry each.
var noLedger = &vaultstore.Ledger{}

func (n *Notifications) keep(name string, l *vaultstore.Ledger) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ledgers == nil {
		n.ledgers = map[string]*vaultstore.Ledger{}
	}
	n.ledgers[name] = l
}

func (n *Notifications) drop(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.ledgers, name)
}

func (n *Notifications) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Logger
}

// Announce sends a notice outside the ladder (a test, a rotation) to the
// named channels at once, without the ledger.
func (n *Notifications) Announce(ctx context.Context, channels []string, nt notify.Notice) error {
	all := n.setup().Channels
	var errs []error
	for _, ch := range channels {
		errs = append(errs, n.deliver(ctx, all, ch, nt, nt.At))
	}
	return errors.Join(errs...)
}

// deliver sends one notice through one channel, retries included, within
// SendTimeout, and tells Observe of it as of now: a notice retried after an
// outage was delivered now, not when it fell due.
func (n *Notifications) deliver(ctx context.Context, all map[string]notify.Notifier, channel string, nt notify.Notice, now time.Time) error {
	nf, ok := all[channel]
	if !ok {
		return fmt.Errorf("no notifier named %q", channel)
	}
	timeout := n.SendTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := notify.Send(ctx, nf, channel, nt, n.logger())
	if n.Observe != nil {
		n.Observe(channel, nt.Kind, err, now)
	}
	return err
}

// SetConfig switches to a reloaded configuration and its channels.
func (n *Notifications) SetConfig(cfg *policies.Config, channels map[string]notify.Notifier) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.Config, n.Channels = cfg, channels
}
