package vaultstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"
)

// The kinds of failure callers can test for with errors.Is.
var (
	// ErrNotFound: the record does not exist (or its latest version is deleted).
	ErrNotFound = errors.New("not found")
	// ErrCASConflict: the record changed since the version the caller read.
	ErrCASConflict = errors.New("check-and-set conflict")
	// ErrPermissionDenied: the Vault token's policies do not allow the request.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrSealed: Vault answered that it is sealed.
	ErrSealed = errors.New("vault is sealed")
	// ErrNoActiveNode: a standby of a Vault cluster answered that no node is
	// active (an election under way, or a quorum lost).
	ErrNoActiveNode = errors.New("vault has no active node")
	// ErrUnreachable: no answer from Vault (connection refused, DNS, TLS, timeout).
	ErrUnreachable = errors.New("vault is unreachable")
	// ErrInvalidName: a credential name that is not allowed; no request was sent.
	ErrInvalidName = errors.New("invalid credential name")
	// ErrMalformed: a record in Vault lacks a field or holds one of the wrong type.
	ErrMalformed = errors.New("malformed record")
)

// Error is a failed Vault operation. It wraps both its kind (one of the Err
// values above, or nil when none fits) and the underlying cause.
type Error struct {
	Op   string // "read", "write", "list", "delete", "login", …
	Path string // the Vault path, e.g. secret/data/credkeeper/credentials/x
	Kind error
	Err  error
	Hint string // what to do next, for a person
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	switch {
	case e.Kind != nil && e.Err != nil && !errors.Is(e.Err, e.Kind):
		fmt.Fprintf(&b, "%v: %v", e.Kind, e.Err)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Kind != nil:
		b.WriteString(e.Kind.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so errors.Is finds either.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// wrapErr turns an error from the Vault client into an *Error of the right kind.
func wrapErr(op, path, addr string, err error) error {
	if err == nil {
		return nil
	}
	var ve *Error
	if errors.As(err, &ve) {
		return err
	}
	e := &Error{Op: op, Path: path, Err: cleanCause(err)}
	var re *api.ResponseError
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
		e.Kind, e.Err = ErrNotFound, nil
	case errors.As(err, &re):
		a := classifyAnswer(re.StatusCode, re.Errors)
		e.Kind, e.Hint = a.kind, a.hint
		if a.kind != nil {
			e.Err = nil
		} else {
			e.Err = fmt.Errorf("vault answered %d: %s", re.StatusCode, vaultMessages(re.Errors))
		}
	case isTransport(err):
		e.Kind = ErrUnreachable
		e.Hint = "check VAULT_ADDR (" + addr + ") and that Vault is running and reachable"
		if to := redirectedTo(err, addr); to != "" {
			// A standby that cannot forward redirects to the active node
			// it last knew; that node did not answer.
			e.Hint = "VAULT_ADDR (" + addr + ") is a standby; it sent the request on to the active node it knows, " + to +
				", which did not answer: the cluster's active node is down or being replaced, or this host cannot reach it"
		}
	}
	return e
}

// answer is what one answer from Vault means, to an error and to the
// request metric alike.
type answer struct {
	kind    error  // one of the Err values; nil when none fits
	outcome string // the outcome label of credkeeper_vault_requests_total
	hint    string // what to do next, for a person
}

// The outcome of a request that got no answer.
const outcomeUnreachable = "unreachable"

// classifyAnswer is the one reading of Vault's status codes and error
// messages. During a failover Vault answers 503 both when it is sealed and
// when a standby knows no active node ("no active Vault instance found"),
// and 500 when a standby cannot forward for want of one: only the message
// tells a sealed Vault from an election.
func classifyAnswer(status int, msgs []string) answer {
	switch {
	case status < 400:
		return answer{outcome: "ok"}
	case status == 404:
		return answer{kind: ErrNotFound, outcome: "not_found"}
	case status == 403:
		return answer{kind: ErrPermissionDenied, outcome: "permission_denied",
			hint: "the Vault token's policies do not allow this: use a token, or an AppRole, whose policy grants it"}
	case status == 503 && containsAny(msgs, "sealed"):
		return answer{kind: ErrSealed, outcome: "sealed",
			hint: "unseal Vault (vault operator unseal) and try again"}
	case status >= 500 && containsAny(msgs, "active cluster node not found", "no active vault instance found", "node is not active", "in standby mode"):
		return answer{kind: ErrNoActiveNode, outcome: "no_active_node",
			hint: "the Vault cluster is electing an active node or has lost its quorum; see vault operator raft list-peers. Work resumes when a node is active"}
	case status == 400 && containsAny(msgs, "check-and-set"):
		return answer{kind: ErrCASConflict, outcome: "conflict",
			hint: "another writer changed it since it was read; read it again and retry"}
	case status == 400:
		return answer{outcome: "rejected"}
	case status >= 500:
		return answer{outcome: "error", hint: "Vault is failing; check its logs and try again"}
	}
	return answer{outcome: "error"}
}

// cleanCause drops the client's multi-line response dumps from an error,
// keeping the first line, which names the failure.
func cleanCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}

// redirectedTo is the host a failed request was redirected to, when it is
// not the configured address's.
func redirectedTo(err error, addr string) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return ""
	}
	failed, err1 := url.Parse(ue.URL)
	configured, err2 := url.Parse(addr)
	if err1 != nil || err2 != nil || failed.Host == "" || failed.Host == configured.Host {
		return ""
	}
	return failed.Scheme + "://" + failed.Host
}

func isTransport(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe)
}

// vaultMessages joins Vault's error messages on one line, without the
// "1 error occurred:" framing Vault wraps some of them in: a log line or a
// terminal shows the failure itself.
func vaultMessages(msgs []string) string {
	var out []string
	for _, m := range msgs {
		for _, line := range strings.Split(m, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "* "))
			if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
				continue
			}
			out = append(out, line)
		}
	}
	return strings.Join(out, "; ")
}

// containsAny says whether a message holds one of subs (lower case).
func containsAny(msgs []string, subs ...string) bool {
	for _, m := range msgs {
		m = strings.ToLower(m)
		for _, sub := range subs {
			if strings.Contains(m, sub) {
				return true
			}
		}
	}
	return false
}
