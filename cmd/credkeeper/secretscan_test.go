package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/testutil"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

// scanner looks for secrets in everything a person or another system sees:
// command output, logs, pages, metrics, files written and the bodies sent
// to endpoints that are not the secret's own, in each of notifytest.Forms.
type scanner struct {
	secrets  map[string]string          // what it is → value
	surfaces map[string]string          // where → text
	allowed  map[string]map[string]bool // where → secrets that belong there
}

func newScanner() *scanner {
	return &scanner{secrets: map[string]string{}, surfaces: map[string]string{}, allowed: map[string]map[string]bool{}}
}

func (s *scanner) secret(what, value string) {
	if len(value) < 8 {
		panic("a test secret too short to look for: " + what)
	}
	s.secrets[what] = value
}

// saw records text seen at where; allowed names secrets that go there by
// design (a routing key in the body sent to PagerDuty itself, say).
func (s *scanner) saw(where, text string, allowed ...string) {
	s.surfaces[where] += text + "\n"
	for _, a := range allowed {
		if s.allowed[where] == nil {
			s.allowed[where] = map[string]bool{}
		}
		s.allowed[where][a] = true
	}
}

func (s *scanner) check(t *testing.T) {
	t.Helper()
	var where []string
	for w := range s.surfaces {
		where = append(where, w)
	}
	sort.Strings(where)
	for _, w := range where {
		text := s.surfaces[w]
		for what, v := range s.secrets {
			if s.allowed[w][what] {
				continue
			}
			for _, f := range notifytest.Forms(v) {
				if strings.Contains(text, f) {
					t.Errorf("%s shows the %s", w, what)
					break
				}
			}
		}
	}
	t.Logf("scanned %d surfaces for %d secrets", len(s.surfaces), len(s.secrets))
}

