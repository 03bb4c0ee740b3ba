package check

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// The configuration's auth style names are the checker's, so a provider
// reaches the token endpoint the way its file (or preset) says.
func TestEndpointOfKeepsTheProvidersAuthStyleAndProbe(t *testing.T) {
	for _, tc := range []struct {
		name, style string
		want        oauthcheck.AuthStyle
	}{
		{"header is HTTP Basic", config.AuthStyleHeader, oauthcheck.AuthStyleHeader},
		{"body is client_secret_post", config.AuthStyleBody, oauthcheck.AuthStyleBody},
	} {
		p := &config.Provider{Name: "idp", TokenURL: "https://idp.example.org/token", AuthStyle: tc.style, Scopes: []string{"public"},
			Timeout: 7 * time.Second, InsecureHTTP: true, Probe: &config.Probe{URL: "https://idp.example.org/api", Method: config.ProbeHead}}
		e := EndpointOf(p)
		if e.AuthStyle != tc.want {
			t.Errorf("%s: auth style %q, want %q", tc.name, e.AuthStyle, tc.want)
		}
		if e.Name != "idp" || e.TokenURL != p.TokenURL || e.Timeout != p.Timeout || !e.InsecureHTTP || len(e.Scopes) != 1 || e.Scopes[0] != "public" {
			t.Errorf("%s: endpoint %+v does not carry the provider's fields", tc.name, e)
		}
		if e.Probe == nil || e.Probe.URL != p.Probe.URL || e.Probe.Method != "HEAD" {
			t.Errorf("%s: probe %+v, want %+v", tc.name, e.Probe, p.Probe)
		}
	}
	for _, name := range config.PresetNames() {
		p, _ := config.Preset(name)
		if got := EndpointOf(&p).AuthStyle; got != oauthcheck.AuthStyleHeader && got != oauthcheck.AuthStyleBody {
			t.Errorf("preset %s: auth style %q is not one the checker knows", name, got)
		}
	}
}
