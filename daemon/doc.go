// Package daemon runs credkeeper's checks over time: each credential on its
// schedule (spread so that thousands do not fire at once), with backoff
// from a provider that is down, each provider's request budget and share
// of the parallel slots (so that a provider that hangs delays only its own
// checks), token publishing and renewal for CI, feeding each check's facts
// and policies' decision to notify's delivery pipeline (which claims, sends
// through each channel on its own and marks, with check-and-set on the
// ledger, so that of several replicas one sends each notice once; the
// daemon never sends a notice itself), and the leader lease, held by one
// process (its replica ID and a nonce), as a context that ends the moment
// this replica stops leading.
//
// One run loop (loop.go) owns all of its timing, on an injected clock
// (NewDaemon's clock): tests advance a fake one instead of sleeping, and
// simulate years in seconds. What happens to one credential in one check
// is rotation's (Runner); what is due when is policies' (pure). It reaches
// Vault only through vaultstore, and must not read the wall clock: its
// pure timing rules (Backoff, NotBefore, RenewAt, Offset, Spread,
// FirstCheckAt, CanTakeLease, RenewalOverdue) take now as an argument.
package daemon
