package vaultstore

import "testing"

// Vault wraps some messages in go-multierror's framing; a log line or a
// terminal shows the failures themselves, on one line.
func TestVaultMessagesAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"1 error occurred:\n\t* leadership lost while committing log\n\n"}, "leadership lost while committing log"},
		{[]string{"2 errors occurred:\n\t* first\n\t* second\n\n"}, "first; second"},
		{[]string{"permission denied", "another"}, "permission denied; another"},
		{nil, ""},
	} {
		if got := vaultMessages(tc.in); got != tc.want {
			t.Errorf("vaultMessages(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
