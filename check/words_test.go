package check_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
)

// wordsSecret has the characters encoders escape.
const wordsSecret = "Sup3r/Secret<Value>&42"

// storedState is state/NAME as Vault holds it, as JSON.
func storedState(t *testing.T, w *credtest.World, name string) string {
	t.Helper()
	sec, err := w.Env.Root.KVv2(w.Env.Mount).Get(context.Background(), w.Env.Prefix+"/state/"+name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sec.Data)
	return string(b)
}

// Whatever a provider answers, state/NAME in Vault stays under
// MaxStateBytes over more checks than its history keeps, shows no terminal
// escape, and holds no form of the secret the provider wrote back.
func TestStateStaysSmallAndCleanWhateverTheProviderAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault emulator.Fault
		body  bool
	}{
		{"a 1 MB error field", emulator.Fault{Kind: emulator.FaultHugeError}, false},
		{"terminal escapes", emulator.Fault{Kind: emulator.FaultTerminal}, false},
		{"the secret echoed plain", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoPlain}, true},
		{"the secret echoed JSON-escaped", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoJSON}, true},
		{"the secret echoed form-encoded", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoForm}, true},
		{"the Basic header echoed", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoBasic}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := credtest.NewWorld(t, nil, func(o *emulator.Options) { o.LockoutAfter = 0 })
			w.Emu.AddClient(emulator.Client{ID: "0oa-words", Secrets: []string{wordsSecret}})
			w.Emu.InjectFault("0oa-words", tc.fault)
			provider := "okta-stage"
			if tc.body {
				provider = "doorkeeper"
			}
			w.Put("words", provider, "0oa-words", wordsSecret, credtest.Deadline)
			for i := range check.HistoryLength + 5 {
				w.Clock.Advance(time.Minute)
				w.Check("words", true)
				if i == 0 || i == check.HistoryLength+4 {
					st := storedState(t, w, "words")
					if len(st) >= check.MaxStateBytes {
						t.Fatalf("after %d checks state/words is %d bytes", i+1, len(st))
					}
					if strings.Contains(st, `\u001b`) || strings.Contains(st, `\u009b`) || strings.Contains(st, "[31m") {
						t.Fatalf("state/words keeps a terminal escape: %.400s", st)
					}
					for _, f := range []string{wordsSecret, strings.ReplaceAll(wordsSecret, "/", `\/`), url.QueryEscape(wordsSecret), `Sup3r\/Secret\u003cValue\u003e\u002642`,
						strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte("0oa-words:"+url.QueryEscape(wordsSecret))), "/", `\/`)} {
						if strings.Contains(st, f) {
							t.Fatalf("state/words holds the secret as %s", f)
						}
					}
				}
			}
		})
	}
}

// A client registered for another authentication method is misconfigured,
// never a refusal: after auth_style is corrected the next check, without
// --force, gets a token.
func TestAClientRegisteredForAnotherMethodIsMisconfiguredUntilAuthStyleIsFixed(t *testing.T) {
	w := credtest.NewWorld(t, func(u string) string {
		return `
provider "okta-post" {
  token_url  = "` + u + `/oauth2/` + emulator.AuthServerStage + `/v1/token"
  auth_style = "body"
}`
	})
	w.Emu.AddClient(emulator.Client{ID: "0oa-post", Secrets: []string{"Post-Secret-0001"}})
	w.Emu.InjectFault("0oa-post", emulator.Fault{Kind: emulator.FaultAuthMethod})
	w.Put("posted", "okta-post", "0oa-post", "Post-Secret-0001", credtest.Deadline)
	res := w.Check("posted", false)
	if res.Class != oauthcheck.ClassMisconfigured || !strings.Contains(res.Detail, `auth_style = "header"`) || !strings.HasSuffix(res.Description, "was requested.") {
		t.Fatalf("body sent to a client_secret_basic client: %s %q (%q)", res.Class, res.Detail, res.Description)
	}
	p, _ := w.Cfg.Provider("okta-post")
	p.AuthStyle = "header"
	if res := w.Check("posted", false); res.Class != oauthcheck.ClassOK || res.NotSent {
		t.Fatalf("after auth_style is fixed: %s not-sent=%v %q", res.Class, res.NotSent, res.Detail)
	}
}

// A provider that answers invalid_client with the secret split by a line
// break, a tab or a bell gets it neither into state/NAME, which the
// auditor ("never a secret") reads, nor onto the status page or its API.
func TestASecretSplitByALineBreakReachesNeitherStateNorTheStatusPage(t *testing.T) {
	for _, tc := range []struct {
		name, sep string
	}{
		{"a line break", `\n`},
		{"a tab", `\t`},
		{"a bell", `\u0007`},
	} {
		t.Run(tc.name, func(t *testing.T) { splitSecretStaysOut(t, tc.sep) })
	}
}

// splitSecretStaysOut has a provider echo the secret split by sep and
// reads state/NAME as the auditor and the status page.
func splitSecretStaysOut(t *testing.T, sep string) {
	const sec = "Wrapped-Secret-0123456789abcdefXYZ"
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Client authentication failed for secret ` + sec[:17] + sep + sec[17:] + `"}`))
	}))
	defer hostile.Close()
	w := credtest.NewWorld(t, func(string) string {
		return `provider "hostile" {
  token_url  = "` + hostile.URL + `/token"
  auth_style = "header"
  environment = "prod"
}
credential "victim" {
  provider = "hostile"
}
`
	})
	w.Put("victim", "hostile", "0oa-victim", sec, w.Clock.Now().AddDate(1, 0, 0))
	res := w.Check("victim", false)
	t.Logf("class %s detail %q", res.Class, res.Detail)
	ctx := context.Background()
	doc, err := policies.PolicyDocument(config.RoleAuditor, w.Env.Mount, w.Env.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	auditor := w.Env.StoreWithPolicy(t, "split-auditor", doc)
	st, err := auditor.GetState(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	squashed := strings.ReplaceAll(string(b), " ", "")
	if strings.Contains(squashed, sec) {
		t.Errorf("the auditor reads the client secret (with one space in it) in state/victim: %s", b)
	}
	pages := &web.Pages{Store: w.Store, Config: func() *config.Config { return w.Cfg }, Clock: w.Clock}
	srv := httptest.NewServer(pages.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/credentials/victim")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	t.Logf("API: %d %s", resp.StatusCode, strings.Join(strings.Fields(body.String()), " "))
	if strings.Contains(strings.ReplaceAll(body.String(), " ", ""), sec) {
		t.Errorf("the status page API serves the secret (one space in it): %s", body.String())
	}
	page, err := http.Get(srv.URL + "/credentials/victim")
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if strings.Contains(strings.ReplaceAll(html.UnescapeString(string(pb)), " ", ""), sec) {
		t.Errorf("the status page /credentials/victim shows the secret (one space in it)")
	}
}
