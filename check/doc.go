// Package check is credkeeper's check engine: one check of one credential
// kept in Vault. It gathers what the check needs (the credential, read
// again only when its KV version moved, and state/NAME, through its
// Cache), decides whether a request may be sent at all (lockout
// protection: a version the provider refused is not sent again the same
// way to the same place), has oauthcheck send the token request and
// classify the answer, records the result in state/NAME with
// check-and-set (NextState, a pure function of the previous state, the
// result and now), and publishes a fresh token to tokens/NAME for CI
// (PublishToken). It takes a credential resolved once from the
// configuration (Target, from ResolveTarget) and looks nothing up again
// by name.
//
// Records is the one door to a credential's records in Vault (the
// credential, state/NAME, tokens/NAME, ledger/NAME, rotations/NAME) with
// one memory of them between checks (Cache): the daemon's checks and
// automated rotation read and write them through it. The commands that
// change a pair by hand (rotation's stage, promote and rollback,
// authorize) write through vaultstore, and the Cache follows them by KV
// version and check-and-set at the next check. StatusAll reads every credential's
// status for `credkeeper status`; StatusHeld answers the status page from
// what the leading replica's Cache holds, reading Vault only for the rest.
//
// It must not schedule (the daemon does), notify (notify does), change a
// credential's pair (rotation does) or plan the config (plan does). It
// reaches Vault only through vaultstore and never imports vault/api;
// decisions that need the time take now from the caller.
package check
