// Package view is how the command line shows what the engine found: the
// tables and the --json shapes of check, status, secret list and show,
// rotate status (with a request's step and the rotation history), the
// request rotate request composed, silence list, the policy documents of
// vault-policies print, what ci snippet and ci setup-commands print (a CI
// job's workflow fragment, an administrator's vault commands; never a
// Vault token) and ci verify's report (the plan's own views are in
// package plan). A view takes
// data and a writer, and prints; it decides nothing and never sees a
// secret.
//
// It lives under internal/app with the rest of what people see: it reads
// the engine's types (oauthcheck, policies, rotation, vaultstore,
// ciaccess) and only cmd/ and internal/app/... import it, never the engine
// nor internal/'s leaves.
package view
