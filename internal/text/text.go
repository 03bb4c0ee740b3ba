// Package text shortens text for people without breaking it: every cut
// counts characters (runes), never splits a UTF-8 sequence, and says it
// cut with "…". It also makes text from outside safe to print: Printable
// drops what a terminal would obey rather than show. It does no I/O and
// knows nothing of what the text means, but for Plural's choice of a
// word by a count.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Truncate returns s when it has at most n characters, else its first n-1
// and "…", so the result never exceeds n characters.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, i := 0, 0
	for i = range s {
		if cut == n-1 {
			break
		}
		cut++
	}
	return s[:i] + "…"
}

// OneLine folds white space, control characters and invalid UTF-8 into
// single spaces and cuts the result to n characters (then "…" follows).
func OneLine(s string, n int) string {
	var b strings.Builder
	space := false
	count := 0
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r == ' ' {
			space = b.Len() > 0
			continue
		}
		if count >= n {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			count++
			space = false
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// Printable is s on one line with nothing a terminal would obey: escape
// sequences (CSI, OSC and the like, 7- and 8-bit) removed whole, other
// control characters, white space and invalid UTF-8 folded into single
// spaces, and bidirectional and other invisible format characters dropped.
func Printable(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), 1<<16))
	space := false
	emit := func(r rune) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x9e || r == 0x9f:
			i = skipEscape(s, i, r, size)
			continue
		case r == utf8.RuneError && size <= 1, unicode.IsSpace(r), unicode.IsControl(r):
			space = true
		case unicode.Is(unicode.Cf, r):
			// format characters (bidirectional overrides, zero widths): invisible, dropped
		default:
			emit(r)
		}
		i += size
	}
	return b.String()
}

// skipEscape returns where the escape sequence that starts at i (with r,
// of size bytes) ends: a CSI at its final byte, a string command (OSC,
// DCS, PM, APC) at BEL or ST, any other escape after its next character.
func skipEscape(s string, i int, r rune, size int) int {
	j := i + size
	kind := r
	if r == 0x1b {
		if j >= len(s) {
			return j
		}
		switch s[j] {
		case '[':
			kind = 0x9b
		case ']':
			kind = 0x9d
		case 'P':
			kind = 0x90
		case '^':
			kind = 0x9e
		case '_':
			kind = 0x9f
		default:
			_, n := utf8.DecodeRuneInString(s[j:])
			return j + n
		}
		j++
	}
	if kind == 0x9b {
		for j < len(s) {
			c := s[j]
			j++
			if c >= 0x40 && c <= 0x7e {
				return j
			}
			if c < 0x20 || c > 0x3f {
				return j - 1 // not a CSI byte: the sequence was broken off
			}
		}
		return j
	}
	for j < len(s) {
		if s[j] == 0x07 {
			return j + 1
		}
		if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
			return j + 2
		}
		if rr, n := utf8.DecodeRuneInString(s[j:]); rr == 0x9c {
			return j + n
		}
		j++
	}
	return j
}

// Words cuts s to at most n characters at a word boundary, ending in "…"
// when it cut. With keepEnd, a last sentence that fits in half of n is
// kept after the "…": where a message puts its answer at its end, the
// answer survives the cut.
func Words(s string, n int, keepEnd bool) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return Truncate(s, n)
	}
	if keepEnd {
		if tail := lastSentence(s); tail != "" && utf8.RuneCountInString(tail)+2 <= n/2 {
			return cutWords(strings.TrimSpace(strings.TrimSuffix(s, tail)), n-utf8.RuneCountInString(tail)-1) + " " + tail
		}
	}
	return cutWords(s, n)
}

// cutWords cuts s to n characters, "…" included, at the last space in
// the second half of the room, else inside a word.
func cutWords(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	head := strings.TrimSuffix(Truncate(s, n), "…")
	if sp := strings.LastIndexByte(head, ' '); sp >= 0 && utf8.RuneCountInString(head[:sp]) >= n/2 {
		head = head[:sp]
	}
	return strings.TrimRight(head, " ,;:") + "…"
}

// lastSentence is the sentence s ends with, after the last ". " (or ""
// when s is one sentence).
func lastSentence(s string) string {
	body := strings.TrimRight(s, " ")
	i := strings.LastIndex(strings.TrimRight(body, ".!?"), ". ")
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(body[i+2:])
}

// Plural is one when n is 1, else many: "1 problem", "2 problems".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
