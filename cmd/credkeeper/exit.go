package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// Exit statuses, in one place. Every command exits 0 on success and 1 on
// an error (a usage error, a bad config, a Vault error). Three commands
// have statuses of their own, each its own type, so that no two meanings
// are mistaken for one another although the README gives them the same
// numbers: check's 2 and 3, plan --detailed-exitcode's 2, fmt --check's 3.
const (
	exitOK    = 0
	exitError = 1
)

// exitStatus is a command's own exit status.
type exitStatus interface{ status() int }

// checkStatus is the exit status of a run of checks.
type checkStatus int

const (
	// checkCredentialFailure: a check found invalid_client, invalid_grant or expired.
	checkCredentialFailure checkStatus = 2
	// checkOtherFailure: checks failed, none of them for the credential's sake.
	checkOtherFailure checkStatus = 3
)

func (s checkStatus) status() int { return int(s) }

// planStatus is plan --detailed-exitcode's.
type planStatus int

// planChanges: the plan has changes.
const planChanges planStatus = 2

func (s planStatus) status() int { return int(s) }

// fmtStatus is fmt --check's.
type fmtStatus int

// fmtUnformatted: a file is not formatted.
const fmtUnformatted fmtStatus = 3

func (s fmtStatus) status() int { return int(s) }

// checkExit is the exit status of a run of checks, as an error that
// carries it (nil when every check is ok).
func checkExit(results []oauthcheck.Result) error {
	var worst exitStatus
	for _, r := range results {
		switch {
		case r.Class.IsCredentialFailure():
			return &codedError{code: checkCredentialFailure}
		case r.Class != oauthcheck.ClassOK:
			worst = checkOtherFailure
		}
	}
	if worst == nil {
		return nil
	}
	return &codedError{code: worst}
}

// codedError carries a command's own exit status out of it, with an error
// to print or none.
type codedError struct {
	code exitStatus
	err  error
}

func (e *codedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code.status())
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
		code = ce.code.status()
		err = ce.err
		if err == nil {
			return code
		}
	}
	var de *config.DiagnosticsError
	if errors.As(err, &de) {
		fmt.Fprintln(w, de.Error())
		fmt.Fprintf(w, "credkeeper: error: the configuration is invalid (%d %s)\n", len(de.Diags), text.Plural(len(de.Diags), "problem", "problems"))
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
