package oauthcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/text"
)

// Class is what a check found, and so what to do about it. Every check ends
// in exactly one class.
type Class string

// The classes. The first three are credential failures; the rest are not the
// credential's fault and must never page as if they were.
const (
	// ClassOK: a token was issued (and the probe, if any, accepted it).
	ClassOK Class = "ok"
	// ClassInvalidClient: the provider does not accept this client ID or secret.
	ClassInvalidClient Class = "invalid_client"
	// ClassInvalidGrant: credentials refused, or the account is locked.
	ClassInvalidGrant Class = "invalid_grant"
	// ClassExpired: the rotation deadline retired the pair, or the resource
	// API refused a token as invalid, expired or revoked.
	ClassExpired Class = "expired"
	// ClassRateLimited: the provider asked us to slow down (429).
	ClassRateLimited Class = "rate_limited"
	// ClassUnavailable: network error, timeout or 5xx: the provider is down.
	ClassUnavailable Class = "unavailable"
	// ClassMisconfigured: the request itself is wrong (scope, grant type,
	// URL) or the credential record lacks a field.
	ClassMisconfigured Class = "misconfigured"
	// ClassProtocol: the answer is not what an OAuth2 server sends
	// (a 2xx without access_token, an HTML error page).
	ClassProtocol Class = "protocol"
)

// Classes lists every class, in the order of the table in the README.
var Classes = []Class{ClassOK, ClassInvalidClient, ClassInvalidGrant, ClassExpired, ClassRateLimited, ClassUnavailable, ClassMisconfigured, ClassProtocol}

// IsCredentialFailure reports whether the class means the credential itself
// is refused: the classes that alert the owner and page for production.
func (c Class) IsCredentialFailure() bool {
	return c == ClassInvalidClient || c == ClassInvalidGrant || c == ClassExpired
}

// Phase says which request a response answers.
type Phase int

const (
	// PhaseToken is the token request to the provider's token endpoint.
	PhaseToken Phase = iota
	// PhaseProbe is a request to the resource API with the issued token.
	PhaseProbe
)

// Response is what came back from one HTTP request, as the classifier sees it.
type Response struct {
	Phase  Phase
	Status int // 0 when no response came
	Header http.Header
	Body   []byte // at most 1 MiB, as it came: read only through Boundary
	Err    error  // a transport error or timeout; nil when a response came
	// URL is where the request went: a relative Location is read against it.
	URL string
	// AuthStyle is how the pair was sent ("" when no pair was).
	AuthStyle AuthStyle
	// Boundary is the request's: every word of the provider's that a
	// Verdict keeps crosses it.
	Boundary Boundary
}

// Verdict is the classifier's answer.
type Verdict struct {
	Class       Class
	ErrorCode   string // the provider's error code, if it gave one
	Description string // the provider's description of the error, if any
	// Detail is one line for a person: what happened and what to do next.
	Detail string
	// RetryAt is when to try again, for rate_limited (zero when not said).
	RetryAt time.Time
}

// providerError is the error part of a token endpoint's JSON body, in both
// of Okta's shapes (RFC 6749's error/error_description, and Okta's API
// error errorCode/errorSummary) and Doorkeeper's API body.
type providerError struct {
	Error            string   `json:"error"`
	ErrorDescription string   `json:"error_description"`
	ErrorCode        string   `json:"errorCode"`
	ErrorSummary     string   `json:"errorSummary"`
	Message          string   `json:"message"`
	Errors           []string `json:"errors"`
	AccessToken      string   `json:"access_token"`
}

func (p providerError) code() string {
	if p.Error != "" {
		return p.Error
	}
	return p.ErrorCode
}

func (p providerError) description() string {
	switch {
	case p.ErrorDescription != "":
		return p.ErrorDescription
	case p.ErrorSummary != "":
		return p.ErrorSummary
	case len(p.Errors) > 0:
		return strings.Join(p.Errors, "; ")
	}
	return p.Message
}

// Classify sorts one response into a class. It is a pure function of the
// response, the credential's rotation deadline (zero when unknown) and now.
// What it keeps of the provider's words (code, description, snippets, a
// redirect's target) it decodes first, then takes through r.Boundary.
func Classify(r Response, rotateBy, now time.Time) Verdict {
	if r.Err != nil || r.Status == 0 {
		return Verdict{Class: ClassUnavailable, Detail: transportDetail(r)}
	}
	if r.Phase == PhaseProbe {
		return classifyProbe(r, now)
	}
	return classifyToken(r, rotateBy, now)
}

