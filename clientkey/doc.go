// Package clientkey holds a client's private key for private_key_jwt client
// authentication (RFC 7523): an RSA (2048 bits or more) or EC P-256 key,
// its algorithm (RS256 or ES256) and key ID.
//
// It generates and parses keys, renders the public half as a JWK and as the
// JWKS document a provider registers, computes the public fingerprint (the
// RFC 7638 thumbprint) that is safe to show, and signs client assertions
// with go-jose.
//
// It must not print, log or return in an error the private key or an
// assertion: PEM returns a secret.Value, and an assertion is only handed to
// the caller that sends it. It does no I/O and reads no clock: the time an
// assertion is minted at is passed in.
package clientkey
