package oauthcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/internal/urlcheck"
)

// maxBody is how much of a response body is read.
const maxBody = 1 << 20

// Result is the outcome of one check of one credential.
type Result struct {
	Name        string
	Environment string
	Provider    string
	Class       Class
	// Status is the HTTP status of the token response (0 when none came).
	Status      int
	ErrorCode   string
	Description string // the provider's description, through the Boundary
	Detail      string // one line: what happened and what to do next (at most MaxDetail characters)
	TokenType   string
	Scope       string
	// ExpiresAt is when the issued token expires; zero with NoExpiry when
	// the server gave no lifetime (never treat such a token as eternal).
	ExpiresAt time.Time
	NoExpiry  bool
	Latency   time.Duration
	RateLimit RateLimit
	RetryAt   time.Time
	// ProbeStatus is the resource API's status, when a probe ran.
	ProbeStatus int
	// TokenURL and AuthStyle are where and how the pair was sent (for a
	// NotSent result, where and how it was sent when refused): a refusal
	// is remembered with them, so that a corrected provider is tried.
	TokenURL  string
	AuthStyle AuthStyle
	// NotSent: answered from the lockout record without a request;
	// RefusedAt is then when the provider refused this version.
	NotSent           bool
	RefusedAt         time.Time
	CredentialVersion int
	CheckedAt         time.Time
	// RotateBy is the credential's rotation deadline (zero when unknown).
	RotateBy time.Time
	// AccessToken is the issued token, for publishing; it never prints.
	AccessToken secret.Value
}

// Client is the pair a check sends, and whose it is: Name, Environment and
// Version only label the Result.
type Client struct {
	ID     string
	Secret secret.Value
	// Key, for AuthStylePrivateKeyJWT, signs the client assertion sent
	// instead of a secret.
	Key *clientkey.Key
	// KeyProblem says why the credential's private key could not be
	// read (Key is then nil); nothing is sent.
	KeyProblem string
	// Name and Environment are the credential's; Version is the KV
	// version the pair was read from.
	Name        string
	Environment string
	Version     int
	// Forms, when set, is the boundary of ID and Secret (NewBoundary),
	// made once for the version rather than at each request.
	Forms *Boundary
}

// boundary is the boundary of the pair cl carries.
func (cl Client) boundary() Boundary {
	if cl.Forms != nil {
		return *cl.Forms
	}
	return NewBoundary(cl.ID, cl.Secret.Reveal())
}

// AuthStyle is how the client ID and secret reach the token endpoint.
type AuthStyle string

// The auth styles.
const (
	// AuthStyleHeader is HTTP Basic (RFC 6749 client_secret_basic), as Okta wants.
	AuthStyleHeader AuthStyle = "header"
	// AuthStyleBody puts client_id and client_secret in the form body
	// (client_secret_post), as Doorkeeper accepts.
	AuthStyleBody AuthStyle = "body"
	// AuthStylePrivateKeyJWT sends a client assertion signed with the
	// client's private key (RFC 7523 private_key_jwt) and no secret.
	AuthStylePrivateKeyJWT AuthStyle = "private_key_jwt"
)

