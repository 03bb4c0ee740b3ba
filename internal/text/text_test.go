package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateNeverSplitsACharacter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"abcdef", 4, "abc…"},
		{"ééééé", 3, "éé…"},
		{"日本語のテキスト", 5, "日本語の…"},
		{"x", 0, ""},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tc.n, 0) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("  a\n\tb\x00c  ", 10); got != "a b c" {
		t.Errorf("OneLine folds white space: %q", got)
	}
	if got := OneLine(strings.Repeat("é", 20), 5); got != "ééééé…" || !utf8.ValidString(got) {
		t.Errorf("OneLine cuts by characters: %q", got)
	}
	if got := OneLine("bad \xff byte", 20); got != "bad byte" {
		t.Errorf("OneLine drops invalid UTF-8: %q", got)
	}
}
