package check

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestNextStateConditionsMoveOnlyWhenStatusFlips(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	cond := func(s vaultstore.State, typ string) vaultstore.Condition {
		for _, c := range s.Conditions {
			if c.Type == typ {
				return c
			}
		}
		t.Fatalf("no %s condition in %+v", typ, s.Conditions)
		return vaultstore.Condition{}
	}

	s := NextState(vaultstore.State{}, oauthcheck.Result{Class: oauthcheck.ClassOK, CredentialVersion: 1}, at(0))
	if v := cond(s, ConditionValid); v.Status != "True" || !v.LastTransition.Equal(at(0)) || v.Reason != "Ok" {
		t.Errorf("after ok: %+v", v)
	}

	// An outage: Valid keeps its status and transition time; Reachable flips.
	s = NextState(s, oauthcheck.Result{Class: oauthcheck.ClassUnavailable, CredentialVersion: 1}, at(30))
	if v := cond(s, ConditionValid); v.Status != "True" || !v.LastTransition.Equal(at(0)) {
		t.Errorf("an outage must not touch Valid: %+v", v)
	}
	if r := cond(s, ConditionReachable); r.Status != "False" || !r.LastTransition.Equal(at(30)) || r.Reason != "Unavailable" {
		t.Errorf("Reachable after an outage: %+v", r)
	}
	s = NextState(s, oauthcheck.Result{Class: oauthcheck.ClassRateLimited, CredentialVersion: 1}, at(60))
	if r := cond(s, ConditionReachable); !r.LastTransition.Equal(at(30)) || r.Reason != "RateLimited" {
		t.Errorf("still unreachable, same transition time: %+v", r)
	}
	if s.ConsecutiveFailures != 2 || s.RejectedVersion != 0 || !s.LastSuccess.Equal(at(0)) {
		t.Errorf("after two outages: %+v", s)
	}

	s = NextState(s, oauthcheck.Result{Class: oauthcheck.ClassInvalidClient, CredentialVersion: 1}, at(90))
	if v := cond(s, ConditionValid); v.Status != "False" || !v.LastTransition.Equal(at(90)) || v.Reason != "InvalidClient" {
		t.Errorf("Valid after invalid_client: %+v", v)
	}
	if s.RejectedVersion != 1 || s.ConsecutiveFailures != 3 {
		t.Errorf("after invalid_client: rejected %d, failures %d", s.RejectedVersion, s.ConsecutiveFailures)
	}

	s = NextState(s, oauthcheck.Result{Class: oauthcheck.ClassOK, CredentialVersion: 2}, at(120))
	if s.RejectedVersion != 0 || s.ConsecutiveFailures != 0 || cond(s, ConditionValid).Status != "True" {
		t.Errorf("after recovery: %+v", s)
	}
	if len(s.History) != 5 || s.History[0].Class != "ok" || s.History[4].Class != "ok" || s.History[1].Class != "invalid_client" {
		t.Errorf("history newest first: %+v", s.History)
	}
}

func TestNextStateKeepsAShortHistory(t *testing.T) {
	s := vaultstore.State{}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ {
		s = NextState(s, oauthcheck.Result{Class: oauthcheck.ClassOK}, t0.Add(time.Duration(i)*time.Minute))
	}
	if len(s.History) != HistoryLength || !s.History[0].At.Equal(t0.Add(49*time.Minute)) {
		t.Errorf("history: %d entries, newest %v", len(s.History), s.History[0].At)
	}
}

func TestFirstOutageLeavesValidUnknown(t *testing.T) {
	s := NextState(vaultstore.State{}, oauthcheck.Result{Class: oauthcheck.ClassUnavailable}, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	for _, c := range s.Conditions {
		if c.Type == ConditionValid && c.Status != "Unknown" {
			t.Errorf("Valid = %s, want Unknown before any answer", c.Status)
		}
	}
}

// A replica that becomes leader forgets what it read from Vault, but not
// what providers refused: until Vault holds a refusal, memory is all that
// stops a refused version being sent again.
func TestForgetVaultKeepsRefusals(t *testing.T) {
	var c Cache
	c.putState("x", &vaultstore.State{LastClass: "ok"})
	c.putCredential(&vaultstore.Credential{Name: "x", Version: 3})
	c.RememberRefusal("x", Refusal{Version: 3, Class: oauthcheck.ClassInvalidGrant})
	c.ForgetVault()
	if c.State("x") != nil || c.credential("x", 3) != nil {
		t.Error("what was read from Vault should be forgotten")
	}
	if ref, ok := c.Refusal("x", 3); !ok || ref.Class != oauthcheck.ClassInvalidGrant {
		t.Error("the refusal must be kept")
	}
}

// state/NAME stays under MaxStateBytes whatever a result holds: details,
// codes and a token URL of any length, of the characters JSON writes
// longest (<, > and & take six bytes each), over more checks than the
// history keeps.
func TestNextStateStaysUnderItsBoundWhateverAResultHolds(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		fill string
		n    int
	}{
		{"a megabyte of ordinary text", "x", 1 << 20},
		{"a megabyte of characters JSON escapes", "<&>", 1 << 20},
		{"a megabyte of four-byte characters", "𝄞", 1 << 18},
		{"details exactly at the check's bound, all escaped", "<", oauthcheck.MaxDetail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			big := strings.Repeat(tc.fill, tc.n/len(tc.fill))
			s := vaultstore.State{}
			for i := range HistoryLength + 5 {
				class := []oauthcheck.Class{oauthcheck.ClassMisconfigured, oauthcheck.ClassInvalidClient, oauthcheck.ClassUnavailable}[i%3]
				s = NextState(s, oauthcheck.Result{Class: class, CredentialVersion: i + 1, ErrorCode: big, Detail: big, TokenURL: "https://idp.example.org/" + big, AuthStyle: oauthcheck.AuthStyleBody}, t0.Add(time.Duration(i)*time.Minute))
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) >= 64<<10 {
				t.Errorf("state/NAME is %d bytes, over 64 KiB", len(b))
			}
			if !utf8.Valid(b) {
				t.Error("a cut split a character")
			}
		})
	}
}
