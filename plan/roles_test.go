package plan

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// rolesWorld applies the generated policies of every role to a fresh
// prefix, seeds the records the daemon and the CLI would write, and opens
// a store as each role.
type rolesWorld struct {
	t      *testing.T
	ctx    context.Context
	env    *vaulttest.Env
	root   *vaultstore.Store
	as     func(policy string) *vaultstore.Store
	suffix string
}

func newRolesWorld(t *testing.T) *rolesWorld {
	env := vaulttest.New(t)
	w := &rolesWorld{t: t, ctx: context.Background(), env: env, root: env.Store(t), suffix: strings.ReplaceAll(env.Prefix, "/", "-")}
	cfg := parseConfig(t, planConfig+`
credential "svc" {
  provider = "ctrp-stage"
  auto_rotate {
    okta_org_url   = "https://acme.okta.com"
    app_id         = "0oa-app-svc"
    api_token_file = "/etc/credkeeper/okta-api-token"
  }
}
vault_policies {
  daemon   = "daemon-`+w.suffix+`"
  operator = "operator-`+w.suffix+`"
  ci       = "ci-`+w.suffix+`"
  auditor  = "auditor-`+w.suffix+`"
  ci "ci-prod-`+w.suffix+`" {
    credentials = ["ctrp-prod"]
  }
}`)
	p := mustPlan(t, w.root, cfg)
	if add, _, _ := p.Counts(); add != 8 {
		t.Fatalf("three credentials and five policies to add, got %d: %+v", add, p.Changes)
	}
	managed, err := ManagedPolicies(cfg, w.root)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, w.root, p, ApplyOptions{Policies: managed})
	if again := mustPlan(t, w.root, cfg); again.HasChanges() {
		t.Fatalf("policies converge: %+v", again.Changes)
	}
	w.as = func(policy string) *vaultstore.Store { return env.StoreAs(t, env.PolicyName(policy)) }

	// Records as the operator and the daemon write them.
	for _, name := range []string{"ctrp-stage", "ctrp-prod", "svc"} {
		if _, err := w.root.PutCredential(w.ctx, &vaultstore.Credential{Name: name, ClientID: "id-" + name, ClientSecret: secret.New("Secret-Of-" + name),
			Metadata: vaultstore.CredentialMetadata{Provider: name, Environment: strings.TrimPrefix(name, "ctrp-"), Owner: "security@example.org", Rotation: "yearly"}}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := w.root.PutToken(w.ctx, name, &vaultstore.Token{AccessToken: secret.New("Token-Of-" + name), TokenType: "Bearer", ExpiresAt: planNow.Add(time.Hour)}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := w.root.PutState(w.ctx, name, &vaultstore.State{LastClass: "ok"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.root.PutPending(w.ctx, "ctrp-stage", &vaultstore.Pending{ClientID: "id-2027", ClientSecret: secret.New("Staged-Secret-2027"), StagedAt: planNow}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.root.PutPendingResult(w.ctx, "ctrp-stage", v, "ok", planNow); err != nil {
		t.Fatal(err)
	}
	return w
}

// raw is a plain Vault client whose token holds that role's policy alone,
// for requests credkeeper itself never makes.
func (w *rolesWorld) raw(policy string) *api.Client {
	w.t.Helper()
	tok, err := w.env.Root.Auth().Token().CreateWithContext(w.ctx, &api.TokenCreateRequest{Policies: []string{w.env.PolicyName(policy)}, NoDefaultPolicy: true, TTL: "10m"})
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := w.env.Root.Clone()
	if err != nil {
		w.t.Fatal(err)
	}
	c.SetToken(tok.Auth.ClientToken)
	return c
}

func (w *rolesWorld) allowed(what string, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Errorf("%s: %v, want allowed", what, err)
	}
}

func (w *rolesWorld) denied(what string, err error) {
	w.t.Helper()
	if !errors.Is(err, vaultstore.ErrPermissionDenied) {
		w.t.Errorf("%s: %v, want permission denied", what, err)
	}
}

func second[T any](_ T, err error) error { return err }

// The daemon reads credentials and staged pairs and writes only state,
// tokens, the ledger, the lease and staged pairs' results: it can neither
// overwrite nor destroy a secret or its history.
func TestTheDaemonRoleWritesOnlyWhatTheDaemonWrites(t *testing.T) {
	w := newRolesWorld(t)
	d := w.as("daemon")
	ctx := w.ctx
	cred, err := d.GetCredential(ctx, "ctrp-stage")
	w.allowed("read credentials/NAME", err)
	w.allowed("list credentials", second(d.ListCredentials(ctx)))
	w.allowed("write state/NAME", second(d.PutState(ctx, "ctrp-stage", &vaultstore.State{LastClass: "ok"}, 1)))
	w.allowed("write ledger/NAME", second(d.PutLedger(ctx, "ctrp-stage", &vaultstore.Ledger{}, 0)))
	w.allowed("write leases/daemon", second(d.PutLease(ctx, &vaultstore.Lease{Holder: "a", ExpiresAt: planNow}, 0)))
	w.allowed("write tokens/NAME", second(d.PutToken(ctx, "ctrp-stage", &vaultstore.Token{AccessToken: secret.New("t2"), ExpiresAt: planNow.Add(time.Hour)}, 1)))
	w.allowed("delete tokens/NAME", d.DeleteToken(ctx, "ctrp-prod"))
	p, err := d.GetPending(ctx, "ctrp-stage")
	w.allowed("read pending/NAME", err)
	w.allowed("list pending", second(d.Staged(ctx)))
	w.allowed("record a staged pair's result", d.PutPendingResult(ctx, "ctrp-stage", p.Version, "invalid_client", planNow))

	if cred != nil {
		w.denied("overwrite credentials/NAME", second(d.PutCredential(ctx, cred, cred.Version)))
		info, _ := d.CredentialInfo(ctx, "ctrp-stage")
		md := info.Metadata
		md.Owner = "mallory@example.org"
		w.denied("rewrite credentials/NAME metadata", d.PutCredentialMetadata(ctx, "ctrp-stage", md, info.Fingerprint))
	}
	w.denied("destroy credentials/NAME with its history", d.DeleteCredential(ctx, "ctrp-stage"))
	w.denied("delete every record of a credential", d.DeleteAll(ctx, "ctrp-stage"))
	w.denied("stage a pair", second(d.PutPending(ctx, "ctrp-stage", &vaultstore.Pending{ClientID: "x", ClientSecret: secret.New("y")}, p.Version)))
	w.denied("remove a staged pair", d.DeletePending(ctx, "ctrp-stage"))
	w.denied("write an ACL policy", d.WritePolicy(ctx, "daemon-"+w.suffix, `path "*" { capabilities = ["sudo"] }`))

	// An auto_rotate credential's rotation is the daemon's to run: it may
	// stage and promote that credential's pair, and no other's.
	svc, err := d.GetCredential(ctx, "svc")
	w.allowed("read credentials/svc", err)
	if svc != nil {
		w.allowed("stage a pair for an auto_rotate credential", second(d.PutPending(ctx, "svc", &vaultstore.Pending{ClientID: "id-svc", ClientSecret: secret.New("Svc-New")}, 0)))
		w.allowed("promote it", second(d.PutCredential(ctx, svc, svc.Version)))
		w.allowed("remove its staged pair", d.DeletePending(ctx, "svc"))
	}
	w.denied("delete an auto_rotate credential", d.DeleteCredential(ctx, "svc"))
	w.allowed("write rotations/svc", second(d.PutRotation(ctx, "svc", &vaultstore.Rotation{Step: "started"}, 0)))
}

// The operator, the CLI's role, writes credentials and everything else
// under the prefix, but not ACL policies.
func TestTheOperatorRoleWritesCredentials(t *testing.T) {
	w := newRolesWorld(t)
	o := w.as("operator")
	ctx := w.ctx
	cred, err := o.GetCredential(ctx, "ctrp-stage")
	w.allowed("read credentials/NAME", err)
	if cred != nil {
		w.allowed("write credentials/NAME", second(o.PutCredential(ctx, cred, cred.Version)))
	}
	w.allowed("stage a pair", second(o.PutPending(ctx, "ctrp-prod", &vaultstore.Pending{ClientID: "x", ClientSecret: secret.New("y")}, 0)))
	w.allowed("remove a staged pair", o.DeletePending(ctx, "ctrp-prod"))
	w.allowed("write state/NAME", second(o.PutState(ctx, "ctrp-prod", &vaultstore.State{LastClass: "ok"}, 1)))
	w.allowed("delete every record of a credential (apply --prune)", o.DeleteAll(ctx, "ctrp-prod"))
	w.denied("write an ACL policy", o.WritePolicy(ctx, "operator-"+w.suffix, `path "*" { capabilities = ["sudo"] }`))
}

// CI reads published tokens, all or a scoped policy's, and nothing else.
func TestTheCIRolesReadTokensOnly(t *testing.T) {
	w := newRolesWorld(t)
	ctx := w.ctx
	ci := w.as("ci")
	tok, err := ci.GetToken(ctx, "ctrp-stage")
	w.allowed("ci reads tokens/NAME", err)
	if tok != nil && tok.AccessToken.Reveal() != "Token-Of-ctrp-stage" {
		t.Error("ci read the wrong token")
	}
	w.denied("ci reads credentials/NAME", second(ci.GetCredential(ctx, "ctrp-stage")))
	w.denied("ci reads credential metadata", second(ci.CredentialInfo(ctx, "ctrp-stage")))
	w.denied("ci reads state/NAME", second(ci.GetState(ctx, "ctrp-stage")))
	w.denied("ci reads pending/NAME", second(ci.GetPending(ctx, "ctrp-stage")))
	w.denied("ci writes tokens/NAME", second(ci.PutToken(ctx, "ctrp-stage", &vaultstore.Token{AccessToken: secret.New("x"), ExpiresAt: planNow}, 1)))

	prod := w.as("ci-prod")
	w.allowed("scoped ci reads its credential's token", second(prod.GetToken(ctx, "ctrp-prod")))
	w.denied("scoped ci reads another credential's token", second(prod.GetToken(ctx, "ctrp-stage")))
}

// The auditor sees every deadline, check and staged pair (its client ID
// and last class), enough for status, and no secret or token.
func TestTheAuditorRoleRunsStatusAndSeesNoSecret(t *testing.T) {
	w := newRolesWorld(t)
	ctx := w.ctx
	a := w.as("auditor")
	rows, err := check.StatusAll(ctx, a, planNow)
	if err != nil {
		t.Fatalf("status as the auditor: %v", err)
	}
	if len(rows) != 3 || rows[1].Name != "ctrp-stage" || rows[1].LastClass != "ok" || rows[1].Pending != "ok" || rows[1].Owner != "security@example.org" {
		t.Errorf("status rows: %+v", rows)
	}
	info, err := a.PendingInfo(ctx, "ctrp-stage")
	if err != nil || info.ClientID != "id-2027" || info.LastClass != "ok" {
		t.Errorf("the auditor sees a staged pair's client ID and class: %+v, %v", info, err)
	}
	w.denied("auditor reads pending/NAME data (the staged secret)", second(a.GetPending(ctx, "ctrp-stage")))
	w.denied("auditor reads credentials/NAME data", second(a.GetCredential(ctx, "ctrp-stage")))
	w.denied("auditor reads tokens/NAME", second(a.GetToken(ctx, "ctrp-stage")))
	w.denied("auditor writes state/NAME", second(a.PutState(ctx, "ctrp-stage", &vaultstore.State{}, 1)))

	// A rotation's steps hold no secret: the auditor reads them.
	if _, err := w.root.PutRotation(ctx, "svc", &vaultstore.Rotation{Step: "started"}, 0); err != nil {
		t.Fatal(err)
	}
	w.allowed("auditor reads rotations/NAME", second(a.GetRotation(ctx, "svc")))
	// A plan under review, made with the auditor's token, shows every
	// record a prune would remove.
	p, err := MakePlan(ctx, a, parseConfig(t, planConfig), planNow)
	w.allowed("auditor makes a plan", err)
	if p != nil {
		var del *Change
		for i := range p.Changes {
			if p.Changes[i].Action == ActionDelete {
				del = &p.Changes[i]
			}
		}
		if del == nil || del.Name != "svc" || strings.Join(del.Records, " ") != "credentials/svc rotations/svc state/svc tokens/svc" {
			t.Errorf("the auditor's plan deletes %+v", del)
		}
	}
}

// A saved plan's policy text is data: apply writes what the configuration
// generates, and refuses a plan whose text differs.
func TestApplyRefusesATamperedPolicyInASavedPlan(t *testing.T) {
	env := vaulttest.New(t)
	store := env.Store(t)
	suffix := strings.ReplaceAll(env.Prefix, "/", "-")
	cfg := parseConfig(t, planConfig+`
vault_policies {
  daemon   = "daemon-`+suffix+`"
  operator = "operator-`+suffix+`"
  ci       = "ci-`+suffix+`"
  auditor  = "auditor-`+suffix+`"
}`)
	p := mustPlan(t, store, cfg)
	path := t.TempDir() + "/plan.json"
	if err := SavePlan(path, p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	tampered := strings.Replace(string(b), `tokens/*\" {\n  capabilities = [\"read\"]`, `*\" {\n  capabilities = [\"sudo\", \"read\", \"update\"]`, 1)
	if tampered == string(b) {
		t.Fatal("the test did not tamper with the plan")
	}
	if err := os.WriteFile(path, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	managed, _ := ManagedPolicies(cfg, store)
	_, err = Apply(context.Background(), store, loaded, ApplyOptions{Policies: managed})
	if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "was the plan file edited?") {
		t.Fatalf("a tampered plan: %v", err)
	}
	if _, err := store.ReadPolicy(context.Background(), "ci-"+suffix); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("the tampered plan wrote a policy: %v", err)
	}
}

// Silences are written by operators (the CLI) and read by the daemon and
// the auditor; neither the ci roles, the auditor nor the daemon can write
// one.
func TestSilencesAreWrittenByOperatorsOnly(t *testing.T) {
	w := newRolesWorld(t)
	ctx := w.ctx
	si := &vaultstore.Silence{Until: planNow.Add(7 * 24 * time.Hour), Reason: "new pair on its way", Kinds: []string{"overdue"}, CreatedBy: "test", CreatedAt: planNow}
	w.allowed("operator writes silences/NAME", second(w.as("operator").PutSilence(ctx, "ctrp-prod", si, 0)))
	for _, role := range []string{"ci", "ci-prod", "auditor", "daemon"} {
		w.denied(role+" writes silences/NAME", second(w.as(role).PutSilence(ctx, "ctrp-stage", si, 0)))
	}
	for _, role := range []string{"daemon", "auditor"} {
		all, err := w.as(role).ListSilences(ctx)
		w.allowed(role+" lists and reads silences", err)
		if err == nil && (len(all) != 1 || all["ctrp-prod"].Reason != "new pair on its way") {
			t.Errorf("%s reads silences: %+v", role, all)
		}
	}
	w.denied("ci reads silences", second(w.as("ci").GetSilence(ctx, "ctrp-prod")))
}

// Wherever a role may write KV metadata, the custom metadata is all it may
// write there, except that the operator may also raise a credential's
// history (max_versions): max_versions, delete_version_after and
// cas_required in any other hands would shorten, expire or jam the history
// of a secret.
func TestNoRoleCanShortenOrExpireAHistoryThroughMetadata(t *testing.T) {
	w := newRolesWorld(t)
	meta := func(kind, name string) string {
		return w.env.Mount + "/metadata/" + w.env.Prefix + "/" + kind + "/" + name
	}
	custom := map[string]any{"last_class": "ok"}
	for _, tc := range []struct {
		name    string
		role    string
		patch   bool
		path    string
		body    map[string]any
		allowed bool
	}{
		{"the daemon records a staged pair's result in its custom metadata", "daemon", false, meta("pending", "ctrp-stage"), map[string]any{"custom_metadata": custom}, true},
		{"the daemon cannot make a staged pair's versions expire", "daemon", false, meta("pending", "ctrp-stage"), map[string]any{"delete_version_after": "1s"}, false},
		{"the daemon cannot cut a staged pair's history", "daemon", false, meta("pending", "ctrp-stage"), map[string]any{"max_versions": 1}, false},
		{"the daemon cannot require check-and-set of a staged pair", "daemon", false, meta("pending", "ctrp-stage"), map[string]any{"cas_required": true}, false},
		{"the daemon cannot hide a history cut in a custom metadata write", "daemon", false, meta("pending", "ctrp-stage"), map[string]any{"custom_metadata": custom, "max_versions": 1}, false},
		{"the daemon writes an auto_rotate credential's custom metadata", "daemon", false, meta("credentials", "svc"), map[string]any{"custom_metadata": map[string]any{"provider": "ctrp-stage"}}, true},
		{"the daemon cannot cut an auto_rotate credential's history", "daemon", false, meta("credentials", "svc"), map[string]any{"max_versions": 1}, false},
		{"the daemon cannot make an auto_rotate credential's versions expire", "daemon", false, meta("credentials", "svc"), map[string]any{"delete_version_after": "1s"}, false},
		{"the daemon cannot require check-and-set of an auto_rotate credential", "daemon", false, meta("credentials", "svc"), map[string]any{"cas_required": true}, false},
		{"the daemon cannot cut an auto_rotate credential's staged history", "daemon", false, meta("pending", "svc"), map[string]any{"max_versions": 1}, false},
		{"the daemon cannot touch a credential's metadata that does not rotate by itself", "daemon", false, meta("credentials", "ctrp-stage"), map[string]any{"max_versions": 1}, false},
		{"the operator raises a credential's history", "operator", false, meta("credentials", "ctrp-prod"), map[string]any{"custom_metadata": map[string]any{"provider": "ctrp-prod"}, "max_versions": 20}, true},
		{"the operator cannot make a credential's versions expire", "operator", false, meta("credentials", "ctrp-prod"), map[string]any{"delete_version_after": "1s"}, false},
		{"the operator cannot require check-and-set of a credential", "operator", false, meta("credentials", "ctrp-prod"), map[string]any{"cas_required": true}, false},
		{"the operator cannot patch in an expiry", "operator", true, meta("credentials", "ctrp-prod"), map[string]any{"delete_version_after": "1s"}, false},
		{"the operator cannot make a state record's versions expire", "operator", false, meta("state", "ctrp-prod"), map[string]any{"delete_version_after": "1s"}, false},
		{"the auditor cannot write metadata", "auditor", false, meta("credentials", "ctrp-prod"), map[string]any{"custom_metadata": custom}, false},
		{"ci cannot write metadata", "ci", false, meta("tokens", "ctrp-prod"), map[string]any{"max_versions": 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := w.raw(tc.role)
			var err error
			if tc.patch {
				_, err = c.Logical().JSONMergePatch(w.ctx, tc.path, tc.body)
			} else {
				_, err = c.Logical().WriteWithContext(w.ctx, tc.path, tc.body)
			}
			var re *api.ResponseError
			denied := errors.As(err, &re) && re.StatusCode == 403
			switch {
			case tc.allowed && err != nil:
				t.Errorf("%s: %v, want allowed", tc.path, err)
			case !tc.allowed && !denied:
				t.Errorf("%s with %v: %v, want permission denied", tc.path, tc.body, err)
			}
		})
	}
	// The history is intact.
	info, err := w.root.CredentialInfo(w.ctx, "svc")
	if err != nil || info.MaxVersions < vaultstore.MinMaxVersions {
		t.Errorf("credentials/svc after the attempts: %+v, %v", info, err)
	}
}
