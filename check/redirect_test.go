package check_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// elsewhere is a server a redirect points at. It records what each request
// carried: it must never see a client secret or a bearer token.
type elsewhere struct {
	mu       sync.Mutex
	requests []string
}

func (e *elsewhere) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.requests = append(e.requests, r.Header.Get("Authorization")+" "+string(body))
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"access_token":"from-elsewhere","token_type":"Bearer","expires_in":3600}`)
}

func (e *elsewhere) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.requests...)
}

// A token endpoint or probe that redirects gets no credentials sent after
// it: the check is misconfigured, names the Location, and is no refusal of
// the secret. The other server is on the same host name and another port,
// where Go's client would forward the Authorization header.
func TestRedirectsNeverCarryCredentials(t *testing.T) {
	other := &elsewhere{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	w := credtest.NewWorld(t, func(url string) string {
		return fmt.Sprintf(`
provider "probe-redirects" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "header"
  probe {
    url = "%[1]s/redirect-probe"
  }
}
`, url, emulator.AuthServerStage)
	})
	probeMux := http.NewServeMux()
	probeMux.HandleFunc("/redirect-probe", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, otherSrv.URL+"/api/me", http.StatusFound)
	})
	w.Emu.AddClient(emulator.Client{ID: "0oa-moved", Secrets: []string{"Moved-Secret-1"}})
	w.Emu.AddClient(emulator.Client{ID: "dmp-moved", Secrets: []string{"Moved-Secret-2"}, Scopes: []string{"public", "read_dmps"}})
	w.Emu.AddClient(emulator.Client{ID: "0oa-probed", Secrets: []string{"Moved-Secret-3"}})
	w.Emu.InjectFault("0oa-moved", emulator.Fault{Kind: emulator.FaultRedirect, Location: otherSrv.URL + "/oauth2/v1/token"})
	w.Emu.InjectFault("dmp-moved", emulator.Fault{Kind: emulator.FaultRedirect, Status: http.StatusPermanentRedirect, Location: otherSrv.URL + "/oauth/token"})
	v := w.Put("okta-moved", "okta-stage", "0oa-moved", "Moved-Secret-1", credtest.Deadline)
	w.Put("dmp-moved", "doorkeeper", "dmp-moved", "Moved-Secret-2", credtest.Deadline)
	w.Put("probed", "probe-redirects", "0oa-probed", "Moved-Secret-3", credtest.Deadline)
	// The probe's redirect is served beside the emulator's token endpoint.
	w.Engine.Checker = &oauthcheck.Checker{Transport: routeProbe{probe: probeMux}}

	for _, name := range []string{"okta-moved", "dmp-moved"} {
		r := w.Check(name, false)
		if r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, otherSrv.URL) || !strings.Contains(r.Detail, "set token_url to the final URL") {
			t.Errorf("%s: %s %q, want misconfigured naming the Location", name, r.Class, r.Detail)
		}
	}
	if r := w.Check("probed", false); r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, otherSrv.URL) {
		t.Errorf("a probe that redirects: %s %q", r.Class, r.Detail)
	}
	if seen := other.seen(); len(seen) != 0 {
		t.Fatalf("the redirect target received %d requests: credentials followed a redirect", len(seen))
	}
	st, err := w.Store.GetState(context.Background(), "okta-moved")
	if err != nil || st.RejectedVersion != 0 {
		t.Errorf("a redirect is not a refusal of version %d: %+v, %v", v, st, err)
	}
}

// routeProbe sends /redirect-probe to probe and the rest to the network.
type routeProbe struct{ probe http.Handler }

func (rp routeProbe) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/redirect-probe" {
		return http.DefaultTransport.RoundTrip(r)
	}
	rec := httptest.NewRecorder()
	rp.probe.ServeHTTP(rec, r)
	return rec.Result(), nil
}
