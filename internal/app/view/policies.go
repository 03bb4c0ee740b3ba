package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/credkeeper/credkeeper/policies"
)

// WriteVaultPolicies prints policy documents as vault-policies print does:
// each under a comment naming the policy and whom it is for, a blank line
// between them.
func WriteVaultPolicies(w io.Writer, docs []policies.ManagedPolicy) error {
	for i, d := range docs {
		if i > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		role := "the " + d.Role + " role"
		if len(d.Scope) > 0 {
			role = "CI, for the tokens of " + strings.Join(d.Scope, ", ")
		}
		if _, err := fmt.Fprintf(w, "# policy %q (%s)\n%s", d.Name, role, d.Text); err != nil {
			return err
		}
	}
	return nil
}
