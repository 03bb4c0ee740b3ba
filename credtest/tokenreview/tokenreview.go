// Package tokenreview stands in, on loopback, for the Kubernetes API
// server's TokenReview endpoint, which Vault's Kubernetes auth method calls
// to check a pod's service account token, and makes such tokens.
//
// It is test scaffolding: the product never imports it, and it must not
// import the product's packages.
package tokenreview

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// ServiceAccount is who a service account token names.
type ServiceAccount struct {
	Namespace, Name, UID string
}

// API is a running TokenReview endpoint: it authenticates the tokens it
// was told of (Add) and records every token Vault asked about.
type API struct {
	// URL is the API server's address, Vault's kubernetes_host.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	valid    map[string]ServiceAccount
	reviewed []string
}

// New starts a TokenReview endpoint on loopback; it stops when the test ends.
func New(t testing.TB) *API {
	t.Helper()
	k := Start()
	t.Cleanup(k.Close)
	return k
}

// Start starts a TokenReview endpoint on loopback; Close stops it.
func Start() *API {
	k := &API{valid: map[string]ServiceAccount{}}
	k.srv = httptest.NewServer(k)
	k.URL = k.srv.URL
	return k
}

// Close stops the endpoint.
func (k *API) Close() { k.srv.Close() }

// Issue makes a service account token for sa and tells the endpoint to
// authenticate it, as the API server does for a pod's projected token.
func (k *API) Issue(sa ServiceAccount) string {
	jwt := ServiceAccountJWT(sa)
	k.mu.Lock()
	k.valid[jwt] = sa
	k.mu.Unlock()
	return jwt
}

// Reviewed returns the tokens Vault asked about, in order.
func (k *API) Reviewed() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.reviewed...)
}

// ServiceAccountJWT builds a JWT with a service account's claims. Vault's
// Kubernetes auth does not verify its signature itself (it asks the
// TokenReview API), so random signature bytes do.
func ServiceAccountJWT(sa ServiceAccount) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]string{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		"kubernetes.io/serviceaccount/namespace": sa.Namespace,
		"kubernetes.io/serviceaccount/service-account.name": sa.Name,
		"kubernetes.io/serviceaccount/service-account.uid":  sa.UID,
	})
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// ServeHTTP answers POST /apis/authentication.k8s.io/v1/tokenreviews.
func (k *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Spec struct {
			Token     string   `json:"token"`
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &req)
	k.mu.Lock()
	k.reviewed = append(k.reviewed, req.Spec.Token)
	sa, ok := k.valid[req.Spec.Token]
	k.mu.Unlock()
	status := map[string]any{"authenticated": false}
	if ok {
		status = map[string]any{"authenticated": true, "audiences": req.Spec.Audiences, "user": map[string]any{
			"username": "system:serviceaccount:" + sa.Namespace + ":" + sa.Name, "uid": sa.UID,
		}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
}
