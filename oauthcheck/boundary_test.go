package oauthcheck_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// echoSecret is the secret whose every form the echo tests look for: a
// slash, angle brackets and an ampersand, which encoders escape.
const echoSecret = "Sup3r/Secret<Value>&42"

// secretForms are the ways a provider can write a secret back: plain,
// JSON-escaped as PHP and Go write it, form-encoded, HTML-escaped, and as
// base64 (of the secret at every alignment, and of the Basic header).
func secretForms(id, v string) []string {
	forms := []string{
		v,
		strings.ReplaceAll(v, "/", `\/`),
		url.QueryEscape(v), url.PathEscape(v),
		strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(v),
		strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(v),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(v))),
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			b := append(make([]byte, pad), v...)
			e := enc.EncodeToString(b)
			forms = append(forms, e[[]int{0, 2, 3}[pad]:(len(b)/3)*4])
		}
	}
	return forms
}

// leaks names the forms of the secret that text shows.
func leaks(id, v, text string) []string {
	var found []string
	for _, f := range secretForms(id, v) {
		if strings.Contains(text, f) {
			found = append(found, f)
		}
	}
	return found
}

// echoing answers every token request with body (and its content type),
// made from what the request carried.
func echoing(contentType string, status int, body func(r *http.Request) string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body(r))
	}))
}

// A provider that writes the secret back, in any encoding, gets it into
// nothing the check says: not the error code, the description, the detail,
// the scope or the token type.
func TestAProviderEchoingTheSecretGetsItIntoNothingTheCheckSays(t *testing.T) {
	const id = "0oa-echo"
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	basic := func(r *http.Request) string { return r.Header.Get("Authorization") }
	for _, tc := range []struct {
		name        string
		style       oauthcheck.AuthStyle
		contentType string
		status      int
		body        func(r *http.Request) string
	}{
		{"the secret JSON-escaped with \\/ and \\u003c in the description", oauthcheck.AuthStyleBody, "application/json", 401, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "secret " + r.PostForm.Get("client_secret") + " is wrong"})
			return strings.ReplaceAll(string(b), "/", `\/`)
		}},
		{"the secret JSON-escaped in the error code", oauthcheck.AuthStyleBody, "application/json", 400, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"error": r.PostForm.Get("client_secret")})
			return strings.ReplaceAll(string(b), "/", `\/`)
		}},
		{"the request body echoed form-encoded", oauthcheck.AuthStyleBody, "application/json", 400, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": "bad request: " + r.PostForm.Encode()})
			return string(b)
		}},
		{"a form-encoded error answer", oauthcheck.AuthStyleBody, "application/x-www-form-urlencoded", 401, func(r *http.Request) string {
			return url.Values{"error": {"invalid_client"}, "error_description": {"got " + r.PostForm.Get("client_secret")}}.Encode()
		}},
		{"the Basic header echoed", oauthcheck.AuthStyleHeader, "application/json", 401, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "Authorization: " + basic(r)})
			return strings.ReplaceAll(string(b), "/", `\/`)
		}},
		{"the Basic header echoed in an HTML page", oauthcheck.AuthStyleHeader, "text/html", 502, func(r *http.Request) string {
			return "<html><head><title>Bad gateway " + basic(r) + "</title></head></html>"
		}},
		{"the secret HTML-escaped in a page without a title", oauthcheck.AuthStyleBody, "text/html", 400, func(r *http.Request) string {
			return "<html><body><p>secret was " + strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(r.PostForm.Get("client_secret")) + "</p></body></html>"
		}},
		{"the secret in the scope of a token", oauthcheck.AuthStyleBody, "application/json", 200, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]any{"access_token": "tok-echo", "token_type": "Bearer " + r.PostForm.Get("client_secret"), "expires_in": 60, "scope": "read " + r.PostForm.Get("client_secret")})
			return strings.ReplaceAll(string(b), "/", `\/`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoing(tc.contentType, tc.status, tc.body)
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "echo", TokenURL: srv.URL + "/token", AuthStyle: tc.style}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: id, Secret: secret.New(echoSecret), Name: "echo"}, e, time.Time{}, now)
			said := fmt.Sprintf("%+v", r)
			if found := leaks(id, echoSecret, said); len(found) > 0 {
				t.Errorf("the result shows the secret as %q (class %s)", found, r.Class)
			}
		})
	}
}

