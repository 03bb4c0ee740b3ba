// Package rotation changes credentials' pairs in Vault: `secret set`
// (SetSecret, a secret or a private key), `keygen` (Keygen: a new key
// pair, its private key written or staged unchecked, its public JWKS
// returned), the staged rotation (stage a new pair in pending/NAME,
// prove it against the token endpoint, promote it, roll back), and the
// automated rotation through a provider's API (Okta's client secrets API
// for a secret, its JWKS API for a key: OktaSecrets, OktaKeys),
// reconciled against what Vault and the provider hold before every
// destructive step and resumable from rotations/NAME. A key rotation's new
// private key is generated here and waits in pending/NAME between steps;
// only its public key goes to the provider, and rotations/NAME records its
// kid and public thumbprint, never the key. And the request a person makes
// to a provider's support for a new pair (Request: composed from the
// provider's template, sent through a SupportMail the caller gives,
// followed up). Every step is appended to rotations/NAME's history with
// who took it, never a secret.
//
// The check of a credential's current pair is the check engine's (package
// check), which rotation calls after a promote and while proving an
// automated rotation; it must not schedule, serve HTTP, or plan and apply
// the config (package plan does). It reaches Vault only through
// vaultstore and never imports vault/api. Decisions that need the time
// take now from the caller.
package rotation
