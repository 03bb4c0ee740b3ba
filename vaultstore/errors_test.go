package vaultstore

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"
)

// Vault wraps some messages in go-multierror's framing; a log line or a
// terminal shows the failures themselves, on one line.
func TestVaultMessagesAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"1 error occurred:\n\t* leadership lost while committing log\n\n"}, "leadership lost while committing log"},
		{[]string{"2 errors occurred:\n\t* first\n\t* second\n\n"}, "first; second"},
		{[]string{"permission denied", "another"}, "permission denied; another"},
		{nil, ""},
	} {
		if got := vaultMessages(tc.in); got != tc.want {
			t.Errorf("vaultMessages(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An answer from Vault means one thing: the error a caller sees and the
// outcome the request metric counts come from the same reading, through a
// failover too.
func TestAnErrorAndTheRequestMetricReadAnAnswerAlike(t *testing.T) {
	const addr = "http://127.0.0.1:8200"
	for _, tc := range []struct {
		name        string
		status      int
		msgs        []string
		transport   error
		wantKind    error
		wantOutcome string
	}{
		{"a sealed Vault", 503, []string{"Vault is sealed"}, nil, ErrSealed, "sealed"},
		{"a standby that knows no active node to forward to", 500, []string{"local node not active but active cluster node not found"}, nil, ErrNoActiveNode, "no_active_node"},
		{"a 503 while the cluster elects a leader", 503, []string{"no active Vault instance found"}, nil, ErrNoActiveNode, "no_active_node"},
		{"a standby answering for itself", 503, []string{"Vault is in standby mode"}, nil, ErrNoActiveNode, "no_active_node"},
		{"a 503 for another reason", 503, []string{"overloaded, try again later"}, nil, nil, "error"},
		{"a 500", 500, []string{"1 error occurred:\n\t* leadership lost while committing log\n\n"}, nil, nil, "error"},
		{"an unreachable Vault", 0, nil, &url.Error{Op: "Get", URL: addr + "/v1/secret/data/x", Err: syscall.ECONNREFUSED}, ErrUnreachable, "unreachable"},
		{"a missing record", 404, nil, nil, ErrNotFound, "not_found"},
		{"a refusal by policy", 403, []string{"permission denied"}, nil, ErrPermissionDenied, "permission_denied"},
		{"a check-and-set conflict", 400, []string{"check-and-set parameter did not match the current version"}, nil, ErrCASConflict, "conflict"},
		{"another bad request", 400, []string{"no data provided"}, nil, nil, "rejected"},
	} {
		var resp *http.Response
		clientErr := tc.transport
		if tc.transport == nil {
			body, _ := json.Marshal(map[string][]string{"errors": tc.msgs})
			resp = &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(string(body)))}
			clientErr = &api.ResponseError{StatusCode: tc.status, Errors: tc.msgs}
		}
		if got := requestOutcome(resp, tc.transport); got != tc.wantOutcome {
			t.Errorf("%s: the metric counts %q, want %q", tc.name, got, tc.wantOutcome)
		}
		if resp != nil {
			if rest, _ := io.ReadAll(resp.Body); !strings.Contains(string(rest), `"errors"`) {
				t.Errorf("%s: the metric consumed the body the client reads: %q left", tc.name, rest)
			}
		}
		err := wrapErr("read", "secret/data/x", addr, clientErr)
		var ve *Error
		if !errors.As(err, &ve) {
			t.Fatalf("%s: wrapErr gave %T", tc.name, err)
		}
		if ve.Kind != tc.wantKind {
			t.Errorf("%s: the error is of kind %v, want %v (%v)", tc.name, ve.Kind, tc.wantKind, err)
		}
	}
}