// recorder is an HTTP endpoint standing in for a channel's service; it
// keeps each request's line, headers and body.
type recorder struct {
	mu     sync.Mutex
	seen   []string
	answer func(w http.ResponseWriter)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	for k, vs := range r.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ","))
	}
	b.Write(body)
	rec.mu.Lock()
	rec.seen = append(rec.seen, b.String())
	rec.mu.Unlock()
	rec.answer(w)
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// The demo's kind of credentials run through every command and the daemon
// at debug level, with a notice on every channel; then every output, file,
// page, metric and body sent anywhere but a secret's own endpoint is
// searched for every secret.
func TestNoSecretInAnythingAPersonOrSystemSees(t *testing.T) {
	env := cliEnv(t)
	work, _ := os.Getwd()
	private := t.TempDir() // the secret files an operator keeps; not scanned
	s := newScanner()
	s.secret("Vault root token", env.Token)
	ctx := context.Background()

	const oktaAPIToken = "Scan-Okta-Api-Token-0010"
	s.secret("Okta API token", oktaAPIToken)
	emu := emulator.New(emulator.Options{APIToken: oktaAPIToken, Clock: clockwork.NewRealClock()})
	tap := &assertionTap{next: emu} // every client assertion, to look for
	emuSrv := httptest.NewServer(tap)
	t.Cleanup(emuSrv.Close)
	secrets := map[string]string{
		"ctrp-stage": "Scan-Stage-Secret-0001", "ctrp-prod": "Scan-Prod-Wrong-0002", "dmptool": "Scan-Dmp-Secret-0003", "svc": "Scan-Svc-Secret-0011",
	}
	const stagedSecret = "Scan-Staged-Secret-0004"
	for name, v := range secrets {
		s.secret("client secret of "+name, v)
	}
	s.secret("staged client secret", stagedSecret)
	emu.AddClient(emulator.Client{ID: "0oa-scan-stage", Secrets: []string{secrets["ctrp-stage"]}})
	emu.AddClient(emulator.Client{ID: "0oa-scan-stage-2027", Secrets: []string{stagedSecret}})
	emu.AddClient(emulator.Client{ID: "0oa-scan-prod", Secrets: []string{"the-right-one-0005"}})
	emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{secrets["dmptool"]}, Scopes: []string{"public", "read_dmps"}})
	emu.AddClient(emulator.Client{ID: "0oa-scan-svc", AppID: "0oa-app-scan", Secrets: []string{secrets["svc"]}})

	ok := func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }
	hook := &recorder{answer: ok}
	chat := &recorder{answer: func(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") }}
	pager := &recorder{answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }}
	hookSrv, chatSrv, pagerSrv := httptest.NewServer(hook), httptest.NewServer(chat), httptest.NewServer(pager)
	t.Cleanup(hookSrv.Close)
	t.Cleanup(chatSrv.Close)
	t.Cleanup(pagerSrv.Close)
	const hmacKey, routingKey, slackToken, smtpPassword = "Scan-HMAC-Key-0006", "Scan-Routing-Key-0007", "Scan-Slack-Token-0008", "Scan-Smtp-Password-0009"
	slackURL := chatSrv.URL + "/services/T0SCAN/B0SCAN/" + slackToken
	s.secret("webhook HMAC key", hmacKey)
	s.secret("PagerDuty routing key", routingKey)
	s.secret("Slack webhook URL", slackURL)
	s.secret("Slack webhook URL's token", slackToken)
	s.secret("SMTP password", smtpPassword)
	relay := &notifytest.Relay{User: "credkeeper", Password: smtpPassword}
	cert, caFile := notifytest.TestCert(t)
	smtpAddr := notifytest.StartRelay(t, relay, cert)
	file := func(name, content string) string {
		p := filepath.Join(private, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	head, suffix := ctrpConfig(env, emuSrv.URL)
	writeConfig(t, head+fmt.Sprintf(`provider "acme-okta" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "header"
}
provider "dmptool" {
  token_url  = "%[1]s/oauth/token"
  auth_style = "body"
  scopes     = ["public", "read_dmps"]
  probe { url = "%[1]s/api/v2/templates" }
  support {
    email = "dmptool-help@example.org"
    via   = "mail"
  }
}
provider "acme-keys" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "private_key_jwt"
}
credential "svc-key" {
  provider = "acme-keys"
  notify   = ["siem"]
  publish_token {}
}
notifier "webhook" "siem" {
  url              = %[3]q
  hmac_secret_file = %[4]q
}
notifier "slack" "chat" {
  webhook_url_file = %[5]q
}
notifier "pagerduty" "oncall" {
  routing_key_file = %[6]q
  events_url       = %[7]q
}
notifier "email" "mail" {
  smtp          = %[8]q
  from          = "credkeeper@example.org"
  to            = ["security@example.org"]
  username      = "credkeeper"
  password_file = %[9]q
  ca_file       = %[10]q
}
credential "ctrp-stage" {
  provider  = "ctrp-stage"
  rotate_by = %[11]q
  notify    = ["siem", "chat", "mail"]
  publish_token {}
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  notify   = ["siem", "chat", "mail"]
  page     = ["oncall"]
}
credential "dmptool" {
  provider = "dmptool"
  publish_token {}
}
credential "svc" {
  provider = "acme-okta"
  notify   = ["siem"]
  auto_rotate {
    okta_org_url   = %[1]q
    app_id         = "0oa-app-scan"
    api_token_file = %[12]q
  }
}
`, emuSrv.URL, emulator.AuthServerStage,
		hookSrv.URL+"/hook", file("hmac", hmacKey), file("slack-url", slackURL), file("routing-key", routingKey), pagerSrv.URL+"/v2/enqueue",
		smtpAddr, file("smtp-password", smtpPassword), caFile, time.Now().UTC().AddDate(0, 0, 20).Format("2006-01-02"), file("okta-api-token", oktaAPIToken)))

	run := func(stdin string, args ...string) result {
		t.Helper()
		r := runCLI(t, stdin, false, args...)
		s.saw("credkeeper "+strings.Join(args, " "), r.stdout+r.stderr)
		return r
	}
	must := func(stdin string, args ...string) {
		t.Helper()
		if r := run(stdin, args...); r.code != 0 {
			t.Fatalf("credkeeper %s: exit %d\n%s", strings.Join(args, " "), r.code, r.all())
		}
	}

	must("", "validate")
	must("", "plan", "--out", "scan.plan")
	must("", "apply", "scan.plan")
	must("", "vault-policies", "print")
	must(secrets["ctrp-stage"]+"\n", "secret", "set", "ctrp-stage", "--client-id", "0oa-scan-stage")
	must(secrets["ctrp-prod"]+"\n", "secret", "set", "ctrp-prod", "--client-id", "0oa-scan-prod")
	must(secrets["dmptool"]+"\n", "secret", "set", "dmptool", "--client-id", "12345")
	gen := run("", "keygen", "svc-key", "--client-id", "0oa-scan-key")
	if gen.code != 0 {
		t.Fatalf("keygen: %s", gen.all())
	}
	emu.AddClient(emulator.Client{ID: "0oa-scan-key", Keys: registeredKeys(t, gen.stdout, testNow)})
	// The commands run at testNow, the emulator on the real clock: their
	// assertions are refused for their times (misconfigured), the
	// daemon's (on the real clock) get tokens.
	run("", "check", "svc-key")
	staged := run("", "keygen", "svc-key", "--client-id", "0oa-scan-key", "--alg", "RS256", "--stage")
	emu.AddClient(emulator.Client{ID: "0oa-scan-key", Keys: append(registeredKeys(t, gen.stdout, testNow), registeredKeys(t, staged.stdout, testNow)...)})
	run("", "rotate", "promote", "svc-key", "--force")
	must("", "secret", "show", "svc-key")
	must("", "secret", "list")
	must("", "secret", "show", "ctrp-stage")
	must("", "check", "ctrp-stage")
	run("", "check", "--all")
	run("", "check", "ctrp-prod", "--json")
	must("", "status")
	must("", "status", "--json")
	must("", "plan")
	for _, n := range []string{"siem", "chat", "oncall", "mail"} {
		must("", "notify", "test", n)
	}
	must("", "silence", "dmptool", "--until", time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02"), "--reason", "scan", "--kind", "reminder")
	must("", "silence", "list")
	must("", "silence", "list", "--json")
	must("", "rotate", "request", "dmptool", "--send", "--ticket", "SCAN-1", "--note", "a scan")
	must("", "rotate", "request", "dmptool")
	must("", "rotate", "status", "dmptool", "--json")
	must(stagedSecret+"\n", "rotate", "stage", "ctrp-stage", "--client-id", "0oa-scan-stage-2027")
	must("", "rotate", "status", "ctrp-stage")
	must("", "rotate", "promote", "ctrp-stage")
	must("", "rotate", "status", "ctrp-stage")
	must("", "secret", "show", "ctrp-stage")
	must(secrets["svc"]+"\n", "secret", "set", "svc", "--client-id", "0oa-scan-svc", "--rotate-by", time.Now().UTC().AddDate(0, 0, 10).Format("2006-01-02"))
	must("", "rotate", "auto", "svc", "--now", "--dry-run")
	must("", "rotate", "auto", "svc", "--now")
	must("", "rotate", "status", "svc")
	for _, format := range []string{"table", "json", "csv"} {
		must("", "report", "--format", format)
	}
	must("", "report", "--format", "html", "--out", "report.html")
	created, err := env.Store(t).GetCredential(ctx, "svc")
	if err != nil || created.ClientSecret.Reveal() == secrets["svc"] {
		t.Fatalf("rotate auto did not put Okta's new secret in Vault: %v", err)
	}
	s.secret("client secret Okta created", created.ClientSecret.Reveal())
	// rotations/NAME as Vault holds it: the request, the history of every step.
	for _, name := range []string{"dmptool", "ctrp-stage", "svc"} {
		sec, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/rotations/"+name)
		if err != nil {
			t.Fatalf("rotations/%s: %v", name, err)
		}
		b, _ := json.Marshal(sec.Data)
		if !strings.Contains(string(b), `"history"`) {
			t.Errorf("rotations/%s records no history: %s", name, b)
		}
		s.saw("rotations/"+name+" in Vault", string(b))
	}
	for v := 1; v <= 2; v++ {
		c, err := env.Store(t).GetCredentialVersion(ctx, "svc-key", v)
		if err != nil || !c.HasKey() {
			t.Fatalf("svc-key v%d holds no key: %v", v, err)
		}
		scanKey(s, fmt.Sprintf("svc-key v%d", v), c.PrivateKey.Reveal())
	}

	// The daemon, at debug level, under the daemon role's token.
	daemonTok, err := env.Root.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"daemon-" + suffix}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	s.secret("daemon's Vault token", daemonTok.Auth.ClientToken)
	t.Setenv("VAULT_TOKEN", daemonTok.Auth.ClientToken)
	d := startDaemon(t, "scan")
	testutil.Eventually(t, 20*time.Second, "tokens published and ctrp-prod paged", func() bool {
		return d.count("token published", "") >= 3 && len(pager.requests()) >= 2
	})
	for _, path := range []string{"/", "/credentials/ctrp-stage", "/credentials/ctrp-prod", "/api/v1/credentials", "/api/v1/credentials/ctrp-stage", "/report", "/report?format=json", "/report?format=csv", "/metrics", "/readyz", "/healthz"} {
		code, body := httpGet(t, d.addr+path)
		if strings.HasPrefix(path, "/report") && code != http.StatusOK {
			t.Errorf("the daemon's %s under the daemon role: %d\n%s", path, code, body)
		}
		s.saw("the daemon's "+path, body)
	}
	d.stop()
	s.saw("the daemon's log", d.logs.String())
	t.Setenv("VAULT_TOKEN", env.Token)

	// CI's command prints the published token, and only there may it be.
	for _, name := range []string{"ctrp-stage", "dmptool", "svc-key"} {
		sec, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/tokens/"+name)
		if err != nil {
			t.Fatal(err)
		}
		s.secret("published access token of "+name, fmt.Sprint(sec.Data["access_token"]))
		r := runCLI(t, "", false, "token", name)
		s.saw("credkeeper token "+name+" (stdout)", r.stdout, "published access token of "+name)
		s.saw("credkeeper token "+name+" (stderr)", r.stderr)
	}

	// Every assertion the checks, the promote and the daemon sent.
	if len(tap.assertions()) < 3 {
		t.Fatalf("%d client assertions seen", len(tap.assertions()))
	}
	for i, a := range tap.assertions() {
		scanAssertion(s, i+1, a)
	}

	// What was sent to each channel's service.
	s.saw("the bodies sent to the webhook", strings.Join(hook.requests(), "\n"))
	s.saw("the bodies sent to Slack", strings.Join(chat.requests(), "\n"), "Slack webhook URL's token")
	s.saw("the bodies sent to PagerDuty", strings.Join(pager.requests(), "\n"), "PagerDuty routing key")
	msgs, _ := relay.Messages()
	for i, m := range msgs {
		s.saw(fmt.Sprintf("email %d", i+1), string(m))
	}
	if len(hook.requests()) == 0 || len(chat.requests()) == 0 || len(pager.requests()) == 0 || len(msgs) == 0 {
		t.Fatalf("a channel got nothing: webhook %d, slack %d, pagerduty %d, email %d", len(hook.requests()), len(chat.requests()), len(pager.requests()), len(msgs))
	}

	// Every file the commands wrote.
	_ = filepath.WalkDir(work, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := os.ReadFile(p)
			s.saw("the file "+strings.TrimPrefix(p, work+"/"), string(b))
		}
		return nil
	})
	s.check(t)
}

