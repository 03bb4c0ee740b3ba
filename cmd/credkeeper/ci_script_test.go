package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/jonboulle/clockwork"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/credkeeper/credkeeper/credtest/oidcissuer"
	"github.com/credkeeper/credkeeper/credtest/tokenreview"
)

// ciWorldKey holds a script's CI world: the OIDC issuer and the
// TokenReview stand-in ci-world started.
type ciWorldKey struct{}

type scriptCIWorld struct {
	issuer *oidcissuer.Issuer
	kube   *tokenreview.API
}

// ci-world: start an OIDC issuer and a TokenReview stand-in on loopback,
// enable Vault's JWT auth method twice (GitHub, GitLab) and its Kubernetes
// method at mounts of the script's own, configured against them as an
// operator would, and set $OIDC_ISSUER, $GITHUB_MOUNT, $GITLAB_MOUNT and
// $K8S_MOUNT.
func cmdCIWorld(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: ci-world")
	}
	w := ts.Value(ciWorldKey{}).(*scriptCIWorld)
	// Vault checks a JWT's expiry against its own clock.
	iss, err := oidcissuer.Start(clockwork.NewFakeClockAt(time.Now()))
	ts.Check(err)
	ts.Defer(iss.Close)
	kube := tokenreview.Start()
	ts.Defer(kube.Close)
	w.issuer, w.kube = iss, kube

	cfg := api.DefaultConfig()
	cfg.Address = ts.Getenv("VAULT_ADDR")
	c, err := api.NewClient(cfg)
	ts.Check(err)
	c.SetToken(ts.Getenv("VAULT_TOKEN"))
	suffix := strings.ReplaceAll(ts.Getenv("PREFIX"), "/", "-")
	ctx := context.Background()
	for _, m := range []struct{ env, name, typ string }{
		{"GITHUB_MOUNT", "jwt-github-" + suffix, "jwt"},
		{"GITLAB_MOUNT", "jwt-gitlab-" + suffix, "jwt"},
		{"K8S_MOUNT", "kubernetes-" + suffix, "kubernetes"},
	} {
		ts.Check(c.Sys().EnableAuthWithOptionsWithContext(ctx, m.name, &api.EnableAuthOptions{Type: m.typ}))
		ts.Defer(func() { _ = c.Sys().DisableAuthWithContext(context.Background(), m.name) })
		conf := map[string]any{"oidc_discovery_url": iss.DiscoveryURL(), "bound_issuer": iss.URL}
		if m.typ == "kubernetes" {
			conf = map[string]any{"kubernetes_host": kube.URL, "token_reviewer_jwt": "reviewer-jwt", "disable_local_ca_jwt": true}
		}
		_, err := c.Logical().WriteWithContext(ctx, "auth/"+m.name+"/config", conf)
		ts.Check(err)
		ts.Setenv(m.env, m.name)
	}
	ts.Setenv("OIDC_ISSUER", iss.URL)
}

// mint-jwt FILE github|gitlab|kubernetes [KEY=VALUE...]: write to FILE a
// token of the script's CI world: a GitHub or GitLab ID token (keys
// repository, ref, environment, aud; project, ref, protected; and expired,
// unknown-key) or a service account token the TokenReview stand-in
// vouches for (namespace, sa).
func cmdMintJWT(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mint-jwt FILE github|gitlab|kubernetes [KEY=VALUE...]")
	}
	w := ts.Value(ciWorldKey{}).(*scriptCIWorld)
	if w.issuer == nil {
		ts.Fatalf("mint-jwt: run ci-world first")
	}
	kv := map[string]string{}
	for _, a := range args[2:] {
		k, v, _ := strings.Cut(a, "=")
		kv[k] = v
	}
	var opts []oidcissuer.Option
	if _, ok := kv["expired"]; ok {
		opts = append(opts, oidcissuer.IssuedAt(time.Now().Add(-time.Hour)))
	}
	if _, ok := kv["unknown-key"]; ok {
		opts = append(opts, oidcissuer.SignedByUnknownKey())
	}
	var jwt string
	switch args[1] {
	case "github":
		jwt = w.issuer.MintGitHub(oidcissuer.GitHub{Repository: kv["repository"], Ref: kv["ref"], Environment: kv["environment"], Audience: kv["aud"]}, opts...)
	case "gitlab":
		jwt = w.issuer.MintGitLab(oidcissuer.GitLab{ProjectPath: kv["project"], Ref: kv["ref"], RefProtected: kv["protected"] == "true", Environment: kv["environment"], Audience: kv["aud"]}, opts...)
	case "kubernetes":
		jwt = w.kube.Issue(tokenreview.ServiceAccount{Namespace: kv["namespace"], Name: kv["sa"], UID: "uid-" + kv["sa"]})
	default:
		ts.Fatalf("mint-jwt: unknown kind %q", args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(jwt+"\n"), 0o600))
}
