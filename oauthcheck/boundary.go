package oauthcheck

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
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
// the boundary then removes every form of every secret the request
// carried (plain, URL-escaped, JSON-escaped, HTML-escaped with or without
// semicolons, or a mixture; base64 of the Basic header, and of each secret
// at every alignment), folds the text onto one printable line (a terminal
// escape removed whole), removes the forms again, then removes every piece
// of a secret long enough to read (a half left by a cut, or put in another
// field), and bounds its length. A secret is matched through whatever
// folding turns into a space or drops (a control character raw or
// escaped, a byte that is not UTF-8, a format character), so none put
// inside one can shield it; matching before folding and after, nothing
// folding joins can either. Of a long field only as much is read as the
// bound keeps, whatever the length of the text or of a secret.
//
// The zero Boundary knows no secret but still folds and bounds.
type Boundary struct {
	// clientID is the client ID the request carried (the Basic header
	// pairs it with each secret).
	clientID string
	// secrets are the values to remove, each with its forms.
	secrets []*forms
	// longest is the most bytes one form of a secret can take.
	longest int
}

// forms are one secret and the forms it takes: the value to find however
// escaped, the forms found as they are (Basic headers, base64 cores) and
// its pieces. They are made when a text first needs them: a check's
// boundary gains the token just issued, and the texts read after it (a
// token type, a scope) are mostly too short to hold any form of it.
type forms struct {
	value, clientID string
	// runes is how many characters the value has; shortest, the bytes of
	// its shortest literal; least, the characters of a piece worth
	// removing (fragment).
	runes, shortest, least int

	once     sync.Once
	chars    []rune
	literals []string
	parts    *pieces
}

func newForms(clientID, s string) *forms {
	n := utf8.RuneCountInString(s)
	return &forms{value: s, clientID: clientID, runes: n, shortest: shortestCore(len(s)), least: fragment(n)}
}

// made is f with its forms made.
func (f *forms) made() *forms {
	f.once.Do(func() {
		literal := func(s string) {
			if len(s) >= minSecret && !slices.Contains(f.literals, s) {
				f.literals = append(f.literals, s)
			}
		}
		s, clientID := f.value, f.clientID
		f.chars = []rune(s)
		f.parts = newPieces(f.chars)
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
	})
	return f
}

// mayHoldLiteral reports whether a text of n bytes is long enough to hold
// one of f's literals.
func (f *forms) mayHoldLiteral(n int) bool { return n >= f.shortest }

// mayHoldValue reports whether a text of n bytes is long enough to hold
// the value, escaped or not (a character takes a byte at least).
func (f *forms) mayHoldValue(n int) bool { return n >= f.runes }

// mayHoldPiece reports whether a text of n characters is long enough to
// hold a piece of the value worth removing.
func (f *forms) mayHoldPiece(n int) bool { return n >= f.least }

// NewBoundary is the boundary of a request that carried clientID and
// secrets (the client secret, a token): clientID itself is not secret,
// but the Basic header made of it and a secret is.
func NewBoundary(clientID string, secrets ...string) Boundary {
	return Boundary{clientID: clientID}.With(secrets...)
}