// OAuth2 is the style as golang.org/x/oauth2 names it: always explicit,
// since AutoDetect would retry a refused secret the other way.
func (a AuthStyle) OAuth2() oauth2.AuthStyle {
	if a == AuthStyleBody {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// DefaultTimeout bounds one check of an Endpoint that sets no Timeout.
const DefaultTimeout = 10 * time.Second

// Endpoint is a provider as a check sees it: where its token endpoint is,
// how to send the pair, and what to probe with the token.
type Endpoint struct {
	// Name is the provider's name, for the Result.
	Name      string
	TokenURL  string
	AuthStyle AuthStyle
	Scopes    []string
	// Timeout bounds one check, probe included (DefaultTimeout when zero).
	Timeout time.Duration
	// InsecureHTTP allows plain http to a host that is not loopback.
	InsecureHTTP bool
	// Probe, when set, is a resource API request made with each new token.
	Probe *Probe
}

// Probe is a request to a resource API with a token: it tells a token that
// works from one the API refuses.
type Probe struct {
	URL    string
	Method string // GET, HEAD or POST
}

// timeout bounds one check of e: its timeout, else the default. The same
// rule bounds a user grant's code exchange.
func (e Endpoint) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultTimeout
}

// StoredToken is a user grant's long-lived token, kept with the pair.
type StoredToken struct {
	Token     secret.Value
	TokenType string
	Scope     string
	ExpiresAt time.Time // zero when the provider gave no lifetime
}

// RateLimit is what the rate-limit headers of the token response said.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time
	Seen      bool
}

// Checker sends token requests. The zero value uses DefaultTransport.
type Checker struct {
	// Transport carries the requests; tests and the daemon may share one.
	Transport http.RoundTripper
	// Clock measures a request's Latency (none is measured when nil).
	Clock clockwork.Clock
}

// since is how long ago start was by c's clock; zero without one.
func (c *Checker) since(start time.Time) time.Duration {
	if c.Clock == nil {
		return 0
	}
	return c.Clock.Since(start)
}

// start is now by c's clock, to measure a latency from; zero without one.
func (c *Checker) start() time.Time {
	if c.Clock == nil {
		return time.Time{}
	}
	return c.Clock.Now()
}

