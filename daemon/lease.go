package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// errNoRenewal is why a leader whose renewals stopped succeeding steps down.
var errNoRenewal = errors.New("no renewal in time")

// renewLease takes or renews the leader lease, the run loop's job every
// third of its TTL, and learns which credentials have a staged pair. Its
// error is Vault's, when the lease could not be read or written.
func (d *Daemon) renewLease(ttl time.Duration) error {
	ctx := d.work
	if ctx == nil {
		ctx = context.Background()
	}
	err := d.tryLease(ctx, ttl)
	if d.IsLeader() {
		d.refreshPending(ctx)
		if d.Notices != nil {
			if err := d.Notices.RefreshSilences(ctx); err != nil {
				d.Logger.Warn("silences not read; the last ones read still hold", "error", err)
			}
		}
	}
	return err
}

// renewalDeadline is when this leader must step down unless a renewal
// succeeds first: a slow read followed by a slow write can outlast the
// lease without any renewal failing.
func (d *Daemon) renewalDeadline() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	ttl := d.cfg.Daemon.LeaseTTL
	return d.lastRenewed.Add(ttl - ttl/5)
}

// renewalOverdueNow reports whether this leader's last renewal is too old
// to go on leading.
func (d *Daemon) renewalOverdueNow() bool {
	d.mu.Lock()
	last, ttl := d.lastRenewed, d.cfg.Daemon.LeaseTTL
	d.mu.Unlock()
	return RenewalOverdue(last, d.now(), ttl)
}

// observe notes when, by this replica's clock, the lease record last
// changed, and returns that time.
func (d *Daemon) observe(cur *vaultstore.Lease, now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	version := 0
	if cur != nil {
		version = cur.Version
	}
	if version != d.observedVersion || d.observedAt.IsZero() {
		d.observedVersion, d.observedAt = version, now
	}
	return d.observedAt
}

// refreshPending learns which credentials have a staged pair: one list
// request for all of them, made with each lease renewal.
func (d *Daemon) refreshPending(ctx context.Context) {
	set, err := d.checks().Records().Staged(ctx)
	if err != nil {
		d.Logger.Debug("staged pairs not listed", "error", err)
		return
	}
	d.mu.Lock()
	d.pending = set
	d.mu.Unlock()
}

// tryLease takes or keeps the lease when CanTakeLease allows, and steps
// down when it does not or Vault cannot be reached (whose error it
// returns).
func (d *Daemon) tryLease(ctx context.Context, ttl time.Duration) error {
	now := d.now()
	cur, err := d.Store.GetLease(ctx)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		cur = nil
	case err != nil:
		d.loseLease("the lease could not be read", err)
		return err
	}
	observedAt := d.observe(cur, now)
	nonce := d.processNonce()
	if !CanTakeLease(cur, d.ID, nonce, observedAt, now, ttl) {
		if cur.Holder == d.ID {
			d.warnSharedID()
		}
		d.setLeader(false, cur.Holder)
		return nil
	}
	cas := 0
	if cur != nil {
		cas = cur.Version
	}
	if _, err := d.Store.PutLease(ctx, &vaultstore.Lease{Holder: d.ID, Nonce: nonce, ExpiresAt: now.Add(ttl)}, cas); err != nil {
		if errors.Is(err, vaultstore.ErrCASConflict) {
			d.setLeader(false, "another replica")
			return nil
		}
		d.loseLease("the lease could not be renewed", err)
		return err
	}
	if RenewalOverdue(now, d.now(), ttl) {
		d.loseLease("the renewal took most of the lease's life", errors.New("a slow Vault"))
		return nil
	}
	d.mu.Lock()
	d.lastRenewed = now
	d.mu.Unlock()
	d.setLeader(true, d.ID)
	return nil
}

// processNonce names this process in the lease, beside its replica ID:
// random, made once per process.
func (d *Daemon) processNonce() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nonce == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand's Read never fails
		d.nonce = hex.EncodeToString(b)
	}
	return d.nonce
}

// warnSharedID says, once, that the lease is held under this replica's
// ID by another process: a second process started with the same ID, or
// this one's predecessor, whose lease is taken over once it lapses.
func (d *Daemon) warnSharedID() {
	d.mu.Lock()
	warned := d.sharedIDWarned
	d.sharedIDWarned = true
	d.mu.Unlock()
	if !warned {
		d.Logger.Warn("another process holds the leader lease under this replica's ID: waiting as a standby until its lease lapses; if that process is still running, give each replica its own --replica-id", "replica", d.ID)
	}
}

// loseLease steps down at once: the next renewal would come after a third
// of the TTL, and the lease must not expire while checks still run here.
func (d *Daemon) loseLease(why string, err error) {
	if d.leader.Load() {
		d.Logger.Error("stepping down: "+why, "error", err)
	}
	d.setLeader(false, "")
}

func (d *Daemon) setLeader(leader bool, holder string) {
	if d.leader.Swap(leader) != leader {
		if d.Notices != nil {
			d.Notices.Forget() // another replica may have written the ledgers meanwhile
			d.Notices.lead(leader)
		}
		d.mu.Lock()
		if d.leaderCancel != nil {
			d.leaderCancel() // nothing started as leader outlives the lease
		}
		if leader {
			// Start from Vault, not from what was cached when this replica
			// last led: another leader may have moved state, refusals,
			// published tokens and ledgers meanwhile.
			d.engine.Cache.ForgetVault()
			base := d.work
			if base == nil {
				base = context.Background()
			}
			d.leaderCtx, d.leaderCancel = context.WithCancel(base)
		} else {
			d.leaderCtx, d.leaderCancel = nil, nil
		}
		d.mu.Unlock()
		if leader {
			d.Logger.Info("this replica is now the leader: running checks", "replica", d.ID)
		} else {
			d.Logger.Info("this replica is standby", "replica", d.ID, "leader", holder)
		}
	}
	d.Observer.Leader(leader)
}

// releaseLease gives the lease up on a clean stop, so another replica can
// take over at once instead of waiting for it to expire.
func (d *Daemon) releaseLease() {
	if !d.leader.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), LeaseReleaseTimeout)
	defer cancel()
	cur, err := d.Store.GetLease(ctx)
	if err != nil || cur.Holder != d.ID || cur.Nonce != d.processNonce() {
		return
	}
	_, _ = d.Store.PutLease(ctx, &vaultstore.Lease{Holder: "", ExpiresAt: d.now()}, cur.Version)
	d.setLeader(false, "")
}