// The scanner (notifytest.Forms) finds a secret however it is dressed: a
// test that could not fail would prove nothing.
func TestTheScannerFindsASecretInEveryForm(t *testing.T) {
	const v = "Scanner-Self-Test/Secret+0010"
	dressed := map[string]string{
		"plain":       "error: " + v,
		"query":       "url?secret=" + url.QueryEscape(v),
		"path":        "/x/" + url.PathEscape(v),
		"html":        "<td>" + html.EscapeString(v) + "</td>",
		"base64 at 0": base64.StdEncoding.EncodeToString([]byte(v + " trailing")),
		"base64 at 1": base64.StdEncoding.EncodeToString([]byte("a" + v)),
		"base64 at 2": base64.RawURLEncoding.EncodeToString([]byte("ab" + v + "c")),
		"basic auth":  "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("client-id:"+v)),
	}
	for form, text := range dressed {
		found := false
		for _, f := range notifytest.Forms(v) {
			found = found || strings.Contains(text, f)
		}
		if !found {
			t.Errorf("the scanner misses the secret %s", form)
		}
	}
}

// echoedSecret has the characters encoders escape, so that each of a
// provider's encodings writes it differently.
const echoedSecret = "Sup3r/Secret<Value>&42"

// jsonForms are the ways a JSON encoder writes v: \/ for a slash, as PHP
// does, and \u003c, \u003e, \u0026 for <, >, &, as Go and PHP's
// JSON_HEX_* flags do.
func jsonForms(v string) []string {
	hex := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(v)
	return []string{strings.ReplaceAll(v, "/", `\/`), hex, strings.ReplaceAll(hex, "/", `\/`)}
}

