// Package emulator is a token endpoint emulator for credkeeper's tests and
// demo. It behaves like NCI CTRP's Okta authorization servers and DMPTool's
// Doorkeeper, answering with their documented bodies byte for byte, and
// adds the failures a real provider has on a bad day: 5xx, slowness, 429
// with rate-limit headers, HTML error pages, a 200 without a token, and
// account lockout after repeated failures; and the answers that test what
// a client keeps of a provider's words: the secret written back in each
// encoding, a 1 MB error field, terminal escapes, and Okta's complaint
// about the client authentication method. Its Okta token endpoint also
// verifies private_key_jwt client assertions for real (signature by kid
// against the client's ACTIVE keys, aud, iss and sub, exp, iat, nbf, and a
// jti used once), answering with Okta's descriptions (OktaAssertion*).
//
// It also serves the resource APIs that accept the tokens it issued: a
// CTRP-style API answering RFC 6750 invalid_token, and DMPTool's API
// answering its documented 401 body; and Okta's Management API for an
// app's client credentials, with an API token (SSWS): its client secrets
// (okta_secrets.go, two per app) and its public keys, the JWKS API
// (okta_jwks.go, 50 per app), which the token endpoint's assertions are
// verified against.
//
// Its time is its Options.Clock, but for the delay fault: that holds a
// real answer for real time, which the client's own timeout races.
//
// The product never imports it.
package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"
)

// The bodies the providers document, byte for byte.
const (
	OktaUnknownClientBody = `{ "errorCode": "invalid_client", "errorSummary": "Invalid value for 'client_id' parameter.", "errorLink": "invalid_client", "errorId": "oaejDJuWCiRTQeH8n6WG2116A", "errorCauses": [] }`
	OktaWrongSecretBody   = `{ "error": "invalid_client", "error_description": "The client secret supplied for a confidential client is invalid." }`
	OktaInvalidGrantBody  = `{ "error": "invalid_grant", "error_description": "The credentials provided were invalid." }`

	DoorkeeperInvalidClientBody = "{\n  \"error\": \"invalid_client\",\n  \"error_description\": \"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.\"\n}"
	DoorkeeperMissingGrantBody  = "{\n  \"error\": \"invalid_request\",\n  \"error_description\": \"Missing required parameter: grant_type.\"\n}"

	// DMPToolRevoked is the message of DMPTool's API 401 body.
	DMPToolRevoked = "token is invalid, expired or has been revoked"
)

// CTRP's Okta authorization servers, by environment, with their token
// lifetimes (the page history moved Stage to 8 h and Production to 4 h).
const (
	AuthServerInt   = "aus3ym6wniM6O3MGE297"
	AuthServerStage = "aus478s3eb0x3du23297"
	AuthServerProd  = "aus8jhc6kdbWPrwYa297"
)

var oktaLifetimes = map[string]time.Duration{
	AuthServerInt:   1800 * time.Second,
	AuthServerStage: 8 * time.Hour,
	AuthServerProd:  4 * time.Hour,
}

// DoorkeeperLifetime is the lifetime of DMPTool's client_credentials tokens.
const DoorkeeperLifetime = 7200 * time.Second

// Client is an OAuth2 client registered with the emulator.
type Client struct {
	ID string
	// Secrets are the valid secrets: one, or two during a rotation overlap.
	Secrets []string
	// Scopes the client may ask for; nil allows any.
	Scopes []string
	// Grants the client may use; nil allows client_credentials only.
	Grants []string
	// OmitExpiresIn leaves expires_in out of token responses, as some
	// servers do: the token's lifetime is then unknown.
	OmitExpiresIn bool
	// ExpiresIn, when not zero, is the expires_in the client's token
	// responses give, whatever it is (a few seconds, a negative number,
	// centuries); the token itself still lives its usual lifetime.
	ExpiresIn int64
	// CreatedAtOffset shifts Doorkeeper's created_at from now (a negative
	// offset: a token reused from earlier, or a server clock behind ours).
	CreatedAtOffset time.Duration
	// AppID is the client's Okta application ID, under which Okta's client
	// secrets API manages its secrets (empty: not managed).
	AppID string
	// RedirectURIs registered for user grants; a redirect_uri must match one exactly.
	RedirectURIs []string
	// Deny makes the user decline every authorization request.
	Deny bool
	// Keys are the client's registered public keys, for private_key_jwt:
	// an assertion is verified against the ACTIVE key its kid names.
	// Okta's JWKS API under AppID manages them.
	Keys []ClientKey
}

