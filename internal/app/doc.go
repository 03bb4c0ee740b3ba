// Package app is credkeeper's composition root: it builds what a command
// needs from a configuration (the Vault store, the notification channels,
// the daemon with its HTTP server, metrics, login keeper and reloads, the
// Vault ACL policy documents for the configured mount and prefix) and wires
// them together. It decides nothing: every decision lives in the
// package that owns it, and cmd/credkeeper only parses flags and calls here.
package app
