// Package policies owns credkeeper's configuration language and the pure
// decisions made from it.
//
// The language is HCL (github.com/hashicorp/hcl/v2), decoded strictly: an
// unknown block or attribute is an error, and every error is a diagnostic
// with file, line, column and the offending source line. Defaults apply
// first, then the file. Providers come from provider blocks or from presets
// (ctrp-int, ctrp-stage, ctrp-prod, dmptool) that need no block.
//
// policies does no I/O beyond reading the file it is asked to load, and
// never reads the clock: decisions take `now` as an argument.
package policies