// RequestToken requests one token for cl from e and classifies the outcome. It
// sends exactly one token request (and one probe request when e has a
// probe and a token came), never retries, never follows a redirect, and
// gives up after e.Timeout. rotateBy is the credential's deadline (zero
// when unknown); now is the time the classification is made at.
func (c *Checker) RequestToken(ctx context.Context, cl Client, e Endpoint, rotateBy time.Time, now time.Time) Result {
	res := Result{Name: cl.Name, Environment: cl.Environment, Provider: e.Name, CredentialVersion: cl.Version, CheckedAt: now, RotateBy: rotateBy,
		TokenURL: e.TokenURL, AuthStyle: e.AuthStyle}
	if problem := endpointProblem(e); problem != "" {
		res.Class, res.Detail = ClassMisconfigured, problem+": nothing was sent"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()

	auth, problem := cl.authentication(e, now)
	if problem != "" {
		res.Class, res.Detail = ClassMisconfigured, text.Truncate(problem, MaxDetail-20)+": nothing was sent"
		return res
	}
	rec := &recorder{base: c.transport()}
	client := NewHTTPClient(rec)
	cc := clientcredentials.Config{
		ClientID:       cl.ID,
		ClientSecret:   auth.secret,
		TokenURL:       e.TokenURL,
		Scopes:         e.Scopes,
		AuthStyle:      auth.style,
		EndpointParams: auth.params,
	}
	start := c.start()
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	res.Latency = c.since(start)

	resp := rec.response(PhaseToken, err)
	pair := auth.boundary
	resp.URL, resp.AuthStyle, resp.Boundary = e.TokenURL, e.AuthStyle, pair
	res.Status = resp.Status
	res.RateLimit = rateLimit(resp.Header)
	v := Classify(resp, rotateBy, now)
	if v.Class == ClassOK && tok == nil {
		// The classifier read a token that x/oauth2 refused (an expires_in
		// of the wrong type, JSON sent as a form): the provider's other
		// clients could not use it either, and there is no token to keep.
		v = Verdict{Class: ClassProtocol, Detail: fmt.Sprintf("the token endpoint answered %d with an access_token that OAuth2 clients cannot read (a field of the wrong type, such as expires_in, or a body of the wrong content type); the token is not used: check the provider", resp.Status)}
	}
	if v.Class == ClassOK && tok != nil && !sendable(tok.AccessToken) {
		v = Verdict{Class: ClassProtocol, Detail: fmt.Sprintf("the token endpoint answered %d with an access_token that cannot be sent (blank, or with control characters); the token is not used: check the provider", resp.Status)}
	}

	if v.Class == ClassOK && tok != nil {
		res.AccessToken = secret.New(tok.AccessToken)
		issued := pair.With(tok.AccessToken)
		res.TokenType = issued.Code(tok.TokenType)
		fields := tokenFields(tok)
		res.Scope = issued.Text(fields.Scope, MaxScope)
		var problem string
		res.ExpiresAt, res.NoExpiry, problem = expiry(fields, now)
		if problem != "" {
			v = Verdict{Class: ClassProtocol, Detail: problem + "; the token is not used: check the provider"}
		} else if e.Probe != nil {
			pv, status := c.probe(ctx, e.Probe, issued, tok.AccessToken, now)
			res.ProbeStatus = status
			v = pv
		}
		if v.Class == ClassOK && res.NoExpiry {
			v.Detail += "; the server gave no lifetime for it"
		}
	}
	res.Class, res.ErrorCode, res.Description, res.Detail, res.RetryAt = v.Class, v.ErrorCode, v.Description, text.Truncate(v.Detail, MaxDetail), v.RetryAt
	if res.Class != ClassOK {
		res.AccessToken = secret.Value{}
	}
	return res
}

// CheckStoredToken checks a user grant: no token request, only the stored
// token tried against e's probe. 2xx is ok; a 401 (DMPTool's body, RFC
// 6750's invalid_token, or a bare one) is expired; 403 is misconfigured (a
// scope missing); 5xx and network errors unavailable.
func (c *Checker) CheckStoredToken(ctx context.Context, cl Client, tok StoredToken, e Endpoint, rotateBy, now time.Time) Result {
	res := Result{Name: cl.Name, Environment: cl.Environment, Provider: e.Name, CredentialVersion: cl.Version,
		CheckedAt: now, RotateBy: rotateBy, TokenType: tok.TokenType, Scope: tok.Scope, TokenURL: e.TokenURL, AuthStyle: e.AuthStyle,
		ExpiresAt: tok.ExpiresAt, NoExpiry: tok.ExpiresAt.IsZero()}
	switch {
	case tok.Token.IsZero():
		res.Class, res.Detail = ClassMisconfigured, "the user grant has no stored token: run credkeeper authorize "+cl.Name
		return res
	case e.Probe == nil:
		res.Class, res.Detail = ClassMisconfigured, fmt.Sprintf("provider %q has no probe to try the stored token against: add a probe block", e.Name)
		return res
	}
	if problem := endpointProblem(e); problem != "" {
		res.Class, res.Detail = ClassMisconfigured, problem+": nothing was sent"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()
	start := c.start()
	v, status := c.probe(ctx, e.Probe, cl.boundary().With(tok.Token.Reveal()), tok.Token.Reveal(), now)
	res.Latency, res.ProbeStatus, res.Status = c.since(start), status, status
	res.Class, res.ErrorCode, res.Description, res.Detail, res.RetryAt = v.Class, v.ErrorCode, v.Description, text.Truncate(v.Detail, MaxDetail), v.RetryAt
	switch res.Class {
	case ClassOK:
		res.Detail = "the resource API accepted the stored token"
	case ClassExpired:
		res.Detail = strings.SplitN(v.Detail, ";", 2)[0] + "; the user's grant is gone: re-run credkeeper authorize " + cl.Name
	}
	return res
}

func (c *Checker) probe(ctx context.Context, p *Probe, b Boundary, token string, now time.Time) (Verdict, int) {
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, nil)
	if err != nil {
		return Verdict{Class: ClassMisconfigured, Detail: "the probe url is not a valid request: " + err.Error()}, 0
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	r := Response{Phase: PhaseProbe, URL: p.URL, Boundary: b}
	resp, err := c.transport().RoundTrip(req)
	if err != nil {
		r.Err = err
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		r.Status, r.Header, r.Body = resp.StatusCode, resp.Header, body
	}
	return Classify(r, time.Time{}, now), r.Status
}

// endpointProblem says why e's token URL or probe URL must not receive
// credentials (plain http to a host that is not loopback), or "".
func endpointProblem(e Endpoint) string {
	if problem := EndpointProblem(e.TokenURL, "token_url", e.InsecureHTTP); problem != "" {
		return problem
	}
	if e.Probe != nil {
		return EndpointProblem(e.Probe.URL, "probe url", e.InsecureHTTP)
	}
	return ""
}

// EndpointProblem says why credentials must not be sent to raw (what names
// it: "token_url", "probe url"), or "" when they may: see
// urlcheck.EndpointProblem, the rule the configuration language applies too.
func EndpointProblem(raw, what string, insecure bool) string {
	return urlcheck.EndpointProblem(raw, what, insecure)
}

// IsLoopback reports whether host (a name or an address) is this machine.
func IsLoopback(host string) bool { return urlcheck.IsLoopback(host) }

// NewHTTPClient is a client that never follows a redirect: a 3xx comes
// back as the answer. Go's default client would send a client_secret_post
// body again to wherever a 307 points, and an Authorization header to any
// port or scheme of the same host name; credentials go to their endpoint
// only. Every request credkeeper sends with a secret or a token uses it.
func NewHTTPClient(transport http.RoundTripper) *http.Client {
	if transport == nil {
		transport = DefaultTransport
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (c *Checker) transport() http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return DefaultTransport
}

// MaxIdlePerHost is how many idle connections DefaultTransport keeps to
// each host: more than a provider's max_in_flight, so the checks running
// side by side reuse their connections.
const MaxIdlePerHost = 32

// DefaultTransport carries every request whose caller names no transport.
// It is Go's default transport keeping MaxIdlePerHost idle connections per
// host instead of two: with two, each burst of parallel checks to one
// provider closed all but two connections after use and dialed (and with
// TLS, handshook) again for the next burst.
var DefaultTransport http.RoundTripper = pooledTransport()

func pooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxIdlePerHost
	return t
}

// recorder keeps the status, headers and body of the one response that
// passes through it, whatever x/oauth2 makes of it afterwards.
type recorder struct {
	base http.RoundTripper

	mu     sync.Mutex
	status int
	header http.Header
	buf    bytes.Buffer
	err    error
	// bodyErr is why the body stopped before its end (a timeout while the
	// provider trickled it, a reset): then there was no answer to classify.
	bodyErr error
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.status, r.header = resp.StatusCode, resp.Header.Clone()
	resp.Body = &teeBody{rc: resp.Body, r: r}
	return resp, nil
}

type teeBody struct {
	rc io.ReadCloser
	r  *recorder
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.r.mu.Lock()
	if room := maxBody - t.r.buf.Len(); room > 0 {
		t.r.buf.Write(p[:min(n, room)])
	}
	if err != nil && err != io.EOF && t.r.bodyErr == nil {
		t.r.bodyErr = err
	}
	t.r.mu.Unlock()
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// response is what the recorder saw, or the transport error when no
// response came (x/oauth2 returns that error as it is).
func (r *recorder) response(phase Phase, tokenErr error) Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		err := r.err
		if err == nil {
			err = tokenErr
		}
		if err == nil {
			err = errors.New("no response")
		}
		return Response{Phase: phase, Err: err}
	}
	if r.bodyErr != nil {
		// The headers came, the body did not: as if no answer came.
		return Response{Phase: phase, Err: fmt.Errorf("the answer (%d) was cut off: %w", r.status, r.bodyErr)}
	}
	return Response{Phase: phase, Status: r.status, Header: r.header, Body: bytes.Clone(r.buf.Bytes())}
}

// tokenResponse holds the token fields credkeeper reads itself: x/oauth2
// knows nothing of Doorkeeper's created_at.
type tokenResponse struct {
	Scope     string
	ExpiresIn int64
	CreatedAt int64
}

// sendable reports whether a token can travel in an Authorization header:
// not blank, and no control characters.
func sendable(token string) bool {
	return strings.TrimSpace(token) != "" && !strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// tokenFields reads them from the answer as x/oauth2 decoded it (Extra):
// the same keys, exactly as spelled, from a JSON or a form-encoded body
// alike, without reading the body a second time.
func tokenFields(tok *oauth2.Token) tokenResponse {
	scope, _ := tok.Extra("scope").(string)
	return tokenResponse{Scope: scope, ExpiresIn: number(tok.Extra("expires_in")), CreatedAt: number(tok.Extra("created_at"))}
}

// number reads a JSON number (x/oauth2 decodes it as float64), a number
// x/oauth2 parsed from a form (int64 or float64) or a numeric string (some
// servers send expires_in as one, and x/oauth2 leaves a form's 1e3 one).
// A number beyond int64 reads as the nearest int64, as ParseInt reads one:
// expiry refuses it as too long, never takes it for none.
func number(v any) int64 {
	switch n := v.(type) {
	case float64:
		return clampInt64(n)
	case int64:
		return n
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if errors.Is(err, strconv.ErrSyntax) {
			f, _ := strconv.ParseFloat(n, 64)
			return clampInt64(f)
		}
		return i
	}
	return 0
}

func clampInt64(f float64) int64 {
	switch {
	case f != f: // NaN
		return 0
	case f >= math.MaxInt64: // 2^63 as a float64
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// MaxTokenLifetime is the longest expires_in credkeeper believes.
const MaxTokenLifetime = 10 * 365 * 24 * time.Hour

// expiry is when the token expires: now + expires_in (RFC 6749 counts it
// from the response), or created_at + expires_in when Doorkeeper's
// created_at makes that earlier but still ahead of now; unknown when
// expires_in is missing, zero or negative. An expires_in beyond
// MaxTokenLifetime is a problem, not a lifetime.
func expiry(t tokenResponse, now time.Time) (expires time.Time, unknown bool, problem string) {
	switch {
	case t.ExpiresIn <= 0:
		return time.Time{}, true, ""
	case t.ExpiresIn > int64(MaxTokenLifetime/time.Second):
		return time.Time{}, false, fmt.Sprintf("the token response gave expires_in %d: more than ten years", t.ExpiresIn)
	}
	expires = now.Add(time.Duration(t.ExpiresIn) * time.Second).Truncate(time.Second)
	if t.CreatedAt > 0 {
		if byCreation := time.Unix(t.CreatedAt, 0).Add(time.Duration(t.ExpiresIn) * time.Second).UTC(); byCreation.Before(expires) && byCreation.After(now) {
			expires = byCreation
		}
	}
	return expires, false, ""
}

func rateLimit(h http.Header) RateLimit {
	var rl RateLimit
	if h == nil {
		return rl
	}
	if v := h.Get("X-Rate-Limit-Limit"); v != "" {
		rl.Limit, _ = strconv.Atoi(v)
		rl.Seen = true
	}
	if v := h.Get("X-Rate-Limit-Remaining"); v != "" {
		rl.Remaining, _ = strconv.Atoi(v)
		rl.Seen = true
	}
	if v := h.Get("X-Rate-Limit-Reset"); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil {
			rl.Reset = time.Unix(unix, 0).UTC()
			rl.Seen = true
		}
	}
	return rl
}

var tokenField = regexp.MustCompile(`("(?:access_token|refresh_token|id_token|client_secret)"\s*:\s*")[^"]+(")`)

var formToken = regexp.MustCompile(`((?:access_token|refresh_token|id_token)=)[^&\s]+`)
