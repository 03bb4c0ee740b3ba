// Package vaultstore is credkeeper's only door to HashiCorp Vault, and the
// only package that imports github.com/hashicorp/vault/api.
//
// It owns the Vault client (configured from credkeeper's config or from the
// environment exactly as the vault CLI reads it), the login and its renewal
// (token, AppRole, Kubernetes, and a CI job's JWT: LoginJWT, LoginKubernetes),
// the CI auth roles credkeeper writes into the JWT and Kubernetes auth
// methods and what it reads of their mounts (ciauth.go), the ACL policies
// credkeeper manages (read, write, list, delete: policies.go), and
// credkeeper's records in a KV v2 mount:
//
//	<mount>/<prefix>/credentials/NAME  client ID and secret, or private key (PEM,
//	                                   key ID, algorithm); custom metadata (a
//	                                   key's algorithm, ID and public fingerprint,
//	                                   never the key)
//	<mount>/<prefix>/pending/NAME      a new pair staged for rotation
//	<mount>/<prefix>/state/NAME        the last check results
//	<mount>/<prefix>/tokens/NAME       an access token published for CI
//	<mount>/<prefix>/ledger/NAME       notices sent and incidents open
//	<mount>/<prefix>/rotations/NAME    an automated rotation's progress, a
//	                                   person's open request for a new pair,
//	                                   and every rotation step's history
//	<mount>/<prefix>/silences/NAME     who silenced which notices, why, until
//	                                   when (every version read back for the
//	                                   audit report)
//
// Every read returns the KV version it read; every data write is a
// check-and-set against the version the caller read. Failures are typed:
// callers test them with errors.Is against ErrNotFound, ErrCASConflict,
// ErrPermissionDenied, ErrSealed, ErrNoActiveNode, ErrUnreachable,
// ErrInvalidName and ErrLoginRefused (whose Vault reason LoginRefusal
// gives). One reading of Vault's answers (classifyAnswer) gives both an
// error its kind and a request its outcome for Config.Observe.
//
// vaultstore knows nothing of OAuth2: it stores what it is given.
package vaultstore
