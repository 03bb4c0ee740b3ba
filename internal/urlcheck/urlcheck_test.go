package urlcheck

import "testing"

// Credentials go over https, or plain http to this machine, or to a host
// whose provider says insecure_http = true; never to another scheme.
func TestEndpointProblem(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://idp.example.org/token", false, true},
		{"http://127.0.0.1:8080/token", false, true},
		{"http://[::1]:8080/token", false, true},
		{"http://localhost/token", false, true},
		{"http://idp.example.org/token", false, false},
		{"http://idp.example.org/token", true, true},
		{"ftp://idp.example.org/token", true, false},
		{"idp.example.org/token", false, false},
	} {
		if got := EndpointProblem(tc.url, "token_url", tc.insecure) == ""; got != tc.ok {
			t.Errorf("EndpointProblem(%q, insecure=%v) ok = %v, want %v", tc.url, tc.insecure, got, tc.ok)
		}
	}
}
