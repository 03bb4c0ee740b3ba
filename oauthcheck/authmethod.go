package oauthcheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// methodName finds the client authentication methods (RFC 8414's
// token_endpoint_auth_method names) a description speaks of.
var methodName = regexp.MustCompile(`(?i)\b(client_secret_basic|client_secret_post|client_secret_jwt|private_key_jwt|self_signed_tls_client_auth|tls_client_auth)\b`)

// sentMethod is the authentication method an auth style sends.
func sentMethod(a AuthStyle) string {
	switch a {
	case AuthStyleBody:
		return "client_secret_post"
	case AuthStylePrivateKeyJWT:
		return "private_key_jwt"
	}
	return "client_secret_basic"
}

// styleFor is the auth style that sends method, or "" when none does.
func styleFor(method string) AuthStyle {
	switch method {
	case "client_secret_basic":
		return AuthStyleHeader
	case "client_secret_post":
		return AuthStyleBody
	case "private_key_jwt":
		return AuthStylePrivateKeyJWT
	}
	return ""
}

// complaint is what an invalid_client description says about the
// authentication method: whether it names one, and the ones it names.
type complaint struct {
	named   bool
	methods []string
}

// methodComplaint reads desc (folded, without secrets, not cut) for the
// authentication methods it names. A description that names none (as
// Doorkeeper's "…or unsupported authentication method" for a wrong secret)
// is no complaint: that invalid_client stays a refusal.
func methodComplaint(desc string) complaint {
	var c complaint
	for _, m := range methodName.FindAllString(desc, -1) {
		if m = strings.ToLower(m); !slices.Contains(c.methods, m) {
			c.methods = append(c.methods, m)
		}
	}
	c.named = len(c.methods) > 0
	return c
}

// detail says what to change, given how the pair was sent.
func (c complaint) detail(sent AuthStyle) string {
	used := sentMethod(sent)
	var wanted string
	for _, m := range c.methods {
		if m != used {
			wanted = m
			break
		}
	}
	head := fmt.Sprintf("the provider refused the client authentication method, not the secret: auth_style = %q sent %s", styleOf(sent), used)
	switch style := styleFor(wanted); {
	case wanted == "":
		return head + "; the client is registered for another method: change auth_style in the provider block, or the client's method at the provider, then check again"
	case style != "":
		return fmt.Sprintf("%s, and the client is registered for %s; set auth_style = %q in the provider block, then check again", head, wanted, style)
	default:
		return fmt.Sprintf("%s, and the client is registered for %s, which a client secret does not do: change the client's method at the provider to %s, then check again", head, wanted, used)
	}
}

// styleOf is a as configured: header when unset.
func styleOf(a AuthStyle) AuthStyle {
	if a == "" {
		return AuthStyleHeader
	}
	return a
}
