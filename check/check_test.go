package check_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }

func TestCheckEveryClassAgainstTheEmulator(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "stage-ok", Secrets: []string{"stage-secret"}})
	w.Emu.AddClient(emulator.Client{ID: "dmp-ok", Secrets: []string{"dmp-secret"}, Scopes: []string{"public", "read_dmps"}})
	w.Emu.AddClient(emulator.Client{ID: "dmp-narrow", Secrets: []string{"narrow-secret"}, Scopes: []string{"public"}})
	w.Emu.AddClient(emulator.Client{ID: "retired", Secrets: []string{"new-secret"}})
	for _, id := range []string{"slow", "down", "limited", "html", "tokenless", "html200"} {
		w.Emu.AddClient(emulator.Client{ID: id, Secrets: []string{id + "-secret"}})
	}
	w.Emu.InjectFault("slow", emulator.Fault{Kind: emulator.FaultDelay, Delay: 5 * time.Second})
	w.Emu.InjectFault("down", emulator.Fault{Kind: emulator.FaultStatus, Status: 503})
	w.Emu.InjectFault("limited", emulator.Fault{Kind: emulator.FaultRateLimit, ResetIn: 90 * time.Second})
	w.Emu.InjectFault("html", emulator.Fault{Kind: emulator.FaultHTML})
	w.Emu.InjectFault("html200", emulator.Fault{Kind: emulator.FaultHTML, Status: 200})
	w.Emu.InjectFault("tokenless", emulator.Fault{Kind: emulator.FaultNoToken})

	for _, tc := range []struct {
		name, provider, clientID, secret string
		rotateBy                         time.Time
		want                             oauthcheck.Class
		code, detail                     string
	}{
		{"ok-stage", "okta-stage", "stage-ok", "stage-secret", credtest.Deadline, oauthcheck.ClassOK, "", "a token was issued"},
		{"ok-dmp", "doorkeeper", "dmp-ok", "dmp-secret", credtest.Deadline, oauthcheck.ClassOK, "", ""},
		{"unknown-client", "okta-stage", "nobody", "x-secret", credtest.Deadline, oauthcheck.ClassInvalidClient, "invalid_client", "Invalid value for 'client_id' parameter."},
		{"wrong-secret", "okta-stage", "stage-ok", "not-it", credtest.Deadline, oauthcheck.ClassInvalidClient, "invalid_client", "The client secret supplied for a confidential client is invalid."},
		{"retired", "okta-stage", "retired", "old-secret", w.Clock.Now().Add(-48 * time.Hour), oauthcheck.ClassExpired, "invalid_client", "rotation deadline passed on 2026-11-21"},
		{"timeout", "okta-stage", "slow", "slow-secret", credtest.Deadline, oauthcheck.ClassUnavailable, "", "timed out"},
		{"down", "okta-stage", "down", "down-secret", credtest.Deadline, oauthcheck.ClassUnavailable, "server_error", "503"},
		{"limited", "okta-stage", "limited", "limited-secret", credtest.Deadline, oauthcheck.ClassRateLimited, "E0000047", "in 1m30s"},
		{"bad-gateway", "okta-stage", "html", "html-secret", credtest.Deadline, oauthcheck.ClassUnavailable, "", "HTML page: 502 Bad Gateway"},
		{"html-200", "okta-stage", "html200", "html200-secret", credtest.Deadline, oauthcheck.ClassProtocol, "", "HTML page: 200 OK"},
		{"tokenless", "okta-stage", "tokenless", "tokenless-secret", credtest.Deadline, oauthcheck.ClassProtocol, "", "without an access_token"},
		{"narrow-scope", "doorkeeper", "dmp-narrow", "narrow-secret", credtest.Deadline, oauthcheck.ClassMisconfigured, "invalid_scope", "check the provider's scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.Put(tc.name, tc.provider, tc.clientID, tc.secret, tc.rotateBy)
			before := w.Emu.Requests(tc.clientID)
			r := w.Check(tc.name, false)
			if r.Class != tc.want || r.ErrorCode != tc.code || !strings.Contains(r.Detail+r.Description, tc.detail) {
				t.Errorf("got %s %q %q / %q; want %s %q …%s…", r.Class, r.ErrorCode, r.Detail, r.Description, tc.want, tc.code, tc.detail)
			}
			if n := w.Emu.Requests(tc.clientID) - before; n != 1 {
				t.Errorf("%d token requests, want exactly 1", n)
			}
			if strings.Contains(fmt.Sprintf("%+v", r), tc.secret) {
				t.Errorf("the client secret appears in the result: %+v", r)
			}
		})
	}
}

