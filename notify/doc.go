// Package notify owns delivery: the pipeline that carries credkeeper's
// notices to people, the channels it carries them through (email, Slack,
// PagerDuty Events v2 and signed webhooks, each a small package of its own
// behind the one Notifier interface), the one retry loop all of them share,
// failure reasons as data (Reason), and a notice's wording, all in one
// place: its subject, its text and what it tells people to do (Compose,
// Subject, Text, ProviderHint).
//
// Delivery is a pipeline of small stages, one file each, in the manner of
// Alertmanager's notify package:
//
//	silence.go  which kinds the credential's silence holds back now
//	decide.go   what is due: the daemon's decision, taken as an input (Round.Decide)
//	claim.go    the claims written to the ledger with check-and-set, before any send
//	send.go     a fan-out: every channel on its own goroutine, each notice with
//	            its own deadline (SendTimeout, on the Clock)
//	retry.go    the retries, with backoff and jitter, waiting on the Clock
//	mark.go     each delivery's outcome written to the ledger as soon as it is
//	            done: sent, or not sent with the channel's error (LastError)
//
// claim and mark write the ledger through one read, change and
// check-and-set loop (updateLedger), which writes nothing when nothing
// changed. Each channel is delivered on its own, so a channel that
// fails, hangs or answers 500 forever never holds back another: a page goes out while Slack is still being retried. The daemon
// feeds the pipeline (Pipeline.Deliver) after each check and hears of each
// delivery through Observe.
//
// notify decides how to deliver a notice, never whether one is due: that
// is the decision policies makes, and notify imports neither policies nor
// config nor daemon. The ledger is Vault's ledger/NAME: notify speaks of it
// in vaultstore's record types (Ledger, LedgerEntry, Incident), so that the
// record has one definition, and reaches it only through the two-method
// LedgerStore interface (which *vaultstore.Store satisfies), never through
// Vault's client. Wiring the channels from the configuration happens
// outside this package (internal/app).
package notify
