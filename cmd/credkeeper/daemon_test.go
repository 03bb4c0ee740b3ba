package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/testutil"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// everySecond shortens every schedule to one second, below the language's
// floor (which protects providers, not tests), so the wall-clock daemon
// shows its work within a test's patience.
func everySecond(cfg *config.Config) {
	for _, c := range cfg.Credentials {
		c.Schedule = cron.Every(time.Second)
	}
}

func TestDaemonServesMetricsPublishesForCIAndReloads(t *testing.T) {
	env := cliEnv(t)
	emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	const stageSecret, dmpSecret, prodSecret = "Stage-Daemon-Secret-77", "Dmp-Daemon-Secret-88", "Prod-Wrong-Secret-99"
	const hmacKey = "Daemon-HMAC-Key-11"
	hmacFile := filepath.Join(t.TempDir(), "hmac")
	_ = os.WriteFile(hmacFile, []byte(hmacKey), 0o600)
	recv, recvURL := newReceiver(t, hmacKey)
	emu.AddClient(emulator.Client{ID: "0oa1stage", Secrets: []string{stageSecret}})
	emu.AddClient(emulator.Client{ID: "0oa1prod", Secrets: []string{"the-right-one"}})
	emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{dmpSecret}})
	head, suffix := ctrpConfig(env, emuSrv.URL)
	base := head + fmt.Sprintf(`provider "dmptool" {
  token_url = "%[1]s/oauth/token"
  probe { url = "%[1]s/api/v2/templates" }
}
notifier "webhook" "siem" {
  url              = %[2]q
  hmac_secret_file = %[3]q
}
credential "ctrp-stage" {
  provider  = "ctrp-stage"
  check     = "@every 10s"
  rotate_by = "2027-03-01"
  publish_token {
    renew_before = "10m"
  }
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  check    = "@every 10s"
  notify   = ["siem"]
  page     = ["siem"]
}
`, emuSrv.URL, recvURL, hmacFile)
	writeConfig(t, base)
	if r := credkeeper(t, "", "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: %s", r.all())
	}
	setSecret(t, "ctrp-stage", "ctrp-stage", "0oa1stage", stageSecret)
	setSecret(t, "dmptool", "dmptool", "12345", dmpSecret)
	setSecret(t, "ctrp-prod", "ctrp-prod", "0oa1prod", prodSecret)

	// The daemon runs with the daemon role's token, as in production.
	daemonTok, err := env.Root.Auth().Token().CreateWithContext(context.Background(), &api.TokenCreateRequest{Policies: []string{"daemon-" + suffix}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", daemonTok.Auth.ClientToken)

	reload := make(chan struct{}, 1)
	d := startDaemon(t, "test-replica", func(o *globalOptions) { o.reload = reload })
	logs := d.logs
	defer func() {
		d.stop()
		for _, s := range []string{stageSecret, dmpSecret, prodSecret, hmacKey} {
			if strings.Contains(logs.String()+d.out.String(), s) {
				t.Error("a client secret appears in the daemon's logs")
			}
		}
		if strings.Contains(logs.String(), "permission denied") {
			t.Errorf("the daemon role lacks a permission the daemon needs:\n%s", logs.String())
		}
	}()
	addr := d.addr
	if code, _ := httpGet(t, addr+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	testutil.Eventually(t, 10*time.Second, "/readyz says leader", func() bool {
		code, body := httpGet(t, addr+"/readyz")
		return code == 200 && strings.Contains(body, `"role":"leader"`)
	})

	// CI reads the published token with the ci policy, and nothing else.
	testutil.Eventually(t, 10*time.Second, "a published token", func() bool {
		_, err := env.Root.KVv2("secret").Get(context.Background(), env.Prefix+"/tokens/ctrp-stage")
		return err == nil
	})
	stored, _ := env.Root.KVv2("secret").Get(context.Background(), env.Prefix+"/tokens/ctrp-stage")
	ciTok, err := env.Root.Auth().Token().CreateWithContext(context.Background(), &api.TokenCreateRequest{Policies: []string{"ci-" + suffix}, NoDefaultPolicy: true, TTL: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_TOKEN", ciTok.Auth.ClientToken)
	tok := credkeeper(t, "", "token", "ctrp-stage")
	if tok.code != 0 || strings.TrimSpace(tok.stdout) != stored.Data["access_token"] {
		t.Errorf("credkeeper token with the ci policy: exit %d %q", tok.code, tok.stderr)
	}
	expires, _ := time.Parse(time.RFC3339, fmt.Sprint(stored.Data["expires_at"]))
	beyond := (expires.Sub(testNow) + time.Hour).Round(time.Hour)
	if r := credkeeper(t, "", "token", "ctrp-stage", "--min-ttl", beyond.String()); r.code != 1 || !strings.Contains(r.stderr, "less than --min-ttl "+beyond.String()) {
		t.Errorf("--min-ttl beyond the token's life: %d %q", r.code, r.stderr)
	}
	if r := credkeeper(t, "", "check", "ctrp-stage"); r.code != 1 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("the ci policy reading credentials/NAME: exit %d %q", r.code, r.stderr)
	}
	if r := credkeeper(t, "", "token", "dmptool"); r.code != 1 || !strings.Contains(r.stderr, "no token published") {
		t.Errorf("a credential without publish_token: %d %q", r.code, r.stderr)
	}
	t.Setenv("VAULT_TOKEN", env.Token)

	// The status page, served under the daemon role's token.
	testutil.Eventually(t, 10*time.Second, "the status page at / shows ctrp-prod refused", func() bool {
		code, page := httpGet(t, addr+"/")
		return code == 200 && strings.Contains(page, `href="/credentials/ctrp-prod"`) && strings.Contains(page, "invalid_client")
	})
	if code, page := httpGet(t, addr+"/credentials/ctrp-stage"); code != 200 || !strings.Contains(page, "Last results") {
		t.Errorf("/credentials/ctrp-stage: %d\n%s", code, page)
	}

	// Metrics.
	_, metrics := httpGet(t, addr+"/metrics")
	for _, want := range []string{
		`credkeeper_credential_rotation_deadline_timestamp_seconds{credential="ctrp-stage",environment="stage"} ` +
			strconv.FormatFloat(float64(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Unix()), 'g', -1, 64),
		`credkeeper_check_total{class="ok",credential="ctrp-stage"}`,
		`credkeeper_check_duration_seconds_bucket{le="0.01"}`,
		`credkeeper_credential_last_success_timestamp_seconds{credential="ctrp-stage"}`,
		`credkeeper_credential_up{credential="ctrp-stage"} 1`,
		`credkeeper_token_expiry_timestamp_seconds{credential="ctrp-stage"}`,
		`credkeeper_vault_requests_total{op="write",outcome="ok"}`,
		`credkeeper_vault_requests_total{op="read",outcome="ok"}`,
		`credkeeper_leader 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, stageSecret) || strings.Contains(metrics, fmt.Sprint(stored.Data["access_token"])) {
		t.Error("a secret appears in /metrics")
	}

	// The refused production credential paged, once, through the signed webhook.
	testutil.Eventually(t, 10*time.Second, "an incident notice", func() bool { return len(recv.kinds()) > 0 })
	time.Sleep(1500 * time.Millisecond) // more checks run; no second page may follow
	notices, bodies, bad := recv.snapshot()
	if k := kindsOf(notices); len(k) != 1 || k[0] != "incident incident/ctrp-prod/invalid_client" || !notices[0].Page || bad != 0 {
		t.Errorf("notices: %v (page %v, bad signatures %d)", k, len(notices) > 0 && notices[0].Page, bad)
	}
	for _, b := range bodies {
		if strings.Contains(b, prodSecret) || strings.Contains(b, hmacKey) {
			t.Error("a secret is in a notice")
		}
	}

	// A bad config is refused on reload; a good one adds dmptool.
	writeConfig(t, base+"credential \"dmptool\" {\n  provider = \"nope\"\n}\n")
	reload <- struct{}{}
	testutil.Eventually(t, 5*time.Second, "the bad reload reported", func() bool {
		return strings.Contains(logs.String(), "configuration not reloaded; the running one is kept")
	})
	writeConfig(t, base+"credential \"dmptool\" {\n  provider = \"dmptool\"\n  check = \"@every 10s\"\n}\n")
	reload <- struct{}{}
	testutil.Eventually(t, 10*time.Second, "dmptool checked after the reload", func() bool { return emu.Requests("12345") > 0 })
}

// runningDaemon is `credkeeper daemon` run in this process with every
// schedule at one second (everySecond) and JSON logs at debug level.
type runningDaemon struct {
	t         *testing.T
	out, logs *syncBuffer
	addr      string
	stop      func()
}

// startDaemon starts the daemon as replica, on the real clock, with
// setup's changes to its options, and returns once it serves; it is stopped when the test ends,
// if stop was not called before.
func startDaemon(t *testing.T, replica string, setup ...func(*globalOptions)) *runningDaemon {
	t.Helper()
	d := &runningDaemon{t: t, out: &syncBuffer{}, logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- runWith(ctx, clockwork.NewRealClock(), []string{"daemon", "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug", "--replica-id", replica},
			streams{In: strings.NewReader(""), Out: d.out, Err: d.logs}, func(o *globalOptions) {
				o.daemonConfig = everySecond
				for _, s := range setup {
					s(o)
				}
			})
	}()
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("daemon exited %d on stop, want 0", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop within 30s")
		}
	}
	t.Cleanup(d.stop)
	testutil.Eventually(t, 10*time.Second, "the daemon's listen address", func() bool {
		for _, e := range d.entries() {
			if e.Msg == "serving health and metrics" {
				d.addr = e.Addr
				return true
			}
		}
		return false
	})
	return d
}

type logEntry struct {
	Msg, Addr, Credential, Class, Error string
	NotSent                             bool `json:"not_sent"`
}

func (d *runningDaemon) entries() []logEntry {
	var out []logEntry
	for _, line := range strings.Split(d.logs.String(), "\n") {
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// written is how many of credential's checks sent a request, and so wrote
// its state: a check from a refusal on record (not_sent) writes nothing.
func (d *runningDaemon) written(credential string) int {
	n := 0
	for _, e := range d.entries() {
		if e.Msg == "check" && e.Credential == credential && !e.NotSent {
			n++
		}
	}
	return n
}

// failedWrites is how many msg entries report a failed write to a path
// ending in suffix: writes whose outcome the daemon could not know.
func (d *runningDaemon) failedWrites(msg, suffix string) int {
	n := 0
	for _, e := range d.entries() {
		if e.Msg == msg && strings.HasPrefix(e.Error, "write ") && strings.Contains(strings.SplitN(e.Error, ":", 2)[0], suffix) {
			n++
		}
	}
	return n
}

// count is how many log entries have msg, for credential when not "".
func (d *runningDaemon) count(msg, credential string) int {
	n := 0
	for _, e := range d.entries() {
		if e.Msg == msg && (credential == "" || e.Credential == credential) {
			n++
		}
	}
	return n
}

// logErrors logs each distinct error the daemon reported, once: what an
// operator reading its log during the fault would have seen.
func (d *runningDaemon) logErrors() {
	seen := map[string]bool{}
	for _, e := range d.entries() {
		if e.Error != "" && !seen[e.Msg+e.Error] {
			seen[e.Msg+e.Error] = true
			d.t.Logf("the daemon said: %s: %s", e.Msg, e.Error)
		}
	}
}

func (d *runningDaemon) ready() bool {
	code, _ := httpGet(d.t, d.addr+"/readyz")
	return code == 200
}
