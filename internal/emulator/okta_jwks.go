package emulator

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Okta's OAuth 2.0 client JSON Web Keys API (Management API, Application
// Client Auth Credentials): an app's public keys for private_key_jwt, under
// /api/v1/apps/{appId}/credentials/jwks. A key is added as a public JWK
// (with its kid, and ACTIVE unless the request says INACTIVE); Okta answers
// with the JWK and its own id, status, created and lastUpdated. A key is
// activated and deactivated through lifecycle/activate and
// lifecycle/deactivate, and only an INACTIVE key can be deleted. An app
// holds at most MaxAppKeys keys ("You can add up to 50 keys per app":
// Okta's developer guide "Manage keys", section "Save keys in Okta",
// developer.okta.com/docs/guides/key-management/main). The token endpoint
// accepts assertions signed by the app's ACTIVE keys (Client.Keys). The
// same SSWS API token, faults (OktaFaultKey) and errorCode bodies as the
// client secrets API.

// MaxAppKeys is how many JSON Web Keys an Okta app may hold.
const MaxAppKeys = 50

// Okta's error bodies for the JWKS API.
const (
	oktaTooManyKeys = `{"errorCode":"E0000001","errorSummary":"Api validation failed: jwks","errorLink":"E0000001","errorId":"oaeEmulatedKeyLimit","errorCauses":[{"errorSummary":"You can only have a maximum of 50 JSON Web Keys per application."}]}`
	oktaBadJWK      = `{"errorCode":"E0000001","errorSummary":"Api validation failed: jwks","errorLink":"E0000001","errorId":"oaeEmulatedBadJWK","errorCauses":[{"errorSummary":"%s"}]}`
	oktaDeleteKey   = `{"errorCode":"E0000001","errorSummary":"Api validation failed: jwks","errorLink":"E0000001","errorId":"oaeEmulatedKeyActive","errorCauses":[{"errorSummary":"Deactivate the JSON Web Key before deleting it."}]}`
	oktaLastKey     = `{"errorCode":"E0000001","errorSummary":"Api validation failed: jwks","errorLink":"E0000001","errorId":"oaeEmulatedLastKey","errorCauses":[{"errorSummary":"An application that authenticates with private_key_jwt must keep one active JSON Web Key."}]}`
)

func (s *Server) registerOktaJWKS() {
	s.mux.HandleFunc("GET /api/v1/apps/{appId}/credentials/jwks", s.oktaSecrets(s.listKeys))
	s.mux.HandleFunc("POST /api/v1/apps/{appId}/credentials/jwks", s.oktaSecrets(s.addKey))
	s.mux.HandleFunc("GET /api/v1/apps/{appId}/credentials/jwks/{keyId}", s.oktaSecrets(s.getKey))
	s.mux.HandleFunc("POST /api/v1/apps/{appId}/credentials/jwks/{keyId}/lifecycle/{action}", s.oktaSecrets(s.keyLifecycle))
	s.mux.HandleFunc("DELETE /api/v1/apps/{appId}/credentials/jwks/{keyId}", s.oktaSecrets(s.deleteKey))
}

// keyJSON is k as Okta's API shows it: the public JWK with Okta's fields.
func (s *Server) keyJSON(k *ClientKey) map[string]any {
	m := map[string]any{}
	if b, err := k.JWK.Public().MarshalJSON(); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	last := s.keyUpdated[k.ID]
	if last.IsZero() {
		last = k.Created
	}
	m["id"], m["status"] = k.ID, k.Status
	m["created"], m["lastUpdated"] = k.Created.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)
	return m
}

func (s *Server) writeKey(w http.ResponseWriter, status int, k *ClientKey) {
	b, _ := json.Marshal(s.keyJSON(k))
	writeJSON(w, status, string(b))
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, c *Client) {
	out := []map[string]any{}
	for i := range c.Keys {
		out = append(out, s.keyJSON(&c.Keys[i]))
	}
	b, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, string(b))
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, c *Client) {
	k := findKey(c, r.PathValue("keyId"))
	if k == nil {
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("keyId")))
		return
	}
	s.writeKey(w, http.StatusOK, k)
}

