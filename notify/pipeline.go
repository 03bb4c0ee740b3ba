package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// LedgerStore keeps each credential's ledger (ledger/NAME in Vault) with
// check-and-set: *vaultstore.Store is one. PutLedger answers
// vaultstore.ErrCASConflict when another writer came first, GetLedger
// vaultstore.ErrNotFound when the credential has none yet.
type LedgerStore interface {
	GetLedger(ctx context.Context, name string) (*vaultstore.Ledger, error)
	PutLedger(ctx context.Context, name string, l *vaultstore.Ledger, cas int) (int, error)
}

// Due is one notice the daemon's decision found due: what the decide
// stage is fed. notify does not decide what is due; it delivers it.
type Due struct {
	Key      string
	Kind     string // KindReminder, KindOverdue, KindIncident, KindOps, KindResolve
	Channels []string
	Page     bool   // page on-call where the channel pages
	DaysLeft int    // whole calendar days to the deadline (negative when past)
	Class    string // the class behind an incident or ops notice
	Resolves string // for a resolve, the key it closes
	// Supersedes, when set, is a key prefix: unsent notices under it,
	// but for this one, are set aside (a nearer reminder tier replaces a
	// farther one that never went out).
	Supersedes string
}

// DecideFunc is the decision, taken as an input: what is due for the
// credential now, given its ledger (what was claimed or sent, what
// incidents are open). It must not change the ledger.
type DecideFunc func(l *vaultstore.Ledger) []Due

// Silence holds a credential's notices of some kinds back until a time.
type Silence struct {
	Until time.Time
	Kinds []string
}

// Round is one credential's delivery at one moment: what the daemon
// feeds the pipeline after a check.
type Round struct {
	Credential string
	Now        time.Time
	About      About // what the notices are about, for their wording
	Decide     DecideFunc
	Silence    Silence
	// Stale reports whether an unsent notice of the ledger is about what
	// no longer holds (a reminder of a deadline the credential no longer
	// has): it is set aside, never sent. Nil: none is.
	Stale func(key string) bool
	// Channels are the notifiers by name, as configured for this round.
	Channels map[string]Notifier
}

// Hooks are a test's: called after each claimed notice's claim (before
// its send), after each delivery (before its mark) and after each mark.
type Hooks struct {
	AfterClaim, AfterSend, AfterMark func(key string)
}

// Pipeline delivers notices through the stages, one file each: silence
// (silence.go), decide (decide.go), claim (claim.go), send per channel with
// its own deadline and retries (send.go, retry.go), and mark (mark.go). Its
// fields are set before first use and not changed after.
type Pipeline struct {
	Ledger LedgerStore
	// Clock is what the retry stage waits on and deadlines are kept by
	// (required).
	Clock clockwork.Clock
	// Replica names this process in claims, and Nonce (the lease's
	// per-process nonce) tells this process from another under the same
	// Replica.
	Replica, Nonce string
	// Since is when this process started: a claim under its own Replica
	// and another Nonce made before then is a stopped predecessor's,
	// retried at once.
	Since time.Time
	// ClaimTimeout: a claim older than this, never marked sent, is
	// retried (default 5m).
	ClaimTimeout time.Duration
	// SendTimeout bounds one notice's delivery through one channel,
	// retries included (default 30s). Each channel has its own.
	SendTimeout time.Duration
	// MarkTimeout bounds marking one delivery in the ledger (default 10s).
	MarkTimeout time.Duration
	Logger      *slog.Logger
	// Observe, when set, hears of every delivery through a channel, its
	// retries done: err nil is a delivery (for metrics), at the round's now.
	Observe func(channel, kind string, err error, at time.Time)
	Hooks   Hooks

	mu      sync.Mutex
	ledgers map[string]*vaultstore.Ledger // as last read or written by this replica
	// unmarked are the claims this process delivered whose mark did not
	// reach Vault: the next round marks that very claim, if the ledger
	// still holds it unsent, instead of sending it again. Only a crash
	// loses this memory.
	unmarked map[claimID]time.Time
	// writing serialises this process's ledger writes per credential, so
	// that its own marks and claims never conflict with each other.
	writing map[string]*sync.Mutex
	// inFlight counts, by credential and channel, this process's
	// deliveries of claimed notices not yet done: such a channel gets no
	// new claim of the credential until they are (claim.go).
	inFlight map[flightKey]int
	all      sync.WaitGroup // every delivery in flight
	traffic  traffic
}

// DefaultClaimTimeout, DefaultSendTimeout and DefaultMarkTimeout are the
// Pipeline's defaults.
const (
	DefaultClaimTimeout = 5 * time.Minute
	DefaultSendTimeout  = 30 * time.Second
	DefaultMarkTimeout  = 10 * time.Second
)

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Pipeline) claimTimeout() time.Duration {
	if p.ClaimTimeout > 0 {
		return p.ClaimTimeout
	}
	return DefaultClaimTimeout
}

func (p *Pipeline) sendTimeout() time.Duration {
	if p.SendTimeout > 0 {
		return p.SendTimeout
	}
	return DefaultSendTimeout
}

func (p *Pipeline) markTimeout() time.Duration {
	if p.MarkTimeout > 0 {
		return p.MarkTimeout
	}
	return DefaultMarkTimeout
}

// Delivery is a round's (or an announcement's) deliveries in flight.
type Delivery struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (d *Delivery) fail(err error) {
	d.mu.Lock()
	d.errs = append(d.errs, err)
	d.mu.Unlock()
}

