// Package daemon runs credkeeper's checks over time: each credential on its
// schedule (spread so that thousands do not fire at once), with backoff
// from a provider that is down, each provider's request budget within
// its budget group's (the providers on one token host, one Okta org, share
// one: never more than its budget in any one second; budget.go) and share
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
// simulate years in seconds. The loop resolves each due credential from
// the configuration once (a job: its check.Target, budget and share of the
// slots), and every step after takes that job and looks nothing up again
// by name. What happens to one credential in one check is the check
// engine's (check.Engine); a staged pair's and an automated rotation's
// are rotation's (Runner); what is due when is policies' (pure).
//
// It reads and writes a credential's records (state, published token,
// ledger, through the check engine's check.Records and its one cache;
// rotations/NAME, read once a credential's reminders may be due, for the
// open request to its provider's support that reminders word and
// follow-ups are due for),
// and holds only the loop and the lease, which it keeps through
// vaultstore directly, as it lists the silences. It must not read the wall clock: its pure timing
// rules (Backoff, NotBefore, RenewAt, Offset, Spread, FirstCheckAt,
// CanTakeLease, RenewalOverdue) take now as an argument.
package daemon
