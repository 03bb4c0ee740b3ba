package rotation_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// BenchmarkCheck measures one token check against the emulator on
// loopback: the request, the classification and the token's fields.
func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		name, path, style, secret string
	}{
		{"okta-ok", "/oauth2/" + emulator.AuthServerStage + "/v1/token", policies.AuthStyleHeader, "s"},
		{"okta-invalid-client", "/oauth2/" + emulator.AuthServerStage + "/v1/token", policies.AuthStyleHeader, "wrong"},
		{"doorkeeper-ok", "/oauth/token", policies.AuthStyleBody, "s"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			emu := emulator.New(emulator.Options{})
			emu.AddClient(emulator.Client{ID: "bench", Secrets: []string{"s"}})
			srv := httptest.NewServer(emu)
			defer srv.Close()
			p := &policies.Provider{Name: "bench", TokenURL: srv.URL + tc.path, AuthStyle: tc.style, Timeout: 5 * time.Second}
			cred := &vaultstore.Credential{Name: "bench", ClientID: "bench", ClientSecret: secret.New(tc.secret), Version: 1}
			var c rotation.Checker
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if r := c.Check(context.Background(), cred, p, time.Time{}, now); r.Class == "" {
					b.Fatal("no class")
				}
			}
		})
	}
}

// BenchmarkClassify measures the classifier alone on Okta's error body.
func BenchmarkClassify(b *testing.B) {
	r := rotation.Response{Status: 401, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(emulator.OktaUnknownClientBody)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		rotation.Classify(r, time.Time{}, now)
	}
}
