package rotation

import (
	"time"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// HistoryLength is how many past checks state/NAME keeps.
const HistoryLength = 20

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
			next.RejectedTokenURL, next.RejectedAuthStyle = r.TokenURL, string(r.AuthStyle)
		}
	default:
		next.ConsecutiveFailures++
	}
	next.History = append([]vaultstore.CheckSummary{{
		At: now, Class: string(r.Class), Status: r.Status, ErrorCode: r.ErrorCode,
		Detail: r.Detail, LatencyMS: r.Latency.Milliseconds(),
	}}, prev.History...)
	if len(next.History) > HistoryLength {
		next.History = next.History[:HistoryLength]
	}

	reason := camel(string(r.Class))
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
	conds := setCondition(prev.Conditions, vaultstore.Condition{Type: ConditionReachable, Status: reachable, Reason: reason, Message: r.Detail}, now)
	if valid != "" {
		conds = setCondition(conds, vaultstore.Condition{Type: ConditionValid, Status: valid, Reason: reason, Message: r.Detail}, now)
	} else if findCondition(conds, ConditionValid) == nil {
		conds = setCondition(conds, vaultstore.Condition{Type: ConditionValid, Status: "Unknown", Reason: reason, Message: "not yet known: " + r.Detail}, now)
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
