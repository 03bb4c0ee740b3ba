package oauthcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// A code exchange keeps Doorkeeper's created_at as the grant's creation
// only when it is a moment already past: one beyond the int64 range, or
// in the future, leaves the exchange's own time.
func TestACodeExchangeKeepsACreationTimeOnlyWhenPast(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, contentType, body string
		want                    time.Time
	}{
		{"JSON, a minute ago", "application/json", fmt.Sprintf(`{"access_token":"u-1","token_type":"Bearer","expires_in":3600,"created_at":%d}`, now.Add(-time.Minute).Unix()), now.Add(-time.Minute)},
		{"JSON, in a year", "application/json", fmt.Sprintf(`{"access_token":"u-1","token_type":"Bearer","expires_in":3600,"created_at":%d}`, now.AddDate(1, 0, 0).Unix()), now},
		{"a form, beyond int64", "application/x-www-form-urlencoded", "access_token=u-1&token_type=bearer&expires_in=3600&created_at=9223372036854775807", now},
		{"a form, 1e300", "application/x-www-form-urlencoded", "access_token=u-1&token_type=bearer&expires_in=3600&created_at=1e300", now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			e := oauthcheck.Endpoint{Name: "idp", TokenURL: srv.URL + "/token", AuthStyle: oauthcheck.AuthStyleHeader}
			cl := oauthcheck.Client{ID: "app-1", Secret: secret.New("exchange-secret-0123456789")}
			oc := e.AuthCodeConfig(cl, srv.URL+"/authorize", "http://127.0.0.1:8080/callback", nil)
			g, err := oauthcheck.ExchangeCode(context.Background(), nil, e, cl, oc, "the-code", now)
			if err != nil {
				t.Fatal(err)
			}
			if !g.CreatedAt.Equal(tc.want) {
				t.Errorf("created %v, want %v", g.CreatedAt, tc.want)
			}
		})
	}
}
