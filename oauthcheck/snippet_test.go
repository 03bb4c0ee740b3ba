package oauthcheck

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// A token answer that no parser reads still carries its token, under
// whatever name: the detail of the check (and the error of a code
// exchange) describes such a body without showing any of it.
func TestABodySnippetNeverShowsAToken(t *testing.T) {
	const tok = "LEAKzq81xv93mwTok"
	leaks := func(s string) bool {
		s = strings.NewReplacer(" ", "", "\x00", "", "\\u0000", "", "\\x00", "").Replace(s)
		return strings.Contains(s, "zq81xv") || strings.Contains(s, "93mwTok")
	}
	utf16le := func(s string) string {
		var b strings.Builder
		for _, u := range utf16.Encode([]rune(s)) {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
		return b.String()
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, contentType string
		status            int
		body              string
	}{
		{"a registry-style token", "application/json", 200, `{"token":"` + tok + `","expires_in":300}`},
		{"a jwt field", "application/json", 200, `{"jwt":"` + tok + `"}`},
		{"a prefixed name", "application/json", 200, `{"tokenType":"Bearer","userAccessToken":"` + tok + `"}`},
		{"the token before its name", "application/json", 200, "\ufeff" + `{"value":"` + tok + `","type":"access_token"}`},
		{"a byte-order mark", "application/json", 200, "\ufeff" + `{"access_token":"` + tok + `","token_type":"Bearer"}`},
		{"an escaped key", "application/json", 200, "\ufeff" + `{"\u0061ccess_token":"` + tok + `"}`},
		{"a JSON page with a title", "application/json", 200, "\ufeff" + `{"page":"<title>` + tok + `</title>"}`},
		{"oauth 1 style form", "text/plain", 200, "oauth_token=" + tok + "&oauth_token_secret=" + tok},
		{"an escaped form key", "application/json", 200, "%61ccess_token=" + tok + "&token_type=bearer"},
		{"a non-breaking space in HTML", "text/html", 200, "<html><body>Your access&nbsp;token: " + tok + "</body></html>"},
		{"tags between the words", "text/html", 200, "<html><body><b>Access</b> <i>token</i>: " + tok + "</body></html>"},
		{"a zero-width character", "text/plain", 200, "access\u200b_token: " + tok},
		{"a bearer title", "text/html", 200, "<html><title>Bearer " + tok + "</title></html>"},
		{"a script", "text/html", 200, `<html><script>localStorage.setItem("jwt","` + tok + `")</script></html>`},
		{"UTF-16", "application/json", 200, utf16le(`{"access_token":"` + tok + `"}`)},
		{"an error page naming a token", "text/plain", 400, "Bad request: token " + tok},
		{"an error naming a jwt", "text/plain", 500, "Internal error; jwt=" + tok},
		{"a bare token", "text/plain", 200, "ya29." + tok},
		{"a bare JWT", "application/jwt", 200, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + tok},
		{"a JSON string", "application/json", 200, `"` + tok + `"`},
		{"base64 with padding", "text/plain", 200, tok + "=="},
		{"key=value lines", "text/plain", 200, "SID=" + tok + "\nLSID=x\nAuth=y"},
		{"JSON after 600 spaces", "application/json", 200, strings.Repeat(" ", 600) + `{"value":"` + tok + `","type":"Bearer"}`},
		{"an XSSI prefix", "application/json", 200, ")]}'\n" + `{"value":"` + tok + `"}`},
		{"a key that is the token", "application/json", 200, `{"` + tok + `":{"a":1}}`},
		{"a comment holding >", "text/html", 502, "<html><body><!-- a > " + tok + " --></body></html>"},
		{"a hidden SAML field", "text/html", 200, `<form method="post"><input type="hidden" name="SAMLResponse" value="` + tok + `"></form>`},
		{"YAML", "application/yaml", 200, "---\nvalue: " + tok + "\ntype: access_token\n"},
		{"a gateway that echoes a key", "text/plain", 502, "upstream rejected key sk_live_" + tok},
		{"an error naming credentials", "text/plain", 500, "credentials " + tok + " invalid"},
		{"an error naming a session", "text/plain", 400, "Bad request; session " + tok + " expired"},
		{"a page that opens with a comment", "text/html", 401, `<!-- Login --><html><body><input name="_csrf" type="hidden" value="` + tok + `"/></body></html>`},
		{"a SOAP fault", "text/xml", 500, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + tok + `</s:Body></s:Envelope>`},
		{"an XML error", "application/xml", 400, `<?xml version="1.0"?><OAuth><access_token>` + tok + `</access_token><error>x</error></OAuth>`},
		{"a tag inside the word", "text/html", 502, "<html><body>access_to<wbr>ken: " + tok + "</body></html>"},
		{"an unclosed script", "text/html", 502, `<html><body><script>var s="` + tok + `";`},
		{"a title on a 2xx", "text/html", 200, "<p><title>ya29." + tok + "</title></p>"},
		{"an odd status", "text/plain", 299, tok},
		{"a PHP session", "text/plain", 400, "Bad request (PHPSESSID " + tok + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := checkAndExchange(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}), now)
			if res.Class == ClassOK || leaks(fmt.Sprintf("%+v", res)) {
				t.Errorf("class %s, detail %q", res.Class, res.Detail)
			}
			if err == nil || leaks(err.Error()) {
				t.Errorf("exchange: %v", err)
			}
		})
	}
}

