package oauthcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// AuthCodeConfig is the x/oauth2 configuration of a user grant of cl at e:
// the authorization URL a browser visits, and the code exchange.
// For private_key_jwt it carries no secret: ExchangeCode adds the client
// assertion.
func (e Endpoint) AuthCodeConfig(cl Client, authorizeURL, redirectURI string, scopes []string) *oauth2.Config {
	oc := &oauth2.Config{
		ClientID: cl.ID, ClientSecret: cl.Secret.Reveal(), RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: authorizeURL, TokenURL: e.TokenURL, AuthStyle: e.AuthStyle.OAuth2()},
	}
	if e.AuthStyle == AuthStylePrivateKeyJWT {
		oc.ClientSecret, oc.Endpoint.AuthStyle = "", oauth2.AuthStyleInParams
	}
	return oc
}

// Grant is the token a code exchange obtained. It never prints the token.
type Grant struct {
	Token     secret.Value
	TokenType string
	Scope     string // as the provider granted it, which may differ from what was asked
	CreatedAt time.Time
	ExpiresAt time.Time // zero with NoExpiry when the provider gave no lifetime
	NoExpiry  bool
}

// ExchangeCode trades an authorization code for a user grant's token: one
// request to e's token endpoint, bounded by e's timeout as a check is,
// never following a redirect. Its lifetime follows the same rule as a
// checked token's. cl authenticates as a check's request does (its secret
// through oc, or a client assertion signed at now). An error never shows
// the client secret or the assertion.
func ExchangeCode(ctx context.Context, transport http.RoundTripper, e Endpoint, cl Client, oc *oauth2.Config, code string, now time.Time, opts ...oauth2.AuthCodeOption) (*Grant, error) {
	if problem := endpointProblem(e); problem != "" {
		return nil, errors.New(problem + ": nothing was sent")
	}
	auth, problem := cl.authentication(e, now)
	if problem != "" {
		return nil, errors.New(problem + ": nothing was sent")
	}
	for k, vs := range auth.params {
		opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, NewHTTPClient(transport)), code, opts...)
	if err != nil {
		return nil, exchangeError(err, e, auth.boundary)
	}
	if !sendable(tok.AccessToken) {
		return nil, errors.New("the provider issued an access_token that cannot be sent (blank, or with control characters): the token is not stored; check the provider")
	}
	b := auth.boundary.With(tok.AccessToken)
	g := &Grant{Token: secret.New(tok.AccessToken), TokenType: b.Code(tok.TokenType), CreatedAt: now}
	fields := tokenFields(tok)
	g.Scope = b.Text(fields.Scope, MaxScope)
	// Doorkeeper's created_at, when it is a moment already past
	if fields.CreatedAt > 0 && fields.CreatedAt <= now.Unix() {
		g.CreatedAt = time.Unix(fields.CreatedAt, 0).UTC()
	}
	if g.ExpiresAt, g.NoExpiry, problem = expiry(fields, now); problem != "" {
		return nil, errors.New(problem + ": the token is not stored; check the provider")
	}
	return g, nil
}

// exchangeError describes a failed code exchange without the client
// secret: every word of the provider's crosses the request's Boundary.
func exchangeError(err error, e Endpoint, b Boundary) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response.StatusCode >= 300 && re.Response.StatusCode < 400 {
		return errors.New(redirectDetail(Response{Status: re.Response.StatusCode, Header: re.Response.Header, URL: e.TokenURL, Boundary: b},
			"the token endpoint", "the code and secret are never sent after a redirect: set token_url to the final URL"))
	}
	if errors.As(err, &re) {
		pe, parsed := parseProviderError(Response{Header: re.Response.Header, Body: re.Body})
		desc := b.Description(pe.description())
		if !parsed || desc == "" {
			desc = snippet(b, re.Response.StatusCode, re.Body)
		}
		return fmt.Errorf("the provider refused the code with %d %s (%s): run credkeeper authorize again", re.Response.StatusCode, b.Code(pe.code()), desc)
	}
	return fmt.Errorf("exchanging the code: %s", opaqueExcept(b.Text(err.Error(), 300), e.TokenURL))
}
