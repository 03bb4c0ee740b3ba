package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Okta's Application Client Secrets API (Management API): an app holds at
// most two client secrets, each ACTIVE or INACTIVE; only an inactive one
// can be deleted; the secret itself is shown only when it is created. The
// token endpoint accepts an app's ACTIVE secrets. Requests authenticate
// with "Authorization: SSWS <API token>" (Options.APIToken).

// MaxAppSecrets is how many client secrets an Okta app may hold.
const MaxAppSecrets = 2

type appSecret struct {
	ID          string
	Value       string
	Status      string // ACTIVE or INACTIVE
	Created     time.Time
	LastUpdated time.Time
}

// SecretHash is the secret_hash Okta's API shows for a client secret: the
// emulator's is base64url(SHA-256(secret)).
func SecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (a *appSecret) json(withSecret bool) map[string]any {
	m := map[string]any{
		"id": a.ID, "status": a.Status, "secret_hash": SecretHash(a.Value),
		"created": a.Created.UTC().Format(time.RFC3339), "lastUpdated": a.LastUpdated.UTC().Format(time.RFC3339),
	}
	if withSecret {
		m["client_secret"] = a.Value
	}
	return m
}

// Okta's error bodies for the secrets API.
const (
	oktaInvalidToken   = `{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oaeEmulatedToken","errorCauses":[]}`
	oktaNotFound       = `{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: %s (AppInstance)","errorLink":"E0000007","errorId":"oaeEmulatedNotFound","errorCauses":[]}`
	oktaTooManySecrets = `{"errorCode":"E0000001","errorSummary":"Api validation failed: client_secret","errorLink":"E0000001","errorId":"oaeEmulatedLimit","errorCauses":[{"errorSummary":"You can only have a maximum of 2 client secrets per application."}]}`
	oktaDeleteActive   = `{"errorCode":"E0000001","errorSummary":"Api validation failed: client_secret","errorLink":"E0000001","errorId":"oaeEmulatedActive","errorCauses":[{"errorSummary":"Deactivate the client secret before deleting it."}]}`
	oktaInternal       = `{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorLink":"E0000009","errorId":"oaeEmulatedInternal","errorCauses":[]}`
	oktaLastActive     = `{"errorCode":"E0000001","errorSummary":"Api validation failed: client_secret","errorLink":"E0000001","errorId":"oaeEmulatedLast","errorCauses":[{"errorSummary":"An application must keep one active client secret."}]}`
)

func (s *Server) registerOktaSecrets() {
	s.mux.HandleFunc("GET /api/v1/apps/{appId}/credentials/secrets", s.oktaSecrets(s.listSecrets))
	s.mux.HandleFunc("POST /api/v1/apps/{appId}/credentials/secrets", s.oktaSecrets(s.createSecret))
	s.mux.HandleFunc("POST /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/{action}", s.oktaSecrets(s.secretLifecycle))
	s.mux.HandleFunc("DELETE /api/v1/apps/{appId}/credentials/secrets/{secretId}", s.oktaSecrets(s.deleteSecret))
}

// The operations of the secrets API, for faults injected into one of
// them: InjectFault(OktaFaultKey(OktaDeactivate), ...).
const (
	OktaList       = "list"
	OktaCreate     = "create"
	OktaActivate   = "activate"
	OktaDeactivate = "deactivate"
	OktaDelete     = "delete"
)

// OktaFaultKey is the InjectFault key of one operation of the secrets API.
// The key "okta-api" alone rate limits every operation.
func OktaFaultKey(op string) string { return "okta-api/" + op }

// FaultDoneThenStatus does the operation, then answers Status (500 by
// default) as if it had failed: the answer lost after the work was done.
const FaultDoneThenStatus FaultKind = "done_then_status"

// oktaOp names the operation r asks for.
func oktaOp(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet:
		return OktaList
	case r.Method == http.MethodDelete:
		return OktaDelete
	case r.PathValue("action") != "":
		return r.PathValue("action")
	}
	return OktaCreate
}