// classifyToken sorts a token endpoint's answer: the provider's trouble
// first (429, 5xx), then a redirect, a complaint about the auth method,
// an OAuth2 error code, a success, and last what the status alone says.
func classifyToken(r Response, rotateBy, now time.Time) Verdict {
	pe, parsed := parseProviderError(r)
	code := r.Boundary.Code(pe.code())
	v := Verdict{ErrorCode: code, Description: r.Boundary.Description(pe.description())}
	if t, ok := classifyProviderTrouble(v, r, parsed, now); ok {
		return t
	}
	if r.Status >= 300 && r.Status < 400 {
		v.Class = ClassMisconfigured
		v.Detail = redirectDetail(r, "the token endpoint", "credentials are never sent after a redirect: set token_url to the final URL")
		return v
	}
	if code == "invalid_client" && r.AuthStyle == AuthStylePrivateKeyJWT {
		if a, ok := classifyAssertionRefusal(v, r.Boundary.clean(pe.description())); ok {
			return a
		}
	}
	if code == "invalid_client" {
		if m := methodComplaint(r.Boundary.clean(pe.description())); m.named {
			v.Class = ClassMisconfigured
			v.Detail = m.detail(r.AuthStyle) + descHint(v)
			return v
		}
	}
	if code != "" {
		v = classifyErrorCode(v, r.Status, rotateBy, now)
		if v.Class == ClassInvalidClient && r.AuthStyle == AuthStylePrivateKeyJWT {
			v.Detail = "the provider does not accept this client ID or key" + descHint(v) + "; the key is unknown to it or deactivated: register the key's JWKS (credkeeper keygen printed it) or rotate to a new key"
		}
		return v
	}
	if r.Status >= 200 && r.Status < 300 {
		return classifyTokenSuccess(v, r, pe, parsed)
	}
	return classifyTokenStatus(v, r, parsed, rotateBy, now)
}

// classifyProviderTrouble sorts the answers that say the provider, not
// the credential, is in trouble: rate limiting (429) and failure (5xx).
func classifyProviderTrouble(v Verdict, r Response, parsed bool, now time.Time) (Verdict, bool) {
	switch {
	case r.Status == http.StatusTooManyRequests:
		v.Class = ClassRateLimited
		v.RetryAt = retryAt(r.Header, now)
		v.Detail = "the token endpoint is rate limiting (429)" + retryHint(v.RetryAt, now) + "; not a credential problem"
		return v, true
	case r.Status >= 500:
		v.Class = ClassUnavailable
		v.Detail = fmt.Sprintf("the token endpoint failed with %d%s; the provider is having trouble, not the credential: it will be retried", r.Status, bodyHint(r, parsed))
		return v, true
	}
	return v, false
}

// classifyTokenSuccess sorts a 2xx with no OAuth2 error: ok when it
// carries an access_token, a protocol failure otherwise.
func classifyTokenSuccess(v Verdict, r Response, pe providerError, parsed bool) Verdict {
	if parsed && pe.AccessToken != "" {
		v.Class = ClassOK
		v.Detail = "a token was issued"
		return v
	}
	v.Class = ClassProtocol
	if parsed {
		v.Detail = fmt.Sprintf("the token endpoint answered %d without an access_token%s; check token_url points at the token endpoint", r.Status, bodyHint(r, false))
	} else {
		v.Detail = fmt.Sprintf("the token endpoint answered %d with a body that is not a token%s; check token_url", r.Status, bodyHint(r, false))
	}
	return v
}

// classifyTokenStatus sorts a failure with no OAuth2 error code by its
// status alone.
func classifyTokenStatus(v Verdict, r Response, parsed bool, rotateBy, now time.Time) Verdict {
	switch {
	case r.Status == http.StatusUnauthorized && len(bytes.TrimSpace(r.Body)) == 0:
		v.Class = ClassInvalidClient
		v.Detail = "the token endpoint refused the client credentials (401 with no body); check the client ID and secret"
		return withDeadline(v, rotateBy, now)
	case r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed:
		v.Class = ClassMisconfigured
		v.Detail = fmt.Sprintf("the token endpoint answered %d%s; check the provider's token_url", r.Status, bodyHint(r, parsed))
		return v
	}
	v.Class = ClassProtocol
	v.Detail = fmt.Sprintf("the token endpoint answered %d with no OAuth2 error%s; check token_url, or the provider's status", r.Status, bodyHint(r, parsed))
	return v
}

