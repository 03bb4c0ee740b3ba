package config

import (
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Auth styles: how the client ID and secret reach the token endpoint.
const (
	// AuthStyleHeader is HTTP Basic (RFC 6749 client_secret_basic), as Okta wants.
	AuthStyleHeader = "header"
	// AuthStyleBody puts client_id and client_secret in the form body
	// (client_secret_post), as Doorkeeper accepts.
	AuthStyleBody = "body"
	// AuthStylePrivateKeyJWT sends a client assertion signed with the
	// credential's private key (RFC 7523 private_key_jwt), no secret.
	AuthStylePrivateKeyJWT = "private_key_jwt"
)

// DefaultRequestsPerSecond is a provider's request budget when it sets
// none, presets included: conservative beside Okta's org-wide limits for
// client_credentials token requests and DMPTool's API.
const DefaultRequestsPerSecond = 10

// DefaultProviderTimeout bounds one token request when a provider sets none.
const DefaultProviderTimeout = 10 * time.Second

// Provider is a token endpoint and how to talk to it.
type Provider struct {
	Name        string
	TokenURL    string
	AuthStyle   string
	Scopes      []string
	Timeout     time.Duration
	Environment string // the environment its credentials are in, if the preset knows
	Preset      bool   // true when it comes from a preset, possibly overridden
	// Probe, when set, is a resource API request made with each new token.
	Probe *Probe
	// AuthorizeURL is the authorization endpoint, for user grants.
	AuthorizeURL string
	// PKCE: the provider supports RFC 7636 (S256) on user grants.
	PKCE bool
	// MaxTokenTTL is the lifetime credkeeper assumes for a token whose
	// response gave none, when publishing it (zero: such tokens are not published).
	MaxTokenTTL time.Duration
	// InsecureHTTP allows plain http URLs on hosts other than loopback.
	InsecureHTTP bool
	// RequestsPerSecond is the provider's request budget: the daemon's
	// checks, probes and renewals of its credentials share it, within
	// the budget of its group (BudgetGroup).
	RequestsPerSecond float64
	// BudgetGroup, when set, names the budget group the provider shares
	// a request budget with; empty, the providers on its token
	// endpoint's host share one (BudgetGroupName).
	BudgetGroup string
	// MaxInFlight is how many of the daemon's parallel slots the
	// provider's checks may hold at once, so that a provider that hangs
	// delays only its own checks; zero means the default, half of
	// parallel (Config.MaxInFlight gives the number in force).
	MaxInFlight int
	// TokenLifetime is how long the provider's tokens are known to live
	// (presets only; zero when unknown). validate warns when a
	// publish_token's renew_before is not shorter.
	TokenLifetime time.Duration
	// Support is who issues the provider's new pairs (the CTRP presets
	// carry CTRP support's address), for credkeeper rotate request.
	Support Support
	// KeyAuth: the provider accepts private_key_jwt (presets only; a
	// provider block may set auth_style = "private_key_jwt" on a preset
	// only when it does).
	KeyAuth bool

	timeoutRange     *hcl.Range // where timeout was set, for diagnostics
	supportViaRange  *hcl.Range // where support's via was set
	budgetGroupRange *hcl.Range // where budget_group was set
}

// Probe is a request to a resource API with a freshly issued token: it
// tells a token that works from one the API refuses.
type Probe struct {
	URL    string
	Method string // ProbeGet (default), ProbeHead or ProbePost
}

// The probe methods: the HTTP methods a probe may use, by name.
const (
	ProbeGet  = "GET"
	ProbeHead = "HEAD"
	ProbePost = "POST"
)

// ctrpTokenURL is the Okta token endpoint of one CTRP authorization server.
func ctrpTokenURL(authServerID string) string {
	return "https://bioappdev.okta.com/oauth2/" + authServerID + "/v1/token"
}

// The presets' token lifetimes, as their documentation last gave them:
// CTRP's page moved from 1800 s to 8 h (Stage) and 4 h (Production); DMPTool's
// client_credentials tokens carry expires_in 7200. Checks always use the
// response's expires_in; these only let validate warn about renew_before.
var presets = map[string]Provider{
	"ctrp-int":   {TokenURL: ctrpTokenURL("aus3ym6wniM6O3MGE297"), AuthStyle: AuthStyleHeader, KeyAuth: true, Environment: "int", TokenLifetime: 1800 * time.Second, Support: ctrpSupport},
	"ctrp-stage": {TokenURL: ctrpTokenURL("aus478s3eb0x3du23297"), AuthStyle: AuthStyleHeader, KeyAuth: true, Environment: "stage", TokenLifetime: 8 * time.Hour, Support: ctrpSupport},
	"ctrp-prod":  {TokenURL: ctrpTokenURL("aus8jhc6kdbWPrwYa297"), AuthStyle: AuthStyleHeader, KeyAuth: true, Environment: "prod", TokenLifetime: 4 * time.Hour, Support: ctrpSupport},
	"dmptool": {TokenURL: "https://dmptool.org/oauth/token", AuthStyle: AuthStyleBody, Scopes: []string{"public"}, Environment: "prod",
		AuthorizeURL: "https://dmptool.org/oauth/authorize", PKCE: true, TokenLifetime: 7200 * time.Second,
		Probe: &Probe{URL: "https://dmptool.org/api/v2/templates", Method: ProbeGet}},
}

// Preset returns the built-in provider of that name.
func Preset(name string) (Provider, bool) {
	p, ok := presets[name]
	if !ok {
		return Provider{}, false
	}
	p.Name = name
	p.Preset = true
	p.Timeout = DefaultProviderTimeout
	p.Scopes = append([]string(nil), p.Scopes...)
	if p.Probe != nil {
		probe := *p.Probe
		p.Probe = &probe
	}
	return p, true
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