// oktaSecrets checks the API token and finds the app, then calls h with
// the emulator locked and the app's secret objects. A fault injected into
// the API, or into the operation, answers instead (FaultRateLimit,
// FaultStatus) or after the work (FaultDoneThenStatus).
func (s *Server) oktaSecrets(h func(w http.ResponseWriter, r *http.Request, c *Client)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.APIToken == "" || r.Header.Get("Authorization") != "SSWS "+s.opts.APIToken {
			writeJSON(w, http.StatusUnauthorized, oktaInvalidToken)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		f, ok := s.faults["okta-api"]
		if !ok {
			f, ok = s.faults[OktaFaultKey(oktaOp(r))]
		}
		if ok {
			switch f.Kind {
			case FaultRateLimit:
				w.Header().Set("X-Rate-Limit-Limit", "100")
				w.Header().Set("X-Rate-Limit-Remaining", "0")
				w.Header().Set("X-Rate-Limit-Reset", fmtUnix(s.opts.Clock.Now().Add(time.Minute)))
				writeJSON(w, http.StatusTooManyRequests, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"oaeEmulatedRateLimit","errorCauses":[]}`)
				return
			case FaultStatus:
				writeJSON(w, faultStatus(f), oktaInternal)
				return
			case FaultDoneThenStatus:
				defer writeJSON(w, faultStatus(f), oktaInternal)
				w = discardWriter{http.Header{}}
			}
		}
		for _, c := range s.clients {
			if c.AppID != "" && c.AppID == r.PathValue("appId") {
				h(w, r, c)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("appId")))
	}
}

func faultStatus(f Fault) int {
	if f.Status == 0 {
		return http.StatusInternalServerError
	}
	return f.Status
}

// discardWriter swallows the answer of work whose answer is lost.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

// secretsOf is c's secret objects, made from its Secrets on first use.
// The caller holds s.mu.
func (s *Server) secretsOf(c *Client) []*appSecret {
	if objs, ok := s.appSecrets[c.ID]; ok {
		return objs
	}
	now := s.opts.Clock.Now()
	var objs []*appSecret
	for _, v := range c.Secrets {
		objs = append(objs, &appSecret{ID: newSecretID(), Value: v, Status: "ACTIVE", Created: now, LastUpdated: now})
	}
	s.appSecrets[c.ID] = objs
	return objs
}

// sync makes the token endpoint accept exactly c's active secrets.
func (s *Server) sync(c *Client) {
	c.Secrets = nil
	for _, o := range s.appSecrets[c.ID] {
		if o.Status == "ACTIVE" {
			c.Secrets = append(c.Secrets, o.Value)
		}
	}
}

func (s *Server) listSecrets(w http.ResponseWriter, _ *http.Request, c *Client) {
	out := []map[string]any{}
	for _, o := range s.secretsOf(c) {
		out = append(out, o.json(false))
	}
	b, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, string(b))
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request, c *Client) {
	objs := s.secretsOf(c)
	if len(objs) >= MaxAppSecrets {
		writeJSON(w, http.StatusBadRequest, oktaTooManySecrets)
		return
	}
	var req struct {
		ClientSecret string `json:"client_secret"`
		Status       string `json:"status"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	if req.ClientSecret == "" {
		b := make([]byte, 30)
		_, _ = rand.Read(b)
		req.ClientSecret = base64.RawURLEncoding.EncodeToString(b)
	}
	if req.Status != "INACTIVE" {
		req.Status = "ACTIVE"
	}
	now := s.opts.Clock.Now()
	o := &appSecret{ID: newSecretID(), Value: req.ClientSecret, Status: req.Status, Created: now, LastUpdated: now}
	s.appSecrets[c.ID] = append(objs, o)
	s.sync(c)
	b, _ := json.Marshal(o.json(true))
	writeJSON(w, http.StatusOK, string(b))
}

func (s *Server) secretLifecycle(w http.ResponseWriter, r *http.Request, c *Client) {
	o := s.findSecret(c, r.PathValue("secretId"))
	if o == nil {
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("secretId")))
		return
	}
	switch r.PathValue("action") {
	case "activate":
		o.Status = "ACTIVE"
	case "deactivate":
		active := 0
		for _, x := range s.appSecrets[c.ID] {
			if x.Status == "ACTIVE" {
				active++
			}
		}
		if o.Status == "ACTIVE" && active == 1 {
			writeJSON(w, http.StatusBadRequest, oktaLastActive)
			return
		}
		o.Status = "INACTIVE"
	default:
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("action")))
		return
	}
	o.LastUpdated = s.opts.Clock.Now()
	s.sync(c)
	b, _ := json.Marshal(o.json(false))
	writeJSON(w, http.StatusOK, string(b))
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, c *Client) {
	o := s.findSecret(c, r.PathValue("secretId"))
	if o == nil {
		writeJSON(w, http.StatusNotFound, sprintfJSON(oktaNotFound, r.PathValue("secretId")))
		return
	}
	if o.Status == "ACTIVE" {
		writeJSON(w, http.StatusBadRequest, oktaDeleteActive)
		return
	}
	s.appSecrets[c.ID] = slices.DeleteFunc(s.appSecrets[c.ID], func(x *appSecret) bool { return x == o })
	s.sync(c)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) findSecret(c *Client, id string) *appSecret {
	for _, o := range s.secretsOf(c) {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// AppSecrets reports an app's secrets as Okta would list them: "ID STATUS"
// lines, for tests that count them.
func (s *Server) AppSecrets(clientID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil
	}
	var out []string
	for _, o := range s.secretsOf(c) {
		out = append(out, o.ID+" "+o.Status)
	}
	return out
}

func newSecretID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ocs" + base64.RawURLEncoding.EncodeToString(b)
}

func sprintfJSON(format, value string) string { return fmt.Sprintf(format, jsonEscape(value)) }

func fmtUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
