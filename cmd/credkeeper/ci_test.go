package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"
	"gopkg.in/yaml.v3"

	"github.com/credkeeper/credkeeper/credtest/ciworld"
	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/credtest/tokenreview"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// ciSnippetWorld is a configuration with a GitHub, a GitLab and a
// Kubernetes ci_access block whose auth mounts do not exist yet (ci
// setup-commands makes them), three credentials with published tokens
// expiring in an hour, and the issuer and TokenReview stand-in jobs log in
// with.
type ciSnippetWorld struct {
	env    *vaulttest.Env
	world  *ciworld.World
	mounts [3]string // github, gitlab, kubernetes
}

func newCISnippetWorld(t *testing.T) *ciSnippetWorld {
	t.Helper()
	env := cliEnv(t)
	w := &ciSnippetWorld{env: env, world: ciworld.New(t, env, clockwork.NewFakeClockAt(time.Now()))}
	w.mounts = [3]string{env.UniqueName("setup-github"), env.UniqueName("setup-gitlab"), env.UniqueName("setup-k8s")}
	for _, m := range w.mounts {
		t.Cleanup(func() { _ = env.Root.Sys().DisableAuthWithContext(context.Background(), m) })
	}
	issuer := w.world.Issuer.URL
	writeConfig(t, fmt.Sprintf(`vault {
  address          = %q
  prefix           = %q
  github_jwt_mount = %q
  gitlab_jwt_mount = %q
  kubernetes_mount = %q
  github_issuer    = %q
  gitlab_issuer    = %q
}
vault_policies {
  daemon   = %q
  operator = %q
  ci       = %q
  auditor  = %q
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
}
credential "ctrp-stage" {
  provider = "ctrp-stage"
}
credential "dmptool-nightly" {
  provider = "dmptool"
}
ci_access "deploy-prod" {
  credentials = ["ctrp-prod"]
  github {
    repository = "cancer-center/accrual-sync"
    ref        = "refs/heads/main"
  }
}
ci_access "nightly-dmp" {
  credentials = ["dmptool-*"]
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
`, env.Addr, env.Prefix, w.mounts[0], w.mounts[1], w.mounts[2], issuer, issuer,
		env.PolicyName("daemon"), env.PolicyName("operator"), env.PolicyName("ci"), env.PolicyName("auditor")))
	ctx := context.Background()
	root := env.Store(t)
	for _, name := range []string{"ctrp-prod", "ctrp-stage", "dmptool-nightly"} {
		if _, err := root.PutCredential(ctx, &vaultstore.Credential{Name: name, ClientID: "id", ClientSecret: secret.New("Secret-Of-" + name)}, 0); err != nil {
			t.Fatal(err)
		}
		w.putToken(t, name, time.Hour)
	}
	return w
}

// putToken publishes name's token, expiring in left of the wall clock
// (the snippets' shell checks read the machine's date).
func (w *ciSnippetWorld) putToken(t *testing.T, name string, left time.Duration) {
	t.Helper()
	root := w.env.Store(t)
	cur, err := root.GetToken(context.Background(), name)
	cas := 0
	if err == nil {
		cas = cur.Version
	}
	if _, err := root.PutToken(context.Background(), name, &vaultstore.Token{AccessToken: secret.New("Token-Of-" + name), TokenType: "Bearer",
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(left)}, cas); err != nil {
		t.Fatal(err)
	}
}

// runSetupCommands runs the vault commands ci setup-commands printed, as
// the vault CLI would, through Vault's HTTP API. The test Vault runs
// outside any cluster: the API server's placeholder is replaced with the
// stand-in's address, as an administrator replaces it with the one
// kubectl shows, and the Kubernetes mount's config takes the
// outside-the-cluster arguments the commands' comment names.
func runSetupCommands(t *testing.T, client *api.Client, script string, kubeHost string) {
	t.Helper()
	ctx := context.Background()
	const placeholder = `kubernetes_host="https://KUBERNETES_API_HOST:443"`
	if strings.Count(script, placeholder) != 1 || !strings.Contains(script, "kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'") || strings.Contains(script, "$") {
		t.Fatalf("the setup commands do not ask for the cluster's API server by a placeholder and the kubectl command that shows it:\n%s", script)
	}
	script = strings.Replace(script, placeholder, `kubernetes_host="`+kubeHost+`"`, 1)
	for _, line := range strings.Split(script, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words := shellWords(t, line)
		switch {
		case len(words) == 5 && words[0] == "vault" && words[1] == "auth" && words[2] == "enable" && strings.HasPrefix(words[3], "-path="):
			if err := client.Sys().EnableAuthWithOptionsWithContext(ctx, strings.TrimPrefix(words[3], "-path="), &api.EnableAuthOptions{Type: words[4]}); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		case len(words) > 3 && words[0] == "vault" && words[1] == "write":
			data := map[string]any{}
			for _, kv := range words[3:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: %q is not key=value", line, kv)
				}
				data[k] = v
			}
			if _, ok := data["kubernetes_host"]; ok {
				data["token_reviewer_jwt"] = "reviewer-jwt"
				data["disable_local_ca_jwt"] = true
			}
			if _, err := client.Logical().WriteWithContext(ctx, words[2], data); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		default:
			t.Fatalf("not a vault command the setup runs: %s", line)
		}
	}
}

