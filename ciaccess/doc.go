// Package ciaccess proves a ci_access block in Vault: Verify logs in with a
// CI job's JWT (or a pod's service account token) exactly as the job would
// (the role named after the block, at the block's auth mount), tries every
// read the job could make of credkeeper's records, and reports which tokens
// it read, which reads Vault refused, and whether that is exactly what the
// configuration says: the role Vault holds (read with the caller's own
// login) must be the one the configuration generates, field by field, and
// the job's login must carry the block's policy alone. A refused login is explained in plain words (Explain,
// a pure function of Vault's reason, the role credkeeper writes and the
// JWT's claims, read without trusting them).
//
// It owns verification alone: it writes nothing to Vault, reads no clock
// (now is an input), and never prints, logs or returns the JWT; its report
// holds no secret (the tokens it reads are only counted as readable). It
// reaches Vault only through vaultstore.
package ciaccess
