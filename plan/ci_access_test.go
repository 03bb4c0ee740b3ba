package plan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/credtest/ciworld"
	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// ciPlanWorld is a prefix of the shared Vault with the CI auth mounts of
// a ciworld, and a configuration naming them.
type ciPlanWorld struct {
	t     *testing.T
	env   *vaulttest.Env
	world *ciworld.World
	store *vaultstore.Store
	// vault is the vault block of the configuration: the world's mounts,
	// its issuer, and a ci policy name unique to the test.
	vault string
	name  func(string) string
}

func newCIPlanWorld(t *testing.T) *ciPlanWorld {
	env := vaulttest.New(t)
	world := ciworld.New(t, env, clockwork.NewFakeClockAt(time.Now()))
	w := &ciPlanWorld{t: t, env: env, world: world, store: env.Store(t), name: env.UniqueName}
	w.vault = fmt.Sprintf("vault {\n  address = %q\n%s}\n", env.Addr, world.VaultHCL())
	return w
}

// config is the world's vault block, two credentials, and blocks.
func (w *ciPlanWorld) config(blocks string) *config.Config {
	return parseConfig(w.t, w.vault+`
vault_policies {
  daemon   = "`+w.name("daemon")+`"
  operator = "`+w.name("operator")+`"
  ci       = "`+w.name("ci")+`"
  auditor  = "`+w.name("auditor")+`"
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  publish_token {}
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
  publish_token {}
}
`+blocks)
}

func (w *ciPlanWorld) apply(cfg *config.Config, p *Plan, prune bool) *ApplyReport {
	w.t.Helper()
	managed, err := ManagedPolicies(cfg, w.store)
	if err != nil {
		w.t.Fatal(err)
	}
	return mustApply(w.t, w.store, p, ApplyOptions{Prune: prune, Policies: managed, CIRoles: CIRoles(cfg, w.store), CIScope: CIScopeOf(cfg)})
}

const ciBlocks = `
ci_access "deploy-prod" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "nightly" {
  credentials = ["ctrp-*"]
  gitlab {
    project_path  = "cancer-center/dmp-sync"
    ref_protected = true
  }
}
ci_access "reporting" {
  credentials = ["ctrp-stage"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`

// changeKeys are the plan's changes of CI roles and policies.
func (w *ciPlanWorld) changeKeys(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Type != TypeCIRole && !strings.HasPrefix(c.Name, w.name("ci")+"-") {
			continue
		}
		out = append(out, c.Action.Symbol()+" "+c.Path())
	}
	return out
}

