package oauthcheck

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"
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
	// secrets are the values, as runes, to find however escaped.
	secrets [][]rune
	// literals are forms found as they are: Basic headers, base64 cores.
	literals []string
	// longest is the most bytes one form of a secret can take.
	longest int
}

// NewBoundary is the boundary of a request that carried clientID and
// secrets (the client secret, a token): clientID itself is not secret,
// but the Basic header made of it and a secret is.
func NewBoundary(clientID string, secrets ...string) Boundary {
	var b Boundary
	seen := map[string]bool{}
	literal := func(s string) {
		if len(s) >= minSecret && !seen[s] {
			seen[s] = true
			b.literals = append(b.literals, s)
		}
	}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		b.secrets = append(b.secrets, []rune(s))
		// an escaped character takes at most 16 bytes (&#x0001d11e; with zeros)
		b.longest = max(b.longest, 16*utf8.RuneCountInString(s), 4*len(clientID)+8*len(s))
		if clientID != "" {
			for _, pair := range []string{url.QueryEscape(clientID) + ":" + url.QueryEscape(s), clientID + ":" + s} {
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
					literal(enc.EncodeToString([]byte(pair)))
				}
			}
		}
		for _, v := range []string{s, url.QueryEscape(s)} {
			for _, core := range base64Cores(v) {
				literal(core)
				literal(strings.ReplaceAll(core, "/", `\/`))
				literal(url.QueryEscape(core))
			}
		}
	}
	return b
}

// escapedAt reports where a form of want that starts at s[i] ends: each
// character written as itself or escaped the way URLs, JSON and HTML
// escape it (any hex case, any mixture of escapes within one secret).
func escapedAt(s string, i int, want []rune) (int, bool) {
	// A character can read more than one way (a literal backslash, or the
	// first of an escaped one): follow every reading at once, as a set of
	// positions, so that no text makes this exponential.
	at := []int{i}
	for _, r := range want {
		var next []int
		for _, p := range at {
			if n, ok := escapeAt(s, p, r); ok && !slices.Contains(next, p+n) {
				next = append(next, p+n)
			}
			if p < len(s) {
				if c, n := utf8.DecodeRuneInString(s[p:]); c == r && c != utf8.RuneError && !slices.Contains(next, p+n) {
					next = append(next, p+n)
				}
			}
		}
		if len(next) == 0 {
			return 0, false
		}
		at = next
	}
	return slices.Max(at), true
}

// escapeAt is how many bytes at s[i] write r escaped, if they do.
func escapeAt(s string, i int, r rune) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	rest := s[i:]
	switch rest[0] {
	case '%': // its UTF-8 bytes percent-encoded
		var buf [utf8.UTFMax]byte
		k := utf8.EncodeRune(buf[:], r)
		j := 0
		for _, c := range buf[:k] {
			if j+3 > len(rest) || rest[j] != '%' {
				return 0, false
			}
			v, ok := hexValue(rest[j+1 : j+3])
			if !ok || byte(v) != c {
				return 0, false
			}
			j += 3
		}
		return j, true
	case '\\':
		if len(rest) >= 2 && rune(rest[1]) == r && (r == '/' || r == '"' || r == '\\') {
			return 2, true
		}
		if len(rest) >= 6 && (rest[1] == 'u' || rest[1] == 'U') {
			v, ok := hexValue(rest[2:6])
			if !ok {
				return 0, false
			}
			if rune(v) == r {
				return 6, true
			}
			if r > 0xffff && len(rest) >= 12 && rest[6] == '\\' && (rest[7] == 'u' || rest[7] == 'U') {
				lo, ok := hexValue(rest[8:12])
				if ok && utf16.DecodeRune(rune(v), rune(lo)) == r {
					return 12, true
				}
			}
		}
	case '&':
		end := strings.IndexByte(rest[:min(len(rest), 16)], ';')
		if end < 0 {
			return 0, false
		}
		if c := []rune(html.UnescapeString(rest[:end+1])); len(c) == 1 && c[0] == r && rest[:end+1] != string(r) {
			return end + 1, true
		}
	case '+':
		if r == ' ' {
			return 1, true
		}
	}
	return 0, false
}

func hexValue(h string) (int, bool) {
	v := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
			v = v*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v*16 + int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
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

// redact replaces every form of every secret in s, again while anything
// matches (a few rounds at most): the text around a removed secret must
// not join with the marker into another.
func (b Boundary) redact(s string) string {
	for range 4 {
		spans := b.spans(s)
		if len(spans) == 0 {
			break
		}
		var out strings.Builder
		last := 0
		for _, sp := range spans {
			out.WriteString(s[last:sp[0]])
			out.WriteString(secret.Redacted)
			last = sp[1]
		}
		out.WriteString(s[last:])
		s = out.String()
	}
	return s
}

// spans are where forms of secrets sit in s, sorted, overlaps merged.
func (b Boundary) spans(s string) [][2]int {
	var spans [][2]int
	for _, l := range b.literals {
		for from := 0; ; {
			i := strings.Index(s[from:], l)
			if i < 0 {
				break
			}
			spans = append(spans, [2]int{from + i, from + i + len(l)})
			from += i + 1
		}
	}
	for _, want := range b.secrets {
		first := want[0]
		for i := 0; i < len(s); i++ {
			if c := s[i]; c != '%' && c != '\\' && c != '&' && c != '+' && rune(c) != first && c < utf8.RuneSelf {
				continue // cannot start any form of want
			}
			if end, ok := escapedAt(s, i, want); ok {
				spans = append(spans, [2]int{i, end})
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if top := &merged[len(merged)-1]; sp[0] < top[1] {
			top[1] = max(top[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	return merged
}

// Text is decoded provider text made safe to keep: on one printable line,
// without any form of a secret, at most n characters cut at a word.
func (b Boundary) Text(s string, n int) string {
	return text.Words(b.window(s, n, false), n, false)
}

// Code is a provider's error code as kept: MaxErrorCode characters.
func (b Boundary) Code(s string) string {
	return text.Truncate(b.window(s, MaxErrorCode, false), MaxErrorCode)
}

// Description is a provider's error description as kept: MaxDescription
// characters cut at a word, keeping a last sentence that carries the
// answer (what the provider expected, which method it wants).
func (b Boundary) Description(s string) string {
	s = b.window(s, MaxDescription, true)
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
	return b.window(s, MaxDescription, true)
}

// window is s folded and without secrets, as much of it as a cut to n
// characters can show: of a long s only its start (and its end, with
// end) is read, so that a megabyte costs no more than a line, and beside
// each place where it was cut the longest form of a secret is dropped
// too, so that no part of one cut in two survives.
func (b Boundary) window(s string, n int, end bool) string {
	room := 4*n + 2*b.longest + 64
	if len(s) <= 2*room {
		return b.redact(text.Printable(s))
	}
	head := b.redact(text.Printable(strings.ToValidUTF8(s[:room], "")))
	head = strings.ToValidUTF8(head[:max(0, len(head)-b.longest)], "")
	if !end {
		return head + "…"
	}
	tail := b.redact(text.Printable(strings.ToValidUTF8(s[len(s)-room:], "")))
	tail = strings.ToValidUTF8(tail[min(len(tail), b.longest):], "")
	return head + "… " + tail
}
