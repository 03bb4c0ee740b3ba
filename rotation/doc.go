// Package rotation is credkeeper's engine: it checks credentials kept in
// Vault (through oauthcheck, which sends the request and classifies the
// answer) and records what it found, publishes tokens for CI, runs the
// staged rotation workflow, and plans and applies the config.
//
// It reaches Vault only through vaultstore and never imports vault/api.
// Decisions that need the time take `now` from the caller.
package rotation
