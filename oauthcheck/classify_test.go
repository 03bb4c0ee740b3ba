package oauthcheck

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func body(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bodies", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	now      = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	deadline = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	jsonH    = http.Header{"Content-Type": {"application/json"}}
)

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://idp.example/token", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errConnRefused{})}}
	timeout := &url.Error{Op: "Post", URL: "https://idp.example/token", Err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name     string
		in       Response
		rotateBy time.Time
		want     Class
		code     string
		detail   string // a part of Detail
	}{
		{"a token is ok", Response{Status: 200, Header: jsonH, Body: body(t, "okta-token.json")}, deadline, ClassOK, "", "a token was issued"},
		{"a DMPTool token is ok", Response{Status: 200, Header: jsonH, Body: body(t, "doorkeeper-token.json")}, deadline, ClassOK, "", ""},
		{"a form-encoded token is ok", Response{Status: 200, Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("access_token=abc&token_type=bearer")}, deadline, ClassOK, "", ""},

		{"Okta's unknown client (errorCode shape) is invalid_client", Response{Status: 401, Header: jsonH, Body: body(t, "okta-unknown-client.json")}, deadline, ClassInvalidClient, "invalid_client", "Invalid value for 'client_id' parameter."},
		{"Okta's wrong secret (error shape) is invalid_client", Response{Status: 401, Header: jsonH, Body: body(t, "okta-wrong-secret.json")}, deadline, ClassInvalidClient, "invalid_client", "The client secret supplied for a confidential client is invalid."},
		{"Doorkeeper's invalid client is invalid_client", Response{Status: 401, Header: jsonH, Body: body(t, "doorkeeper-invalid-client.json")}, deadline, ClassInvalidClient, "invalid_client", "unknown client"},
		{"a bare 401 is invalid_client", Response{Status: 401, Header: http.Header{"Www-Authenticate": {`Basic realm="token"`}}}, deadline, ClassInvalidClient, "", "401 with no body"},
		{"invalid_client after the deadline is expired", Response{Status: 401, Header: jsonH, Body: body(t, "okta-wrong-secret.json")}, now.Add(-time.Hour), ClassExpired, "invalid_client", "rotation deadline passed"},
		{"unknown client after the deadline is expired", Response{Status: 401, Header: jsonH, Body: body(t, "okta-unknown-client.json")}, now.Add(-24 * time.Hour), ClassExpired, "invalid_client", "request the new one"},
		{"invalid_client with no deadline stays invalid_client", Response{Status: 401, Header: jsonH, Body: body(t, "okta-wrong-secret.json")}, time.Time{}, ClassInvalidClient, "invalid_client", ""},

		{"Okta's invalid_grant", Response{Status: 400, Header: jsonH, Body: body(t, "okta-invalid-grant.json")}, deadline, ClassInvalidGrant, "invalid_grant", "do not retry"},
		{"invalid_grant after the deadline stays invalid_grant", Response{Status: 400, Header: jsonH, Body: body(t, "okta-invalid-grant.json")}, now.Add(-time.Hour), ClassInvalidGrant, "invalid_grant", ""},

		{"429 with Okta's reset header", Response{Status: 429, Header: http.Header{"X-Rate-Limit-Limit": {"600"}, "X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {"1795435260"}}}, deadline, ClassRateLimited, "", "retry after 2026-11-23T12:01:00Z"},
		{"429 with Retry-After seconds", Response{Status: 429, Header: http.Header{"Retry-After": {"30"}}}, deadline, ClassRateLimited, "", "in 30s"},
		{"429 with an error body is still rate_limited", Response{Status: 429, Header: jsonH, Body: []byte(`{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`)}, deadline, ClassRateLimited, "E0000047", ""},

		{"connection refused", Response{Err: refused}, deadline, ClassUnavailable, "", "failed: Post"},
		{"a timeout", Response{Err: timeout}, deadline, ClassUnavailable, "", "timed out"},
		{"503", Response{Status: 503, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("upstream connect error")}, deadline, ClassUnavailable, "", "503"},
		{"502 with an HTML page", Response{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: body(t, "html-502.html")}, deadline, ClassUnavailable, "", `HTML page: 502 Bad Gateway`},
		{"a 500 with invalid_client in it is still unavailable", Response{Status: 500, Header: jsonH, Body: body(t, "okta-wrong-secret.json")}, deadline, ClassUnavailable, "invalid_client", ""},
		{"temporarily_unavailable", Response{Status: 400, Header: jsonH, Body: []byte(`{"error":"temporarily_unavailable"}`)}, deadline, ClassUnavailable, "temporarily_unavailable", ""},

		{"invalid_scope", Response{Status: 400, Header: jsonH, Body: []byte(`{"error":"invalid_scope","error_description":"One or more scopes are not configured for the authorization server resource."}`)}, deadline, ClassMisconfigured, "invalid_scope", "check the provider's scopes"},
		{"unauthorized_client", Response{Status: 400, Header: jsonH, Body: []byte(`{"error":"unauthorized_client"}`)}, deadline, ClassMisconfigured, "unauthorized_client", ""},
		{"unsupported_grant_type", Response{Status: 400, Header: jsonH, Body: []byte(`{"error":"unsupported_grant_type"}`)}, deadline, ClassMisconfigured, "unsupported_grant_type", ""},
		{"Doorkeeper's missing grant_type", Response{Status: 400, Header: jsonH, Body: body(t, "doorkeeper-invalid-request.json")}, deadline, ClassMisconfigured, "invalid_request", "Missing required parameter: grant_type."},
		{"an unknown error code", Response{Status: 400, Header: jsonH, Body: []byte(`{"error":"something_new"}`)}, deadline, ClassMisconfigured, "something_new", "400 something_new"},
		{"a 404 from a wrong token_url", Response{Status: 404, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html><title>Not Found</title></html>")}, deadline, ClassMisconfigured, "", "check the provider's token_url"},

		{"200 without access_token", Response{Status: 200, Header: jsonH, Body: []byte(`{"token_type":"Bearer","expires_in":3600}`)}, deadline, ClassProtocol, "", "without an access_token"},
		{"200 with an HTML page", Response{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html><head><title>Sign in</title></head></html>")}, deadline, ClassProtocol, "", "HTML page: Sign in"},
		{"200 with an error in JSON", Response{Status: 200, Header: jsonH, Body: body(t, "okta-invalid-grant.json")}, deadline, ClassInvalidGrant, "invalid_grant", ""},
		{"403 with an HTML page", Response{Status: 403, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html><title>Forbidden by WAF</title></html>")}, deadline, ClassProtocol, "", "Forbidden by WAF"},
		{"401 with an HTML page is not the credential", Response{Status: 401, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html><title>SSO login</title></html>")}, deadline, ClassProtocol, "", "SSO login"},

		{"probe accepted", Response{Phase: PhaseProbe, Status: 200, Body: []byte(`{"items":[]}`)}, deadline, ClassOK, "", "resource API accepted"},
		{"probe: RFC 6750 invalid_token", Response{Phase: PhaseProbe, Status: 401, Header: http.Header{"Www-Authenticate": {`Bearer realm="api", error="invalid_token", error_description="The access token expired"`}}}, deadline, ClassExpired, "invalid_token", "invalid_token"},
		{"probe: DMPTool's body", Response{Phase: PhaseProbe, Status: 401, Header: jsonH, Body: body(t, "dmptool-api-unauthorized.json")}, deadline, ClassExpired, "", "token is invalid, expired or has been revoked"},
		{"probe: a plain 401", Response{Phase: PhaseProbe, Status: 401}, deadline, ClassExpired, "", "(401)"},
		{"probe: 403", Response{Phase: PhaseProbe, Status: 403}, deadline, ClassMisconfigured, "", "lacks a scope"},
		{"probe: 503", Response{Phase: PhaseProbe, Status: 503}, deadline, ClassUnavailable, "", "resource API failed with 503"},
		{"probe: 429", Response{Phase: PhaseProbe, Status: 429, Header: http.Header{"Retry-After": {"5"}}}, deadline, ClassRateLimited, "", "in 5s"},
		{"probe: network down", Response{Phase: PhaseProbe, Err: refused}, deadline, ClassUnavailable, "", "resource API failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.in, tc.rotateBy, now)
			if got.Class != tc.want {
				t.Errorf("class = %s, want %s (detail %q)", got.Class, tc.want, got.Detail)
			}
			if got.ErrorCode != tc.code {
				t.Errorf("error code = %q, want %q", got.ErrorCode, tc.code)
			}
			if !strings.Contains(got.Detail+" "+got.Description, tc.detail) {
				t.Errorf("detail %q / description %q lacks %q", got.Detail, got.Description, tc.detail)
			}
			if got.Detail == "" {
				t.Error("empty detail")
			}
		})
	}
}

type errConnRefused struct{}

func (errConnRefused) Error() string { return "connection refused" }

func TestRetryAtPrefersRetryAfter(t *testing.T) {
	h := http.Header{"Retry-After": {"10"}, "X-Rate-Limit-Reset": {"1795435260"}}
	if got := retryAt(h, now); !got.Equal(now.Add(10 * time.Second)) {
		t.Errorf("retryAt = %v", got)
	}
	h = http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}
	if got := retryAt(h, now); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("retryAt with an HTTP date = %v", got)
	}
	if got := retryAt(http.Header{"Retry-After": {"soon"}}, now); !got.IsZero() {
		t.Errorf("retryAt with garbage = %v", got)
	}
}

// A provider's reset time is believed for an hour at most: a far-future
// reset must not stop a credential's checks for a month, and a number of
// seconds too large for a time.Duration must not wrap around.
func TestRetryAtIsCappedAtAnHour(t *testing.T) {
	for name, h := range map[string]http.Header{
		"Retry-After a month":           {"Retry-After": {"2592000"}},
		"Retry-After beyond a Duration": {"Retry-After": {"99999999999999"}},
		"Retry-After an HTTP date far":  {"Retry-After": {now.AddDate(1, 0, 0).Format(http.TimeFormat)}},
		"X-Rate-Limit-Reset in 2099":    {"X-Rate-Limit-Reset": {"4070908800"}},
	} {
		if got := retryAt(h, now); !got.Equal(now.Add(MaxRetryAfter)) {
			t.Errorf("%s: retryAt = %v, want now + %v", name, got, MaxRetryAfter)
		}
	}
}

func TestClassIsCredentialFailure(t *testing.T) {
	for _, c := range Classes {
		want := c == ClassInvalidClient || c == ClassInvalidGrant || c == ClassExpired
		if c.IsCredentialFailure() != want {
			t.Errorf("%s.IsCredentialFailure() = %v", c, !want)
		}
	}
}

// FuzzClassify feeds arbitrary statuses, headers and bodies: the classifier
// never panics and always returns one of the classes, with a detail.
func FuzzClassify(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "bodies"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b := body(f, e.Name())
		for _, status := range []int{200, 400, 401, 429, 502} {
			f.Add(status, "application/json", "", b, false, false, int64(0))
		}
	}
	f.Add(401, "", `Bearer error="invalid_token"`, []byte(nil), true, false, int64(-3600))
	f.Add(429, "text/plain", "", []byte("error=slow_down"), false, false, int64(60))
	f.Add(0, "", "", []byte(nil), false, true, int64(0))

	known := map[Class]bool{}
	for _, c := range Classes {
		known[c] = true
	}
	f.Fuzz(func(t *testing.T, status int, contentType, wwwAuth string, b []byte, probe, transportErr bool, deadlineOffset int64) {
		r := Response{Status: status, Body: b, Header: http.Header{
			"Content-Type": {contentType}, "Www-Authenticate": {wwwAuth},
			"Retry-After": {contentType}, "X-Rate-Limit-Reset": {wwwAuth},
		}}
		if probe {
			r.Phase = PhaseProbe
		}
		if transportErr {
			r.Err = context.DeadlineExceeded
		}
		v := Classify(r, now.Add(time.Duration(deadlineOffset)*time.Second), now)
		if !known[v.Class] {
			t.Fatalf("class %q is not one of the classes", v.Class)
		}
		if v.Detail == "" {
			t.Fatal("empty detail")
		}
	})
}

func TestRedactRemovesSecretsAndTokens(t *testing.T) {
	body := []byte(`{"access_token":"eyJ.secret.token","refresh_token":"r-123","note":"client secret was hunter2-long"}` + "\naccess_token=abc123&x=1")
	out := string(Redact(body, "hunter2-long"))
	for _, s := range []string{"eyJ.secret.token", "r-123", "hunter2-long", "abc123"} {
		if strings.Contains(out, s) {
			t.Errorf("redacted body %q still has %q", out, s)
		}
	}
	if got := string(Redact([]byte(`{"access_token":""}`))); got != `{"access_token":""}` {
		t.Errorf("an empty token stays empty, so a 200 without one is still caught: %s", got)
	}
}