// A token that cannot travel in an Authorization header is no token: the
// check says protocol, and a code exchange stores none.
func TestAnUnsendableTokenIsNoToken(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, token := range []string{`   `, `\u0000\u0000\u0000\u0000`, `abc\r\nX-Evil: 1`} {
		t.Run(token, func(t *testing.T) {
			res, g, err := checkAndExchange(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"%s","token_type":"Bearer","expires_in":3600}`, token)
			}), now)
			if res.Class != ClassProtocol || !res.AccessToken.IsZero() || !strings.Contains(res.Detail, "cannot be sent") {
				t.Errorf("class %s, token kept %v, detail %q", res.Class, !res.AccessToken.IsZero(), res.Detail)
			}
			if err == nil || !strings.Contains(err.Error(), "cannot be sent") {
				t.Errorf("exchange: %+v, %v", g, err)
			}
		})
	}
}

// A redirect's target is named without the session a servlet container
// or ASP.NET writes into its path, and an HTTP error Go quotes from the
// server's bytes is shown without the credentials among them.
func TestARedirectOrAMalformedAnswerShowsNoSession(t *testing.T) {
	const id = "7F3A9C2E1B5D8F40A6C3E9B2D1F0A7C5"
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, location := range []string{"/login;jsessionid=" + id, "/(S(" + strings.ToLower(id[:24]) + "))/Login.aspx"} {
		res, _, err := checkAndExchange(t, http.RedirectHandler(location, http.StatusFound), now)
		if res.Class != ClassMisconfigured || strings.Contains(strings.ToUpper(res.Detail), id[:24]) || !strings.Contains(res.Detail, "redirected") {
			t.Errorf("%s: class %s, detail %q", location, res.Class, res.Detail)
		}
		if err == nil || strings.Contains(strings.ToUpper(err.Error()), id[:24]) {
			t.Errorf("%s: exchange: %v", location, err)
		}
	}
	addr := rawServer(t, func(c net.Conn) {
		// read the request first: an answer before it is a different error
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			_, _ = c.Write([]byte("access_token=ya29." + id + "\r\n\r\n"))
		}
		c.Close()
	})
	cl := Client{ID: "app-1", Secret: secret.New("redirect-secret-0123456789"), Name: "x"}
	res := (&Checker{}).RequestToken(context.Background(), cl, Endpoint{Name: "p", TokenURL: "http://" + addr + "/token", AuthStyle: AuthStyleHeader}, time.Time{}, now)
	if res.Class != ClassUnavailable || strings.Contains(res.Detail, id[:12]) || !strings.Contains(res.Detail, "malformed") {
		t.Errorf("malformed answer: class %s, detail %q", res.Class, res.Detail)
	}
}

// checkAndExchange runs a check and a code exchange against a token
// endpoint served by h: the result, and the grant or the exchange's error.
func checkAndExchange(t *testing.T, h http.Handler, now time.Time) (Result, *Grant, error) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	e := Endpoint{Name: "p", TokenURL: srv.URL + "/token", AuthStyle: AuthStyleHeader}
	cl := Client{ID: "app-1", Secret: secret.New("answer-secret-0123456789"), Name: "x"}
	res := (&Checker{}).RequestToken(context.Background(), cl, e, time.Time{}, now)
	oc := e.AuthCodeConfig(cl, srv.URL+"/authorize", "http://127.0.0.1:8080/callback", nil)
	g, err := ExchangeCode(context.Background(), nil, e, cl, oc, "the-code", now)
	return res, g, err
}

// rawServer listens on loopback and hands every connection to serve, below
// HTTP; connections serve leaves open are closed when the test ends. It
// returns the address.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			serve(c)
		}
	}()
	return ln.Addr().String()
}

// A redirect's detail names where it leads, without its query: a
// Location that ends in a bare "?" is no different.
func TestARedirectNamesWhereItLeads(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, location := range []string{"/sign-in", "/sign-in?", "/sign-in?next=%2Ftoken"} {
		res, _, _ := checkAndExchange(t, http.RedirectHandler(location, http.StatusFound), now)
		target, _, _ := strings.Cut(res.Detail, ";")
		if !strings.HasPrefix(target, "the token endpoint redirected (302) to http://127.0.0.1:") || !strings.HasSuffix(target, "/sign-in") || strings.Contains(target, "?") {
			t.Errorf("%s: detail %q", location, res.Detail)
		}
	}
}