// The statuses of a ClientKey, as Okta's JWKS API names them.
const (
	KeyActive   = "ACTIVE"
	KeyInactive = "INACTIVE"
)

// ClientKey is a public key registered for a client (Okta's app JWKS).
type ClientKey struct {
	ID      string
	JWK     jose.JSONWebKey
	Status  string // KeyActive or KeyInactive
	Created time.Time
}

// expiresIn is the expires_in to answer for a token of that lifetime.
func (c *Client) expiresIn(lifetime time.Duration) int64 {
	if c.ExpiresIn != 0 {
		return c.ExpiresIn
	}
	return int64(lifetime.Seconds())
}

// FaultKind is a kind of injected failure.
type FaultKind string

// The injectable failures.
const (
	FaultStatus    FaultKind = "status"     // answer Status (a 5xx by default) with a JSON error
	FaultDelay     FaultKind = "delay"      // wait Delay, then answer normally
	FaultRateLimit FaultKind = "rate_limit" // 429 with X-Rate-Limit-* headers
	FaultHTML      FaultKind = "html"       // an HTML error page with Status (502 by default)
	FaultNoToken   FaultKind = "no_token"   // 200 without access_token
	FaultRedirect  FaultKind = "redirect"   // answer Status (307 by default) with Location
	// FaultEcho: 401 invalid_client whose description writes the request's
	// secret back, in Encoding.
	FaultEcho FaultKind = "echo"
	// FaultHugeError: 400 with an error field of 1 MB (the body under 1 MiB).
	FaultHugeError FaultKind = "huge_error"
	// FaultTerminal: 400 whose error and description carry terminal
	// escapes, carriage returns and a fake line.
	FaultTerminal FaultKind = "terminal"
	// FaultAuthMethod: a request that does not use HTTP Basic gets Okta's
	// 401 invalid_client saying the client supports client_secret_basic,
	// at the end of a description longer than 300 characters; HTTP Basic
	// goes through.
	FaultAuthMethod FaultKind = "auth_method"
)

// EchoEncoding is how FaultEcho writes the secret back.
type EchoEncoding string

// The encodings a provider echoes a secret in.
const (
	// EchoPlain: the secret as it is (only JSON's quote and backslash escaped).
	EchoPlain EchoEncoding = "plain"
	// EchoJSON: JSON-escaped as PHP and Go write it: \/, \u003c, \u003e, \u0026.
	EchoJSON EchoEncoding = "json"
	// EchoForm: the request's credentials form-encoded, as in its body.
	EchoForm EchoEncoding = "form"
	// EchoBasic: the request's Authorization header, base64 of id:secret.
	EchoBasic EchoEncoding = "basic"
)

// OktaAuthMethodDescription is Okta's invalid_client description for a
// client registered for client_secret_basic that sent its secret in the
// body: the answer at the end of a long description.
const OktaAuthMethodDescription = "Client authentication failed. Either the client or the client credentials are invalid, or the client is not allowed to authenticate with the method this request used; review the application's client credentials and the token endpoint authentication method registered for it in the Admin Console, under General, Client Credentials. " +
	"The client supports client authentication method 'client_secret_basic', but method 'client_secret_post' was requested."