// shellWords splits a command line as sh does for the quoting the setup
// commands use: double quotes, no escapes inside.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes: %s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// loginAndRead logs in at mount as role with body, as the CI platform's
// Vault integration does, and reads field of the KV v2 path it names.
func loginAndRead(t *testing.T, addr, mount string, body map[string]any, path, field string) string {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	sec, err := c.Logical().Write("auth/"+mount+"/login", body)
	if err != nil {
		t.Fatalf("login at auth/%s as %v: %v", mount, body["role"], err)
	}
	c.SetToken(sec.Auth.ClientToken)
	if ttl := sec.Auth.LeaseDuration; ttl <= 0 || ttl > 600 {
		t.Errorf("the login's token lives %ds, want at most the 10m token_ttl", ttl)
	}
	got, err := c.Logical().Read(path)
	if err != nil || got == nil {
		t.Fatalf("read %s: %v", path, err)
	}
	data, _ := got.Data["data"].(map[string]any)
	v, _ := data[field].(string)
	if strings.Contains(path, "/tokens/") {
		secretPath := strings.Replace(path, "/tokens/", "/credentials/", 1)
		if _, err := c.Logical().Read(secretPath); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("the job reads %s: %v", secretPath, err)
		}
	}
	return v
}

// runCheck runs a snippet's shell check with env, and reports whether it
// let the job go on.
func runCheck(t *testing.T, script string, env map[string]string) bool {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("sh: %v", err)
	}
	t.Logf("check: %s", out)
	return err == nil
}

