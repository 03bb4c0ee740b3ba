package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The faults that test what credkeeper keeps of a provider's words: the
// secret written back in each encoding, a 1 MB error field, terminal
// escapes, and Okta's complaint about the authentication method.
func TestFaultsInAProvidersWords(t *testing.T) {
	const id, secret = "0oa-words", "Sup3r/Secret<Value>&42"
	for _, tc := range []struct {
		name   string
		fault  Fault
		basic  bool
		status int
		want   []string // in the body as it goes over the wire
		check  func(t *testing.T, body string)
	}{
		{"the secret echoed plain", Fault{Kind: FaultEcho, Encoding: EchoPlain}, false, 401, nil, func(t *testing.T, body string) {
			if desc := description(t, body); !strings.Contains(desc, secret) {
				t.Errorf("the description does not hold the secret: %q", desc)
			}
		}},
		{"the secret echoed JSON-escaped", Fault{Kind: FaultEcho, Encoding: EchoJSON}, false, 401, []string{`Sup3r\/Secret\u003cValue\u003e\u002642`}, nil},
		{"the request echoed form-encoded", Fault{Kind: FaultEcho, Encoding: EchoForm}, false, 401, []string{url.QueryEscape(secret)}, nil},
		{"the Basic header echoed", Fault{Kind: FaultEcho, Encoding: EchoBasic}, true, 401,
			[]string{strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(id+":"+secret)), "/", `\/`)}, nil},
		{"a 1 MB error field", Fault{Kind: FaultHugeError}, true, 400, nil, func(t *testing.T, body string) {
			var v struct{ Error string }
			if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.Error) < 1_000_000 || len(body) >= 1<<20 {
				t.Errorf("want an error field of 1 MB in a body under 1 MiB: %d, %d, %v", len(v.Error), len(body), err)
			}
		}},
		{"terminal escapes", Fault{Kind: FaultTerminal}, true, 400, []string{`\u001b[2J`, `\u001b]0;`}, nil},
		{"the authentication method complained of in Okta's words", Fault{Kind: FaultAuthMethod}, false, 401, nil, func(t *testing.T, body string) {
			if desc := description(t, body); len(desc) <= 300 || !strings.HasSuffix(desc, "supports client authentication method 'client_secret_basic', but method 'client_secret_post' was requested.") {
				t.Errorf("want Okta's complaint at the end of a long description: %q", desc)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.emu.AddClient(Client{ID: id, Secrets: []string{secret}})
			f.emu.InjectFault(id, tc.fault)
			path := stagePath
			if !tc.basic && tc.fault.Kind != FaultAuthMethod {
				path = "/oauth/token"
			}
			status, _, body := f.post(path, id, secret, tc.basic, nil)
			if status != tc.status {
				t.Errorf("status %d, want %d: %.300s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the body lacks %s: %.300s", w, body)
				}
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// The authentication method fault refuses only the method the client is
// not registered for: the same secret sent by HTTP Basic gets a token.
func TestTheAuthMethodFaultLetsTheRegisteredMethodThrough(t *testing.T) {
	f := newFixture(t, Options{})
	f.emu.AddClient(Client{ID: "0oa-m", Secrets: []string{"Method-Secret-1"}})
	f.emu.InjectFault("0oa-m", Fault{Kind: FaultAuthMethod})
	if status, _, body := f.post(stagePath, "0oa-m", "Method-Secret-1", true, nil); status != 200 {
		t.Errorf("HTTP Basic: %d %s", status, body)
	}
}

func description(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, body)
	}
	return v.Description
}
