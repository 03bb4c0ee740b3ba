// Package config owns credkeeper's configuration language.
//
// The language is HCL (github.com/hashicorp/hcl/v2), decoded strictly: an
// unknown block or attribute is an error, and every error is a diagnostic
// with file, line, column and the offending source line. Defaults apply
// first, then the file. Providers come from provider blocks or from presets
// (ctrp-int, ctrp-stage, ctrp-prod, dmptool) that need no block. The
// package holds the decoded types (Config, Credential, Provider, notifier
// blocks, rotation policies, the names of the Vault policies, the
// ci_access blocks that let a CI identity read some tokens, and the auth
// mounts their roles live under), their defaults and limits, durations,
// validation, the request budget groups (BudgetGroups: the providers on
// one token host, or naming one budget_group, and their budget, as
// validate explains them), a provider's support contact with the
// text/template of a request for a new pair (the CTRP presets carry CTRP
// support's address), parsed and tried on sample data when the file
// loads, and Format for `fmt`.
//
// config does no I/O beyond reading the file it is asked to load, never
// reads the clock, and imports no HTTP package nor the checker: what it
// knows of token endpoints (auth style names, the default timeout, which
// URLs may receive credentials) is its own, and callers turn a Provider
// into whatever their checker takes.
package config
