package oauthcheck

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
)

// The bounds of what a check keeps of a provider's words.
const (
	// MaxErrorCode is the longest error code kept, in characters.
	MaxErrorCode = 64
	// MaxDescription is the longest description kept, in characters.
	MaxDescription = 300
	// MaxSnippet is the longest glimpse of a body that is not OAuth2's.
	MaxSnippet = 120
	// MaxScope is the longest scope kept from a token response.
	MaxScope = 1000
	// MaxDetail is the longest detail line a check says, in characters.
	MaxDetail = 900
)

// minSecret is the shortest value (or base64 core of one) a boundary looks
// for: shorter ones would match ordinary words.
const minSecret = 4

// Boundary is the one door through which a provider's text reaches
// anything credkeeper shows or keeps (a result, state/NAME, a page, a
// notice): error codes, descriptions, snippets of bodies, redirect
// targets, token fields. Its callers decode first (JSON, a form, HTML);
// the boundary then folds the text onto one printable line (a terminal
// escape removed whole), removes every form of every secret the request
// carried (plain, URL-escaped, JSON-escaped, HTML-escaped, or a mixture;
// base64 of the Basic header, and of each secret at every alignment), and
// bounds its length. Folding comes before removal, so that a control
// character put inside a secret cannot shield it.
//
// The zero Boundary knows no secret but still folds and bounds.
type Boundary struct {
	forms *regexp.Regexp
}

// NewBoundary is the boundary of a request that carried clientID and
// secrets (the client secret, a token): clientID itself is not secret,
// but the Basic header made of it and a secret is.
func NewBoundary(clientID string, secrets ...string) Boundary {
	// Whole Basic headers first, then each secret however escaped, then
	// the base64 cores: at one position the first form that matches wins.
	var basic, escaped, cores []string
	seen := map[string]bool{}
	literal := func(to *[]string, s string) {
		if len(s) >= minSecret && !seen[s] {
			seen[s] = true
			*to = append(*to, regexp.QuoteMeta(s))
		}
	}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		if clientID != "" {
			for _, pair := range []string{url.QueryEscape(clientID) + ":" + url.QueryEscape(s), clientID + ":" + s} {
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
					literal(&basic, enc.EncodeToString([]byte(pair)))
				}
			}
		}
		escaped = append(escaped, escapedForms(s))
		for _, v := range []string{s, url.QueryEscape(s)} {
			for _, core := range base64Cores(v) {
				literal(&cores, core)
				literal(&cores, strings.ReplaceAll(core, "/", `\/`))
				literal(&cores, url.QueryEscape(core))
			}
		}
	}
	alts := append(append(basic, escaped...), cores...)
	if len(alts) == 0 {
		return Boundary{}
	}
	return Boundary{forms: regexp.MustCompile(strings.Join(alts, "|"))}
}

// escapedForms is a pattern for s with each character written as itself
// or escaped the way URLs, JSON and HTML escape it (any hex case, any
// mixture of escapes within one secret).
func escapedForms(s string) string {
	var b strings.Builder
	b.WriteString("(?:")
	for _, r := range s {
		alts := []string{regexp.QuoteMeta(string(r))}
		var pct strings.Builder
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&pct, "%%(?i:%02x)", c)
		}
		alts = append(alts, pct.String())
		if r <= 0xffff {
			alts = append(alts, fmt.Sprintf(`\\(?i:u%04x)`, r))
		} else {
			r1, r2 := utf16Pair(r)
			alts = append(alts, fmt.Sprintf(`\\(?i:u%04x)\\(?i:u%04x)`, r1, r2))
		}
		alts = append(alts, fmt.Sprintf(`&#0*%d;`, r), fmt.Sprintf(`&#(?i:x)0*(?i:%x);`, r))
		switch r {
		case '/', '"', '\\':
			alts = append(alts, regexp.QuoteMeta(`\`+string(r)))
		case ' ':
			alts = append(alts, `\+`)
		}
		if name := html.EscapeString(string(r)); name != string(r) {
			alts = append(alts, regexp.QuoteMeta(name))
		}
		b.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	b.WriteString(")")
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// base64Cores are the characters that base64 of v shows wherever v sits in
// the encoded bytes, for each of the three alignments and both alphabets:
// the characters that depend on v's bytes alone.
func base64Cores(v string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for pad := range 3 {
			b := append(make([]byte, pad), v...)
			e := enc.EncodeToString(b)
			end := len(e)
			if len(b)%3 != 0 {
				end-- // its last character shares bits with what follows
			}
			if start := []int{0, 2, 3}[pad]; end-start >= minSecret {
				out = append(out, e[start:end])
			}
		}
	}
	return out
}

// redact replaces every form of every secret in s.
func (b Boundary) redact(s string) string {
	if b.forms == nil {
		return s
	}
	// Again while anything matches (a few rounds at most): the text around
	// a removed secret must not join with the marker into another.
	for range 4 {
		if !b.forms.MatchString(s) {
			break
		}
		s = b.forms.ReplaceAllLiteralString(s, secret.Redacted)
	}
	return s
}

// Text is decoded provider text made safe to keep: on one printable line,
// without any form of a secret, at most n characters cut at a word.
func (b Boundary) Text(s string, n int) string {
	return text.Words(b.redact(text.Printable(s)), n, false)
}

// Code is a provider's error code as kept: MaxErrorCode characters.
func (b Boundary) Code(s string) string {
	return text.Truncate(b.redact(text.Printable(s)), MaxErrorCode)
}

// Description is a provider's error description as kept: MaxDescription
// characters cut at a word, keeping a last sentence that carries the
// answer (what the provider expected, which method it wants).
func (b Boundary) Description(s string) string {
	s = b.redact(text.Printable(s))
	return text.Words(s, MaxDescription, answers.MatchString(lastWords(s)))
}

// answers tells a sentence that says what the provider expected.
var answers = regexp.MustCompile(`(?i)\b(client_secret_basic|client_secret_post|client_secret_jwt|private_key_jwt|tls_client_auth|was requested|expected|must|instead|required|supports?)\b`)

// lastWords is the end of s that Words would keep.
func lastWords(s string) string {
	if i := strings.LastIndex(strings.TrimRight(s, ".!? "), ". "); i >= 0 {
		return s[i:]
	}
	return ""
}

// Body is a whole body made safe to show, for a snippet: HTML's entities
// decoded, then as Text.
func (b Boundary) Body(body []byte, n int) string {
	s := string(body)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	return b.Text(html.UnescapeString(s), n)
}

// Redact removes every form of every secret in the text of a body as it
// came, with the value of each token field, before any of it is shown
// (the body of an API's answer, for one): callers that can decode the
// body should take its fields through a Boundary instead.
func Redact(body []byte, secrets ...string) []byte {
	out := tokenField.ReplaceAll(body, []byte("${1}"+secret.Redacted+"${2}"))
	if strings.Contains(string(out), "access_token=") {
		out = formToken.ReplaceAll(out, []byte("${1}"+secret.Redacted))
	}
	return []byte(NewBoundary("", secrets...).redact(string(out)))
}

// clean is s folded and without secrets, not yet cut: what a decision
// reads before the words are bounded for keeping.
func (b Boundary) clean(s string) string {
	return b.redact(text.Printable(s))
}