func classifyErrorCode(v Verdict, status int, rotateBy, now time.Time) Verdict {
	switch v.ErrorCode {
	case "invalid_client":
		v.Class = ClassInvalidClient
		v.Detail = "the provider does not accept this client ID or secret" + descHint(v) + "; check the pair in Vault, or ask the provider for a new one"
		return withDeadline(v, rotateBy, now)
	case "invalid_grant":
		v.Class = ClassInvalidGrant
		v.Detail = "the provider refused the credentials or the account is locked" + descHint(v) + "; do not retry this pair: ask the provider to check the account"
	case "invalid_scope", "unauthorized_client", "unsupported_grant_type", "invalid_request", "access_denied", "unsupported_response_type":
		v.Class = ClassMisconfigured
		v.Detail = "the provider refused the request as " + v.ErrorCode + descHint(v) + "; check the provider's scopes and grant for this client"
	case "temporarily_unavailable", "server_error":
		v.Class = ClassUnavailable
		v.Detail = "the provider reported " + v.ErrorCode + descHint(v) + "; it will be retried"
	default:
		v.Class = ClassMisconfigured
		v.Detail = fmt.Sprintf("the provider refused the request with %d %s%s; see the provider's documentation for this error", status, v.ErrorCode, descHint(v))
	}
	return v
}

// withDeadline turns invalid_client after the rotation deadline into expired.
func withDeadline(v Verdict, rotateBy, now time.Time) Verdict {
	if !rotateBy.IsZero() && now.After(rotateBy) {
		v.Class = ClassExpired
		v.Detail = fmt.Sprintf("rotation deadline passed on %s: the yearly rotation retired this pair; request the new one from the provider", dates.Format(rotateBy))
	}
	return v
}

// dmptoolRevoked is DMPTool's API body for an invalid token.
const dmptoolRevoked = "token is invalid, expired or has been revoked"

var invalidTokenChallenge = regexp.MustCompile(`(?i)\bbearer\b.*\berror\s*=\s*"?invalid_token"?`)

func classifyProbe(r Response, now time.Time) Verdict {
	pe, parsed := parseProviderError(r)
	v := Verdict{ErrorCode: r.Boundary.Code(pe.code()), Description: r.Boundary.Description(pe.description())}
	switch {
	case r.Status >= 200 && r.Status < 300:
		v.Class = ClassOK
		v.Detail = "a token was issued and the resource API accepted it"
	case r.Status >= 300 && r.Status < 400:
		v.Class = ClassMisconfigured
		v.Detail = redirectDetail(r, "the resource API", "a bearer token is never sent after a redirect: set the probe url to the final URL")
	case r.Status == http.StatusUnauthorized:
		v.Class = ClassExpired
		switch {
		case invalidTokenChallenge.MatchString(strings.Join(r.Header.Values("WWW-Authenticate"), ",")):
			v.ErrorCode = "invalid_token"
			v.Detail = "the resource API refused the token as invalid_token"
		case bytes.Contains(r.Body, []byte(dmptoolRevoked)):
			v.Detail = "the resource API refused the token: " + dmptoolRevoked
		default:
			v.Detail = "the resource API refused the token (401)"
		}
		v.Detail += "; the credential no longer grants access: request a new pair from the provider"
	case r.Status == http.StatusForbidden:
		v.Class = ClassMisconfigured
		v.Detail = "the resource API answered 403 to the token; it lacks a scope or permission for the probe URL"
	case r.Status == http.StatusTooManyRequests:
		v.Class = ClassRateLimited
		v.RetryAt = retryAt(r.Header, now)
		v.Detail = "the resource API is rate limiting (429)" + retryHint(v.RetryAt, now)
	case r.Status >= 500:
		v.Class = ClassUnavailable
		v.Detail = fmt.Sprintf("the resource API failed with %d%s; it will be retried", r.Status, bodyHint(r, parsed))
	case r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed || r.Status == http.StatusBadRequest:
		v.Class = ClassMisconfigured
		v.Detail = fmt.Sprintf("the resource API answered %d; check the provider's probe url and method", r.Status)
	default:
		v.Class = ClassProtocol
		v.Detail = fmt.Sprintf("the resource API answered %d%s", r.Status, bodyHint(r, parsed))
	}
	return v
}

