package oauthcheck

import (
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// FuzzTokenResponse feeds the token response parser arbitrary bodies:
// whatever a provider answers, a token's expiry is never before the
// moment it came nor more than MaxTokenLifetime after, and nothing
// panics.
func FuzzTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"a","token_type":"Bearer","expires_in":3600,"scope":"x"}`,
		`{"access_token":"a","expires_in":"3600"}`,
		`{"access_token":"a","expires_in":-1}`,
		`{"access_token":"a","expires_in":1e12}`,
		`{"access_token":"a","expires_in":7200,"created_at":1}`,
		`{"access_token":"a","expires_in":7200,"created_at":99999999999999}`,
		`<html>502</html>`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		// x/oauth2 decodes a JSON answer into the map Extra reads
		var raw map[string]any
		if json.Unmarshal(body, &raw) != nil {
			return
		}
		fields := tokenFields((&oauth2.Token{AccessToken: "a"}).WithExtra(raw))
		expires, unknown, problem := expiry(fields, now)
		switch {
		case problem != "" || unknown:
			if !expires.IsZero() {
				t.Errorf("no lifetime, yet an expiry %v (%q)", expires, problem)
			}
		case expires.Before(now.Add(-time.Second)) || expires.After(now.Add(MaxTokenLifetime)):
			t.Errorf("expiry %v out of [now, now+MaxTokenLifetime] for %q", expires, body)
		}
	})
}
