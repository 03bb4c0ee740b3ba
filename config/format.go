package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in HCL's canonical layout, as `terraform fmt` writes
// it. Source that does not parse is returned as a *DiagnosticsError and
// never rewritten.
func Format(src []byte, filename string) ([]byte, error) {
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags, Sources: map[string][]byte{filename: src}}
	}
	return hclwrite.Format(src), nil
}
