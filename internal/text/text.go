// Package text shortens text for people without breaking it: every cut
// counts characters (runes), never splits a UTF-8 sequence, and says it
// cut with "…". It does no I/O.
package text

import (
	"strings"
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
