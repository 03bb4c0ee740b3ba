package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// noSnippet marks a diagnostic whose source line must not be shown.
type noSnippet struct{}

// DiagnosticsError carries the diagnostics of a configuration that did not
// load, with the source needed to show each one's line.
type DiagnosticsError struct {
	Diags   hcl.Diagnostics
	Sources map[string][]byte
}

// Error renders every diagnostic as
//
//	FILE:LINE:COL: error: SUMMARY: DETAIL
//	   LINE | source line
//	        |   ^^^^
func (e *DiagnosticsError) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if i > 0 {
			b.WriteString("\n")
		}
		writeDiagnostic(&b, d, e.Sources)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func writeDiagnostic(b *strings.Builder, d *hcl.Diagnostic, sources map[string][]byte) {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + strings.TrimSuffix(d.Detail, ".")
	}
	if d.Subject == nil {
		fmt.Fprintf(b, "%s: %s\n", sev, msg)
		return
	}
	r := *d.Subject
	fmt.Fprintf(b, "%s:%d:%d: %s: %s\n", r.Filename, r.Start.Line, r.Start.Column, sev, msg)
	src, ok := sources[r.Filename]
	if _, quiet := d.Extra.(noSnippet); !ok || quiet {
		return
	}
	lines := bytes.Split(src, []byte("\n"))
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(string(lines[r.Start.Line-1]), "\r")
	num := fmt.Sprint(r.Start.Line)
	fmt.Fprintf(b, "  %s | %s\n", num, line)
	width := 1
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		width = r.End.Column - r.Start.Column
	}
	// Columns count characters; keep tabs so the caret lines up under them.
	pad := []rune(line)
	if r.Start.Column-1 < len(pad) {
		pad = pad[:r.Start.Column-1]
	}
	for i, c := range pad {
		if c != '\t' {
			pad[i] = ' '
		}
	}
	fmt.Fprintf(b, "  %s | %s%s\n", strings.Repeat(" ", len(num)), string(pad), strings.Repeat("^", width))
}
