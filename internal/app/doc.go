// Package app is credkeeper's composition root: it builds what a command
// needs from a configuration (the Vault store, the notification channels,
// the daemon with its HTTP server, metrics, login keeper and reloads, the
// Vault ACL policy documents for the configured mount and prefix, the mail
// channel a request to a provider's support goes through) and wires
// them together. It decides nothing: every decision lives in the
// package that owns it, and cmd/credkeeper only parses flags and calls here.
//
// Under it is what people see, each in a package of its own: web (the
// status page and its JSON API), view (the command line's tables and
// --json shapes), metrics (Prometheus) and server (the HTTP endpoints).
// This is the top of the house: only cmd/ and internal/app/... import
// internal/app/..., and only they and the daemon's own packages import
// the daemon. Below are the engine (daemon, check, rotation, authorize,
// plan, notify, policies, oauthcheck, config, vaultstore) and, at the bottom,
// internal/'s leaves (dates, secret, text, credname, backoff, parallel,
// version, progress, urlcheck, testutil, emulator), which import nothing
// of the project but each other. layers_test.go reads the import graph
// and names every import that runs back up.
package app