// With is b that also removes every form of secrets: a pair's boundary,
// made once, with the token issued to it. b is left as it was. Each
// secret's forms are made when a text first needs them.
func (b Boundary) With(secrets ...string) Boundary {
	b.secrets = slices.Clip(b.secrets)
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		b.secrets = append(b.secrets, newForms(b.clientID, s))
		// an escaped character takes at most 16 bytes (&#x0001d11e; with zeros)
		b.longest = max(b.longest, 16*utf8.RuneCountInString(s), 4*len(b.clientID)+8*len(s))
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
	for k, r := range want {
		if k > 0 {
			at = skipIgnorable(s, at)
		}
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

// skipIgnorable adds to at every position reached from one of them by
// passing over what the boundary folds or strips before showing text (a
// control character raw or escaped, a byte that is not UTF-8, a format
// character): such a character inside a secret must not hide it.
func skipIgnorable(s string, at []int) []int {
	for k := 0; k < len(at); k++ {
		if n := ignorableAt(s, at[k]); n > 0 && !slices.Contains(at, at[k]+n) {
			at = append(at, at[k]+n)
		}
	}
	return at
}

// ignorableAt is how many bytes at s[i] write a character that the
// boundary folds to a space or drops when it shows text, raw or escaped
// (%0A, \n, \u0007, &#10;), or 0 if they do not.
func ignorableAt(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r): // a bad byte, raw or replaced
		return n
	case r == '%' && i+3 <= len(s):
		if v, ok := hexValue(s[i+1 : i+3]); ok && (v < 0x20 || v == 0x7f) {
			return 3
		}
	case r == '\\' && i+2 <= len(s):
		switch s[i+1] {
		case 'n', 'r', 't', 'b', 'f':
			return 2
		case 'u', 'U':
			if i+6 <= len(s) {
				if v, ok := hexValue(s[i+2 : i+6]); ok && unicode.IsControl(rune(v)) {
					return 6
				}
			}
		}
	case r == '&':
		if c, m := entityAt(s[i:]); m > 0 && unicode.IsControl(c) {
			return m
		}
	}
	return 0
}