// Fault is a failure to inject.
type Fault struct {
	Kind   FaultKind     `json:"kind"`
	Status int           `json:"status,omitempty"`
	Delay  time.Duration `json:"delay,omitempty"`
	// ResetIn is when a rate limit resets, for X-Rate-Limit-Reset.
	ResetIn time.Duration `json:"reset_in,omitempty"`
	// Location is where a redirect points.
	Location string `json:"location,omitempty"`
	// Encoding is how FaultEcho writes the secret back (plain by default).
	Encoding EchoEncoding `json:"encoding,omitempty"`
}

// Options configure a Server.
type Options struct {
	// LockoutAfter failed attempts for one client ID lock it (0: never).
	LockoutAfter int
	// LockoutFor is how long a lockout lasts (default 15 minutes).
	LockoutFor time.Duration
	// Clock is the emulator's time: lockouts, token and code lifetimes,
	// rate-limit windows, secrets' timestamps (required). A delay fault
	// holds its answer for real time whatever the Clock.
	Clock clockwork.Clock
	// NoticeLog hears the notices posted to /_emulator/notices (default standard error).
	NoticeLog io.Writer
	// APIToken is the Okta API token (SSWS) the client secrets API accepts.
	APIToken string
	// OktaRequestsPerSecond, when set, is the org's rate limit on its token
	// endpoints: requests above it in a second get 429 with X-Rate-Limit-*.
	OktaRequestsPerSecond int
}

// Server is the emulator. Its zero value is not usable; call New.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu          sync.Mutex
	clients     map[string]*Client
	faults      map[string]Fault // by client ID; "" is global
	requests    map[string]int   // token requests by client ID
	authMethods map[string]string
	failures    map[string]int
	lockedUntil map[string]time.Time
	tokens      map[string]issued
	codes       map[string]*authCode
	appSecrets  map[string][]*appSecret // Okta's secret objects, by client ID
	keyUpdated  map[string]time.Time    // lastUpdated of Okta's key objects, by their id
	rateSecond  int64                   // the second rateCount counts
	rateCount   int
	rateLimited int // 429s answered for OktaRequestsPerSecond
	// assertionIDs are the jti of the client assertions accepted, until
	// they expire: one used again is refused.
	assertionIDs map[string]time.Time
}

// authCode is an authorization code awaiting exchange.
type authCode struct {
	clientID, redirectURI, challenge string
	scopes                           []string
	expires                          time.Time
	used                             bool
}

// CodeLifetime is how long an authorization code may be exchanged.
const CodeLifetime = 10 * time.Minute

// UserGrantLifetime is how long a user grant's token lives: DMPTool's
// live for years and are meant to be stored.
const UserGrantLifetime = 10 * 365 * 24 * time.Hour

type issued struct {
	clientID string
	scope    string
	expires  time.Time
	revoked  bool
}

// New returns an emulator with no clients.
func New(opts Options) *Server {
	if opts.LockoutFor == 0 {
		opts.LockoutFor = 15 * time.Minute
	}
	s := &Server{
		opts: opts, mux: http.NewServeMux(),
		clients: map[string]*Client{}, faults: map[string]Fault{}, requests: map[string]int{},
		authMethods: map[string]string{}, failures: map[string]int{}, lockedUntil: map[string]time.Time{},
		tokens: map[string]issued{}, codes: map[string]*authCode{}, appSecrets: map[string][]*appSecret{},
		keyUpdated: map[string]time.Time{}, assertionIDs: map[string]time.Time{},
	}
	s.mux.HandleFunc("POST /oauth2/{authServer}/v1/token", s.oktaToken)
	s.mux.HandleFunc("POST /oauth/token", s.doorkeeperToken)
	s.mux.HandleFunc("GET /oauth/authorize", s.doorkeeperAuthorize)
	s.mux.HandleFunc("GET /api/v2/{rest...}", s.dmptoolAPI)
	s.mux.HandleFunc("GET /accrual-services/{rest...}", s.ctrpAPI)
	s.registerAdmin()
	s.registerOktaSecrets()
	s.registerOktaJWKS()
	return s
}

