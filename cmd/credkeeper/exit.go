package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
)

// Exit codes, in one place.
const (
	exitOK    = 0
	exitError = 1 // a usage error, a bad config, a Vault error
	// exitCredentialFailure: a check found invalid_client, invalid_grant or expired.
	exitCredentialFailure = 2
	// exitOtherFailure: checks failed, none of them for the credential's sake.
	exitOtherFailure = 3
	// exitPlanChanges: plan --detailed-exitcode found changes.
	exitPlanChanges = 2
	// exitFmtCheck: fmt --check found a file that is not formatted.
	exitFmtCheck = 3
)

// checkExit is the exit status of a run of checks, as an error that
// carries it (nil when every check is ok).
func checkExit(results []oauthcheck.Result) error {
	code := exitOK
	for _, r := range results {
		switch {
		case r.Class.IsCredentialFailure():
			return &codedError{code: exitCredentialFailure}
		case r.Class != oauthcheck.ClassOK:
			code = exitOtherFailure
		}
	}
	if code == exitOK {
		return nil
	}
	return &codedError{code: code}
}

// exitError carries a specific exit code out of a command.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *codedError) Unwrap() error { return e.err }

// usageError is a mistake on the command line.
func usageError(cmd *cobra.Command, err error) error {
	return fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())
}

// reportError prints err, if any, and returns the exit code for it.
//
// A configuration's diagnostics print as they are (file:line:col, the line,
// a caret); any other error prints as "credkeeper: error: ...".
func reportError(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *codedError
	if errors.As(err, &ce) {
		code = ce.code
		err = ce.err
		if err == nil {
			return code
		}
	}
	var de *policies.DiagnosticsError
	if errors.As(err, &de) {
		fmt.Fprintln(w, de.Error())
		fmt.Fprintf(w, "credkeeper: error: the configuration is invalid (%d %s)\n", len(de.Diags), plural(len(de.Diags), "problem", "problems"))
		return code
	}
	msg := err.Error()
	// cobra's own messages start with a capital ("Error: unknown command").
	if cobraMsg, ok := strings.CutPrefix(msg, "Error: "); ok {
		msg = cobraMsg
	}
	fmt.Fprintf(w, "credkeeper: error: %s\n", msg)
	return code
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