// The commands an administrator runs make mounts plan accepts; apply
// writes the roles; and each snippet, followed to the letter, logs its
// job in with the job's own identity and reads its tokens (never a
// secret), refusing a token that expires within the job's run.
func TestCISetupCommandsAndSnippetsWorkAgainstVault(t *testing.T) {
	w := newCISnippetWorld(t)
	r := credkeeper(t, "", "ci", "setup-commands")
	if r.code != 0 {
		t.Fatalf("setup-commands: %d\n%s", r.code, r.all())
	}
	for _, want := range []string{
		fmt.Sprintf("vault auth enable -path=%s jwt\n", w.mounts[0]),
		fmt.Sprintf("vault write auth/%s/config oidc_discovery_url=%q bound_issuer=%q\n", w.mounts[1], w.world.Issuer.URL, w.world.Issuer.URL),
		fmt.Sprintf("vault auth enable -path=%s kubernetes\n", w.mounts[2]),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("setup-commands lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := credkeeper(t, "", "plan"); !strings.Contains(r.stdout, "which is not enabled in Vault") {
		t.Errorf("before the setup, plan does not say the mounts are missing:\n%s", r.all())
	}
	runSetupCommands(t, w.env.Root, r.stdout, w.world.Kube.URL)
	p := credkeeper(t, "", "plan")
	if p.code != 0 || strings.Contains(p.stdout, "not enabled") || strings.Contains(p.stdout, "issuer") || strings.Contains(p.stdout, "not configured") {
		t.Fatalf("plan after the setup:\n%s", p.all())
	}
	if a := credkeeper(t, "", "apply", "--auto-approve"); a.code != 0 {
		t.Fatalf("apply: %s", a.all())
	}
	if again := credkeeper(t, "", "plan", "--detailed-exitcode"); again.code != 0 {
		t.Fatalf("plan after apply: %d\n%s", again.code, again.all())
	}

	t.Run("github", func(t *testing.T) {
		s := credkeeper(t, "", "ci", "snippet", "deploy-prod", "--job-time", "30m")
		if s.code != 0 {
			t.Fatal(s.all())
		}
		var wf struct {
			Jobs map[string]struct {
				Permissions map[string]string
				Steps       []struct {
					Uses string
					With map[string]string
					Run  string
				}
			}
		}
		if err := yaml.Unmarshal([]byte(s.stdout), &wf); err != nil {
			t.Fatalf("the snippet is not YAML: %v\n%s", err, s.stdout)
		}
		job := wf.Jobs["deploy-prod"]
		if job.Permissions["id-token"] != "write" || len(job.Steps) != 2 || job.Steps[0].Uses != "hashicorp/vault-action@v3" {
			t.Fatalf("job = %+v", job)
		}
		with := job.Steps[0].With
		if with["method"] != "jwt" || with["url"] != w.env.Addr {
			t.Errorf("with = %v", with)
		}
		jwt := w.world.Issuer.MintGitHub(oidcissuer.GitHub{Repository: "cancer-center/accrual-sync", Ref: "refs/heads/main", Audience: with["jwtGithubAudience"]})
		env := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(with["secrets"]), ";") {
			var path, field, name string
			if _, err := fmt.Sscanf(strings.TrimSpace(line), "%s %s | %s", &path, &field, &name); err != nil {
				t.Fatalf("secrets line %q: %v", line, err)
			}
			env[name] = loginAndRead(t, w.env.Addr, with["path"], map[string]any{"role": with["role"], "jwt": jwt}, path, field)
		}
		if env["CTRP_PROD_ACCESS_TOKEN"] != "Token-Of-ctrp-prod" || env["CTRP_PROD_EXPIRES_AT"] == "" {
			t.Fatalf("the job read %v", env)
		}
		if !runCheck(t, job.Steps[1].Run, env) {
			t.Error("a token with an hour left is refused for a 30m job")
		}
		w.putToken(t, "ctrp-prod", 10*time.Minute)
		env["CTRP_PROD_EXPIRES_AT"] = loginAndRead(t, w.env.Addr, with["path"], map[string]any{"role": with["role"], "jwt": jwt}, w.env.Mount+"/data/"+w.env.Prefix+"/tokens/ctrp-prod", "expires_at")
		if runCheck(t, job.Steps[1].Run, env) {
			t.Error("a token expiring in 10m is taken for a 30m job")
		}
	})

	t.Run("gitlab", func(t *testing.T) {
		s := credkeeper(t, "", "ci", "snippet", "nightly-dmp")
		var jobs map[string]struct {
			IDTokens  map[string]struct{ Aud string } `yaml:"id_tokens"`
			Variables map[string]string
			Secrets   map[string]struct {
				Vault string
				File  bool
				Token string
			}
			Script []string
		}
		if err := yaml.Unmarshal([]byte(s.stdout), &jobs); err != nil {
			t.Fatalf("the snippet is not YAML: %v\n%s", err, s.stdout)
		}
		job := jobs["nightly-dmp"]
		v := job.Variables
		if v["VAULT_SERVER_URL"] != w.env.Addr || job.IDTokens["VAULT_ID_TOKEN"].Aud != w.env.Addr || len(job.Secrets) != 2 {
			t.Fatalf("job = %+v", job)
		}
		jwt := w.world.Issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", RefProtected: true, Audience: job.IDTokens["VAULT_ID_TOKEN"].Aud})
		env := map[string]string{}
		for name, sec := range job.Secrets {
			// GitLab's short form: PATH/FIELD@MOUNT of a KV v2 engine.
			at := strings.LastIndex(sec.Vault, "@")
			slash := strings.LastIndex(sec.Vault[:at], "/")
			path := sec.Vault[at+1:] + "/data/" + sec.Vault[:slash]
			if sec.File || sec.Token != "$VAULT_ID_TOKEN" {
				t.Errorf("secret %s = %+v", name, sec)
			}
			env[name] = loginAndRead(t, w.env.Addr, v["VAULT_AUTH_PATH"], map[string]any{"role": v["VAULT_AUTH_ROLE"], "jwt": jwt}, path, sec.Vault[slash+1:at])
		}
		if env["DMPTOOL_NIGHTLY_ACCESS_TOKEN"] != "Token-Of-dmptool-nightly" {
			t.Fatalf("the job read %v", env)
		}
		if !runCheck(t, strings.Join(job.Script, "\n"), env) {
			t.Error("a token with an hour left is refused")
		}
		unprotected := w.world.Issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: "cancer-center/dmp-sync", Ref: "feature", RefProtected: false, Audience: w.env.Addr})
		c, _ := api.NewClient(&api.Config{Address: w.env.Addr})
		if _, err := c.Logical().Write("auth/"+v["VAULT_AUTH_PATH"]+"/login", map[string]any{"role": v["VAULT_AUTH_ROLE"], "jwt": unprotected}); err == nil {
			t.Error("a job of an unprotected ref logs in")
		}
	})

	t.Run("kubernetes", func(t *testing.T) {
		s := credkeeper(t, "", "ci", "snippet", "reporting")
		var pod struct {
			Metadata struct{ Namespace string }
			Spec     struct {
				Template struct {
					Metadata struct{ Annotations map[string]string }
					Spec     struct {
						ServiceAccountName string `yaml:"serviceAccountName"`
					}
				}
			}
		}
		if err := yaml.Unmarshal([]byte(s.stdout), &pod); err != nil {
			t.Fatalf("the snippet is not YAML: %v\n%s", err, s.stdout)
		}
		an := pod.Spec.Template.Metadata.Annotations
		const p = "vault.hashicorp.com/"
		if an[p+"agent-inject"] != "true" || !strings.Contains(an[p+"agent-inject-template-ctrp-stage"], ".Data.data.access_token") {
			t.Fatalf("annotations = %v", an)
		}
		sa := w.world.Kube.Issue(tokenreview.ServiceAccount{Namespace: pod.Metadata.Namespace, Name: pod.Spec.Template.Spec.ServiceAccountName, UID: "uid-1"})
		mount := strings.TrimPrefix(an[p+"auth-path"], "auth/")
		got := loginAndRead(t, w.env.Addr, mount, map[string]any{"role": an[p+"role"], "jwt": sa}, an[p+"agent-inject-secret-ctrp-stage"], "access_token")
		if got != "Token-Of-ctrp-stage" {
			t.Errorf("the pod read %q", got)
		}
		other := w.world.Kube.Issue(tokenreview.ServiceAccount{Namespace: "default", Name: pod.Spec.Template.Spec.ServiceAccountName, UID: "uid-2"})
		c, _ := api.NewClient(&api.Config{Address: w.env.Addr})
		if _, err := c.Logical().Write("auth/"+mount+"/login", map[string]any{"role": an[p+"role"], "jwt": other}); err == nil {
			t.Error("a service account of another namespace logs in")
		}
	})

	for _, name := range []string{"deploy-prod", "nightly-dmp", "reporting"} {
		s := credkeeper(t, "", "ci", "snippet", name)
		for _, never := range []string{w.env.Token, "VAULT_TOKEN:", "hvs.", "Secret-Of-"} {
			if strings.Contains(s.stdout, never) {
				t.Errorf("the %s snippet holds %q:\n%s", name, never, s.stdout)
			}
		}
	}
}

