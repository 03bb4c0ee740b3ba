// Package credtest is the world the engine's tests run in: the token
// endpoint emulator on loopback, a configuration whose providers point at
// it, and a fresh prefix in the real Vault (vaulttest). Tests of check,
// daemon and the status page share it; the product never imports it.
// Beside it, a CI job's world: oidcissuer (an OIDC issuer minting GitHub-
// and GitLab-shaped ID tokens), tokenreview (the Kubernetes API server's
// TokenReview, standing in) and ciworld (Vault's JWT and Kubernetes auth
// methods mounted and configured against them).
//
// It lives at the module's root, beside the engine packages it builds
// (config, oauthcheck, vaultstore, check's engine), so that every
// import it makes points down: under internal/ it would be a leaf
// importing the engine, and under internal/app the engine's own tests
// (check's, daemon's) would import the composition root's package tree.
// It must not import daemon or internal/app/..., whose tests use it, and
// only tests import it (internal/app's layers test holds both).
package credtest