func (s *Server) noticeLog() io.Writer {
	if s.opts.NoticeLog != nil {
		return s.opts.NoticeLog
	}
	return os.Stderr
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddClient registers (or replaces) a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	cc.Secrets = slices.Clone(c.Secrets)
	cc.Keys = slices.Clone(c.Keys)
	s.clients[c.ID] = &cc
}

// SetSecrets replaces a client's valid secrets (for a rotation overlap, two).
func (s *Server) SetSecrets(clientID string, secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[clientID]; ok {
		c.Secrets = slices.Clone(secrets)
		delete(s.appSecrets, clientID)
	}
}

// InjectFault makes requests for clientID ("" for every client) fail so.
func (s *Server) InjectFault(clientID string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[clientID] = f
}

// ClearFault removes the failure injected for clientID.
func (s *Server) ClearFault(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, clientID)
}

// ClearFaults removes every injected failure.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]Fault{}
}

// Requests is how many token requests named clientID.
func (s *Server) Requests(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[clientID]
}

// AuthMethod is how clientID's last token request carried its
// credentials: "basic" (HTTP Basic) or "body" (form fields).
func (s *Server) AuthMethod(clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authMethods[clientID]
}

// Lock locks clientID out, as repeated failures would, for LockoutFor.
func (s *Server) Lock(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockedUntil[clientID] = s.opts.Clock.Now().Add(s.opts.LockoutFor)
}

// RateLimited is how many token requests OktaRequestsPerSecond refused.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// overOktaRate counts a token request against OktaRequestsPerSecond and
// reports whether it is over; the caller holds s.mu.
func (s *Server) overOktaRate() bool {
	if s.opts.OktaRequestsPerSecond <= 0 {
		return false
	}
	now := s.opts.Clock.Now().Unix()
	if now != s.rateSecond {
		s.rateSecond, s.rateCount = now, 0
	}
	s.rateCount++
	if s.rateCount > s.opts.OktaRequestsPerSecond {
		s.rateLimited++
		return true
	}
	return false
}

// RevokeAll revokes every token issued to clientID.
func (s *Server) RevokeAll(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, is := range s.tokens {
		if is.clientID == clientID {
			is.revoked = true
			s.tokens[tok] = is
		}
	}
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	clientID, secret, method string
	assertion                string // a private_key_jwt client assertion
	grantType                string
	scopes                   []string
}

func parseTokenRequest(r *http.Request) (tokenRequest, error) {
	if err := r.ParseForm(); err != nil {
		return tokenRequest{}, err
	}
	tr := tokenRequest{grantType: r.PostForm.Get("grant_type"), scopes: strings.Fields(r.PostForm.Get("scope"))}
	if id, secret, ok := r.BasicAuth(); ok {
		tr.clientID, tr.secret, tr.method = id, secret, "basic"
	} else if a := r.PostForm.Get("client_assertion"); a != "" && r.PostForm.Get("client_assertion_type") == AssertionType {
		tr.clientID, tr.assertion, tr.method = r.PostForm.Get("client_id"), a, "private_key_jwt"
		if tr.clientID == "" {
			tr.clientID = assertionIssuer(a)
		}
	} else if id := r.PostForm.Get("client_id"); id != "" {
		tr.clientID, tr.secret, tr.method = id, r.PostForm.Get("client_secret"), "body"
	}
	return tr, nil
}

// note counts a request and returns the fault to apply, if any.
func (s *Server) note(tr tokenRequest) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tr.clientID != "" {
		s.requests[tr.clientID]++
		s.authMethods[tr.clientID] = tr.method
	}
	if f, ok := s.faults[tr.clientID]; ok && tr.clientID != "" {
		return f, true
	}
	f, ok := s.faults[""]
	return f, ok
}

