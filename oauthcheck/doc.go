// Package oauthcheck asks a token endpoint for one token and says what its
// answer means: the checker (one token request, and one probe of a
// resource API with the token), the classifier (a pure function of the
// response, the rotation deadline and now), and the classes a check ends
// in, from ok to the credential failures that page and the outages that
// must not.
//
// It takes a client ID and secret, or a client ID and private key
// (Client; private_key_jwt signs a client assertion at now, RFC 7523), a
// provider's description (Endpoint) and now, and returns a Result; the
// secret or the assertion is put on a request in one place
// (Client.authentication), for checks and code exchanges alike, and the
// request's Boundary knows the assertion as it knows the secret; it reads no clock but the
// Checker's own (Clock), which only measures a request's latency. It knows
// nothing of Vault or the configuration file: it imports neither
// vaultstore nor config (nor policies).
// Credentials travel to their own endpoint only: no request follows a
// redirect, and plain http is refused but on loopback.
//
// It is the one boundary all provider text crosses (Boundary): whatever a
// provider answers is decoded first, then stripped of every form of every
// secret the request carried (seen through whatever folding drops or turns
// into a space) and of every piece of one long enough to read, folded onto
// one printable line, and bounded
// (an error code to MaxErrorCode characters, a description to
// MaxDescription), before a Result or an error holds any of it. Nothing
// outside this package reads a provider's body.
package oauthcheck