// Whatever size and bytes a provider's error has, what a check keeps of it
// is bounded (an error code to 64 characters, a description to 300) and
// free of control characters and terminal escapes.
func TestAProvidersErrorIsBoundedAndFreeOfControlCharacters(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	huge := strings.Repeat("x", 1_000_000)
	for _, tc := range []struct {
		name string
		body string
	}{
		{"a 1 MB error field", `{"error":"` + huge + `","error_description":"` + huge[:1000] + `"}`},
		{"a 1 MB description", `{"error":"invalid_request","error_description":"` + huge + `"}`},
		{"terminal escapes in the error and description", `{"error":"invalid_request\u001b[2J\u001b[31m","error_description":"\u001b]0;pwned\u0007red \u001b[1;31malert\u001b[0m\r\nfake line \u009b31m and \u202eevil"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoing("application/json", 400, func(*http.Request) string { return tc.body })
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "big", TokenURL: srv.URL + "/token", AuthStyle: oauthcheck.AuthStyleHeader}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-big", Secret: secret.New("Big-Secret-000"), Name: "big"}, e, time.Time{}, now)
			if n := utf8.RuneCountInString(r.ErrorCode); n > 64 {
				t.Errorf("the error code has %d characters", n)
			}
			if n := utf8.RuneCountInString(r.Description); n > 300 {
				t.Errorf("the description has %d characters", n)
			}
			if n := utf8.RuneCountInString(r.Detail); n > 1000 {
				t.Errorf("the detail has %d characters", n)
			}
			for _, s := range []string{r.ErrorCode, r.Description, r.Detail} {
				if strings.ContainsAny(s, "\x1b\x07\r\n\u009b\u202e") || strings.Contains(s, "[31m") || strings.Contains(s, "0;pwned") {
					t.Errorf("control characters or an escape sequence kept: %q", s)
				}
			}
		})
	}
}

// Okta's answer to a client registered for another authentication method
// is not a refused secret: it is misconfigured, with the auth_style to
// set, and the end of a long description that says so is kept.
func TestAComplaintAboutTheAuthenticationMethodIsMisconfigured(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	lead := "Client authentication failed. Either the client or the client credentials are invalid, or the client is not allowed to authenticate with the method this request used; review the application's client credentials and the token endpoint authentication method registered for it in the Admin Console, under General, Client Credentials. "
	for _, tc := range []struct {
		name      string
		sent      oauthcheck.AuthStyle
		desc      string
		wantClass oauthcheck.Class
		wantHint  string
		wantEnd   string
	}{
		{"basic wanted, post sent, at the end of a long description", oauthcheck.AuthStyleBody,
			lead + "The client supports client authentication method 'client_secret_basic', but method 'client_secret_post' was requested.",
			oauthcheck.ClassMisconfigured, `auth_style = "header"`, "but method 'client_secret_post' was requested."},
		{"post wanted, basic sent", oauthcheck.AuthStyleHeader,
			"The client supports client authentication method 'client_secret_post', but method 'client_secret_basic' was requested.",
			oauthcheck.ClassMisconfigured, `auth_style = "body"`, "was requested."},
		{"private_key_jwt required", oauthcheck.AuthStyleHeader,
			"Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
			oauthcheck.ClassMisconfigured, "private_key_jwt", ""},
		{"Doorkeeper's wrong secret, which mentions methods in general, is still a refusal", oauthcheck.AuthStyleBody,
			"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
			oauthcheck.ClassInvalidClient, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoing("application/json", 401, func(*http.Request) string {
				b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": tc.desc})
				return string(b)
			})
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "okta", TokenURL: srv.URL + "/token", AuthStyle: tc.sent}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-method", Secret: secret.New("Method-Secret-000"), Name: "m"}, e, time.Time{}, now)
			if r.Class != tc.wantClass {
				t.Errorf("class %s, want %s (%s)", r.Class, tc.wantClass, r.Detail)
			}
			if tc.wantHint != "" && !strings.Contains(r.Detail, tc.wantHint) {
				t.Errorf("the detail does not say %s: %q", tc.wantHint, r.Detail)
			}
			if tc.wantEnd != "" && !strings.HasSuffix(r.Description, tc.wantEnd) {
				t.Errorf("the description lost its end: %q", r.Description)
			}
			if n := utf8.RuneCountInString(r.Description); n > 300 {
				t.Errorf("the description has %d characters", n)
			}
		})
	}
}

// A redirect's hint names an absolute URL, and a redirect to an error page
// says so instead of asking for the final URL.
func TestRedirectHints(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		location string
		want     []string
		not      []string
	}{
		{"a relative Location is resolved against the request URL", "/oauth2/token", []string{"to SRV/oauth2/token", "set token_url"}, nil},
		{"a Location relative to the path is resolved too", "v2/token?x=1", []string{"to SRV/oauth2/v2/token"}, []string{"x=1"}},
		{"a redirect to an error page says the provider answered with an error", "/error?error=invalid_client&error_description=nope", []string{"error page", "invalid_client", "SRV/error"}, []string{"set token_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", tc.location)
				w.WriteHeader(http.StatusFound)
			}))
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "moved", TokenURL: srv.URL + "/oauth2/token", AuthStyle: oauthcheck.AuthStyleHeader}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-moved", Secret: secret.New("Moved-Secret-000"), Name: "m"}, e, time.Time{}, now)
			if r.Class != oauthcheck.ClassMisconfigured {
				t.Errorf("class %s", r.Class)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "SRV", srv.URL); !strings.Contains(r.Detail, w) {
					t.Errorf("the detail does not say %q: %q", w, r.Detail)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(r.Detail, n) {
					t.Errorf("the detail says %q: %q", n, r.Detail)
				}
			}
		})
	}
}

// FuzzBoundary echoes a random secret in a random encoding, inside random
// text, in a token endpoint's error answer: no form of the secret survives
// into anything the classifier keeps, whatever the text around it.
func FuzzBoundary(f *testing.F) {
	for enc := range uint8(encodings) {
		f.Add(echoSecret, "0oa-fuzz", enc, "before ", " after", false)
		f.Add("Secret with spaces+plus", "client id", enc, "x", "", true)
		f.Add("ünïcödé-sécret-€-𝄞", "12345", enc, "", "tail", false)
	}
	f.Add("ted]abcd", "id", uint8(0), "[redac", "ted]abcd", false)
	f.Add("Split-Secret-0123456789", "0oa", uint8(9), "bad secret ", " here", false)
	f.Add("Entity-Secret-0123456789", "0oa", uint8(10), "got ", "", false)
	f.Add("Halves-Secret-0123456789", "0oa", uint8(halves), "", "", true)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v, id string, enc uint8, before, after string, form bool) {
		if len(v) < 8 || !utf8.ValidString(v) || v != strings.TrimSpace(v) || text.Printable(v) != v {
			return // a secret is printable text of some length
		}
		for _, f := range secretForms(id, v) {
			if strings.Contains(secret.Redacted, f) {
				return // the marker itself would read as the secret
			}
		}
		echoed := before + encode(id, v, enc%encodings) + after
		code, description := echoed, echoed
		runes := []rune(v)
		first, second := string(runes[:len(runes)/2]), string(runes[len(runes)/2:])
		if enc%encodings == halves { // one half in each field
			code, description = before+first, second+after
			echoed = code + description
		}
		r := oauthcheck.Response{Status: 400, Header: http.Header{}, Boundary: oauthcheck.NewBoundary(id, v), URL: "https://idp.example.org/token"}
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Body = []byte(url.Values{"error": {code}, "error_description": {description}}.Encode())
		} else {
			r.Header.Set("Content-Type", "application/json")
			b, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
			r.Body = b
		}
		verdict := oauthcheck.Classify(r, time.Time{}, now)
		html := oauthcheck.Classify(oauthcheck.Response{Status: 502, Header: http.Header{}, Body: []byte("<html><title>" + echoed + "</title></html>"), Boundary: r.Boundary}, time.Time{}, now)
		said := fmt.Sprintf("%+v %+v", verdict, html)
		if found := leaks(id, v, said); len(found) > 0 {
			t.Errorf("the secret %q, echoed as %q, survives as %q in %s", v, echoed, found, said)
		}
		read := unescape(said)
		if strings.Contains(read, v) || enc%encodings == 9 && !strings.ContainsFunc(v, unicode.IsSpace) && strings.Contains(strings.Join(strings.Fields(read), ""), v) {
			t.Errorf("the secret %q, echoed as %q, survives escaped or split in %s", v, echoed, said)
		}
		if len(runes) >= 16 && (strings.Contains(said, first) || strings.Contains(said, second)) {
			t.Errorf("a half of the secret %q, echoed as %q, survives in %s", v, echoed, said)
		}
	})
}

// encodings is how many ways encode writes a secret; halves is the one
// that puts half of it in each field.
const (
	encodings = 12
	halves    = 11
)

// separators are what a provider may put inside an echoed secret that
// the boundary folds or drops: controls, a byte that is not UTF-8, its
// replacement, a zero width space, a line wrap.
var separators = []string{"\n", "\t", "\x00", "\x07", "\xff", "\ufffd", "\u200b", "\r\n", "\x1b", "\u0085"}

// encode writes v (of client id) as a provider might echo it.
func encode(id, v string, enc uint8) string {
	switch enc {
	case 0:
		return v
	case 1: // as PHP's json_encode and Go's encoding/json escape it
		b, _ := json.Marshal(v)
		return strings.ReplaceAll(string(b[1:len(b)-1]), "/", `\/`)
	case 2:
		return url.QueryEscape(v)
	case 3:
		return url.PathEscape(v)
	case 4:
		return strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;", "'", "&#39;").Replace(v)
	case 5: // inside a longer base64 text, at the alignment its length gives
		return base64.StdEncoding.EncodeToString([]byte(id + v + id))
	case 6:
		return base64.RawURLEncoding.EncodeToString([]byte(id[:min(len(id), 2)] + v))
	case 7: // the Basic header
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(v)))
	case 9: // a separator in the middle, chosen by the client ID
		r := []rune(v)
		return string(r[:len(r)/2]) + separators[len(id)%len(separators)] + string(r[len(r)/2:])
	case 10: // every character an HTML entity, without its semicolon where a browser reads it so (not at the end, where the text after could go on)
		var b strings.Builder
		r := []rune(v)
		for i, c := range r {
			if i+1 == len(r) || r[i+1] >= '0' && r[i+1] <= '9' || r[i+1] == ';' || r[i+1] == 'x' && i == 0 {
				fmt.Fprintf(&b, "&#%d;", c)
			} else {
				fmt.Fprintf(&b, "&#%d", c)
			}
		}
		return b.String()
	case halves:
		return v
	default: // every character \u-escaped, or percent-encoded in lower case
		var b strings.Builder
		for i, r := range v {
			if i%2 == 0 && r < 0x10000 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				for _, c := range []byte(string(r)) {
					fmt.Fprintf(&b, "%%%02x", c)
				}
			}
		}
		return b.String()
	}
}

// Of a long text only its start and end are read; a secret that the
// reading cuts in two leaves no part of itself, wherever it sits.
func TestASecretCutWhereALongTextIsReadLeavesNoPart(t *testing.T) {
	b := oauthcheck.NewBoundary("0oa-cut", echoSecret)
	for _, tc := range []struct {
		name string
		keep func(string) string
	}{
		{"an error code", b.Code},
		{"a description", b.Description},
		{"a line of text", func(s string) string { return b.Text(s, 200) }},
	} {
		for at := 0; at < 3000; at++ {
			got := tc.keep(strings.Repeat("a", at) + echoSecret + strings.Repeat("z", 3000-at))
			for _, part := range []string{echoSecret[:8], echoSecret[len(echoSecret)-8:]} {
				if strings.Contains(got, part) {
					t.Fatalf("%s: the secret at %d leaves %q in %q", tc.name, at, part, got)
				}
			}
		}
	}
}

// escapes are the escapes unescape reads: %XX, \uXXXX, \/ and HTML's.
var escapes = regexp.MustCompile(`%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\[/"\\]`)

// unescape undoes, each in place, every escape a provider may mix in one
// secret, and HTML's entities: the test's own reading of what a person
// would decode.
func unescape(s string) string {
	s = escapes.ReplaceAllStringFunc(s, func(e string) string {
		switch {
		case e[0] == '%':
			b, _ := strconv.ParseUint(e[1:], 16, 8)
			return string([]byte{byte(b)})
		case len(e) == 6:
			r, _ := strconv.ParseUint(e[2:], 16, 32)
			return string(rune(r))
		}
		return e[1:]
	})
	return stdhtml.UnescapeString(s)
}

// A text that reads as a secret's start in many ways at once (backslashes,
// each a literal or half of an escaped one) costs no more than any other,
// and what of it is a long enough piece of the secret is removed.
func TestATextOfManyReadingsIsReadInOnePass(t *testing.T) {
	v := strings.Repeat(`\`, 40) + "x"
	b := oauthcheck.NewBoundary("id", v)
	for _, tc := range []struct {
		name, text, want string
	}{
		{"a run of backslashes, a piece of the secret", strings.Repeat(`\`, 200), secret.Redacted},
		{"short runs of backslashes, no piece of it", strings.Repeat(`\\a`, 60), strings.Repeat(`\\a`, 60)},
	} {
		if got := b.Text(tc.text, 300); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A secret split by what the boundary folds or drops (a line break, a
// tab, a NUL, a bell, a byte that is not UTF-8, a line wrap inside its
// base64), written with an entity a browser reads without its semicolon,
// or cut in two fields, is removed all the same: no reader of the result
// can put it back together.
func TestASecretSplitByWhatTheBoundaryFoldsIsRemovedAllTheSame(t *testing.T) {
	const id = "0oa-split-client"
	const sec = "Split-Secret-0123456789abcdefXYZ"
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	half := len(sec) / 2
	b64 := base64.StdEncoding.EncodeToString([]byte(id + ":" + sec))
	for _, tc := range []struct {
		name        string
		contentType string
		status      int
		body        string
		location    string
	}{
		{"a line break inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"bad secret ` + sec[:half] + `\n` + sec[half:] + ` for client"}`, ""},
		{"a tab inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"bad secret ` + sec[:half] + `\t` + sec[half:] + `"}`, ""},
		{"a NUL inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"bad secret ` + sec[:half] + `\u0000` + sec[half:] + `"}`, ""},
		{"a bell inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"bad secret ` + sec[:half] + `\u0007` + sec[half:] + `"}`, ""},
		{"a byte that is not UTF-8 inside the secret, in a plain body", "text/plain", 500, "error: " + sec[:half] + "\xff" + sec[half:], ""},
		{"a zero width space inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"bad secret ` + sec[:half] + `\u200b` + sec[half:] + `"}`, ""},
		{"the secret's halves in the error and the description", "application/json", 401, `{"error":"` + sec[:half] + `","error_description":"` + sec[half:] + `"}`, ""},
		{"the Basic header wrapped at a line before the secret's part", "application/json", 401, `{"error":"invalid_client","error_description":"got Basic ` + b64[:20] + `\r\n` + b64[20:] + `"}`, ""},
		{"the Basic header wrapped at a line inside the secret's part", "application/json", 401, `{"error":"invalid_client","error_description":"got Basic ` + b64[:46] + `\r\n` + b64[46:] + `"}`, ""},
		{"an escaped line break inside the secret in a redirect", "", http.StatusFound, "", "https://idp.example.org/oauth2/token?echo=" + sec[:half] + "%0A" + sec[half:]},
		{"an HTML entity without its semicolon inside the secret", "application/json", 401, `{"error":"invalid_client","error_description":"got ` + sec[:4] + `&#x` + fmt.Sprintf("%x", sec[4]) + sec[5:] + `"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.location != "" {
					w.Header().Set("Location", tc.location)
				}
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "split", TokenURL: srv.URL, AuthStyle: oauthcheck.AuthStyleHeader}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: id, Secret: secret.New(sec), Name: "split"}, e, time.Time{}, now)
			said := fmt.Sprintf("%s | %s | %s", r.ErrorCode, r.Description, r.Detail)
			read := strings.Join(strings.Fields(unescape(said)), "")
			for _, part := range []string{sec, b64[len(b64)-16:], sec[:half], sec[half:]} {
				if strings.Contains(read, part) {
					t.Errorf("%q can be read in the result (class %s): %q", part, r.Class, said)
				}
			}
		})
	}
}

// A provider chooses its access token, which the boundary removes from
// the same answer's other fields: however long the token and whatever
// the scope repeats of it, the boundary reads no more of a field than it
// can keep, so a megabyte answer is checked as fast as a line (a scan
// that walked the token from each place in the scope would take hours
// here, far past the test's own deadline).
func TestAHugeTokenRepeatedInTheScopeCostsNoMoreThanALine(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	const n = 300_000
	same := strings.Repeat("A", n)
	var varied strings.Builder
	for sum := sha256.Sum256(nil); varied.Len() < n; sum = sha256.Sum256(sum[:]) {
		varied.WriteString(base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	for _, tc := range []struct {
		name         string
		token, scope string
	}{
		{"a scope one character shorter than the token", same, same[:n-1]},
		{"a scope of the token's start, each time one short", same, strings.Repeat(same[:5000]+"B", 60)},
		{"a scope of one and a half tokens", same, same + same[:n/2]},
		{"a token of varied characters and a scope of its end", varied.String(), varied.String()[n/3:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token
			body := fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_in":3600,"scope":%q}`, tok, tc.scope)
			srv := echoing("application/json", 200, func(*http.Request) string { return body })
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "huge", TokenURL: srv.URL, AuthStyle: oauthcheck.AuthStyleHeader}
			r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "0oa-huge", Secret: secret.New("Huge-Secret-0123456789"), Name: "huge"}, e, time.Time{}, now)
			if r.Class != oauthcheck.ClassOK {
				t.Errorf("class %s: %s", r.Class, r.Detail)
			}
			if said := fmt.Sprintf("%+v", r); strings.Contains(said, "AAAAAAAA") || strings.Contains(said, tok[len(tok)-8:]) {
				t.Errorf("a piece of the token is kept: %.200q", fmt.Sprintf("%+v", r))
			}
		})
	}
}

func TestABoundaryWithATokenRemovesWhatOneMadeWithBothDoes(t *testing.T) {
	const id, sec = "client-1", "s3cr3t-pair-value"
	pair := oauthcheck.NewBoundary(id, sec)
	tokA, tokB := "tokenAAAA-1234567890", "tokenBBBB-0987654321"
	withA := pair.With(tokA)
	withB := pair.With(tokB) // made after withA from the same pair: must not share its forms
	basic := base64.StdEncoding.EncodeToString([]byte(id + ":" + sec))
	for _, s := range []string{
		"secret " + sec + " token " + tokA,
		"escaped " + url.QueryEscape(tokA) + " basic " + basic,
		"half " + tokA[:10] + " and " + sec[5:],
		"other token " + tokB,
	} {
		want := oauthcheck.NewBoundary(id, sec, tokA).Text(s, 300)
		if got := withA.Text(s, 300); got != want {
			t.Errorf("With(tokA).Text(%q) = %q, want %q", s, got, want)
		}
		want = oauthcheck.NewBoundary(id, sec, tokB).Text(s, 300)
		if got := withB.Text(s, 300); got != want {
			t.Errorf("With(tokB).Text(%q) = %q, want %q", s, got, want)
		}
		want = oauthcheck.NewBoundary(id, sec).Text(s, 300)
		if got := pair.Text(s, 300); got != want {
			t.Errorf("the pair's boundary changed: Text(%q) = %q, want %q", s, got, want)
		}
	}
}
