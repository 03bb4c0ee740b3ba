// Package daemon runs credkeeper's checks over time: each credential on its
// schedule (spread so that thousands do not fire at once), with backoff
// from a provider that is down, token publishing and renewal for CI, the
// notice ledger's protocol (claim, send, mark, with check-and-set, so that
// of several replicas one sends each notice once), and the leader lease.
//
// What happens to one credential in one check is rotation's (Runner); what
// is due when is policies' (pure). It reaches Vault only through
// vaultstore. Its pure timing rules (Backoff, NotBefore, RenewAt, Offset,
// Spread, StartingAt, CanTakeLease) take now as an argument; its run loop still reads the wall
// clock (cron, timers), which an injected clock is to replace.
package daemon
