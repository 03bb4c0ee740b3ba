package check

import (
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// EndpointOf is provider p as a check sees it: the configuration's names
// become the checker's plain values here, at the edge between the two.
func EndpointOf(p *config.Provider) oauthcheck.Endpoint {
	e := oauthcheck.Endpoint{Name: p.Name, TokenURL: p.TokenURL, AuthStyle: oauthcheck.AuthStyle(p.AuthStyle),
		Scopes: p.Scopes, Timeout: p.Timeout, InsecureHTTP: p.InsecureHTTP}
	if p.Probe != nil {
		e.Probe = &oauthcheck.Probe{URL: p.Probe.URL, Method: p.Probe.Method}
	}
	return e
}