// entityAt is the character an HTML entity at the start of s writes and
// its length, read as a browser reads it: the longest entity, with or
// without its semicolon (&#x63k reads as ck).
func entityAt(s string) (rune, int) {
	for end := min(len(s), 16); end >= 2; end-- {
		if c := []rune(html.UnescapeString(s[:end])); len(c) == 1 && s[:end] != string(c[0]) {
			return c[0], end
		}
	}
	return 0, 0
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
		if c, n := entityAt(rest); n > 0 && c == r {
			return n, true
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

// shortestCore is how many bytes the shortest of base64Cores takes for a
// value of n bytes (every other literal form is at least as long): 0 when
// it has none.
func shortestCore(n int) int {
	shortest := 0
	for pad := range 3 {
		m := pad + n
		end := (m*8 + 5) / 6 // unpadded base64 of m bytes
		if m%3 != 0 {
			end--
		}
		if l := end - []int{0, 2, 3}[pad]; l >= minSecret && (shortest == 0 || l < shortest) {
			shortest = l
		}
	}
	return shortest
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
	var t string // s without what ignorableAt passes over, once needed
	var at []int
	for _, f := range b.secrets {
		if f.shortest == 0 || !f.mayHoldLiteral(len(s)) {
			continue
		}
		if at == nil {
			// base64 is found as it is, or wrapped at a line or split by
			// any character the boundary folds: look in s without those
			t, at = squeeze(s)
		}
		for _, l := range f.made().literals {
			for from := 0; ; {
				i := strings.Index(t[from:], l)
				if i < 0 {
					break
				}
				spans = append(spans, [2]int{at[from+i], at[from+i+len(l)-1] + 1})
				from += i + 1
			}
		}
	}
	for _, f := range b.secrets {
		if !f.mayHoldValue(len(s)) {
			continue
		}
		want := f.made().chars
		first := want[0]
		for i := 0; i+len(want) <= len(s); i++ { // a character takes a byte at least
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

// squeeze is s without the characters ignorableAt passes over, and where
// in s each byte of it came from.
func squeeze(s string) (string, []int) {
	var t strings.Builder
	at := make([]int, 0, len(s))
	for i := 0; i < len(s); {
		if n := ignorableAt(s, i); n > 0 {
			i += n
			continue
		}
		t.WriteByte(s[i])
		at = append(at, i)
		i++
	}
	return t.String(), at
}

// scrub is s without any form of a secret, on one printable line: forms
// are removed before the text is folded (so that what folding turns into a
// space cannot split one) and after (so that what folding drops cannot
// join one), then every piece of a secret long enough to read.
func (b Boundary) scrub(s string) string {
	return b.withoutPieces(b.redact(text.Printable(b.redact(s))))
}

// withoutPieces replaces every run of characters in s that is a piece of
// a secret at least fragment(len) long (a half left by a cut, or put in
// another field), again while any remains.
func (b Boundary) withoutPieces(s string) string {
	for range 4 {
		var spans [][2]int
		n := utf8.RuneCountInString(s)
		for _, f := range b.secrets {
			if f.mayHoldPiece(n) {
				spans = append(spans, f.made().parts.in(s)...)
			}
		}
		if len(spans) == 0 {
			break
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
		var out strings.Builder
		last := 0
		for _, sp := range spans {
			if sp[1] <= last {
				continue
			}
			if sp[0] >= last {
				out.WriteString(s[last:sp[0]])
				out.WriteString(secret.Redacted)
			}
			last = sp[1]
		}
		out.WriteString(s[last:])
		s = out.String()
	}
	return s
}

// fragment is how many characters of a secret of n are enough to remove:
// eight, or half of a shorter one (three at least).
func fragment(n int) int {
	return max(3, min(8, (n+1)/2))
}

// pieces knows every substring of one secret (its suffix automaton, built
// in time linear in the secret), so that a text is searched for all of
// them in one pass, whatever their lengths.
type pieces struct {
	next   [][]arc // each state's transitions
	link   []int32
	length []int32
	least  int // the fewest characters of a piece worth removing
}

type arc struct {
	r  rune
	to int32
}

func (p *pieces) step(st int32, r rune) (int32, bool) {
	for _, e := range p.next[st] {
		if e.r == r {
			return e.to, true
		}
	}
	return 0, false
}

func (p *pieces) set(st int32, r rune, to int32) {
	for i := range p.next[st] {
		if p.next[st][i].r == r {
			p.next[st][i].to = to
			return
		}
	}
	p.next[st] = append(p.next[st], arc{r, to})
}

func newPieces(v []rune) *pieces {
	p := &pieces{next: [][]arc{nil}, link: []int32{-1}, length: []int32{0}, least: fragment(len(v))}
	last := int32(0)
	for _, r := range v {
		cur := int32(len(p.length))
		p.next, p.length, p.link = append(p.next, nil), append(p.length, p.length[last]+1), append(p.link, 0)
		st := last
		for ; st != -1; st = p.link[st] {
			if _, ok := p.step(st, r); ok {
				break
			}
			p.set(st, r, cur)
		}
		if st != -1 {
			q, _ := p.step(st, r)
			if p.length[st]+1 == p.length[q] {
				p.link[cur] = q
			} else {
				clone := int32(len(p.length))
				p.next = append(p.next, slices.Clone(p.next[q]))
				p.length, p.link = append(p.length, p.length[st]+1), append(p.link, p.link[q])
				for ; st != -1; st = p.link[st] {
					if to, _ := p.step(st, r); to != q {
						break
					}
					p.set(st, r, clone)
				}
				p.link[q], p.link[cur] = clone, clone
			}
		}
		last = cur
	}
	return p
}

// in are the byte spans of s that are pieces of the secret of at least
// p.least characters, each as long as it goes: one pass over s.
func (p *pieces) in(s string) [][2]int {
	var spans [][2]int
	var starts []int // byte offset of each character read
	st, n := int32(0), int32(0)
	for i, size := 0, 0; i < len(s); i += size {
		var r rune
		r, size = utf8.DecodeRuneInString(s[i:])
		starts = append(starts, i)
		for st != 0 {
			if _, ok := p.step(st, r); ok {
				break
			}
			st = p.link[st]
			n = p.length[st]
		}
		if to, ok := p.step(st, r); ok {
			st, n = to, n+1
		} else {
			st, n = 0, 0
		}
		if int(n) >= p.least {
			end := i + size
			from := starts[len(starts)-int(n)]
			if k := len(spans); k > 0 && spans[k-1][1] > from {
				spans[k-1][1] = end
			} else {
				spans = append(spans, [2]int{from, end})
			}
		}
	}
	return spans
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
// decoded, then as Text, with every opaque word redacted, and
// nothing from the first word that names a token or a secret on (matched
// in the folded text, so that no space or invisible character between its
// letters hides it). A token answer that no parser read still carries its
// token, and the boundary knows only the secrets the request carried.
func (b Boundary) Body(body []byte, n int) string {
	s := opaque(b.window(html.UnescapeString(string(body)), n, false))
	if at := tokenWord.FindStringIndex(s); at != nil {
		s = s[:at[0]] + "…"
	}
	return text.Words(s, n, false)
}

// tokenWord is a word that names a token, a key or a secret, in any case
// and within any name (accessToken, oauth_token, client_secret, api_key,
// SESSIONID, SAMLResponse).
var tokenWord = regexp.MustCompile(`(?i)token|jwt|bearer|assertion|secret|passw|key|session|\bsid\b|credential|cookie|saml`)

// opaque is s with every word that could be a credential redacted: twelve
// or more characters of the kind tokens, keys and session IDs are made of
// (letters, digits and -._~+/=%:) that mix letters and digits, or
// thirty-two or more of them whatever they mix. What a provider or a
// gateway writes for people reads on; the IDs in it (a request's, a
// session's, a GUID) are redacted with the rest.
func opaque(s string) string {
	return opaqueWord.ReplaceAllStringFunc(s, func(w string) string {
		if len(w) >= 32 || (strings.ContainsAny(w, "0123456789") && strings.IndexFunc(w, unicode.IsLetter) >= 0) {
			return secret.Redacted
		}
		return w
	})
}

// opaqueExcept is opaque but for every occurrence of keep (the URL a
// request went to, which an error names and a person needs to read).
func opaqueExcept(s, keep string) string {
	if keep == "" {
		return opaque(s)
	}
	parts := strings.Split(s, keep)
	for i, p := range parts {
		parts[i] = opaque(p)
	}
	return strings.Join(parts, keep)
}

var opaqueWord = regexp.MustCompile(`[A-Za-z0-9\-._~+/=%:]{12,}`)

// Redact removes every form of every secret in the text of a body as it
// came, with the value of each token field, before any of it is shown
// (the body of an API's answer, for one): callers that can decode the
// body should take its fields through a Boundary instead.
func Redact(body []byte, secrets ...string) []byte {
	out := tokenField.ReplaceAll(body, []byte("${1}"+secret.Redacted+"${2}"))
	if strings.Contains(string(out), "access_token=") {
		out = formToken.ReplaceAll(out, []byte("${1}"+secret.Redacted))
	}
	b := NewBoundary("", secrets...)
	return []byte(b.withoutPieces(b.redact(string(out))))
}

// clean is s folded and without secrets, not yet cut: what a decision
// reads before the words are bounded for keeping.
func (b Boundary) clean(s string) string {
	return b.window(s, MaxDescription, true)
}

// edge is the most bytes of a secret's form dropped beside a cut: a longer
// form cut in two leaves a piece that withoutPieces removes.
const edge = 512

// window is s folded and without secrets, as much of it as a cut to n
// characters can show: of a long s only its start (and its end, with
// end) is read, so that a megabyte, or a secret as long, costs no more
// than a line, and beside each place where it was cut a form of a secret
// is dropped too, so that no part of one cut in two survives.
func (b Boundary) window(s string, n int, end bool) string {
	cut := min(b.longest, edge)
	room := 4*n + 2*cut + 64
	if len(s) <= 2*room {
		return b.scrub(s)
	}
	head := b.scrub(s[:room])
	head = strings.ToValidUTF8(head[:max(0, len(head)-cut)], "")
	if !end {
		return head + "…"
	}
	tail := b.scrub(s[len(s)-room:])
	tail = strings.ToValidUTF8(tail[min(len(tail), cut):], "")
	return head + "… " + tail
}