// plan shows every ci_access block's policy and role; apply makes them;
// the roles then let the right job in, and plan shows no changes.
func TestCIAccessPlanApplyPlanConverges(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	cfg := w.config(ciBlocks)
	p := mustPlan(t, w.store, cfg)
	gh, gl, k := w.world.GitHubMount, w.world.GitLabMount, w.world.KubernetesMount
	want := []string{
		"+ sys/policies/acl/" + w.name("ci") + "-deploy-prod",
		"+ sys/policies/acl/" + w.name("ci") + "-nightly",
		"+ sys/policies/acl/" + w.name("ci") + "-reporting",
		"+ auth/" + gh + "/role/deploy-prod",
		"+ auth/" + gl + "/role/nightly",
		"+ auth/" + k + "/role/reporting",
	}
	if got := w.changeKeys(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range p.Notes {
		if n.Name == "deploy-prod" || n.Name == "nightly" || n.Name == "reporting" {
			t.Errorf("a note on a mount that is as it should be: %+v", n)
		}
	}
	var b strings.Builder
	if err := RenderPlan(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  # auth/" + gh + "/role/deploy-prod will be created (CI access for the tokens of ctrp-prod)",
		`  + ci_role "deploy-prod" {`,
		`      + bound_claims            = {"ref":"refs/heads/main","repository":"cancer-center/accrual-sync"}`,
		`      + bound_audiences         = ["https://github.com/cancer-center"]`,
		`      + token_ttl               = 600`,
		`      + bound_service_account_names      = ["accrual-sync"]`,
		"Plan: 12 to add, 0 to change, 0 to destroy.",
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("the rendered plan lacks %q:\n%s", line, b.String())
		}
	}
	w.apply(cfg, p, false)
	if again := mustPlan(t, w.store, cfg); again.HasChanges() {
		t.Fatalf("after apply, changes remain: %v", w.changeKeys(again))
	}

	// The roles are what the jobs log in with.
	if _, err := w.store.PutToken(ctx, "ctrp-prod", &vaultstore.Token{AccessToken: secret.New("Prod-Token"), TokenType: "Bearer", ExpiresAt: time.Now().Add(time.Hour)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.PutCredential(ctx, &vaultstore.Credential{Name: "ctrp-prod", ClientID: "id", ClientSecret: secret.New("Prod-Secret"), Metadata: vaultstore.CredentialMetadata{Provider: "ctrp-prod"}}, 0); err != nil {
		t.Fatal(err)
	}
	jwt := w.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync"})
	job, err := vaultstore.Open(ctx, vaultstore.Config{Address: w.env.Addr, Mount: w.env.Mount, Prefix: w.env.Prefix,
		Auth: vaultstore.AuthConfig{Method: vaultstore.AuthJWT, Mount: gh, Role: "deploy-prod", JWT: secret.New(jwt)}})
	if err != nil {
		t.Fatalf("the bound repository's main branch cannot log in: %v", err)
	}
	if tok, err := job.GetToken(ctx, "ctrp-prod"); err != nil || tok.AccessToken.Reveal() != "Prod-Token" {
		t.Errorf("the job reads its token: %v", err)
	}
	if _, err := job.GetCredential(ctx, "ctrp-prod"); !errors.Is(err, vaultstore.ErrPermissionDenied) {
		t.Errorf("the job reads the client secret: %v", err)
	}
	other := w.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/feature"})
	if _, err := vaultstore.LoginJWT(ctx, w.env.Addr, gh, "deploy-prod", other); !errors.Is(err, vaultstore.ErrLoginRefused) {
		t.Errorf("another branch logs in: %v", err)
	}
}

// A changed identity is an update of the role's changed fields alone; a
// block no longer declared is a deletion of its role and its policy,
// made only with prune, after which plan shows no changes.
func TestCIAccessUpdatesAndPrunes(t *testing.T) {
	w := newCIPlanWorld(t)
	cfg := w.config(ciBlocks)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)

	movedSrc := strings.Replace(ciBlocks, `ref        = "refs/heads/main"`, `ref        = "refs/heads/release"`, 1)
	moved := w.config(movedSrc)
	p := mustPlan(t, w.store, moved)
	gh, k := w.world.GitHubMount, w.world.KubernetesMount
	if got := w.changeKeys(p); strings.Join(got, ",") != "~ sys/policies/acl/"+w.name("ci")+"-deploy-prod,~ auth/"+gh+"/role/deploy-prod" {
		t.Fatalf("changes = %v", got)
	}
	var b strings.Builder
	_ = RenderPlan(&b, p)
	if line := `      ~ bound_claims = {"ref":"refs/heads/main","repository":"cancer-center/accrual-sync"} -> {"ref":"refs/heads/release","repository":"cancer-center/accrual-sync"}`; !strings.Contains(b.String(), line+"\n") {
		t.Errorf("the plan does not show the claim's change:\n%s", b.String())
	}
	w.apply(moved, p, false)
	if again := mustPlan(t, w.store, moved); again.HasChanges() {
		t.Fatalf("after the update, changes remain: %v", w.changeKeys(again))
	}

	// reporting's block is gone.
	fewer := w.config(movedSrc[:strings.Index(movedSrc, `ci_access "reporting"`)])
	p = mustPlan(t, w.store, fewer)
	want := "- auth/" + k + "/role/reporting,- sys/policies/acl/" + w.name("ci") + "-reporting"
	if got := strings.Join(w.changeKeys(p), ","); got != want {
		t.Fatalf("changes = %s, want %s", got, want)
	}
	rep := w.apply(fewer, p, false)
	if len(rep.Skipped) != 2 || !strings.Contains(rep.Skipped[0].LeftInPlace(), "auth/"+k+"/role/reporting is not declared in the configuration and was left in place; apply --prune deletes it.") {
		t.Errorf("without prune: skipped %+v", rep.Skipped)
	}
	if _, exists, _ := w.store.AuthRole(context.Background(), k, "reporting"); !exists {
		t.Fatal("without prune the role was deleted")
	}
	w.apply(fewer, mustPlan(t, w.store, fewer), true)
	if _, exists, _ := w.store.AuthRole(context.Background(), k, "reporting"); exists {
		t.Error("prune left the role")
	}
	if _, err := w.store.ReadPolicy(context.Background(), w.name("ci")+"-reporting"); !errors.Is(err, vaultstore.ErrNotFound) {
		t.Errorf("prune left the policy: %v", err)
	}
	if again := mustPlan(t, w.store, fewer); again.HasChanges() {
		t.Fatalf("after prune, changes remain: %v", w.changeKeys(again))
	}
}

// Only what credkeeper made for this mount and prefix is pruned: a role
// of the mount under another policy, and a CI access policy of another
// prefix, are left alone.
func TestCIAccessPrunesOnlyItsOwn(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	k := w.world.KubernetesMount
	cfg := w.config(ciBlocks)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)
	// An administrator's role in the same mount, and the same blocks
	// applied for another prefix (another credkeeper sharing the Vault).
	if err := w.store.PutAuthRole(ctx, k, "admins", map[string]any{"bound_service_account_names": []string{"admin"}, "bound_service_account_namespaces": []string{"ops"}, "token_policies": []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.PutAuthRole(ctx, k, "lookalike", map[string]any{"bound_service_account_names": []string{"x"}, "bound_service_account_namespaces": []string{"y"}, "token_policies": []string{w.name("ci") + "-lookalike"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.WritePolicy(ctx, w.name("ci")+"-lookalike", "# credkeeper CI access lookalike for secret/elsewhere\npath \"secret/data/elsewhere/tokens/x\" {\n  capabilities = [\"read\"]\n}\n"); err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, w.store, w.config(""))
	got := strings.Join(w.changeKeys(p), "\n")
	for _, keep := range []string{"admins", "lookalike"} {
		if strings.Contains(got, keep) {
			t.Errorf("plan deletes %s, not credkeeper's:\n%s", keep, got)
		}
	}
	if n := strings.Count(got, "- "); n != 6 {
		t.Errorf("want the three roles and three policies deleted:\n%s", got)
	}
}

// A saved plan whose role data was edited, or whose block the
// configuration no longer declares, is refused: nothing is written.
func TestCIAccessApplyRefusesATamperedPlan(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	cfg := w.config(ciBlocks)
	path := t.TempDir() + "/plan.json"
	if err := SavePlan(path, mustPlan(t, w.store, cfg)); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Changes {
		if c.Type == TypeCIRole && c.Name == "deploy-prod" {
			p.Changes[i].Role["bound_claims"] = map[string]any{"repository_owner": "cancer-center"}
		}
	}
	managed, _ := ManagedPolicies(cfg, w.store)
	_, err = Apply(ctx, w.store, p, ApplyOptions{Policies: managed, CIRoles: CIRoles(cfg, w.store)})
	if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "the plan's data for the CI role auth/"+w.world.GitHubMount+"/role/deploy-prod is not what this credkeeper generates") {
		t.Fatalf("a tampered role: %v", err)
	}
	if _, exists, _ := w.store.AuthRole(ctx, w.world.GitHubMount, "deploy-prod"); exists {
		t.Error("the tampered role was written")
	}
	// The untampered plan, saved and loaded, applies.
	p, _ = LoadPlan(path)
	mustApply(t, w.store, p, ApplyOptions{Policies: managed, CIRoles: CIRoles(cfg, w.store)})
	// A plan made before a block was removed from the configuration.
	fewer := w.config(ciBlocks[:strings.Index(ciBlocks, `ci_access "nightly"`)])
	moved := w.config(strings.Replace(ciBlocks, "accrual-sync\"\n    ref", "other\"\n    ref", 1))
	p = mustPlan(t, w.store, moved)
	managed, _ = ManagedPolicies(fewer, w.store)
	if _, err := Apply(ctx, w.store, p, ApplyOptions{Policies: managed, CIRoles: CIRoles(fewer, w.store)}); !errors.Is(err, ErrStalePlan) {
		t.Errorf("a plan of a configuration since changed: %v", err)
	}
}

// plan says when a mount a block needs is missing, is of another method,
// or trusts another issuer; a role is planned only where it can be written.
func TestCIAccessNotesTheMounts(t *testing.T) {
	w := newCIPlanWorld(t)
	missing := w.name("jwt-missing")
	cfg := parseConfig(t, fmt.Sprintf(`vault {
  address          = %q
  github_jwt_mount = %q
  gitlab_jwt_mount = %q
  kubernetes_mount = "approle"
  gitlab_issuer    = "https://gitlab.example.org"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
%s`, w.env.Addr, missing, w.world.GitLabMount, strings.ReplaceAll(ciBlocks, "ctrp-prod", "ctrp-stage")))
	p := mustPlan(t, w.store, cfg)
	got := map[string]string{}
	for _, n := range p.Notes {
		got[n.Name] = n.Message
	}
	for name, want := range map[string]string{
		"deploy-prod": "needs the jwt auth method at auth/" + missing + ", which is not enabled in Vault: an administrator enables and configures it (credkeeper ci setup-commands prints how); its role is planned once the mount exists",
		"nightly":     "auth/" + w.world.GitLabMount + " trusts the issuer " + w.world.Issuer.URL + ", not https://gitlab.example.org: gitlab jobs' logins will be refused; point the mount at https://gitlab.example.org (credkeeper ci setup-commands), or set gitlab_issuer in the vault block if this is the issuer meant",
		"reporting":   "needs the kubernetes auth method at auth/approle, but the approle method is mounted there: its role is not planned; name another mount in the vault block (kubernetes_mount)",
	} {
		if got[name] != want {
			t.Errorf("note on %s:\n got %q\nwant %q", name, got[name], want)
		}
	}
	roles := 0
	for _, c := range p.Changes {
		if c.Type == TypeCIRole {
			roles++
			if c.Name != "nightly" {
				t.Errorf("a role planned where it cannot be written: %s", c.Path())
			}
		}
	}
	if roles != 1 {
		t.Errorf("roles planned: %d, want nightly's alone", roles)
	}
}

// A block whose identity moves to another kind keeps its name and policy:
// its role is made under the new mount and deleted (with prune) from the
// old one.
func TestCIAccessMovedToAnotherMount(t *testing.T) {
	w := newCIPlanWorld(t)
	cfg := w.config(ciBlocks)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)
	moved := w.config(strings.Replace(ciBlocks, `kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }`, `github {
    repository = "cancer-center/reporting"
  }`, 1))
	p := mustPlan(t, w.store, moved)
	want := "~ sys/policies/acl/" + w.name("ci") + "-reporting,+ auth/" + w.world.GitHubMount + "/role/reporting,- auth/" + w.world.KubernetesMount + "/role/reporting"
	if got := strings.Join(w.changeKeys(p), ","); got != want {
		t.Fatalf("changes = %s\nwant %s", got, want)
	}
	w.apply(moved, p, true)
	if again := mustPlan(t, w.store, moved); again.HasChanges() {
		t.Fatalf("changes remain: %v", w.changeKeys(again))
	}
}

// Attack: a saved plan edited to hold a deletion of an administrator's own
// role on the CI mount (not credkeeper's: other policies, never planned).
// The fingerprint is no secret: it is a hash of the role's fields, which
// anyone who can read the role computes. apply --prune deletes it.
func TestATamperedPlanCannotDeleteAnAdministratorsRoleOnTheSameMount(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	k := w.world.KubernetesMount
	cfg := w.config(ciBlocks)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)
	if err := w.store.PutAuthRole(ctx, k, "admins", map[string]any{"bound_service_account_names": []string{"admin"}, "bound_service_account_namespaces": []string{"ops"}, "token_policies": []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, w.store, cfg)
	cur, _, err := w.store.AuthRole(ctx, k, "admins")
	if err != nil {
		t.Fatal(err)
	}
	p.Changes = append(p.Changes, Change{Action: ActionDelete, Type: TypeCIRole, Name: "admins", Mount: k, Fingerprint: roleFingerprint(cur)})
	path := t.TempDir() + "/plan.json"
	if err := SavePlan(path, p); err != nil {
		t.Fatal(err)
	}
	p, err = LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	managed, _ := ManagedPolicies(cfg, w.store)
	_, err = Apply(ctx, w.store, p, ApplyOptions{Prune: true, Policies: managed, CIRoles: CIRoles(cfg, w.store), CIScope: CIScopeOf(cfg)})
	if _, exists, _ := w.store.AuthRole(ctx, k, "admins"); !exists {
		t.Errorf("apply --prune of a tampered plan deleted the administrator's role auth/%s/role/admins (apply's error: %v)", k, err)
	}
}

// Attack: a gitlab block binding ref = "main" (GitLab's ref claim is the
// bare name, shared by a branch and a tag) for a prod credential. Any
// developer who may push a tag pushes a tag named main: its pipeline's
// ref is "main", ref_type "tag", and the role lets it in.
func TestAGitLabRefBindsTheBranchNotATagOfTheSameName(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	cfg := w.config(`
ci_access "deploy-gl" {
  credentials = ["ctrp-prod"]
  gitlab {
    project_path = "cancer-center/dmp-sync"
    ref          = "main"
  }
}
`)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)
	tag := w.world.Issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", Ref: "main", RefType: "tag", Audience: w.env.Addr})
	if _, err := vaultstore.LoginJWT(ctx, w.env.Addr, w.world.GitLabMount, "deploy-gl", tag); err == nil {
		t.Errorf("a pipeline of the unprotected tag \"main\" logs in as deploy-gl and reads ctrp-prod's token (bound_claims %v)", CIRoles(cfg, w.store)[0].Data["bound_claims"])
	}
	branch := w.world.Issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", Ref: "main", RefType: "branch", Audience: w.env.Addr})
	if _, err := vaultstore.LoginJWT(ctx, w.env.Addr, w.world.GitLabMount, "deploy-gl", branch); err != nil {
		t.Errorf("a pipeline of the branch main cannot log in as deploy-gl: %v", err)
	}
}

// Another credkeeper shares the Vault (its records under another prefix)
// and the CI policy names; its ci_access "deploy-prod" policy reads its own
// prefix's tokens. Taking it over as a plain update would let the other
// team's jobs read this prefix's prod token, and the two applies would flip
// the policy back and forth: plan refuses, as prune leaves another
// prefix's policy alone (CIPolicyFor), and so does apply of a plan that
// holds the update.
func TestPlanDoesNotTakeOverAnotherPrefixsCIPolicy(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	name := w.name("ci") + "-deploy-prod"
	theirs := "# credkeeper CI access deploy-prod for " + w.env.Mount + "/elsewhere\npath \"" + w.env.Mount + "/data/elsewhere/tokens/x\" {\n  capabilities = [\"read\"]\n}\n"
	cfg := w.config(ciBlocks)
	format := mustPlan(t, w.store, cfg).FormatVersion
	if err := w.store.WritePolicy(ctx, name, theirs); err != nil {
		t.Fatal(err)
	}
	if p, err := MakePlan(ctx, w.store, cfg, planNow); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		for _, c := range p.Changes {
			if c.Type == TypePolicy && c.Name == name {
				t.Errorf("plan %s policy %s, a CI access policy credkeeper made for %s/elsewhere, not for %s/%s (err %v):\n%s", c.Action, name, w.env.Mount, w.env.Mount, w.env.Prefix, err, c.Diff)
			}
		}
		t.Errorf("plan's error = %v, want one naming the other prefix", err)
	}
	// A plan holding the update anyway (made by hand) is refused at apply.
	managed, _ := ManagedPolicies(cfg, w.store)
	var want string
	for _, mp := range managed {
		if mp.Name == name {
			want = mp.Text
		}
	}
	forged := &Plan{FormatVersion: format, Mount: w.env.Mount, Prefix: w.env.Prefix, Changes: []Change{{Action: ActionUpdate, Type: TypePolicy, Name: name, Policy: want, Fingerprint: textFingerprint(theirs)}}}
	if _, err := Apply(ctx, w.store, forged, ApplyOptions{Policies: managed, CIRoles: CIRoles(cfg, w.store), CIScope: CIScopeOf(cfg)}); !errors.Is(err, ErrStalePlan) {
		t.Errorf("apply of an update of another prefix's CI policy: %v", err)
	}
	if got, _ := w.store.ReadPolicy(ctx, name); got != theirs {
		t.Errorf("the other prefix's policy was overwritten:\n%s", got)
	}
}

