// Package view is how the command line shows what the engine found: the
// tables and the --json shapes of check, status, secret list and show,
// rotate status and silence list, and the policy documents of vault-policies
// print (the plan's own views are in package plan). A view takes
// data and a writer, and prints; it decides nothing and never sees a
// secret.
package view

import (
	"encoding/json"
	"io"
	"text/tabwriter"
)

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Dash is s, or "-" for an empty cell.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }
