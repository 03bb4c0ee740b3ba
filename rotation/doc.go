// Package rotation changes credentials' pairs in Vault: `secret set`
// (SetSecret), the staged rotation (stage a new pair in pending/NAME,
// prove it against the token endpoint, promote it, roll back), and the
// automated rotation of secrets through a provider's API (Okta's client
// secrets), reconciled against what Vault and the provider hold before
// every destructive step and resumable from rotations/NAME; and the
// request a person makes to a provider's support for a new pair (Request:
// composed from the provider's template, sent through a SupportMail the
// caller gives, followed up). Every step is appended to rotations/NAME's
// history with who took it, never a secret.
//
// The check of a credential's current pair is the check engine's (package
// check), which rotation calls after a promote and while proving an
// automated rotation; it must not schedule, serve HTTP, or plan and apply
// the config (package plan does). It reaches Vault only through
// vaultstore and never imports vault/api. Decisions that need the time
// take now from the caller.
package rotation
