package oauthcheck

import (
	"fmt"
	"net/url"
	"regexp"
	"time"

	"golang.org/x/oauth2"

	"github.com/credkeeper/credkeeper/clientkey"
)

// sending is how a client authenticates in one request: the one place a
// secret or an assertion is put on a request. The boundary knows every
// secret sent (the client secret, or the assertion minted for it).
type sending struct {
	secret   string
	style    oauth2.AuthStyle
	params   url.Values // form fields added to the request
	boundary Boundary
}

// authentication is how cl authenticates at e at now, or a problem that
// stops anything being sent: a key where a secret is wanted, or the reverse.
func (cl Client) authentication(e Endpoint, now time.Time) (sending, string) {
	pair := cl.boundary()
	if e.AuthStyle != AuthStylePrivateKeyJWT {
		if cl.Key != nil || (cl.Secret.IsZero() && cl.KeyProblem != "") {
			return sending{boundary: pair}, fmt.Sprintf("the credential holds a private key, but the provider's auth_style is %q: set auth_style = %q in the provider block", styleOf(e.AuthStyle), AuthStylePrivateKeyJWT)
		}
		return sending{secret: cl.Secret.Reveal(), style: e.AuthStyle.OAuth2(), boundary: pair}, ""
	}
	if cl.Key == nil {
		if cl.KeyProblem != "" {
			return sending{boundary: pair}, "the credential's private key cannot be used (" + cl.KeyProblem + "): set it again with credkeeper secret set --private-key-file or credkeeper keygen"
		}
		return sending{boundary: pair}, fmt.Sprintf("the provider's auth_style is %q but the credential holds a client secret, not a private key: store a key with credkeeper keygen or secret set --private-key-file", AuthStylePrivateKeyJWT)
	}
	a, err := cl.Key.Assertion(cl.ID, e.TokenURL, now)
	if err != nil {
		return sending{boundary: pair}, "signing the client assertion failed: " + err.Error()
	}
	return sending{
		style:    oauth2.AuthStyleInParams,
		params:   url.Values{"client_assertion_type": {clientkey.AssertionType}, "client_assertion": {a}},
		boundary: pair.With(a),
	}, ""
}

// AssertionTimeRefusal finds the descriptions of a provider refusing a
// client assertion for its times (Okta's "The client_assertion token is
// expired.", "…has an expiration too far into the future.", a token "not
// yet valid" or "issued in the future"): the clock of the host that signed
// it, not the key.
var assertionTimeRefusal = regexp.MustCompile(`(?i)(client_assertion|assertion|jwt|token).*(expired|expiration|too far|future|not yet valid|not active|\biat\b|\bnbf\b|\bexp\b|clock)`)

// assertionReplayRefusal finds a provider refusing an assertion's jti as
// already used: every assertion carries a fresh random jti, so this is a
// defect, not the key's fault.
var assertionReplayRefusal = regexp.MustCompile(`(?i)\bjti\b|replay|already (been )?used`)

// classifyAssertionRefusal sorts an invalid_client to a private_key_jwt
// request by its description: a refusal for the assertion's times is
// misconfigured (this host's clock), a refused jti is a defect in
// credkeeper, anything else a refusal of the key.
func classifyAssertionRefusal(v Verdict, desc string) (Verdict, bool) {
	switch {
	case assertionReplayRefusal.MatchString(desc):
		v.Class = ClassProtocol
		v.Detail = "the provider refused the client assertion's jti as already used" + descHint(v) + "; every assertion carries a new random jti, so this is a defect: report it to credkeeper's maintainers; the key is not at fault"
		return v, true
	case assertionTimeRefusal.MatchString(desc):
		v.Class = ClassMisconfigured
		v.Detail = "the provider refused the client assertion for its times" + descHint(v) + "; the key is not at fault: check this host's clock (NTP) against the provider's"
		return v, true
	}
	return v, false
}
