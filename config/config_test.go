package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the .err golden files of testdata/invalid")

func TestFullConfigDecodes(t *testing.T) {
	cfg, err := Load("testdata/valid/full.hcl")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	v := cfg.Vault
	if v.Address != "https://vault.example.org:8200" || v.Mount != "kv" || v.Prefix != "teams/security/credkeeper" {
		t.Errorf("vault = %+v", v)
	}
	if v.Auth.Method != "approle" || v.Auth.RoleIDFile != "/etc/credkeeper/role-id" || !v.Auth.SecretIDWrapped {
		t.Errorf("vault auth = %+v", v.Auth)
	}

	idp, ok := cfg.Provider("internal-idp")
	if !ok || idp.AuthStyle != AuthStyleBody || idp.Timeout != 5*time.Second || strings.Join(idp.Scopes, " ") != "read write" || idp.Preset {
		t.Errorf("provider internal-idp = %+v", idp)
	}
	intP, _ := cfg.Provider("ctrp-int")
	if intP.Timeout != 30*time.Second || intP.TokenURL != "https://bioappdev.okta.com/oauth2/aus3ym6wniM6O3MGE297/v1/token" || intP.AuthStyle != AuthStyleHeader {
		t.Errorf("an override keeps the preset's URL and style and changes the timeout: %+v", intP)
	}

	if len(cfg.Credentials) != 7 {
		t.Fatalf("credentials = %d, want 7", len(cfg.Credentials))
	}
	if e := cfg.Notifiers["security"]; e == nil || e.Type != "email" || e.SMTP != "smtp.example.org:587" || !e.StartTLS || e.PasswordFile != "/etc/credkeeper/smtp-password" {
		t.Errorf("email notifier = %+v", e)
	}
	if n := cfg.Notifications; n.OpsAfter != 5 || strings.Join(n.PageEnvironments, ",") != "prod,int" || n.PageOps || n.MaxSilence != 30*24*time.Hour {
		t.Errorf("notifications = %+v", n)
	}
	if paged, _ := cfg.Credential("paged"); strings.Join(paged.Notify, ",") != "security" || strings.Join(paged.Page, ",") != "oncall" {
		t.Errorf("paged = %+v", paged)
	}
	if cfg.Daemon != (Daemon{Parallel: 4, CheckTimeout: 45 * time.Second, LeaseTTL: DefaultLeaseTTL, FirstCheckWithin: DefaultFirstCheckWithin}) {
		t.Errorf("daemon = %+v", cfg.Daemon)
	}
	if pub, _ := cfg.Credential("published"); pub.PublishToken == nil || pub.PublishToken.RenewBefore != 5*time.Minute {
		t.Errorf("publish_token = %+v", pub.PublishToken)
	}
	if stage, _ := cfg.Credential("ctrp-stage"); stage.PublishToken != nil {
		t.Error("publish_token is off by default")
	}
	day := 24 * time.Hour
	q := cfg.RotationPolicies["quarterly"]
	if q == nil || q.Period != 90*day || len(q.Remind) != 3 || q.Remind[0] != 30*day || q.FirstReminder() != 30*day {
		t.Errorf("quarterly = %+v", q)
	}
	if len(q.Escalate) != 1 || q.Escalate[0].From != 7*day || q.Escalate[0].Notify[0] != "oncall" {
		t.Errorf("quarterly escalation = %+v", q.Escalate)
	}
	if y := cfg.RotationPolicies["yearly"]; y == nil || y.Period != 365*day || y.FirstReminder() != 60*day {
		t.Errorf("built-in yearly = %+v", y)
	}
	if sl, _ := cfg.Credential("short-lived"); sl.Rotation != "quarterly" {
		t.Errorf("short-lived rotation = %q", sl.Rotation)
	}
	if vp := cfg.VaultPolicies; vp == nil || vp.CI != "ci-readers" || vp.Daemon != "credkeeper-daemon" || vp.Auditor != "credkeeper-auditor" {
		t.Errorf("vault_policies = %+v", vp)
	}
	stage, _ := cfg.Credential("ctrp-stage")
	if stage.Rotation != "yearly" || stage.Environment != "stage" || stage.Owner != "security@example.org" || stage.Check != "*/30 * * * *" || stage.Schedule == nil {
		t.Errorf("ctrp-stage = %+v", stage)
	}
	prod, _ := cfg.Credential("ctrp-prod")
	if prod.Environment != "prod" || !prod.RotateBy.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ctrp-prod = %+v", prod)
	}
	from := time.Date(2026, 11, 23, 10, 7, 0, 0, time.UTC)
	if next := prod.Schedule.Next(from); !next.Equal(from.Add(15 * time.Minute)) {
		t.Errorf("@every 15m next = %v", next)
	}
	idpCred, _ := cfg.Credential("idp")
	if idpCred.Environment != "dev" || idpCred.Check != DefaultCheck {
		t.Errorf("explicit environment and default check: %+v", idpCred)
	}
	dmp, _ := cfg.Credential("dmp")
	if dmp.Environment != "prod" {
		t.Errorf("dmptool preset gives environment prod, got %q", dmp.Environment)
	}
}