func TestCheckReadsOktaAndDoorkeeperTokens(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "0oa-stage", Secrets: []string{"s1"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-prod", Secrets: []string{"p1"}})
	w.Emu.AddClient(emulator.Client{ID: "12345", Secrets: []string{"ABCDEFG"}, Scopes: []string{"public", "read_dmps", "create_dmps"}})
	w.Put("stage", "okta-stage", "0oa-stage", "s1", credtest.Deadline)
	w.Put("prod", "okta-prod", "0oa-prod", "p1", credtest.Deadline)
	w.Put("dmp", "doorkeeper", "12345", "ABCDEFG", credtest.Deadline)

	stage := w.Check("stage", false)
	if stage.Class != oauthcheck.ClassOK || !stage.ExpiresAt.Equal(w.Clock.Now().Add(8*time.Hour)) || stage.TokenType != "Bearer" || stage.NoExpiry {
		t.Errorf("stage: %s expires %v type %q", stage.Class, stage.ExpiresAt, stage.TokenType)
	}
	if w.Emu.AuthMethod("0oa-stage") != "basic" {
		t.Errorf("Okta credentials went by %q, want HTTP Basic", w.Emu.AuthMethod("0oa-stage"))
	}
	prod := w.Check("prod", false)
	if !prod.ExpiresAt.Equal(w.Clock.Now().Add(4 * time.Hour)) {
		t.Errorf("prod expires %v, want 4h", prod.ExpiresAt)
	}
	dmp := w.Check("dmp", false)
	if dmp.Class != oauthcheck.ClassOK || dmp.Scope != "public read_dmps" || !dmp.ExpiresAt.Equal(w.Clock.Now().Add(7200*time.Second)) {
		t.Errorf("dmp: %s scope %q expires %v", dmp.Class, dmp.Scope, dmp.ExpiresAt)
	}
	if w.Emu.AuthMethod("12345") != "body" {
		t.Errorf("DMPTool credentials went by %q, want the form body", w.Emu.AuthMethod("12345"))
	}
	if dmp.AccessToken.IsZero() {
		t.Error("the issued token should be kept for publishing")
	}
}

func TestATokenWithoutALifetimeIsNeverTakenAsEternal(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "0oa-forever", Secrets: []string{"s"}, OmitExpiresIn: true})
	w.Put("forever", "okta-stage", "0oa-forever", "s", credtest.Deadline)
	r := w.Check("forever", false)
	if r.Class != oauthcheck.ClassOK || !r.NoExpiry || !r.ExpiresAt.IsZero() || !strings.Contains(r.Detail, "no lifetime") {
		t.Errorf("no expires_in: %s no-expiry=%v expires=%v %q", r.Class, r.NoExpiry, r.ExpiresAt, r.Detail)
	}
}

