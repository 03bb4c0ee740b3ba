package oauthcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// A user grant's code exchange by a key credential sends the code with a
// client assertion signed by the key for the token URL, and no secret; a
// refusal that writes the assertion back shows none of it.
func TestACodeExchangeAuthenticatesWithTheKey(t *testing.T) {
	key, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var srvURL, sent string
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sent = r.PostForm.Get("client_assertion")
		w.Header().Set("Content-Type", "application/json")
		tok, err := jwt.ParseSigned(sent, []jose.SignatureAlgorithm{jose.ES256})
		var c jwt.Claims
		if err != nil || tok.Claims(key.Public(), &c) != nil || c.Issuer != "app-1" || !c.Audience.Contains(srvURL+"/token") ||
			r.PostForm.Get("code") != "the-code" || r.PostForm.Has("client_secret") || r.Header.Get("Authorization") != "" ||
			r.PostForm.Get("client_assertion_type") != clientkey.AssertionType {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if refuse {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"code refused for %s"}`, sent)
			return
		}
		fmt.Fprint(w, `{"access_token":"user-token-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer srv.Close()
	srvURL = srv.URL
	e := oauthcheck.Endpoint{Name: "idp", TokenURL: srv.URL + "/token", AuthStyle: oauthcheck.AuthStylePrivateKeyJWT}
	cl := oauthcheck.Client{ID: "app-1", Key: key}
	oc := e.AuthCodeConfig(cl, srv.URL+"/authorize", "http://127.0.0.1:8080/callback", nil)
	g, err := oauthcheck.ExchangeCode(context.Background(), nil, e, cl, oc, "the-code", now)
	if err != nil || g.Token.Reveal() != "user-token-1" {
		t.Fatalf("exchange: %v", err)
	}
	refuse = true
	_, err = oauthcheck.ExchangeCode(context.Background(), nil, e, cl, oc, "the-code", now)
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("a refused exchange: %v", err)
	}
	for _, part := range strings.Split(sent, ".") {
		if strings.Contains(err.Error(), part[:16]) {
			t.Errorf("the error shows the assertion: %v", err)
		}
	}
}