// Providers that write the secret back (plain, JSON-escaped, form-encoded,
// as the Basic header), answer a 1 MB error or terminal escapes, or
// complain about the authentication method in Okta's words: no form of the
// secret, and no terminal escape, reaches any command's output, state/NAME
// as Vault holds it, the daemon's log or its pages; state/NAME stays under
// 64 KiB.
func TestNoSecretAProviderWritesBackReachesAnythingAPersonSees(t *testing.T) {
	env := cliEnv(t)
	ctx := context.Background()
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	modes := []struct {
		name, id, provider string
		fault              emulator.Fault
	}{
		{"echo-plain", "12301", "dmptool", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoPlain}},
		{"echo-json", "12302", "dmptool", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoJSON}},
		{"echo-form", "12303", "dmptool", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoForm}},
		{"echo-basic", "0oa-echo-basic", "ctrp-stage", emulator.Fault{Kind: emulator.FaultEcho, Encoding: emulator.EchoBasic}},
		{"huge-error", "0oa-huge", "ctrp-stage", emulator.Fault{Kind: emulator.FaultHugeError}},
		{"terminal", "0oa-terminal", "ctrp-stage", emulator.Fault{Kind: emulator.FaultTerminal}},
		{"auth-method", "0oa-method", "okta-post", emulator.Fault{Kind: emulator.FaultAuthMethod}},
	}
	head, _ := ctrpConfig(env, emuSrv.URL)
	hcl := head + fmt.Sprintf(`provider "dmptool" {
  token_url  = "%[1]s/oauth/token"
  auth_style = "body"
}
provider "okta-post" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "body"
}
`, emuSrv.URL, emulator.AuthServerStage)
	for _, m := range modes {
		emu.AddClient(emulator.Client{ID: m.id, Secrets: []string{echoedSecret}})
		emu.InjectFault(m.id, m.fault)
		hcl += fmt.Sprintf("credential %q {\n  provider = %q\n}\n", m.name, m.provider)
	}
	writeConfig(t, hcl)

	s := newScanner()
	s.secret("client secret", echoedSecret)
	run := func(args ...string) {
		t.Helper()
		r := runCLI(t, "", false, args...)
		s.saw("credkeeper "+strings.Join(args, " "), r.stdout+r.stderr)
		if r.code == 1 {
			t.Fatalf("credkeeper %s: exit 1\n%.2000s", strings.Join(args, " "), r.all())
		}
	}
	for _, m := range modes {
		if r := runCLI(t, echoedSecret+"\n", false, "secret", "set", m.name, "--client-id", m.id); r.code != 0 {
			t.Fatalf("secret set %s: %s", m.name, r.all())
		}
		run("check", m.name)
		run("check", m.name, "--json")
	}
	for range 22 { // more checks than state/NAME's history keeps
		run("check", "--all", "--force")
	}
	run("check", "--all", "--json")
	run("status")
	run("status", "--json")

	d := startDaemon(t, "echo")
	for _, m := range modes {
		testutil.Eventually(t, 20*time.Second, "the page of "+m.name, func() bool {
			code, _ := httpGet(t, d.addr+"/credentials/"+m.name)
			return code == http.StatusOK
		})
		for _, path := range []string{"/credentials/" + m.name, "/api/v1/credentials/" + m.name} {
			_, body := httpGet(t, d.addr+path)
			s.saw("the daemon's "+path, body)
		}
	}
	_, body := httpGet(t, d.addr+"/")
	s.saw("the daemon's /", body)
	d.stop()
	s.saw("the daemon's log", d.logs.String())

	for _, m := range modes {
		sec, err := env.Root.KVv2("secret").Get(ctx, env.Prefix+"/state/"+m.name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(sec.Data)
		s.saw("state/"+m.name, string(b))
		if len(b) >= 64<<10 {
			t.Errorf("state/%s is %d bytes", m.name, len(b))
		}
	}
	for where, text := range s.surfaces {
		for _, f := range jsonForms(echoedSecret) {
			if strings.Contains(text, f) {
				t.Errorf("%s shows the client secret JSON-escaped", where)
			}
		}
		if strings.ContainsAny(text, "\x1b\u009b") || strings.Contains(text, `\u001b`) || strings.Contains(text, `\u009b`) {
			t.Errorf("%s shows a terminal escape", where)
		}
	}
	s.check(t)
}