// expires_in is bounded: above ten years the response is not a token
// credkeeper trusts; zero or negative means no lifetime was given. A
// created_at in the past never puts the expiry behind the response.
func TestTokenLifetimesAreBounded(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	for _, c := range []emulator.Client{
		{ID: "0oa-short", Secrets: []string{"s"}, ExpiresIn: 300},
		{ID: "0oa-centuries", Secrets: []string{"s"}, ExpiresIn: 20 * 365 * 24 * 3600},
		{ID: "0oa-overflow", Secrets: []string{"s"}, ExpiresIn: 1 << 62},
		{ID: "0oa-negative", Secrets: []string{"s"}, ExpiresIn: -5},
		{ID: "dmp-old", Secrets: []string{"s"}, Scopes: []string{"public", "read_dmps"}, CreatedAtOffset: -24 * time.Hour},
	} {
		w.Emu.AddClient(c)
	}
	w.Put("short", "okta-stage", "0oa-short", "s", credtest.Deadline)
	w.Put("centuries", "okta-stage", "0oa-centuries", "s", credtest.Deadline)
	w.Put("overflow", "okta-stage", "0oa-overflow", "s", credtest.Deadline)
	w.Put("negative", "okta-stage", "0oa-negative", "s", credtest.Deadline)
	w.Put("dmp-old", "doorkeeper", "dmp-old", "s", credtest.Deadline)

	if r := w.Check("short", false); r.Class != oauthcheck.ClassOK || !r.ExpiresAt.Equal(w.Clock.Now().Add(5*time.Minute)) {
		t.Errorf("a 5-minute token: %s expires %v", r.Class, r.ExpiresAt)
	}
	for _, name := range []string{"centuries", "overflow"} {
		r := w.Check(name, false)
		if r.Class != oauthcheck.ClassProtocol || !strings.Contains(r.Detail, "ten years") || !r.AccessToken.IsZero() {
			t.Errorf("%s: %s %q, want protocol: expires_in beyond ten years", name, r.Class, r.Detail)
		}
	}
	if r := w.Check("negative", false); r.Class != oauthcheck.ClassOK || !r.NoExpiry || !r.ExpiresAt.IsZero() {
		t.Errorf("a negative expires_in is no lifetime: %s no-expiry=%v expires=%v", r.Class, r.NoExpiry, r.ExpiresAt)
	}
	if r := w.Check("dmp-old", false); r.Class != oauthcheck.ClassOK || !r.ExpiresAt.After(w.Clock.Now()) {
		t.Errorf("created_at a day ago: %s expires %v, want after %v", r.Class, r.ExpiresAt, w.Clock.Now())
	}
}

func TestLockoutRecordStopsResendingARefusedVersion(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "0oa-lock", Secrets: []string{"right"}})
	v1 := w.Put("locky", "okta-stage", "0oa-lock", "wrong", credtest.Deadline)

	first := w.Check("locky", false)
	if first.Class != oauthcheck.ClassInvalidClient || first.NotSent {
		t.Fatalf("first check: %s not-sent=%v", first.Class, first.NotSent)
	}
	st, err := w.Store.GetState(context.Background(), "locky")
	if err != nil || st.RejectedVersion != v1 {
		t.Fatalf("state after refusal: %+v, %v", st, err)
	}

	for i := 0; i < 5; i++ {
		again := w.Check("locky", false)
		if again.Class != oauthcheck.ClassInvalidClient || !again.NotSent || !strings.Contains(again.Detail, "not re-sent") {
			t.Fatalf("repeat check %d: %s not-sent=%v %q", i, again.Class, again.NotSent, again.Detail)
		}
	}
	if n := w.Emu.Requests("0oa-lock"); n != 1 {
		t.Fatalf("%d requests for a refused version, want 1: lockout protection failed", n)
	}

	forced := w.Check("locky", true)
	if forced.NotSent || w.Emu.Requests("0oa-lock") != 2 {
		t.Errorf("--force should send: not-sent=%v requests=%d", forced.NotSent, w.Emu.Requests("0oa-lock"))
	}

	w.Put("locky", "okta-stage", "0oa-lock", "right", credtest.Deadline)
	fixed := w.Check("locky", false)
	if fixed.Class != oauthcheck.ClassOK || w.Emu.Requests("0oa-lock") != 3 {
		t.Errorf("a new version is sent: %s, requests %d", fixed.Class, w.Emu.Requests("0oa-lock"))
	}
	st, _ = w.Store.GetState(context.Background(), "locky")
	if st.RejectedVersion != 0 || st.ConsecutiveFailures != 0 || st.LastClass != "ok" {
		t.Errorf("state after recovery: %+v", st)
	}
}

func TestEmulatorLockoutIsInvalidGrant(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "0oa-lock", Secrets: []string{"right"}})
	w.Put("locky", "okta-stage", "0oa-lock", "wrong", credtest.Deadline)
	for i := 0; i < 3; i++ {
		w.Check("locky", true) // three failures lock the account
	}
	w.Put("locky", "okta-stage", "0oa-lock", "right", credtest.Deadline)
	r := w.Check("locky", false)
	if r.Class != oauthcheck.ClassInvalidGrant || r.Status != 400 || !strings.Contains(r.Description, "The credentials provided were invalid.") {
		t.Errorf("locked account: %s %d %q", r.Class, r.Status, r.Description)
	}
}

