// Package credname says which credential names credkeeper accepts. A name
// becomes part of Vault paths, metric labels and dedup keys, so it is kept
// to a small, path-safe alphabet.
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