// addKey adds a public JWK: it must carry a kid no other key of the app
// has, be a signing key of RSA or EC, and hold no private part.
func (s *Server) addKey(w http.ResponseWriter, r *http.Request, c *Client) {
	if len(c.Keys) >= MaxAppKeys {
		writeJSON(w, http.StatusBadRequest, oktaTooManyKeys)
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	body, err := readBody(r)
	var jwk jose.JSONWebKey
	if err == nil {
		err = jwk.UnmarshalJSON(body)
	}
	_ = json.Unmarshal(body, &req)
	switch {
	case err != nil:
		writeJSON(w, http.StatusBadRequest, sprintfJSON(oktaBadJWK, "The JSON Web Key is not valid: "+err.Error()))
		return
	case !jwk.IsPublic():
		writeJSON(w, http.StatusBadRequest, sprintfJSON(oktaBadJWK, "Only public keys may be added."))
		return
	case jwk.KeyID == "":
		writeJSON(w, http.StatusBadRequest, sprintfJSON(oktaBadJWK, "The kid is required."))
		return
	case jwk.Use != "" && jwk.Use != "sig":
		writeJSON(w, http.StatusBadRequest, sprintfJSON(oktaBadJWK, "Only signing keys (use sig) authenticate a client."))
		return
	}
	for _, k := range c.Keys {
		if k.JWK.KeyID == jwk.KeyID {
			writeJSON(w, http.StatusBadRequest, sprintfJSON(oktaBadJWK, "A key with kid "+jwk.KeyID+" already exists."))
			return
		}
	}
	if req.Status != KeyInactive {
		req.Status = KeyActive
	}
	c.Keys = append(c.Keys, ClientKey{ID: newKeyID(), JWK: jwk, Status: req.Status, Created: s.opts.Clock.Now()})
	s.writeKey(w, http.StatusCreated, &c.Keys[len(c.Keys)-1])
}

func (s *Server) keyLifecycle(w http.ResponseWriter, r *http.Request, c *Client) {
	k := findKey(c, r.PathValue("keyId"))
	if k == nil {
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("keyId")))
		return
	}
	switch r.PathValue("action") {
	case "activate":
		k.Status = KeyActive
	case "deactivate":
		active := 0
		for _, x := range c.Keys {
			if x.Status == KeyActive {
				active++
			}
		}
		if k.Status == KeyActive && active == 1 {
			writeJSON(w, http.StatusBadRequest, oktaLastKey)
			return
		}
		k.Status = KeyInactive
	default:
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("action")))
		return
	}
	s.keyUpdated[k.ID] = s.opts.Clock.Now()
	s.writeKey(w, http.StatusOK, k)
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, c *Client) {
	k := findKey(c, r.PathValue("keyId"))
	if k == nil {
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("keyId")))
		return
	}
	if k.Status == KeyActive {
		writeJSON(w, http.StatusBadRequest, oktaDeleteKey)
		return
	}
	id := k.ID
	c.Keys = slices.DeleteFunc(c.Keys, func(x ClientKey) bool { return x.ID == id })
	delete(s.keyUpdated, id)
	w.WriteHeader(http.StatusNoContent)
}

func findKey(c *Client, id string) *ClientKey {
	for i := range c.Keys {
		if c.Keys[i].ID == id {
			return &c.Keys[i]
		}
	}
	return nil
}

// AppKeys reports an app's keys as Okta would list them: "ID KID STATUS"
// lines, for tests that count them.
func (s *Server) AppKeys(clientID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil
	}
	var out []string
	for _, k := range c.Keys {
		out = append(out, k.ID+" "+k.JWK.KeyID+" "+k.Status)
	}
	return out
}

// KeyThumbprint is the RFC 7638 SHA-256 thumbprint of a JWK, base64url
// without padding: how a test tells the app's keys apart.
func KeyThumbprint(k jose.JSONWebKey) string {
	pub := k.Public()
	b, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newKeyID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "pks" + base64.RawURLEncoding.EncodeToString(b)
}

func readBody(r *http.Request) ([]byte, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}