func TestProbeTellsAWorkingTokenFromARefusedOne(t *testing.T) {
	// A second emulator has never issued these tokens: its APIs refuse them.
	stranger := httptest.NewServer(emulator.New(emulator.Options{Clock: clockwork.NewRealClock()}))
	defer stranger.Close()
	w := credtest.NewWorld(t, func(url string) string {
		return fmt.Sprintf(`
provider "ctrp-probed" {
  token_url  = "%[1]s/oauth2/%[3]s/v1/token"
  auth_style = "header"
  probe { url = "%[1]s/accrual-services/trials/nci/NCI-2026-00001/sites/po/1" }
}
provider "ctrp-refused" {
  token_url  = "%[1]s/oauth2/%[3]s/v1/token"
  auth_style = "header"
  probe { url = "%[2]s/accrual-services/trials/nci/NCI-2026-00001/sites/po/1" }
}
provider "dmp-refused" {
  token_url  = "%[1]s/oauth/token"
  auth_style = "body"
  probe { url = "%[2]s/api/v2/templates" }
}
`, url, stranger.URL, emulator.AuthServerStage)
	})
	w.Emu.AddClient(emulator.Client{ID: "c1", Secrets: []string{"s1"}})
	w.Emu.AddClient(emulator.Client{ID: "d1", Secrets: []string{"s2"}})
	w.Put("probed", "ctrp-probed", "c1", "s1", credtest.Deadline)
	w.Put("refused", "ctrp-refused", "c1", "s1", credtest.Deadline)
	w.Put("dmp-refused", "dmp-refused", "d1", "s2", credtest.Deadline)

	if r := w.Check("probed", false); r.Class != oauthcheck.ClassOK || r.ProbeStatus != 200 {
		t.Errorf("probe accepted: %s %d %q", r.Class, r.ProbeStatus, r.Detail)
	}
	r := w.Check("refused", false)
	if r.Class != oauthcheck.ClassExpired || r.ErrorCode != "invalid_token" || r.ProbeStatus != 401 || !r.AccessToken.IsZero() {
		t.Errorf("RFC 6750 refusal: %s %q %d %q", r.Class, r.ErrorCode, r.ProbeStatus, r.Detail)
	}
	r = w.Check("dmp-refused", false)
	if r.Class != oauthcheck.ClassExpired || !strings.Contains(r.Detail, emulator.DMPToolRevoked) {
		t.Errorf("DMPTool refusal: %s %q", r.Class, r.Detail)
	}
}

func TestRecordMissingAFieldIsMisconfigured(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	// A hand edit in Vault left the record without its secret.
	if _, err := w.Env.Root.KVv2("secret").Put(context.Background(), w.Env.Prefix+"/credentials/half", map[string]any{"client_id": "abc"}); err != nil {
		t.Fatal(err)
	}
	r := w.Check("half", false)
	if r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, "client_secret") {
		t.Errorf("half record: %s %q", r.Class, r.Detail)
	}
	st, err := w.Store.GetState(context.Background(), "half")
	if err != nil || st.LastClass != "misconfigured" {
		t.Errorf("the result is recorded: %+v %v", st, err)
	}

	w.Put("orphan", "no-such-provider", "id", "secret", credtest.Deadline)
	if r := w.Check("orphan", false); r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, `"no-such-provider"`) {
		t.Errorf("unknown provider: %s %q", r.Class, r.Detail)
	}
	if _, err := w.Engine.CheckOne(context.Background(), "nonexistent", false); err == nil {
		t.Error("checking a credential that is not in Vault should be an error")
	}
}

func TestCheckAllKeepsOrderAndBoundsConcurrency(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	var names []string
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("c%02d", i)
		w.Emu.AddClient(emulator.Client{ID: id, Secrets: []string{"s-" + id}})
		w.Put(id, "okta-stage", id, "s-"+id, credtest.Deadline)
		names = append(names, id)
	}
	results, err := w.Engine.CheckAll(context.Background(), names, check.CheckOptions{Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Name != names[i] || r.Class != oauthcheck.ClassOK {
			t.Errorf("result %d = %s %s", i, r.Name, r.Class)
		}
	}
}
