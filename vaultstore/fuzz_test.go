package vaultstore

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRecords feeds the decoders of Vault records arbitrary JSON,
// as a hand edit in Vault might leave it: credentials/NAME reports what
// is missing instead of returning a pair without a secret, and no record
// decoder panics.
func FuzzDecodeRecords(f *testing.F) {
	for _, s := range []string{
		`{"client_id":"0oa1","client_secret":"s","issued_at":"2026-01-01","rotate_by":"2027-01-01"}`,
		`{"client_id":"0oa1"}`,
		`{"client_id":1,"client_secret":["s"]}`,
		`{"last_class":"ok","history":[{"at":"2026-11-24T12:00:00Z","class":"ok"}],"conditions":[{"type":"Valid","status":"True"}]}`,
		`{"entries":[{"key":"k","channel":"c","notice":{"kind":"reminder"}}],"incidents":[{"key":"i"}]}`,
		`{"access_token":"t","expires_at":"2026-11-24T12:00:00Z"}`,
		`{"holder":"a","expires_at":"not a time"}`,
		`{"until":"2026-12-01T00:00:00Z","kinds":["overdue"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var data map[string]any
		if json.Unmarshal(b, &data) == nil {
			c := &Credential{Name: "fuzz"}
			err := decodeCredentialData(c, data, "secret/data/credkeeper/credentials/fuzz")
			if err == nil && (c.ClientID == "" || c.ClientSecret.IsZero()) {
				t.Errorf("a credential without its pair was accepted: %q", b)
			}
		}
		for _, v := range []any{&State{}, &Ledger{}, &Token{}, &Pending{}, &Lease{}, &Rotation{}, &Silence{}} {
			_ = json.Unmarshal(b, v)
		}
	})
}
