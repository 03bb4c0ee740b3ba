// Package credname says which credential names credkeeper accepts, and
// which Vault folders (a mount, a prefix) it keeps them in. A name becomes
// part of Vault paths, metric labels and dedup keys, and a folder part of
// Vault paths and ACL policies, so both are kept to small, path-safe
// alphabets; a name also becomes a CI job's environment variables
// (EnvStem). It imports nothing of credkeeper's.
package credname

import (
	"fmt"
	"regexp"
)

// Pattern is the shape of a credential name.
var Pattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Check returns an error saying what is wrong with name, or nil.
func Check(name string) error {
	if !Pattern.MatchString(name) {
		return fmt.Errorf("%q: use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// EnvStem is the stem of the environment variables a CI job puts a
// credential's published token in: upper case, with '.', '-' and '_' all
// '_' (CTRP_PROD for ctrp-prod). Two names may share a stem (dmp-a and
// dmp.a), so one job must not read two such credentials.
func EnvStem(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
		default:
			b[i] = '_'
		}
	}
	return string(b)
}