// ci snippet names the blocks there are when asked for one that is not.
func TestCISnippetOfAnUnknownBlock(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CREDKEEPER_CONFIG", "")
	writeConfig(t, `credential "s" {
  provider = "ctrp-stage"
}
ci_access "reporting" {
  credentials = ["s"]
  kubernetes {
    namespace       = "reporting"
    service_account = "accrual-sync"
  }
}
`)
	r := credkeeper(t, "", "ci", "snippet", "deploy")
	if r.code != 1 || !strings.Contains(r.stderr, `no ci_access block is named "deploy": the configuration declares reporting`) {
		t.Errorf("exit %d: %s", r.code, r.all())
	}
	if r := credkeeper(t, "", "ci", "snippet", "reporting", "--job-time", "10s"); r.code != 1 || !strings.Contains(r.stderr, "--job-time 10s is shorter than a minute") {
		t.Errorf("a job time under a minute: exit %d: %s", r.code, r.all())
	}
}

// The README's "CI reads a token" shows what ci setup-commands and ci
// snippet print for its configuration, exactly: each such command's output
// is the fenced block that follows it.
func TestReadmeCIExamplesAreWhatTheCommandsPrint(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, ok := strings.CutPrefix(string(readme)[strings.Index(string(readme), "\n## CI reads a token\n")+1:], "## CI reads a token\n")
	if !ok {
		t.Fatal("README.md has no section \"CI reads a token\"")
	}
	section = section[:strings.Index(section, "\n## ")]
	// The fenced blocks, in order, with their info strings.
	type block struct{ info, body string }
	var blocks []block
	for rest := section; ; {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		nl := strings.Index(rest, "\n")
		info := rest[:nl]
		end := strings.Index(rest[nl+1:], "```")
		blocks = append(blocks, block{info, rest[nl+1 : nl+1+end]})
		rest = rest[nl+1+end+3:]
	}
	t.Chdir(t.TempDir())
	t.Setenv("CREDKEEPER_CONFIG", "")
	t.Setenv("VAULT_ADDR", "")
	if len(blocks) == 0 || blocks[0].info != "hcl" {
		t.Fatalf("the section's first block is not its configuration: %+v", blocks)
	}
	writeConfig(t, blocks[0].body)
	ran := 0
	for i, b := range blocks {
		line := strings.TrimSpace(b.body)
		if b.info != "sh" || !strings.HasPrefix(line, "credkeeper ci ") || strings.Contains(line, "\n") {
			continue
		}
		r := credkeeper(t, "", strings.Fields(line)[1:]...)
		if r.code != 0 {
			t.Fatalf("%s: %s", line, r.all())
		}
		if i+1 >= len(blocks) || blocks[i+1].body != r.stdout {
			t.Errorf("README.md's output of %s is not what it prints:\n%s", line, r.stdout)
		}
		ran++
	}
	if ran != 4 {
		t.Errorf("ran %d of the section's ci commands, want setup-commands and three snippets", ran)
	}
}