// applyFault writes the fault's answer and reports whether it did
// (a delay only waits, then lets the request go on).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	tr, _ := parseTokenRequest(r)
	switch f.Kind {
	case FaultEcho:
		writeJSON(w, http.StatusUnauthorized, echoBody(r, tr, f.Encoding))
	case FaultHugeError:
		huge := strings.Repeat("invalid_client ", 1_000_000/15+1)
		writeJSON(w, http.StatusBadRequest, `{"error":"`+huge+`","error_description":"`+huge[:4096]+`"}`)
	case FaultTerminal:
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request\u001b[2J\u001b[H","error_description":"\u001b]0;credkeeper: all ok\u0007\u001b[31mThe request is invalid.\u001b[0m\r\nok      all credentials valid \u009b32m\u202e"}`)
	case FaultAuthMethod:
		if tr.method == "basic" {
			return false
		}
		writeJSON(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"`+jsonEscape(OktaAuthMethodDescription)+`"}`)
	case FaultDelay:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
		return false
	case FaultStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, `{"error":"server_error","error_description":"The server encountered an internal error."}`)
	case FaultRateLimit:
		reset := f.ResetIn
		if reset == 0 {
			reset = time.Minute
		}
		h := w.Header()
		h.Set("X-Rate-Limit-Limit", "600")
		h.Set("X-Rate-Limit-Remaining", "0")
		h.Set("X-Rate-Limit-Reset", fmt.Sprint(s.opts.Clock.Now().Add(reset).Unix()))
		writeJSON(w, http.StatusTooManyRequests, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"oaeEmulatedRateLimit","errorCauses":[]}`)
	case FaultHTML:
		status := f.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%d %s</title></head><body><h1>%s</h1><p>The upstream server is not responding.</p></body></html>\n", status, http.StatusText(status), http.StatusText(status))
	case FaultNoToken:
		writeJSON(w, http.StatusOK, `{"token_type":"Bearer","expires_in":3600}`)
	case FaultRedirect:
		status := f.Status
		if status == 0 {
			status = http.StatusTemporaryRedirect
		}
		http.Redirect(w, r, f.Location, status)
	default:
		return false
	}
	return true
}

// authenticate checks a client's credentials, counting failures toward a
// lockout. It returns the client, or which documented failure to answer.
func (s *Server) authenticate(tr tokenRequest) (*Client, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	if until, ok := s.lockedUntil[tr.clientID]; ok && now.Before(until) {
		return nil, "locked"
	}
	c, ok := s.clients[tr.clientID]
	if !ok {
		return nil, "unknown_client"
	}
	if !slices.Contains(c.Secrets, tr.secret) || tr.secret == "" {
		s.failures[tr.clientID]++
		if s.opts.LockoutAfter > 0 && s.failures[tr.clientID] >= s.opts.LockoutAfter {
			s.lockedUntil[tr.clientID] = now.Add(s.opts.LockoutFor)
			s.failures[tr.clientID] = 0
		}
		return nil, "wrong_secret"
	}
	s.failures[tr.clientID] = 0
	return c, ""
}

func (s *Server) issue(clientID string, scopes []string, lifetime time.Duration) (token string, scope string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token = "emu_" + base64.RawURLEncoding.EncodeToString(b)
	scope = strings.Join(scopes, " ")
	s.mu.Lock()
	s.tokens[token] = issued{clientID: clientID, scope: scope, expires: s.opts.Clock.Now().Add(lifetime)}
	s.mu.Unlock()
	return token, scope
}

func (s *Server) oktaToken(w http.ResponseWriter, r *http.Request) {
	lifetime, ok := oktaLifetimes[r.PathValue("authServer")]
	if !ok {
		writeJSON(w, http.StatusNotFound, `{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: `+jsonEscape(r.PathValue("authServer"))+` (AuthorizationServer)","errorLink":"E0000007","errorId":"oaeEmulatedNotFound","errorCauses":[]}`)
		return
	}
	tr, err := parseTokenRequest(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"The request body is not valid form data."}`)
		return
	}
	if f, ok := s.note(tr); ok && s.applyFault(w, r, f) {
		return
	}
	s.mu.Lock()
	over := s.overOktaRate()
	s.mu.Unlock()
	if over {
		s.applyFault(w, r, Fault{Kind: FaultRateLimit, ResetIn: time.Second})
		return
	}
	var c *Client
	var failure string
	switch tr.method {
	case "basic":
		c, failure = s.authenticate(tr)
	case "private_key_jwt":
		c, failure = s.authenticateAssertion(tr, tokenURL(r))
	default:
		// These authorization servers take client credentials by HTTP
		// Basic or a client assertion only.
		writeJSON(w, http.StatusUnauthorized, OktaUnknownClientBody)
		return
	}
	switch failure {
	case "":
	case "locked":
		writeJSON(w, http.StatusBadRequest, OktaInvalidGrantBody)
		return
	case "unknown_client":
		writeJSON(w, http.StatusUnauthorized, OktaUnknownClientBody)
		return
	case "wrong_secret":
		writeJSON(w, http.StatusUnauthorized, OktaWrongSecretBody)
		return
	default:
		writeJSON(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"`+jsonEscape(failure)+`"}`)
		return
	}
	if body, status, bad := checkGrantAndScope(c, tr); bad {
		writeJSON(w, status, body)
		return
	}
	token, scope := s.issue(c.ID, tr.scopes, lifetime)
	out := fmt.Sprintf(`{"token_type":"Bearer","expires_in":%d,"access_token":"%s"`, c.expiresIn(lifetime), token)
	if c.OmitExpiresIn {
		out = fmt.Sprintf(`{"token_type":"Bearer","access_token":"%s"`, token)
	}
	if scope != "" {
		out += `,"scope":"` + jsonEscape(scope) + `"`
	}
	writeJSON(w, http.StatusOK, out+"}")
}

