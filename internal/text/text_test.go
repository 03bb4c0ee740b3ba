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

func TestPrintableRemovesWhatATerminalWouldObey(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a colour escape goes whole", "red \x1b[1;31malert\x1b[0m", "red alert"},
		{"a title escape goes whole, to its bell", "\x1b]0;pwned\x07next", "next"},
		{"a title escape goes whole, to its string terminator", "\x1b]8;;http://x\x1b\\link", "link"},
		{"an 8-bit CSI goes whole", "a \u009b31mb", "a b"},
		{"carriage returns and new lines fold into spaces", "line\r\nfake", "line fake"},
		{"bidirectional overrides go", "a\u202eb\u2066c", "abc"},
		{"a lone escape goes", "a\x1b", "a"},
		{"invalid UTF-8 folds into a space", "bad \xff byte", "bad byte"},
		{"plain text stays", "Client authentication failed.", "Client authentication failed."},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("%s: Printable(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestWordsCutsAtAWordBoundary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		n       int
		keepEnd bool
		want    string
	}{
		{"short text stays", "short text", 20, false, "short text"},
		{"a cut falls between words", "the quick brown fox jumps", 17, false, "the quick brown…"},
		{"one long word is cut inside it", strings.Repeat("x", 30), 10, false, strings.Repeat("x", 9) + "…"},
		{"the last sentence is kept when asked", "First sentence is long enough to be cut somewhere. Then a middle part that is dropped. The answer.", 60, true, "First sentence is long enough to be cut… The answer."},
		{"a last sentence longer than half the room is not kept", "Short. " + strings.Repeat("word ", 20), 40, true, "Short. word word word word word word…"},
	} {
		got := Words(tc.in, tc.n, tc.keepEnd)
		if got != tc.want || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("%s: Words(%q, %d, %v) = %q, want %q", tc.name, tc.in, tc.n, tc.keepEnd, got, tc.want)
		}
	}
}
