package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// LedgerKeep is how many entries ledger/NAME keeps: trim drops the
// entries no decision reads any more first, so that the cap never drops
// the record of a notice that would then be sent again.
const LedgerKeep = 100

// item is one notice to send through one channel: a ledger entry claimed,
// or (entry zero) an announcement outside the ledger.
type item struct {
	entry   vaultstore.LedgerEntry
	channel string
	notice  Notice
}

// claim is the claim stage: it runs silence and decide on the ledger as
// this replica knows it, and writes the claims (with check-and-set)
// before anything is sent, so that of several replicas one sends each
// notice. Another writer first: it reads the ledger again and decides
// again. It returns what to send.
func (p *Pipeline) claim(ctx context.Context, r Round) ([]item, error) {
	muted := silenced(r.Silence, r.Now)
	w := p.writer(r.Credential)
	w.Lock()
	defer w.Unlock()
	var items []item
	var marked []vaultstore.LedgerEntry
	written, err := p.updateLedger(ctx, r.Credential, func(l *vaultstore.Ledger) *vaultstore.Ledger {
		var next *vaultstore.Ledger
		var changed bool
		next, items, marked, changed = p.plan(r, l, decide(r, l, muted))
		if !changed {
			return nil
		}
		return next
	})
	if errors.Is(err, errLedgerKeptChanging) {
		return nil, fmt.Errorf("ledger/%s kept changing under this replica; the notices will be tried on the next round", r.Credential)
	}
	if err != nil || !written {
		return nil, err
	}
	p.takeOff(r.Credential, items)
	for _, e := range marked {
		p.forgetUnmarked(e)
		if p.Hooks.AfterMark != nil {
			p.Hooks.AfterMark(e.Key)
		}
	}
	return items, nil
}

// errLedgerKeptChanging: another writer changed the ledger before each of
// updateLedger's writes.
var errLedgerKeptChanging = errors.New("the ledger kept changing")

// updateLedger is the one read, change and check-and-set write of a
// credential's ledger, for the claim and mark stages; the caller holds
// p.writer(name). change builds the next ledger from a read one (which it
// must not modify), or returns nil when there is nothing to write. Another
// writer first, the ledger is read again from Vault and changed again, up
// to three times, then errLedgerKeptChanging. It reports whether it wrote;
// what it wrote becomes the ledger this process holds.
func (p *Pipeline) updateLedger(ctx context.Context, name string, change func(*vaultstore.Ledger) *vaultstore.Ledger) (bool, error) {
	for attempt := 0; attempt < 3; attempt++ {
		l, err := p.ledger(ctx, name)
		if err != nil {
			return false, err
		}
		next := change(l)
		if next == nil {
			return false, nil
		}
		v, err := p.Ledger.PutLedger(ctx, name, next, l.Version)
		if errors.Is(err, vaultstore.ErrCASConflict) {
			p.drop(name) // another writer came first: look again
			continue
		}
		if err != nil {
			return false, err
		}
		next.Version = v
		p.keep(name, next)
		return true, nil
	}
	return false, errLedgerKeptChanging
}

// plan returns the ledger with this round's claims, what to send, the
// earlier sends of this process it marks now (their mark failed), and
// whether anything changed.
//
// A channel this process is still delivering the credential's notices
// through gets no new claim: what is due for it is written unclaimed, and
// a later round claims it once the channel is free, so that a slow or
// failing channel never has two deliveries of one credential at once nor
// a notice sent twice by one process. And a round claims for each channel
// no more notices than can start before their claims lapse (each takes up
// to SendTimeout, and MarkTimeout to mark): the rest wait unclaimed, and
// no claim looks lapsed while its notice is still queued behind others.
func (p *Pipeline) plan(r Round, l *vaultstore.Ledger, due []Due) (next *vaultstore.Ledger, items []item, marked []vaultstore.LedgerEntry, changed bool) {
	next = &vaultstore.Ledger{Entries: slices.Clone(l.Entries), Incidents: slices.Clone(l.Incidents)}
	marked = p.markUnmarked(next)
	c := &claimer{p: p, r: r, perChannel: p.claimsPerChannel(), claimed: map[string]int{}}
	appended := c.appendDue(next, due)
	superseded := c.reclaimEarlier(next)
	next.Entries = trim(next, r.Stale)
	return next, c.items, marked, appended || len(c.items) > 0 || len(marked) > 0 || superseded
}

// markUnmarked marks sent the entries of l this process sent earlier
// whose mark failed, and returns them.
func (p *Pipeline) markUnmarked(l *vaultstore.Ledger) (marked []vaultstore.LedgerEntry) {
	for i := range l.Entries {
		e := &l.Entries[i]
		if at, ok := p.unmarkedAt(*e); ok && e.SentAt.IsZero() {
			e.SentAt, e.LastError = at, ""
			marked = append(marked, *e)
		}
	}
	return marked
}

// claimer claims a round's notices, no more per channel than perChannel,
// and gathers what to send.
type claimer struct {
	p          *Pipeline
	r          Round
	perChannel int
	claimed    map[string]int
	items      []item
}

// mayClaim reports whether a notice of channel may be claimed now: the
// channel has room left this round and is not delivering the credential's
// notices already.
func (c *claimer) mayClaim(channel string) bool {
	return c.claimed[channel] < c.perChannel && !c.p.busy(c.r.Credential, channel)
}

// claim marks e claimed by this process now and queues it for sending.
func (c *claimer) claim(e *vaultstore.LedgerEntry) {
	c.claimed[e.Channel]++
	e.ClaimedAt, e.ClaimedBy, e.ClaimNonce = c.r.Now, c.p.Replica, c.p.Nonce
	e.Attempts++
	var nt Notice
	_ = json.Unmarshal(e.Notice, &nt)
	c.items = append(c.items, item{entry: *e, channel: e.Channel, notice: nt})
}

