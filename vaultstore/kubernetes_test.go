package vaultstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// serviceAccountJWT builds a JWT with a service account's claims. Vault's
// Kubernetes auth does not verify its signature itself (it asks the
// Kubernetes TokenReview API), so random signature bytes do.
func serviceAccountJWT(t *testing.T, namespace, name, uid string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]string{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:" + namespace + ":" + name,
		"kubernetes.io/serviceaccount/namespace": namespace,
		"kubernetes.io/serviceaccount/service-account.name": name,
		"kubernetes.io/serviceaccount/service-account.uid":  uid,
	})
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// tokenReviewAPI stands in for the Kubernetes API server's TokenReview
// endpoint, which Vault's Kubernetes auth calls to check a login's JWT.
// It records the JWTs Vault asked about.
type tokenReviewAPI struct {
	mu       sync.Mutex
	valid    map[string]string // JWT -> "namespace:name:uid"
	reviewed []string
}

func (k *tokenReviewAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Spec struct {
			Token string `json:"token"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &req)
	k.mu.Lock()
	k.reviewed = append(k.reviewed, req.Spec.Token)
	who, ok := k.valid[req.Spec.Token]
	k.mu.Unlock()
	status := map[string]any{"authenticated": false}
	if ok {
		parts := strings.SplitN(who, ":", 3)
		status = map[string]any{"authenticated": true, "user": map[string]any{
			"username": "system:serviceaccount:" + parts[0] + ":" + parts[1], "uid": parts[2],
		}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
}

func TestKubernetesLoginSendsThePodJWTToVault(t *testing.T) {
	env := vaulttest.New(t)
	ctx := context.Background()

	good := serviceAccountJWT(t, "security", "credkeeper", "uid-1")
	other := serviceAccountJWT(t, "default", "intruder", "uid-2")
	kube := &tokenReviewAPI{valid: map[string]string{good: "security:credkeeper:uid-1", other: "default:intruder:uid-2"}}
	srv := httptest.NewServer(kube)
	defer srv.Close()

	// A Kubernetes auth mount of this test's own, configured as an operator would.
	mount := "kubernetes-" + strings.ReplaceAll(env.Prefix, "/", "-")
	if err := env.Root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Root.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host": srv.URL, "token_reviewer_jwt": "reviewer-jwt", "disable_local_ca_jwt": true,
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
	kube.mu.Lock()
	reviewed := append([]string(nil), kube.reviewed...)
	kube.mu.Unlock()
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