func (s *Server) doorkeeperToken(w http.ResponseWriter, r *http.Request) {
	tr, err := parseTokenRequest(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, DoorkeeperMissingGrantBody)
		return
	}
	if f, ok := s.note(tr); ok && s.applyFault(w, r, f) {
		return
	}
	if tr.grantType == "" {
		writeJSON(w, http.StatusBadRequest, DoorkeeperMissingGrantBody)
		return
	}
	c, failure := s.authenticate(tr)
	switch failure {
	case "locked":
		writeJSON(w, http.StatusBadRequest, doorkeeperInvalidGrant)
		return
	case "unknown_client", "wrong_secret":
		writeJSON(w, http.StatusUnauthorized, DoorkeeperInvalidClientBody)
		return
	}
	if tr.grantType == "authorization_code" {
		s.exchangeCode(w, r, c)
		return
	}
	scopes := tr.scopes
	if len(scopes) == 0 {
		scopes = []string{"public"} // DMPTool's default scope
	}
	if body, status, bad := checkGrantAndScope(c, tokenRequest{grantType: tr.grantType, scopes: scopes}); bad {
		writeJSON(w, status, body)
		return
	}
	token, scope := s.issue(c.ID, scopes, DoorkeeperLifetime)
	writeJSON(w, http.StatusOK, fmt.Sprintf("{\n  \"access_token\": \"%s\",\n  \"token_type\": \"Bearer\",\n  \"expires_in\": %d,\n  \"scope\": \"%s\",\n  \"created_at\": %d\n}",
		token, c.expiresIn(DoorkeeperLifetime), jsonEscape(scope), s.opts.Clock.Now().Add(c.CreatedAtOffset).Unix()))
}

// doorkeeperInvalidGrant is Doorkeeper's body for a bad, used or expired code.
const doorkeeperInvalidGrant = "{\n  \"error\": \"invalid_grant\",\n  \"error_description\": \"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.\"\n}"