// Wait waits until every channel of the delivery has finished (delivered
// and marked, or given up), and returns what failed. A nil Delivery has
// nothing to wait for.
func (d *Delivery) Wait() error {
	if d == nil {
		return nil
	}
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.errs...)
}

// Deliver runs a round: silence, decide and claim under ctx (the claim is
// written to the ledger before Deliver returns), then each claimed notice
// is sent through its channel on its own, under base, with its own
// deadline and retries, and marked on its own. Deliver does not wait for
// the sends: Wait on the Delivery does.
func (p *Pipeline) Deliver(ctx, base context.Context, r Round) (*Delivery, error) {
	items, err := p.claim(ctx, r)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return p.send(base, r.Credential, r.Now, items, r.Channels), nil
}

// Announce sends nt to the named channels at once, each on its own with
// its own deadline and retries, outside the ledger.
func (p *Pipeline) Announce(base context.Context, names []string, channels map[string]Notifier, nt Notice) *Delivery {
	items := make([]item, 0, len(names))
	for _, ch := range names {
		items = append(items, item{channel: ch, notice: nt})
	}
	return p.send(base, "", nt.At, items, channels)
}

// Wait waits for every delivery in flight.
func (p *Pipeline) Wait() { p.all.Wait() }

// Forget drops what this replica remembers of the ledgers (after it lost
// and regained the lease, say): the next round reads them from Vault.
func (p *Pipeline) Forget() {
	p.mu.Lock()
	p.ledgers = nil
	p.mu.Unlock()
}

// Unsent reports whether the credential's ledger holds a notice not yet
// sent nor superseded: one whose send failed or is still under way, or
// whose claimer died before sending. Reading it warms the ledger.
func (p *Pipeline) Unsent(ctx context.Context, name string) (bool, error) {
	l, err := p.ledger(ctx, name)
	if err != nil {
		return false, err
	}
	return Unsent(l), nil
}

// Unsent reports whether l holds a notice not yet sent nor superseded.
func Unsent(l *vaultstore.Ledger) bool {
	for _, e := range l.Entries {
		if e.SentAt.IsZero() && !e.Superseded {
			return true
		}
	}
	return false
}

// Held is the credential's ledger as the pipeline holds it (read from
// Vault when it holds none), to be read only: the stages copy before they
// change anything.
func (p *Pipeline) Held(ctx context.Context, name string) (*vaultstore.Ledger, error) {
	return p.ledger(ctx, name)
}

func (p *Pipeline) ledger(ctx context.Context, name string) (*vaultstore.Ledger, error) {
	p.mu.Lock()
	l := p.ledgers[name]
	p.mu.Unlock()
	if l != nil {
		return l, nil
	}
	l, err := p.Ledger.GetLedger(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		l, err = noLedger, nil
	}
	if err != nil {
		return nil, err
	}
	p.keep(name, l)
	return l, nil
}

// noLedger is every credential's ledger until its first notice: one
// value, read only (the claim stage copies before it changes anything),
// so that thousands of quiet credentials cost a map entry each.
var noLedger = &vaultstore.Ledger{}

func (p *Pipeline) keep(name string, l *vaultstore.Ledger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ledgers == nil {
		p.ledgers = map[string]*vaultstore.Ledger{}
	}
	p.ledgers[name] = l
}

func (p *Pipeline) drop(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ledgers, name)
}

// writer is the lock on this process's writes of name's ledger.
func (p *Pipeline) writer(name string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.writing == nil {
		p.writing = map[string]*sync.Mutex{}
	}
	m := p.writing[name]
	if m == nil {
		m = &sync.Mutex{}
		p.writing[name] = m
	}
	return m
}

// claimID names one claim of a ledger entry: the notice, the channel,
// and when and by whom it was claimed. A notice key is reused (an incident
// that reopens), so what this process remembers of a delivery applies to
// that very claim and never to a later one of the same key.
type claimID struct {
	key, channel, by, nonce string
	at                      int64 // the claim's time, in Unix nanoseconds
}

func claimOf(e vaultstore.LedgerEntry) claimID {
	return claimID{key: e.Key, channel: e.Channel, by: e.ClaimedBy, nonce: e.ClaimNonce, at: e.ClaimedAt.UnixNano()}
}

func (p *Pipeline) rememberUnmarked(e vaultstore.LedgerEntry, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unmarked == nil {
		p.unmarked = map[claimID]time.Time{}
	}
	p.unmarked[claimOf(e)] = at
}

func (p *Pipeline) forgetUnmarked(e vaultstore.LedgerEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.unmarked, claimOf(e))
}

func (p *Pipeline) unmarkedAt(e vaultstore.LedgerEntry) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.unmarked[claimOf(e)]
	return at, ok
}

// flightKey names a credential's notices through one channel.
type flightKey struct{ credential, channel string }

// takeOff records the claimed items' channels as in flight, before the
// claim stage lets go of the credential's ledger; land ends each.
func (p *Pipeline) takeOff(name string, items []item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inFlight == nil {
		p.inFlight = map[flightKey]int{}
	}
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.channel] {
			seen[it.channel] = true
			p.inFlight[flightKey{name, it.channel}]++
		}
	}
}

func (p *Pipeline) land(name, channel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := flightKey{name, channel}
	if p.inFlight[k]--; p.inFlight[k] <= 0 {
		delete(p.inFlight, k)
	}
}

// busy reports whether this process is delivering name's notices through
// channel.
func (p *Pipeline) busy(name, channel string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight[flightKey{name, channel}] > 0
}
