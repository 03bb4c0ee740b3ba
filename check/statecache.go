package check

import (
	"time"
	"unique"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// cachedState is a state as the Cache keeps it between checks. A state's
// history of twenty checks and its conditions are mostly the same few
// strings (classes, error codes, details) and times: kept as Go values
// they cost some kilobytes per credential, which a daemon of 10,000
// credentials would carry as its history filled. Here each string is
// interned (one copy for every credential and check that says the same)
// and each time is its Unix nanoseconds: a check is 40 bytes.
type cachedState struct {
	brief      vaultstore.State // without History and Conditions
	history    []cachedCheck
	conditions []vaultstore.Condition // with interned strings
}

type cachedCheck struct {
	at                       int64 // Unix nanoseconds, UTC
	latencyMS                int32
	status                   int32
	class, errorCode, detail unique.Handle[string]
}

func intern(s string) string { return unique.Make(s).Value() }

func encodeState(st *vaultstore.State) cachedState {
	cs := cachedState{brief: *st}
	cs.brief.History, cs.brief.Conditions = nil, nil
	cs.brief.LastClass = intern(st.LastClass)
	cs.brief.RejectedClass = intern(st.RejectedClass)
	if len(st.History) > 0 {
		cs.history = make([]cachedCheck, len(st.History))
		for i, h := range st.History {
			cs.history[i] = cachedCheck{at: h.At.UnixNano(), latencyMS: int32(min(h.LatencyMS, 1<<31-1)), status: int32(h.Status),
				class: unique.Make(h.Class), errorCode: unique.Make(h.ErrorCode), detail: unique.Make(h.Detail)}
		}
	}
	if len(st.Conditions) > 0 {
		cs.conditions = make([]vaultstore.Condition, len(st.Conditions))
		for i, c := range st.Conditions {
			cs.conditions[i] = vaultstore.Condition{Type: intern(c.Type), Status: intern(c.Status), Reason: intern(c.Reason),
				Message: intern(c.Message), LastTransition: c.LastTransition}
		}
	}
	return cs
}

func (cs cachedState) decode() *vaultstore.State {
	st := cs.brief
	if len(cs.history) > 0 {
		st.History = make([]vaultstore.CheckSummary, len(cs.history))
		for i, h := range cs.history {
			st.History[i] = vaultstore.CheckSummary{At: time.Unix(0, h.at).UTC(), Class: h.class.Value(), Status: int(h.status),
				ErrorCode: h.errorCode.Value(), Detail: h.detail.Value(), LatencyMS: int64(h.latencyMS)}
		}
	}
	if len(cs.conditions) > 0 {
		st.Conditions = append([]vaultstore.Condition(nil), cs.conditions...)
	}
	return &st
}