// parseProviderError reads a body as JSON, or as a form for servers that
// answer application/x-www-form-urlencoded or text/plain (as x/oauth2 does).
func parseProviderError(r Response) (providerError, bool) {
	var pe providerError
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if media == "application/x-www-form-urlencoded" || media == "text/plain" {
		if vals, err := url.ParseQuery(string(r.Body)); err == nil && (vals.Has("access_token") || vals.Has("error")) {
			pe.Error = vals.Get("error")
			pe.ErrorDescription = vals.Get("error_description")
			pe.AccessToken = vals.Get("access_token")
			return pe, true
		}
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 || body[0] != '{' {
		return pe, false
	}
	if err := json.Unmarshal(body, &pe); err != nil {
		return providerError{}, false
	}
	return pe, true
}

func transportDetail(r Response) string {
	var reason string
	switch {
	case r.Err == nil:
		reason = "no response"
	case isTimeout(r.Err):
		reason = "timed out"
	default:
		reason = "failed: " + opaqueExcept(r.Boundary.Text(r.Err.Error(), 200), r.URL)
	}
	where := "the token endpoint"
	if r.Phase == PhaseProbe {
		where = "the resource API"
	}
	return fmt.Sprintf("the request to %s %s; the provider or the network is down, not the credential: it will be retried", where, reason)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func descHint(v Verdict) string {
	if v.Description == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", v.Description)
}

// bodyHint is a short, quoted glimpse of a body that is not a proper
// OAuth2 answer (see snippet).
func bodyHint(r Response, parsed bool) string {
	if parsed {
		return ""
	}
	s := snippet(r.Boundary, r.Status, r.Body)
	if s == "" {
		return ""
	}
	return " and body " + strconv.Quote(s)
}

var (
	htmlTitle  = regexp.MustCompile(`(?is)<title(?:\s[^>]*)?>(.*?)</title>`)
	htmlHidden = regexp.MustCompile(`(?is)<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>`)
	htmlTag    = regexp.MustCompile(`<(?:"[^"]*"|'[^']*'|[^'">])*>`)
)

// snippet says, in at most MaxSnippet printable characters through b,
// what a body that is not OAuth2's is, without quoting anything that
// could be a credential. A token answer no parser read still carries its
// token, under whatever name, and the boundary knows only the secrets the
// request carried; so:
//   - a body with NUL bytes (UTF-16, binary) is only counted;
//   - a JSON object or a form is described by the OAuth2 fields it has
//     and how many others, never by a value or an unknown key;
//   - of a page (a body that starts with a tag: HTML, XML), its title is
//     quoted, and, for an error status (4xx, 5xx), its text without tags,
//     comments and scripts;
//   - other text is quoted only for an error status (a gateway's 502, say):
//     any other body could be a bare token.
//
// Quoted text has its opaque words redacted and stops before any word
// that names a token or a secret (Body).
func snippet(b Boundary, status int, body []byte) string {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\ufeff")))
	quotable := status >= 400 && status < 600
	switch {
	case bytes.IndexByte(body, 0) >= 0:
		return fmt.Sprintf("%d bytes that are not text", len(body))
	case bytes.HasPrefix(trimmed, []byte("[")):
		return "a JSON array"
	case bytes.HasPrefix(trimmed, []byte("{")):
		return withFields("a JSON object", jsonKeys(trimmed))
	case bytes.HasPrefix(trimmed, []byte("<")):
		shown := htmlHidden.ReplaceAll(body, []byte(" "))
		if m := htmlTitle.FindSubmatch(shown); m != nil {
			return "HTML page: " + b.Body(m[1], MaxSnippet-20)
		}
		if !quotable {
			return fmt.Sprintf("a page of %d bytes without a title", len(body))
		}
		return "HTML page: " + b.Body(htmlTag.ReplaceAll(shown, []byte(" ")), MaxSnippet-20)
	case len(trimmed) > 0 && bytes.IndexByte(trimmed, '=') > 0 && !bytes.ContainsAny(trimmed, " \t\r\n"):
		return withFields("a form", formKeys(string(trimmed)))
	case !quotable:
		return fmt.Sprintf("%d bytes of text", len(body))
	}
	return b.Body(body, MaxSnippet)
}

// oauthFields are the field names a snippet may show: those of RFC 6749's
// answers and of the providers credkeeper knows (Okta, Azure AD).
var oauthFields = map[string]bool{
	"access_token": true, "token_type": true, "expires_in": true, "refresh_token": true, "refresh_token_expires_in": true,
	"id_token": true, "scope": true, "error": true, "error_description": true, "error_uri": true, "created_at": true,
	"issued_token_type": true, "ext_expires_in": true, "expires_on": true, "not_before": true, "resource": true,
	"errorCode": true, "errorSummary": true, "errorId": true, "errorLink": true, "errorCauses": true, "message": true,
}

// withFields names what a body is by the OAuth2 fields it has, counting
// the others: their names are the provider's own and could be anything.
func withFields(what string, keys []string) string {
	var known []string
	for _, k := range keys {
		if oauthFields[k] && !slices.Contains(known, k) {
			known = append(known, k)
		}
	}
	others := len(keys) - len(known)
	switch {
	case len(keys) == 0:
		return what
	case len(known) == 0:
		return fmt.Sprintf("%s with %d %s, none of OAuth2's", what, len(keys), text.Plural(len(keys), "field", "fields"))
	case others == 0:
		return what + " with fields " + strings.Join(known, ", ")
	}
	return fmt.Sprintf("%s with fields %s and %d %s", what, strings.Join(known, ", "), others, text.Plural(others, "other", "others"))
}

// jsonKeys are the keys of the JSON object body holds, as far as it reads,
// without their values.
func jsonKeys(body []byte) []string {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for d.More() && len(keys) < 64 {
		t, err := d.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			break
		}
		keys = append(keys, key)
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			break
		}
	}
	return keys
}

