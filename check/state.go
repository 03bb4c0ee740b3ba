package check

import (
	"time"
	"unicode/utf8"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// HistoryLength is how many past checks state/NAME keeps.
const HistoryLength = 20

// MaxStateBytes bounds state/NAME as JSON, whatever providers answer: far
// below the 1 MiB of a Raft entry, and small enough to read on every check.
// NextState keeps it so by bounding each text it stores, as JSON writes it.
const MaxStateBytes = 64 << 10

// The most bytes (as JSON writes them) NextState keeps of each text:
// HistoryLength summaries and two conditions of these fit in MaxStateBytes.
const (
	maxKeptDetail = 1536
	maxKeptCode   = 256
	maxKeptURL    = 1024
)

// Condition types kept in state/NAME.
const (
	// ConditionValid: the provider accepts the credential. It turns False
	// only on a credential failure, and keeps its status through outages.
	ConditionValid = "Valid"
	// ConditionReachable: the provider answered as an OAuth2 server should.
	ConditionReachable = "Reachable"
)

// NextState is the state after result r: a pure function of the previous
// state, the result and now.
func NextState(prev vaultstore.State, r oauthcheck.Result, now time.Time) vaultstore.State {
	next := prev
	next.LastClass = string(r.Class)
	next.LastCheck = now
	next.RetryAt = r.RetryAt
	rotateBy := r.RotateBy
	next.RotateBy = &rotateBy
	switch {
	case r.Class == oauthcheck.ClassOK:
		next.LastSuccess = now
		next.ConsecutiveFailures = 0
		next.RejectedVersion, next.RejectedClass, next.RejectedAt, next.RejectedTokenURL, next.RejectedAuthStyle = 0, "", time.Time{}, "", ""
	case r.Class.IsCredentialFailure():
		next.ConsecutiveFailures++
		if next.RejectedVersion != r.CredentialVersion || !r.NotSent {
			at := now
			if !r.RefusedAt.IsZero() {
				at = r.RefusedAt
			}
			// The refusal of what the request carried: its version, where
			// and how it was sent.
			next.RejectedVersion, next.RejectedClass, next.RejectedAt = r.CredentialVersion, string(r.Class), at
			next.RejectedTokenURL, next.RejectedAuthStyle = fitJSON(r.TokenURL, maxKeptURL), fitJSON(string(r.AuthStyle), maxKeptCode)
		}
	default:
		next.ConsecutiveFailures++
	}
	detail := fitJSON(r.Detail, maxKeptDetail)
	next.History = append([]vaultstore.CheckSummary{{
		At: now, Class: fitJSON(string(r.Class), maxKeptCode), Status: r.Status, ErrorCode: fitJSON(r.ErrorCode, maxKeptCode),
		Detail: detail, LatencyMS: r.Latency.Milliseconds(),
	}}, prev.History...)
	if len(next.History) > HistoryLength {
		next.History = next.History[:HistoryLength]
	}

	reason := camel(fitJSON(string(r.Class), maxKeptCode))
	valid, reachable := "", "True"
	switch {
	case r.Class == oauthcheck.ClassOK:
		valid = "True"
	case r.Class.IsCredentialFailure():
		valid = "False"
	default:
		reachable = "False"
	}
	if r.Class == oauthcheck.ClassMisconfigured {
		reachable = "True"
	}
	conds := setCondition(prev.Conditions, vaultstore.Condition{Type: ConditionReachable, Status: reachable, Reason: reason, Message: detail}, now)
	if valid != "" {
		conds = setCondition(conds, vaultstore.Condition{Type: ConditionValid, Status: valid, Reason: reason, Message: detail}, now)
	} else if findCondition(conds, ConditionValid) == nil {
		conds = setCondition(conds, vaultstore.Condition{Type: ConditionValid, Status: "Unknown", Reason: reason, Message: fitJSON("not yet known: "+r.Detail, maxKeptDetail)}, now)
	}
	next.Conditions = conds
	return next
}

// setCondition replaces the condition of c's type; its LastTransition
// moves only when the status flips.
func setCondition(conds []vaultstore.Condition, c vaultstore.Condition, now time.Time) []vaultstore.Condition {
	out := make([]vaultstore.Condition, 0, len(conds)+1)
	found := false
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		found = true
		c.LastTransition = old.LastTransition
		if old.Status != c.Status || c.LastTransition.IsZero() {
			c.LastTransition = now
		}
		out = append(out, c)
	}
	if !found {
		c.LastTransition = now
		out = append(out, c)
	}
	return out
}

func findCondition(conds []vaultstore.Condition, typ string) *vaultstore.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// camel turns a class into a condition reason: invalid_client -> InvalidClient.
func camel(s string) string {
	out := make([]byte, 0, len(s))
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		out = append(out, c)
	}
	return string(out)
}

// fitJSON is s cut, at a character and with "…", so that JSON writes it in
// at most n bytes (escapes counted: encoding/json writes <, > and & in six).
func fitJSON(s string, n int) string {
	size := 0
	for i, r := range s {
		w := jsonSize(r)
		if size+w > n-len("…") {
			if rest := s[i:]; size+jsonLen(rest) <= n {
				return s
			}
			return s[:i] + "…"
		}
		size += w
	}
	return s
}

func jsonLen(s string) int {
	n := 0
	for _, r := range s {
		n += jsonSize(r)
	}
	return n
}

// jsonSize is how many bytes encoding/json writes r in.
func jsonSize(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
		return 6
	}
	return utf8.RuneLen(r)
}