// doorkeeperAuthorize is DMPTool's authorization endpoint, with the user's
// decision made by the client's Deny setting: it redirects back to the
// registered redirect_uri with a single-use code, or with access_denied.
func (s *Server) doorkeeperAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	c, ok := s.clients[q.Get("client_id")]
	s.mu.Unlock()
	if !ok {
		htmlError(w, http.StatusUnauthorized, "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		htmlError(w, http.StatusBadRequest, "The requested redirect uri is malformed or doesn't match client redirect URI.")
		return
	}
	back, err := url.Parse(redirectURI)
	if err != nil {
		htmlError(w, http.StatusBadRequest, "The requested redirect uri is malformed or doesn't match client redirect URI.")
		return
	}
	answer := url.Values{}
	if st := q.Get("state"); st != "" {
		answer.Set("state", st)
	}
	scopes := strings.Fields(q.Get("scope"))
	_, _, badScope := checkGrantAndScope(&Client{Scopes: c.Scopes, Grants: []string{"authorization_code"}}, tokenRequest{grantType: "authorization_code", scopes: scopes})
	switch {
	case q.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
		answer.Set("error_description", "The authorization server does not support this response type.")
	case badScope:
		answer.Set("error", "invalid_scope")
		answer.Set("error_description", "The requested scope is invalid, unknown, or malformed.")
	case c.Deny:
		answer.Set("error", "access_denied")
		answer.Set("error_description", "The resource owner or authorization server denied the request.")
	default:
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		code := base64.RawURLEncoding.EncodeToString(b)
		s.mu.Lock()
		s.codes[code] = &authCode{clientID: c.ID, redirectURI: redirectURI, scopes: scopes, challenge: q.Get("code_challenge"), expires: s.opts.Clock.Now().Add(CodeLifetime)}
		s.mu.Unlock()
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// exchangeCode is the authorization_code grant: a single-use, unexpired
// code, for the client it was issued to, with the same redirect_uri, and
// the PKCE verifier when a challenge was given.
func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, c *Client) {
	if _, _, bad := checkGrantAndScope(c, tokenRequest{grantType: "authorization_code"}); bad {
		writeJSON(w, http.StatusBadRequest, `{"error":"unauthorized_client","error_description":"The client is not authorized to use the provided grant type."}`)
		return
	}
	s.mu.Lock()
	ac, ok := s.codes[r.PostForm.Get("code")]
	valid := ok && !ac.used && ac.clientID == c.ID && ac.redirectURI == r.PostForm.Get("redirect_uri") && s.opts.Clock.Now().Before(ac.expires)
	if valid && ac.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		valid = base64.RawURLEncoding.EncodeToString(sum[:]) == ac.challenge
	}
	if ok {
		ac.used = true // a code is spent by any attempt
	}
	s.mu.Unlock()
	if !valid {
		writeJSON(w, http.StatusBadRequest, doorkeeperInvalidGrant)
		return
	}
	token, scope := s.issue(c.ID, ac.scopes, UserGrantLifetime)
	writeJSON(w, http.StatusOK, fmt.Sprintf("{\n  \"access_token\": \"%s\",\n  \"token_type\": \"Bearer\",\n  \"scope\": \"%s\",\n  \"created_at\": %d\n}",
		token, jsonEscape(scope), s.opts.Clock.Now().Unix()))
}

func htmlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>An error has occurred</title></head><body><h1>An error has occurred</h1><p>%s</p></body></html>\n", msg)
}

// SetDeny makes the user decline (or approve) clientID's authorization requests.
func (s *Server) SetDeny(clientID string, deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[clientID]; ok {
		c.Deny = deny
	}
}

