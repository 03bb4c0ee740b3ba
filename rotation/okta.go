package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// OktaSecrets is Okta's Application Client Secrets API for one app (Okta
// Management API): list, create (at most two per app), deactivate,
// activate and delete (an inactive secret only). It authenticates with an
// API token ("SSWS"), which goes to the org's URL and nowhere else, and
// never appears in an error.
type OktaSecrets struct {
	OrgURL string // https://acme.okta.com
	AppID  string
	Token  secret.Value
	// Transport carries the requests (oauthcheck.DefaultTransport when nil); no
	// request follows a redirect.
	Transport http.RoundTripper
}

// OktaSecret is one of an app's client secrets. Secret is set only in the
// answer to Create: Okta shows a secret once.
type OktaSecret struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"` // ACTIVE or INACTIVE
	SecretHash string    `json:"secret_hash"`
	Created    time.Time `json:"created"`
	Secret     secret.Value
}

// OktaError is an answer of Okta's API that is not a success, in its
// errorCode/errorSummary shape.
type OktaError struct {
	Status  int
	Code    string
	Summary string
	Causes  []string
	// RetryAt is when a 429 says to try again (zero when not said).
	RetryAt time.Time
}

func (e *OktaError) Error() string {
	msg := fmt.Sprintf("okta answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Summary != "" {
		msg += ": " + e.Summary
	}
	if len(e.Causes) > 0 {
		msg += " (" + strings.Join(e.Causes, "; ") + ")"
	}
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		msg += "; check api_token_file: the token needs an admin role that may manage the app's client credentials (okta.apps.manage)"
	case e.Status == http.StatusTooManyRequests:
		msg += "; Okta is rate limiting: the rotation resumes on its next run"
	}
	return msg
}

// HashClientSecret is the secret_hash Okta lists for a client secret, to
// tell which of an app's secrets is the one kept in Vault:
// base64url(SHA-256(secret)) without padding.
func HashClientSecret(s secret.Value) string {
	sum := sha256.Sum256([]byte(s.Reveal()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// List returns the app's secrets.
func (o *OktaSecrets) List(ctx context.Context) ([]OktaSecret, error) {
	var out []OktaSecret
	err := o.do(ctx, http.MethodGet, "", nil, &out)
	return out, err
}

// Create makes a new active secret and returns it: value when set (the
// caller generated it, and may know its hash before Okta answers), or one
// Okta generates.
func (o *OktaSecrets) Create(ctx context.Context, value secret.Value) (OktaSecret, error) {
	body := []byte("{}")
	if !value.IsZero() {
		body, _ = json.Marshal(map[string]string{"client_secret": value.Reveal(), "status": "ACTIVE"})
	}
	var out struct {
		OktaSecret
		ClientSecret string `json:"client_secret"`
	}
	if err := o.do(ctx, http.MethodPost, "", body, &out); err != nil {
		return OktaSecret{}, err
	}
	s := out.OktaSecret
	s.Secret = secret.New(out.ClientSecret)
	if s.ID == "" || s.Secret.IsZero() {
		return OktaSecret{}, errors.New("okta created a secret but its answer carries no id or client_secret")
	}
	return s, nil
}

// NewClientSecret generates a client secret: 40 random bytes, base64url
// (54 characters, within Okta's 14 to 100).
func NewClientSecret() (secret.Value, error) {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		return secret.Value{}, fmt.Errorf("generating a client secret: %w", err)
	}
	return secret.New(base64.RawURLEncoding.EncodeToString(b)), nil
}

// Status is the status Okta lists for the secret id ("" when Okta lists
// none): what became of a request whose answer was lost.
func (o *OktaSecrets) Status(ctx context.Context, id string) (string, error) {
	list, err := o.List(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range list {
		if s.ID == id {
			return s.Status, nil
		}
	}
	return "", nil
}

// Deactivate makes a secret inactive: the token endpoint refuses it.
func (o *OktaSecrets) Deactivate(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodPost, "/"+id+"/lifecycle/deactivate", nil, nil)
}

// Activate makes a secret active again.
func (o *OktaSecrets) Activate(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodPost, "/"+id+"/lifecycle/activate", nil, nil)
}

// Delete removes an inactive secret.
func (o *OktaSecrets) Delete(ctx context.Context, id string) error {
	return o.do(ctx, http.MethodDelete, "/"+id, nil, nil)
}

func (o *OktaSecrets) do(ctx context.Context, method, path string, body []byte, out any) error {
	return oktaDo(ctx, o.OrgURL, o.Token, o.Transport, method, o.OrgURL+"/api/v1/apps/"+o.AppID+"/credentials/secrets"+path, body, out)
}

// oktaDo sends one request to Okta's Management API at u with the API
// token, and decodes a success into out; the token appears in no error.
func oktaDo(ctx context.Context, orgURL string, token secret.Value, transport http.RoundTripper, method, u string, body []byte, out any) error {
	if problem := oauthcheck.EndpointProblem(u, "okta_org_url", false); problem != "" {
		return errors.New(problem)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("okta_org_url %q: %w", orgURL, err)
	}
	req.Header.Set("Authorization", "SSWS "+token.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := oauthcheck.NewHTTPClient(transport).Do(req)
	if err != nil {
		var ue *url.Error // its text carries the URL; keep the host only
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("okta at %s is unreachable: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return oktaError(resp, oauthcheck.Redact(b, token.Reveal()))
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("okta answered %d with a body that is not its JSON: %s", resp.StatusCode, text.OneLine(string(oauthcheck.Redact(b, token.Reveal())), 120))
	}
	return nil
}

func oktaError(resp *http.Response, body []byte) error {
	e := &OktaError{Status: resp.StatusCode}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Summary = "a redirect, which the API token does not follow: set okta_org_url to the org's own URL"
		return e
	}
	var pe struct {
		ErrorCode    string `json:"errorCode"`
		ErrorSummary string `json:"errorSummary"`
		ErrorCauses  []struct {
			ErrorSummary string `json:"errorSummary"`
		} `json:"errorCauses"`
	}
	if json.Unmarshal(body, &pe) == nil {
		e.Code, e.Summary = pe.ErrorCode, pe.ErrorSummary
		for _, c := range pe.ErrorCauses {
			e.Causes = append(e.Causes, c.ErrorSummary)
		}
	} else {
		e.Summary = text.OneLine(string(body), 120)
	}
	return e
}
