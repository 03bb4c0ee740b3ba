package vaultstore

import (
	"fmt"

	"github.com/credkeeper/credkeeper/internal/credname"
)

// ValidateName checks a credential name before it becomes part of a Vault
// path: lower-case letters, digits, '.', '_' and '-', starting with a letter
// or digit, at most 63 characters. So "../x", "a/b", "" and "Prod" are refused.
func ValidateName(name string) error {
	if err := credname.Check(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	return nil
}