// formKeys are the keys of a form-encoded body, without their values.
func formKeys(body string) []string {
	var keys []string
	for pair := range strings.SplitSeq(strings.ReplaceAll(body, ";", "&"), "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if key != "" && len(keys) < 64 {
			keys = append(keys, key)
		}
	}
	return keys
}

// MaxRetryAfter is the longest wait a provider's rate-limit headers can
// impose on a credential's checks.
const MaxRetryAfter = time.Hour

// retryAt reads when a 429 says to try again: Retry-After (seconds or an
// HTTP date) or Okta's X-Rate-Limit-Reset (Unix seconds), at most
// MaxRetryAfter from now. Zero when neither.
func retryAt(h http.Header, now time.Time) time.Time {
	capped := func(t time.Time) time.Time {
		if limit := now.Add(MaxRetryAfter); t.After(limit) {
			return limit
		}
		return t
	}
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if secs, err := strconv.ParseInt(ra, 10, 64); err == nil && secs >= 0 {
			return now.Add(time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second)
		}
		if t, err := http.ParseTime(ra); err == nil {
			return capped(t)
		}
	}
	if reset := strings.TrimSpace(h.Get("X-Rate-Limit-Reset")); reset != "" {
		if unix, err := strconv.ParseInt(reset, 10, 64); err == nil && unix > 0 {
			return capped(time.Unix(unix, 0).UTC())
		}
	}
	return time.Time{}
}

// redirectDetail says where a redirect pointed (resolved against the
// request's URL, without its query or fragment, which could carry
// anything), and what to do: fix the URL, or, when the target is an error
// page (its query carries error=), look at what the provider refused.
func redirectDetail(r Response, who, fix string) string {
	target, errCode := redirectTarget(r)
	if errCode != "" {
		return fmt.Sprintf("%s answered with an error page (%d%s, error %q): the provider refused the request there; see its error page or logs for why, then check the provider's settings for this client", who, r.Status, target, errCode)
	}
	return fmt.Sprintf("%s redirected (%d)%s; %s", who, r.Status, target, fix)
}

// redirectTarget is " to URL" for r's Location (or ""), and the error
// code its query carries, through r's boundary.
func redirectTarget(r Response) (target, errCode string) {
	loc := r.Header.Get("Location")
	if loc == "" {
		return "", ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", ""
	}
	if base, err := url.Parse(r.URL); err == nil && r.URL != "" {
		u = base.ResolveReference(u)
	}
	errCode = r.Boundary.Code(u.Query().Get("error"))
	u.RawQuery, u.ForceQuery, u.Fragment, u.User = "", false, "", nil
	// a path's ;parameters (;jsessionid=) and opaque segments (an
	// ASP.NET cookieless session) are a session's, not a place's
	segments := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segments {
		seg, _, _ = strings.Cut(seg, ";")
		segments[i] = opaque(seg)
	}
	u.RawPath, u.Path = "", ""
	return " to " + r.Boundary.Text(u.String()+strings.Join(segments, "/"), 200), errCode
}

func retryHint(at, now time.Time) string {
	if at.IsZero() {
		return ""
	}
	return fmt.Sprintf("; retry after %s (in %s)", dates.FormatTime(at), at.Sub(now).Round(time.Second))
}