func TestPresets(t *testing.T) {
	for name, want := range map[string]struct{ url, style, scope string }{
		"ctrp-int":   {"https://bioappdev.okta.com/oauth2/aus3ym6wniM6O3MGE297/v1/token", AuthStyleHeader, ""},
		"ctrp-stage": {"https://bioappdev.okta.com/oauth2/aus478s3eb0x3du23297/v1/token", AuthStyleHeader, ""},
		"ctrp-prod":  {"https://bioappdev.okta.com/oauth2/aus8jhc6kdbWPrwYa297/v1/token", AuthStyleHeader, ""},
		"dmptool":    {"https://dmptool.org/oauth/token", AuthStyleBody, "public"},
	} {
		p, ok := Preset(name)
		if !ok || p.TokenURL != want.url || p.AuthStyle != want.style || strings.Join(p.Scopes, " ") != want.scope || p.Timeout != DefaultProviderTimeout {
			t.Errorf("preset %s = %+v", name, p)
		}
	}
	if d, _ := Preset("dmptool"); d.AuthorizeURL != "https://dmptool.org/oauth/authorize" || !d.PKCE || d.Probe == nil || d.Probe.URL != "https://dmptool.org/api/v2/templates" {
		t.Errorf("dmptool preset's user-grant settings: %+v", d)
	}
	if _, ok := Preset("okta"); ok {
		t.Error("Preset(okta) exists")
	}
}

func TestDefaultConfigNeedsNoFile(t *testing.T) {
	cfg := Default()
	if cfg.Vault.Mount != "secret" || cfg.Vault.Prefix != "credkeeper" || cfg.Vault.Auth.Method != "token" {
		t.Errorf("Default() = %+v", cfg.Vault)
	}
	if _, ok := cfg.Provider("dmptool"); !ok {
		t.Error("presets work without a file")
	}
	if cfg.Notifications.MaxSilence != DefaultMaxSilence {
		t.Errorf("a silence lasts at most %v by default, want 90 days", cfg.Notifications.MaxSilence)
	}
}

// Each file under testdata/invalid fails to load with exactly the
// diagnostics in the .err file beside it.
func TestInvalidConfigsGiveExactDiagnostics(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid configs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hcl"), func(t *testing.T) {
			_, err := Load(f)
			var de *DiagnosticsError
			if !errors.As(err, &de) {
				t.Fatalf("Load(%s) = %v, want diagnostics", f, err)
			}
			golden := strings.TrimSuffix(f, ".hcl") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(err.Error()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("read %s (run go test -update to create it): %v", golden, rerr)
			}
			if err.Error() != string(want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", err, want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"365d": 365 * 24 * time.Hour, "14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"10s": 10 * time.Second, "4h": 4 * time.Hour, "0d": 0,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1dx", "ten", "5", "1.5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestAnInlineSecretIsNotEchoed(t *testing.T) {
	_, err := Load("testdata/invalid/inline_secret.hcl")
	if err == nil || strings.Contains(err.Error(), "R0UT1NGKEY") {
		t.Errorf("the diagnostic shows the secret: %v", err)
	}
}

// A renew_before as long as the provider's tokens live would renew them as
// fast as the floor allows: validate says so, and the file still loads.
func TestRenewBeforeNotShorterThanTheTokenLifeIsAWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warn.hcl")
	src := `credential "ctrp-int" {
  provider = "ctrp-int"
  publish_token {
    renew_before = "30m"
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("a warning does not stop the file loading: %v", err)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "warn.hcl:4:20: warning: renew_before not shorter than the token's life") ||
		!strings.Contains(cfg.Warnings[0], "30m") {
		t.Errorf("warnings = %q", cfg.Warnings)
	}
}

// One rule picks a credential's rotation policy: its block's, else the
// one its metadata in Vault records, else yearly.
func TestRotationPolicyFor(t *testing.T) {
	cfg, diags := Parse([]byte(`
rotation_policy "quarterly" {
  period = "90d"
  remind = ["30d"]
}
credential "declared" {
  provider = "ctrp-stage"
  rotation = "quarterly"
}
credential "plain" {
  provider = "ctrp-stage"
}
`), "t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tc := range []struct{ name, recorded, want string }{
		{"declared", "yearly", "quarterly"}, // the block wins over the metadata
		{"plain", "quarterly", "yearly"},    // a block without rotation means yearly
		{"undeclared", "quarterly", "quarterly"},
		{"undeclared", "", "yearly"},
		{"undeclared", "gone", "yearly"},
	} {
		if got := cfg.RotationPolicyFor(tc.name, tc.recorded).Name; got != tc.want {
			t.Errorf("RotationPolicyFor(%q, %q) = %q, want %q", tc.name, tc.recorded, got, tc.want)
		}
	}
}

// first_check_within takes its default in the language, whether the file
// has no daemon block, a daemon block without it, or no file at all, so
// that the daemon reads the value in force and applies no default of its own.
func TestFirstCheckWithinDefaultsInTheLanguage(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"no daemon block", ""},
		{"a daemon block without first_check_within", "daemon {\n  parallel = 2\n}\n"},
	} {
		cfg, diags := Parse([]byte(tc.src), "first.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		if got := cfg.Daemon.FirstCheckWithin; got != DefaultFirstCheckWithin {
			t.Errorf("%s: first_check_within = %s, want %s", tc.name, got, DefaultFirstCheckWithin)
		}
	}
	if got := Default().Daemon.FirstCheckWithin; got != DefaultFirstCheckWithin {
		t.Errorf("no file: first_check_within = %s, want %s", got, DefaultFirstCheckWithin)
	}
}
