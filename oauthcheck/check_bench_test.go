package oauthcheck_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// BenchmarkCheck measures one token check against the emulator on
// loopback: the request, the classification and the token's fields.
func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		name, path string
		style      oauthcheck.AuthStyle
		secret     string
	}{
		{"okta-ok", "/oauth2/" + emulator.AuthServerStage + "/v1/token", oauthcheck.AuthStyleHeader, "s"},
		{"okta-invalid-client", "/oauth2/" + emulator.AuthServerStage + "/v1/token", oauthcheck.AuthStyleHeader, "wrong"},
		{"doorkeeper-ok", "/oauth/token", oauthcheck.AuthStyleBody, "s"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			emu := emulator.New(emulator.Options{Clock: clockwork.NewRealClock()})
			emu.AddClient(emulator.Client{ID: "bench", Secrets: []string{"s"}})
			srv := httptest.NewServer(emu)
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "bench", TokenURL: srv.URL + tc.path, AuthStyle: tc.style, Timeout: 5 * time.Second}
			cl := oauthcheck.Client{Name: "bench", ID: "bench", Secret: secret.New(tc.secret), Version: 1}
			var c oauthcheck.Checker
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if r := c.RequestToken(context.Background(), cl, e, time.Time{}, now); r.Class == "" {
					b.Fatal("no class")
				}
			}
		})
	}
}

// BenchmarkClassify measures the classifier alone on Okta's error body.
func BenchmarkClassify(b *testing.B) {
	r := oauthcheck.Response{Status: 401, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(emulator.OktaUnknownClientBody)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		oauthcheck.Classify(r, time.Time{}, now)
	}
}

// BenchmarkBoundary measures the boundary alone on a description, on a
// scope that repeats a long token (what a scan quadratic in the text would
// make slow), and on a secret split by a line break.
func BenchmarkBoundary(b *testing.B) {
	tok := strings.Repeat("A", 100_000)
	for _, tc := range []struct {
		name, text string
		secrets    []string
	}{
		{"description", "Client authentication failed. Either the client or the client credentials are invalid.", []string{"Bench-Secret-0123456789"}},
		{"token-in-scope", tok[:len(tok)-1], []string{"Bench-Secret-0123456789", tok}},
		{"split-secret", "bad secret Bench-Secret-01\n23456789 for client", []string{"Bench-Secret-0123456789"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bd := oauthcheck.NewBoundary("bench", tc.secrets...)
			b.ReportAllocs()
			for b.Loop() {
				if bd.Text(tc.text, oauthcheck.MaxScope) == "" && tc.name == "description" {
					b.Fatal("nothing kept")
				}
			}
		})
	}
}
