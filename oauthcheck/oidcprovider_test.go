package oauthcheck_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/credtest/oidcprovider"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// pathRewriter sends every request to path instead, on the same host: an
// endpoint configured with another token URL, so that the assertion's aud
// names a URL that is not the server's token endpoint.
type pathRewriter struct{ path string }

func (p pathRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = p.path
	return http.DefaultTransport.RoundTrip(r)
}

// node's oidc-provider verifies client assertions itself: the registered
// key gets a token, a key it does not know and an assertion for another
// audience are refused as invalid_client.
func TestPrivateKeyJWTAgainstNodeOIDCProvider(t *testing.T) {
	es, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := clientkey.Generate(clientkey.RS256)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	srv := oidcprovider.Start(t,
		oidcprovider.Client{ID: "svc-es", JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{es.PublicJWK()}}},
		oidcprovider.Client{ID: "svc-rs", JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rs.PublicJWK()}}},
	)
	e := oauthcheck.Endpoint{Name: "oidc-provider", TokenURL: srv.TokenURL, AuthStyle: oauthcheck.AuthStylePrivateKeyJWT, Timeout: time.Minute}
	otherAud := e
	otherAud.TokenURL = strings.TrimSuffix(srv.TokenURL, "/token") + "/elsewhere/token"
	cases := []struct {
		name      string
		client    oauthcheck.Client
		e         oauthcheck.Endpoint
		transport http.RoundTripper
		want      oauthcheck.Class
	}{
		{"an ES256 key it holds gets a token", oauthcheck.Client{ID: "svc-es", Key: es}, e, nil, oauthcheck.ClassOK},
		{"an RS256 key it holds gets a token", oauthcheck.Client{ID: "svc-rs", Key: rs}, e, nil, oauthcheck.ClassOK},
		{"a key it does not know is invalid_client", oauthcheck.Client{ID: "svc-es", Key: stranger}, e, nil, oauthcheck.ClassInvalidClient},
		{"another client's key is invalid_client", oauthcheck.Client{ID: "svc-es", Key: rs}, e, nil, oauthcheck.ClassInvalidClient},
		{"through the same rewrite, the token URL's own audience gets a token", oauthcheck.Client{ID: "svc-es", Key: es}, e, pathRewriter{"/token"}, oauthcheck.ClassOK},
		{"an assertion for another audience is invalid_client", oauthcheck.Client{ID: "svc-es", Key: es}, otherAud, pathRewriter{"/token"}, oauthcheck.ClassInvalidClient},
	}
	// oidc-provider judges an assertion's times by its own (real) clock.
	clock := clockwork.NewRealClock()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := (&oauthcheck.Checker{Transport: c.transport}).RequestToken(context.Background(), c.client, c.e, time.Time{}, clock.Now())
			if r.Class != c.want {
				t.Fatalf("class %s (%d %s: %s), want %s", r.Class, r.Status, r.ErrorCode, r.Detail, c.want)
			}
			if c.want == oauthcheck.ClassOK && r.AccessToken.IsZero() {
				t.Error("no token")
			}
		})
	}
}
