// Package policies owns credkeeper's pure decisions, made from a decoded
// configuration (package config) and gathered facts: which reminders,
// escalations, incident and ops notices are due at now (silences are
// inputs), whether a request to a provider's support for a new pair is
// due a follow-up (the open request and whether a pair is staged are
// inputs), when the next reminder falls, whether a silence may last until
// a date, the Vault ACL documents of every role, and the Vault auth roles
// (JWT for GitHub Actions and GitLab, Kubernetes) with their policies that
// ci_access blocks ask for (CIRoles).
//
// policies does no I/O and never reads the clock: decisions take `now` as
// an argument. It does not parse the configuration language.
package policies
