package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
)

// Flag handling, tested without Vault: each command's NewCmdX is given a
// run function that keeps the parsed options instead of running.

func parse(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	root := &cobra.Command{Use: "credkeeper", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().String("config", "credkeeper.hcl", "")
	root.AddCommand(cmd)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	return root.ExecuteContext(context.Background())
}

func testGlobal() *globalOptions {
	return &globalOptions{streams: streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, clock: clockwork.NewFakeClockAt(testNow)}
}

func TestCheckFlags(t *testing.T) {
	var got *CheckOptions
	keep := func(_ context.Context, o *CheckOptions) error { got = o; return nil }
	for _, args := range [][]string{{}, {"a", "--all"}} {
		if err := parse(t, NewCmdCheck(testGlobal(), keep), args...); err == nil || !strings.Contains(err.Error(), "name the credentials to check, or pass --all (not both)") {
			t.Errorf("check %v: %v", args, err)
		}
	}
	if err := parse(t, NewCmdCheck(testGlobal(), keep), "a", "b", "--force", "--parallel", "3", "--json"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Names, ",") != "a,b" || !got.Force || got.Parallel != 3 || !got.JSON || got.All {
		t.Errorf("check options: %+v", got)
	}
	if err := parse(t, NewCmdCheck(testGlobal(), keep), "--all"); err != nil || !got.All || got.Parallel != 8 {
		t.Errorf("check --all: %v %+v", err, got)
	}
}

func TestSecretSetFlags(t *testing.T) {
	var got *SecretSetOptions
	keep := func(_ context.Context, o *SecretSetOptions) error { got = o; return nil }
	if err := parse(t, NewCmdSecretSet(testGlobal(), keep), "ctrp-stage"); err == nil || !strings.Contains(err.Error(), `"client-id" not set`) {
		t.Errorf("without --client-id: %v", err)
	}
	if err := parse(t, NewCmdSecretSet(testGlobal(), keep), "ctrp-stage", "--client-id", "x", "--rotate-by", "March"); err == nil || !strings.Contains(err.Error(), `--rotate-by "March" is not a date: write it as YYYY-MM-DD`) {
		t.Errorf("a bad date: %v", err)
	}
	if err := parse(t, NewCmdSecretSet(testGlobal(), keep), "Bad Name", "--client-id", "x"); err == nil {
		t.Error("a bad name is refused before anything is read")
	}
	if err := parse(t, NewCmdSecretSet(testGlobal(), keep), "ctrp-stage", "--client-id", "0oa", "--provider", "ctrp-stage", "--rotate-by", "2027-03-01", "--drop-grant"); err != nil {
		t.Fatal(err)
	}
	r := got.Request
	if r.Name != "ctrp-stage" || r.ClientID != "0oa" || r.Provider != "ctrp-stage" || r.RotateBy.Format("2006-01-02") != "2027-03-01" || !r.DropGrant || !r.ClientSecret.IsZero() {
		t.Errorf("secret set request: %+v", r)
	}
}

func TestRotateFlags(t *testing.T) {
	var promote *RotatePromoteOptions
	if err := parse(t, NewCmdRotatePromote(testGlobal(), func(_ context.Context, o *RotatePromoteOptions) error { promote = o; return nil }), "ctrp-prod", "--force", "--drop-grant"); err != nil {
		t.Fatal(err)
	}
	if promote.Name != "ctrp-prod" || !promote.Force || !promote.DropGrant {
		t.Errorf("promote: %+v", promote)
	}
	var rollback *RotateRollbackOptions
	if err := parse(t, NewCmdRotateRollback(testGlobal(), func(_ context.Context, o *RotateRollbackOptions) error { rollback = o; return nil }), "ctrp-prod", "--to-version", "3", "--drop-grant"); err != nil {
		t.Fatal(err)
	}
	if rollback.Name != "ctrp-prod" || rollback.ToVersion != 3 || !rollback.DropGrant || rollback.Force {
		t.Errorf("rollback: %+v", rollback)
	}
	var stage *RotateStageOptions
	if err := parse(t, NewCmdRotateStage(testGlobal(), func(_ context.Context, o *RotateStageOptions) error { stage = o; return nil }), "ctrp-prod", "--client-id", "0oaNEW", "--rotate-by", "2027-12-01"); err != nil {
		t.Fatal(err)
	}
	if stage.ClientID != "0oaNEW" || stage.RotateBy.Format("2006-01-02") != "2027-12-01" {
		t.Errorf("stage: %+v", stage)
	}
}

func TestPlanApplyTokenFmtDaemonFlags(t *testing.T) {
	var pl *PlanOptions
	if err := parse(t, NewCmdPlan(testGlobal(), func(_ context.Context, o *PlanOptions) error { pl = o; return nil }), "--out", "t.plan", "--detailed-exitcode"); err != nil || pl.PlanFile != "t.plan" || !pl.DetailedExit || pl.JSON {
		t.Errorf("plan: %v %+v", err, pl)
	}
	var ap *ApplyOptions
	if err := parse(t, NewCmdApply(testGlobal(), func(_ context.Context, o *ApplyOptions) error { ap = o; return nil }), "t.plan", "--prune"); err != nil || ap.PlanFile != "t.plan" || !ap.Prune || ap.AutoApprove {
		t.Errorf("apply: %v %+v", err, ap)
	}
	if err := parse(t, NewCmdApply(testGlobal(), func(context.Context, *ApplyOptions) error { return nil }), "a", "b"); err == nil {
		t.Error("apply takes one plan file at most")
	}
	var tok *TokenOptions
	if err := parse(t, NewCmdToken(testGlobal(), func(_ context.Context, o *TokenOptions) error { tok = o; return nil }), "ctrp-stage", "--min-ttl", "5m"); err != nil || tok.Name != "ctrp-stage" || tok.MinTTL != 5*time.Minute {
		t.Errorf("token: %v %+v", err, tok)
	}
	g := testGlobal()
	g.configPath = "team.hcl"
	var fm *FmtOptions
	if err := parse(t, NewCmdFmt(g, func(o *FmtOptions) error { fm = o; return nil }), "--check"); err != nil || strings.Join(fm.Files, ",") != "team.hcl" || !fm.Check {
		t.Errorf("fmt: %v %+v", err, fm)
	}
	if err := parse(t, NewCmdDaemon(testGlobal(), func(context.Context, *DaemonOptions) error { return nil }), "--log-format", "xml"); err == nil || !strings.Contains(err.Error(), `--log-format "xml": use text, json or auto`) {
		t.Errorf("daemon --log-format xml: %v", err)
	}
	var au *AuthorizeOptions
	if err := parse(t, NewCmdAuthorize(testGlobal(), func(_ context.Context, o *AuthorizeOptions) error { au = o; return nil }), "dmp-alice", "--no-browser", "--timeout", "1m"); err != nil || !au.NoBrowser || au.Timeout != time.Minute {
		t.Errorf("authorize: %v %+v", err, au)
	}
}

func TestSecretRotateSilenceNotifyAndVaultPoliciesFlags(t *testing.T) {
	var list *SecretListOptions
	if err := parse(t, NewCmdSecretList(testGlobal(), func(_ context.Context, o *SecretListOptions) error { list = o; return nil }), "--json"); err != nil || !list.JSON {
		t.Errorf("secret list: %v %+v", err, list)
	}
	var show *SecretShowOptions
	if err := parse(t, NewCmdSecretShow(testGlobal(), func(_ context.Context, o *SecretShowOptions) error { show = o; return nil }), "ctrp-stage", "--json"); err != nil || show.Name != "ctrp-stage" || !show.JSON {
		t.Errorf("secret show: %v %+v", err, show)
	}
	if err := parse(t, NewCmdSecretShow(testGlobal(), func(context.Context, *SecretShowOptions) error { return nil }), "Bad Name"); err == nil {
		t.Error("secret show: a bad name is refused before anything is read")
	}
	var rs *RotateStatusOptions
	if err := parse(t, NewCmdRotateStatus(testGlobal(), func(_ context.Context, o *RotateStatusOptions) error { rs = o; return nil }), "ctrp-prod", "--json"); err != nil || rs.Name != "ctrp-prod" || !rs.JSON {
		t.Errorf("rotate status: %v %+v", err, rs)
	}
	var si *SilenceOptions
	if err := parse(t, NewCmdSilence(testGlobal(), func(_ context.Context, o *SilenceOptions) error { si = o; return nil }), "ctrp-prod", "--until", "2027-04-01", "--reason", "migration", "--kind", "reminder", "--kind", "ops"); err != nil ||
		si.Name != "ctrp-prod" || si.Until != "2027-04-01" || si.Reason != "migration" || strings.Join(si.Kinds, ",") != "reminder,ops" {
		t.Errorf("silence: %v %+v", err, si)
	}
	var sl *SilenceOptions
	if err := parse(t, NewCmdSilenceList(testGlobal(), func(_ context.Context, o *SilenceOptions) error { sl = o; return nil }), "--json"); err != nil || !sl.JSON {
		t.Errorf("silence list: %v %+v", err, sl)
	}
	var se *SilenceOptions
	if err := parse(t, NewCmdSilenceExpire(testGlobal(), func(_ context.Context, o *SilenceOptions) error { se = o; return nil }), "ctrp-prod"); err != nil || se.Name != "ctrp-prod" {
		t.Errorf("silence expire: %v %+v", err, se)
	}
	var nt *NotifyTestOptions
	if err := parse(t, NewCmdNotifyTest(testGlobal(), func(_ context.Context, o *NotifyTestOptions) error { nt = o; return nil }), "oncall"); err != nil || nt.Notifier != "oncall" {
		t.Errorf("notify test: %v %+v", err, nt)
	}
	var vp *VaultPoliciesPrintOptions
	if err := parse(t, NewCmdVaultPoliciesPrint(testGlobal(), func(_ context.Context, o *VaultPoliciesPrintOptions) error { vp = o; return nil }), "ci"); err != nil || vp.Role != "ci" {
		t.Errorf("vault-policies print: %v %+v", err, vp)
	}
	ran := 0
	if err := parse(t, NewCmdValidate(testGlobal(), func(context.Context, *ValidateOptions) error { ran++; return nil })); err != nil {
		t.Error(err)
	}
	if err := parse(t, NewCmdVersion(testGlobal(), func(context.Context, *VersionOptions) error { ran++; return nil })); err != nil {
		t.Error(err)
	}
	if ran != 2 {
		t.Errorf("validate and version ran %d times, want once each", ran)
	}
}

// The run functions are called without cobra: the commands that need no
// Vault print what their command lines do.
func TestRunFunctionsRunWithoutCobra(t *testing.T) {
	g := testGlobal()
	g.configPath = t.TempDir() + "/credkeeper.hcl" // not named, not there: the defaults
	out := g.Out.(*bytes.Buffer)
	if err := vaultPoliciesPrintRun(context.Background(), &VaultPoliciesPrintOptions{globalOptions: g}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `# policy "credkeeper-daemon" (the daemon role)`) || !strings.Contains(out.String(), `# policy "credkeeper-auditor" (the auditor role)`) {
		t.Errorf("vault-policies print:\n%s", out)
	}
	out.Reset()
	g.prefix = "teams/sec"
	if err := vaultPoliciesPrintRun(context.Background(), &VaultPoliciesPrintOptions{globalOptions: g, Role: "ci"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `path "secret/data/teams/sec/tokens/*" {`) || strings.Contains(out.String(), "credentials") {
		t.Errorf("vault-policies print ci --prefix teams/sec:\n%s", out)
	}
	out.Reset()
	if err := versionRun(context.Background(), &VersionOptions{globalOptions: g}); err != nil || !strings.HasPrefix(out.String(), "credkeeper ") {
		t.Errorf("version: %v %q", err, out)
	}
}
