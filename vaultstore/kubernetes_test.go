package vaultstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/credtest/tokenreview"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestKubernetesLoginSendsThePodJWTToVault(t *testing.T) {
	env := vaulttest.New(t)
	ctx := context.Background()

	kube := tokenreview.New(t)
	good := kube.Issue(tokenreview.ServiceAccount{Namespace: "security", Name: "credkeeper", UID: "uid-1"})
	other := kube.Issue(tokenreview.ServiceAccount{Namespace: "default", Name: "intruder", UID: "uid-2"})

	// A Kubernetes auth mount of this test's own, configured as an operator would.
	mount := "kubernetes-" + strings.ReplaceAll(env.Prefix, "/", "-")
	if err := env.Root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host": kube.URL, "token_reviewer_jwt": "reviewer-jwt", "disable_local_ca_jwt": true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Root.Sys().PutPolicyWithContext(ctx, mount, `path "secret/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/credkeeper", map[string]any{
		"bound_service_account_names": "credkeeper", "bound_service_account_namespaces": "security",
		"token_policies": mount, "token_ttl": "10m",
	}); err != nil {
		t.Fatal(err)
	}

	jwtFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(jwtFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := env.Config()
	cfg.Auth = vaultstore.AuthConfig{Method: vaultstore.AuthKubernetes, Mount: mount, Role: "credkeeper", JWTFile: jwtFile}
	store, err := vaultstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Kubernetes login: %v", err)
	}
	if _, err := store.ListCredentials(ctx); err != nil {
		t.Errorf("list with the Kubernetes login's token: %v", err)
	}
	reviewed := kube.Reviewed()
	if len(reviewed) != 1 || reviewed[0] != good {
		t.Errorf("Vault should have asked Kubernetes about the pod's JWT once; it asked about %d tokens", len(reviewed))
	}

	// Another service account's JWT is refused by the role's bindings.
	if err := os.WriteFile(jwtFile, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = vaultstore.Open(ctx, cfg)
	if err == nil {
		t.Fatal("login with another service account's JWT succeeded")
	}
	if strings.Contains(err.Error(), other) {
		t.Error("the error shows the JWT")
	}
}