// checkGrantAndScope answers RFC 6749's errors for a grant or a scope the
// client may not use.
func checkGrantAndScope(c *Client, tr tokenRequest) (body string, status int, bad bool) {
	switch {
	case tr.grantType == "":
		return `{"error":"invalid_request","error_description":"The request is missing a required parameter: grant_type."}`, http.StatusBadRequest, true
	case tr.grantType != "client_credentials" && tr.grantType != "authorization_code" && tr.grantType != "refresh_token":
		return `{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported by the authorization server."}`, http.StatusBadRequest, true
	}
	grants := c.Grants
	if grants == nil {
		grants = []string{"client_credentials"}
	}
	if !slices.Contains(grants, tr.grantType) {
		return `{"error":"unauthorized_client","error_description":"The client is not authorized to use the provided grant type."}`, http.StatusBadRequest, true
	}
	if c.Scopes != nil {
		for _, sc := range tr.scopes {
			if !slices.Contains(c.Scopes, sc) {
				return `{"error":"invalid_scope","error_description":"One or more scopes are not configured for the authorization server resource."}`, http.StatusBadRequest, true
			}
		}
	}
	return "", 0, false
}

// bearer returns the request's bearer token and whether it is live.
func (s *Server) bearer(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.tokens[tok]
	return tok, ok && !is.revoked && s.opts.Clock.Now().Before(is.expires)
}

// resourceFault applies an injected global fault to the resource APIs.
func (s *Server) resourceFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f, ok := s.faults[""]
	s.mu.Unlock()
	return ok && s.applyFault(w, r, f)
}

// ctrpAPI stands for CTRP's services: it answers RFC 6750's challenge to a
// token that is missing, unknown, expired or revoked.
func (s *Server) ctrpAPI(w http.ResponseWriter, r *http.Request) {
	if s.resourceFault(w, r) {
		return
	}
	if _, live := s.bearer(r); !live {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ctrp", error="invalid_token", error_description="The access token is invalid or has expired"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintln(w, "OK")
}

// dmptoolAPI stands for DMPTool's API v2: its documented 401 body for a
// token that is invalid, expired or revoked.
func (s *Server) dmptoolAPI(w http.ResponseWriter, r *http.Request) {
	if s.resourceFault(w, r) {
		return
	}
	source := r.Method + " " + r.URL.Path
	now := s.opts.Clock.Now().Format(time.RFC3339)
	if _, live := s.bearer(r); !live {
		writeJSON(w, http.StatusUnauthorized, fmt.Sprintf("{\n  \"api_version\": 2,\n  \"source\": \"%s\",\n  \"time\": \"%s\",\n  \"code\": 401,\n  \"message\": \"Unauthorized\",\n  \"total_items\": 0,\n  \"items\": [],\n  \"errors\": [\n    \"%s\"\n  ]\n}", jsonEscape(source), now, DMPToolRevoked))
		return
	}
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"api_version":2,"source":"%s","time":"%s","code":200,"message":"OK","total_items":0,"items":[],"errors":[]}`, jsonEscape(source), now))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// echoBody is an invalid_client answer that writes the request's secret
// back in enc.
func echoBody(r *http.Request, tr tokenRequest, enc EchoEncoding) string {
	var said string
	switch enc {
	case EchoJSON:
		b, _ := json.Marshal("The client secret " + tr.secret + " is invalid.")
		return `{"error":"invalid_client","error_description":` + strings.ReplaceAll(string(b), "/", `\/`) + `}`
	case EchoForm:
		said = "The request was invalid: " + url.Values{"client_id": {tr.clientID}, "client_secret": {tr.secret}, "grant_type": {tr.grantType}}.Encode()
	case EchoBasic:
		return `{"error":"invalid_client","error_description":"Client authentication failed for Authorization: ` + strings.ReplaceAll(jsonEscape(r.Header.Get("Authorization")), "/", `\/`) + `"}`
	default:
		said = "The client secret " + tr.secret + " is invalid."
	}
	return `{"error":"invalid_client","error_description":"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(said) + `"}`
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
