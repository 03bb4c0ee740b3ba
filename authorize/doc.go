// Package authorize is the browser flow of a user grant
// (authorization_code): it listens on the credential's loopback redirect
// URI, sends the user to the provider's authorization endpoint (with a
// random state, and PKCE where the provider supports it), has oauthcheck
// exchange the returned code (oauthcheck.ExchangeCode), and stores the
// token beside the app's pair in credentials/NAME with check-and-set.
//
// It sits beside oauthcheck rather than in it: the exchange is a token
// request whose answer crosses oauthcheck's boundary, so it lives there,
// but this flow reads the config and writes Vault, which oauthcheck must
// not know. It must not check, schedule or rotate credentials, and it
// reaches Vault only through vaultstore.
package authorize
