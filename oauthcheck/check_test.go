package oauthcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// refuseAll counts the requests it is asked to send, and sends none.
type refuseAll struct {
	mu sync.Mutex
	n  int
}

func (r *refuseAll) RoundTrip(*http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return nil, fmt.Errorf("refused by the test")
}

// Plain http to another host is refused before anything is sent, even for
// an endpoint built by hand rather than decoded from a file.
func TestCleartextEndpointsAreRefusedBeforeSending(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	https := oauthcheck.Endpoint{Name: "idp", TokenURL: "https://idp.example.org/oauth2/v1/token", AuthStyle: oauthcheck.AuthStyleHeader}
	cleartext := https
	cleartext.TokenURL = "http://idp.example.org/oauth2/v1/token"
	probed := https
	probed.Probe = &oauthcheck.Probe{URL: "http://api.example.org/v1/me", Method: http.MethodGet}
	cl := oauthcheck.Client{ID: "0oa-plain", Secret: secret.New("Plain-Secret"), Name: "plain"}
	transport := &refuseAll{}
	checker := &oauthcheck.Checker{Transport: transport}
	for name, e := range map[string]oauthcheck.Endpoint{"token_url": cleartext, "probe url": probed} {
		r := checker.RequestToken(context.Background(), cl, e, time.Time{}, now)
		if r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, "insecure_http") || !strings.Contains(r.Detail, name) {
			t.Errorf("cleartext %s: %s %q", name, r.Class, r.Detail)
		}
	}
	if transport.n != 0 {
		t.Errorf("%d requests were sent", transport.n)
	}
}