// Held (passes): claim tricks against the roles credkeeper generates are
// refused by the real Vault.
func TestCIClaimTricksAreRefused(t *testing.T) {
	w := newCIPlanWorld(t)
	ctx := context.Background()
	cfg := w.config(ciBlocks + `
ci_access "env-bound" {
  credentials = ["ctrp-prod"]
  github {
    repository  = "cancer-center/accrual-sync"
    environment = "production"
  }
}
`)
	w.apply(cfg, mustPlan(t, w.store, cfg), false)
	gh := w.world.GitHubMount
	for name, c := range map[string]struct {
		role string
		job  oidcissuer.GitHub
		opts []oidcissuer.Option
	}{
		"a fork-like name":       {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync-fork", Ref: "refs/heads/main"}, nil},
		"a path trick":           {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync/../x", Ref: "refs/heads/main"}, nil},
		"a longer ref":           {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main-evil"}, nil},
		"a tag of the same name": {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/tags/main"}, nil},
		"another case":           {"deploy-prod", oidcissuer.GitHub{Repository: "Cancer-Center/Accrual-Sync", Ref: "refs/heads/main"}, nil},
		"a glob in the claim":    {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/*", Ref: "refs/heads/*"}, nil},
		"no environment claim":   {"env-bound", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main"}, nil},
		"a sub naming the repo":  {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/other", Ref: "refs/heads/main"}, []oidcissuer.Option{oidcissuer.With(map[string]any{"sub": "repo:cancer-center/accrual-sync:ref:refs/heads/main"})}},
		"another audience":       {"deploy-prod", oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main", Audience: "https://github.com/cancer-center-evil"}, nil},
	} {
		jwt := w.world.Issuer.MintGitHub(c.job, c.opts...)
		if _, err := vaultstore.LoginJWT(ctx, w.env.Addr, gh, c.role, jwt); !errors.Is(err, vaultstore.ErrLoginRefused) {
			t.Errorf("%s: login as %s: %v", name, c.role, err)
		}
	}
}