// appendDue writes the due notices into l, one entry per channel,
// opening and closing their incidents and setting aside what they
// supersede, and claims those it may. It reports whether it appended any.
func (c *claimer) appendDue(l *vaultstore.Ledger, due []Due) (appended bool) {
	for _, d := range due {
		payload, _ := json.Marshal(Compose(d, c.r.About, c.r.Now))
		if d.Supersedes != "" {
			supersede(l, d.Supersedes, d.Key)
		}
		switch d.Kind {
		case KindIncident, KindOps:
			l.Incidents = append(l.Incidents, vaultstore.Incident{Key: d.Key, Class: d.Class, OpenedAt: c.r.Now})
		case KindResolve:
			l.Incidents = slices.DeleteFunc(l.Incidents, func(i vaultstore.Incident) bool { return i.Key == d.Resolves })
		}
		for _, ch := range d.Channels {
			l.Entries = append(l.Entries, vaultstore.LedgerEntry{Key: d.Key, Channel: ch, Notice: payload})
			appended = true
			if c.mayClaim(ch) {
				c.claim(&l.Entries[len(l.Entries)-1])
			}
		}
	}
	return appended
}

// reclaimEarlier claims again the earlier sends that failed, or whose
// claim lapsed unconfirmed, and sets aside those gone stale. It reports
// whether it set any aside.
func (c *claimer) reclaimEarlier(l *vaultstore.Ledger) (superseded bool) {
	timeout := c.p.claimTimeout()
	for i := range l.Entries {
		e := &l.Entries[i]
		if !e.SentAt.IsZero() || e.Superseded || c.queued(e) {
			continue
		}
		if c.r.Stale != nil && c.r.Stale(e.Key) {
			e.Superseded, superseded = true, true
			continue
		}
		if (e.ClaimedAt.IsZero() || c.r.Now.Sub(e.ClaimedAt) >= timeout || c.p.predecessors(e)) && c.mayClaim(e.Channel) {
			c.claim(e)
		}
	}
	return superseded
}

// queued reports whether e was claimed for sending in this round.
func (c *claimer) queued(e *vaultstore.LedgerEntry) bool {
	return slices.ContainsFunc(c.items, func(it item) bool { return it.entry.Key == e.Key && it.channel == e.Channel })
}

// claimsPerChannel is how many notices one round claims for one channel:
// as many as can start, one after another, before their claims lapse.
func (p *Pipeline) claimsPerChannel() int {
	return max(1, int(p.claimTimeout()/(p.sendTimeout()+p.markTimeout())))
}

// predecessors reports whether e was claimed by this replica's previous
// process: under its replica ID, by another process (another nonce; a
// claim that names none is an older process's), before this one started.
// This process's own claims are never its predecessor's, whatever their
// time.
func (p *Pipeline) predecessors(e *vaultstore.LedgerEntry) bool {
	return e.ClaimedBy == p.Replica && (p.Nonce == "" || e.ClaimNonce != p.Nonce) && !p.Since.IsZero() && e.ClaimedAt.Before(p.Since)
}

// supersede sets aside unsent notices under prefix, but for the one by.
func supersede(l *vaultstore.Ledger, prefix, by string) {
	for i := range l.Entries {
		e := &l.Entries[i]
		if strings.HasPrefix(e.Key, prefix) && e.Key != by && e.SentAt.IsZero() {
			e.Superseded = true
		}
	}
}

// Ranks of what trim drops, first to last.
const (
	dropSettled       = iota // a sent or set-aside notice of no open incident nor current reminder (ops, resolve, announcements of the past)
	dropStaleReminder        // a reminder of a deadline the credential no longer has
	dropCurrent              // a current reminder, or a notice of an open incident: dropped only when nothing else is left
	keepUnsent               // claimed or due, not yet sent: never dropped
)

// trim returns l's entries cut to LedgerKeep, in their order. It drops
// the oldest entries of the lowest rank first: settled notices that no
// decision reads (an ops notice and its resolve, long done), then
// reminders of a past deadline, and only then the current reminders and
// the notices of open incidents, which decide what is sent next. An
// unsent notice is never dropped: the ledger may hold more than
// LedgerKeep while they wait.
func trim(l *vaultstore.Ledger, stale func(key string) bool) []vaultstore.LedgerEntry {
	excess := len(l.Entries) - LedgerKeep
	if excess <= 0 {
		return l.Entries
	}
	open := map[string]bool{}
	for _, i := range l.Incidents {
		open[i.Key] = true
	}
	rank := func(e vaultstore.LedgerEntry) int {
		switch {
		case e.SentAt.IsZero() && !e.Superseded:
			return keepUnsent
		case open[e.Key]:
			return dropCurrent
		}
		var nt Notice
		_ = json.Unmarshal(e.Notice, &nt)
		if nt.Kind != KindReminder && nt.Kind != KindOverdue && nt.Kind != KindFollowUp {
			return dropSettled
		}
		if stale != nil && stale(e.Key) || e.Superseded {
			return dropStaleReminder
		}
		return dropCurrent
	}
	order := make([]int, len(l.Entries))
	ranks := make([]int, len(l.Entries))
	for i, e := range l.Entries {
		order[i], ranks[i] = i, rank(e)
	}
	slices.SortStableFunc(order, func(a, b int) int { return ranks[a] - ranks[b] })
	drop := make([]bool, len(l.Entries))
	for _, i := range order[:excess] {
		if ranks[i] != keepUnsent {
			drop[i] = true
		}
	}
	out := make([]vaultstore.LedgerEntry, 0, LedgerKeep)
	for i, e := range l.Entries {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}
