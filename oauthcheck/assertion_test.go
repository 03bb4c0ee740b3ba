package oauthcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// keyWorld is the emulator with one client registered for a key.
type keyWorld struct {
	emu      *emulator.Server
	clock    *clockwork.FakeClock
	endpoint oauthcheck.Endpoint
	key      *clientkey.Key
}

// testKeys are the tests' keys, one per algorithm, made once: an RSA key
// takes a while to generate on a loaded machine.
var testKeys sync.Map

func testKey(t *testing.T, alg string) *clientkey.Key {
	t.Helper()
	if k, ok := testKeys.Load(alg); ok {
		return k.(*clientkey.Key)
	}
	k, err := clientkey.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	testKeys.Store(alg, k)
	return k
}

func newKeyWorld(t *testing.T, alg string) keyWorld {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	emu := emulator.New(emulator.Options{Clock: clock})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	key := testKey(t, alg)
	emu.AddClient(emulator.Client{ID: "0oa-keyed", Keys: []emulator.ClientKey{
		{ID: key.KeyID, JWK: key.PublicJWK(), Status: emulator.KeyActive, Created: clock.Now()},
	}})
	return keyWorld{emu: emu, clock: clock, key: key, endpoint: oauthcheck.Endpoint{Name: "okta",
		TokenURL: srv.URL + "/oauth2/" + emulator.AuthServerStage + "/v1/token", AuthStyle: oauthcheck.AuthStylePrivateKeyJWT}}
}

func TestAKeyCredentialIsCheckedByItsAssertion(t *testing.T) {
	other, err := clientkey.Generate(clientkey.RS256)
	if err != nil {
		t.Fatal(err)
	}
	sameKidOtherKey, err := clientkey.Parse([]byte(other.PEM().Reveal()), "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		key       func(w keyWorld) *clientkey.Key
		setup     func(w keyWorld)
		skew      time.Duration // this host's clock minus the provider's
		want      oauthcheck.Class
		wantInDet string
	}{
		{name: "the registered key gets a token", want: oauthcheck.ClassOK},
		{name: "a key the provider does not know is invalid_client", key: func(keyWorld) *clientkey.Key { return other },
			want: oauthcheck.ClassInvalidClient, wantInDet: "kid is invalid"},
		{name: "a key signing under the registered kid is invalid_client", key: func(w keyWorld) *clientkey.Key {
			sameKidOtherKey.KeyID = w.key.KeyID
			return sameKidOtherKey
		}, want: oauthcheck.ClassInvalidClient, wantInDet: "signature is invalid"},
		{name: "a deactivated key is invalid_client", setup: func(w keyWorld) {
			w.emu.AddClient(emulator.Client{ID: "0oa-keyed", Keys: []emulator.ClientKey{{ID: w.key.KeyID, JWK: w.key.PublicJWK(), Status: emulator.KeyInactive}}})
		}, want: oauthcheck.ClassInvalidClient, wantInDet: "deactivated"},
		{name: "a host clock two hours slow is misconfigured, not the key", skew: -2 * time.Hour,
			want: oauthcheck.ClassMisconfigured, wantInDet: "check this host's clock"},
		{name: "a host clock two hours fast is misconfigured, not the key", skew: 2 * time.Hour,
			want: oauthcheck.ClassMisconfigured, wantInDet: "check this host's clock"},
		{name: "a host clock ten minutes fast is misconfigured, not the key", skew: 10 * time.Minute,
			want: oauthcheck.ClassMisconfigured, wantInDet: "check this host's clock"},
	}
	for _, alg := range []string{clientkey.RS256, clientkey.ES256} {
		for _, c := range cases {
			t.Run(alg+"/"+c.name, func(t *testing.T) {
				w := newKeyWorld(t, alg)
				key := w.key
				if c.key != nil {
					key = c.key(w)
				}
				if c.setup != nil {
					c.setup(w)
				}
				cl := oauthcheck.Client{ID: "0oa-keyed", Key: key, Name: "keyed"}
				r := (&oauthcheck.Checker{}).RequestToken(context.Background(), cl, w.endpoint, time.Time{}, w.clock.Now().Add(c.skew))
				if r.Class != c.want || !strings.Contains(r.Detail, c.wantInDet) {
					t.Fatalf("class %s, detail %q; want %s with %q", r.Class, r.Detail, c.want, c.wantInDet)
				}
				if c.want == oauthcheck.ClassOK && r.AccessToken.IsZero() {
					t.Error("no token")
				}
			})
		}
	}
}

func TestAKeyIsNeverSentWhereASecretIsWantedNorTheReverse(t *testing.T) {
	w := newKeyWorld(t, clientkey.ES256)
	transport := &refuseAll{}
	checker := &oauthcheck.Checker{Transport: transport}
	secretStyle := w.endpoint
	secretStyle.AuthStyle = oauthcheck.AuthStyleHeader
	for name, tc := range map[string]struct {
		cl oauthcheck.Client
		e  oauthcheck.Endpoint
	}{
		"a secret to a private_key_jwt provider": {oauthcheck.Client{ID: "0oa-keyed", Secret: secret.New("Not-A-Key")}, w.endpoint},
		"a key to a header provider":             {oauthcheck.Client{ID: "0oa-keyed", Key: w.key}, secretStyle},
		"a key that could not be read":           {oauthcheck.Client{ID: "0oa-keyed", KeyProblem: "no PEM private key found"}, w.endpoint},
	} {
		r := checker.RequestToken(context.Background(), tc.cl, tc.e, time.Time{}, w.clock.Now())
		if r.Class != oauthcheck.ClassMisconfigured || !strings.Contains(r.Detail, "nothing was sent") {
			t.Errorf("%s: %s %q", name, r.Class, r.Detail)
		}
	}
	if transport.n != 0 {
		t.Errorf("%d requests were sent", transport.n)
	}
}

// A provider that writes the assertion back in its error: the result
// keeps no part of it, and the request carried no client_secret.
func TestAnAssertionEchoedByTheProviderIsRemoved(t *testing.T) {
	key, err := clientkey.Generate(clientkey.RS256)
	if err != nil {
		t.Fatal(err)
	}
	var sent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sent = r.PostForm.Get("client_assertion")
		if r.PostForm.Has("client_secret") || r.Header.Get("Authorization") != "" || r.PostForm.Get("client_assertion_type") != clientkey.AssertionType {
			http.Error(w, "bad request shape", http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"assertion %s was refused (half: %s)"}`, sent, sent[len(sent)/2:])
	}))
	defer srv.Close()
	e := oauthcheck.Endpoint{Name: "echo", TokenURL: srv.URL + "/token", AuthStyle: oauthcheck.AuthStylePrivateKeyJWT}
	r := (&oauthcheck.Checker{}).RequestToken(context.Background(), oauthcheck.Client{ID: "c", Key: key}, e, time.Time{}, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	if sent == "" || r.Class != oauthcheck.ClassInvalidClient {
		t.Fatalf("class %s %q", r.Class, r.Detail)
	}
	out := fmt.Sprintf("%+v", r)
	for _, part := range strings.Split(sent, ".") {
		if strings.Contains(out, part[:16]) {
			t.Errorf("the result shows part of the assertion: %s", out)
		}
	}
}

func TestAssertionRefusalsAreSortedByWhatWasRefused(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		desc string
		want oauthcheck.Class
	}{
		{emulator.OktaAssertionKidInvalid, oauthcheck.ClassInvalidClient},
		{emulator.OktaAssertionSignature, oauthcheck.ClassInvalidClient},
		{emulator.OktaAssertionExpired, oauthcheck.ClassMisconfigured},
		{emulator.OktaAssertionTooFar, oauthcheck.ClassMisconfigured},
		{emulator.OktaAssertionNotYetValid, oauthcheck.ClassMisconfigured},
		{emulator.OktaAssertionJTIReused, oauthcheck.ClassProtocol},
		{"client authentication failed", oauthcheck.ClassInvalidClient},
	}
	for _, c := range cases {
		body := fmt.Sprintf(`{"error":"invalid_client","error_description":%q}`, c.desc)
		v := oauthcheck.Classify(oauthcheck.Response{Phase: oauthcheck.PhaseToken, Status: 401, Body: []byte(body),
			AuthStyle: oauthcheck.AuthStylePrivateKeyJWT}, time.Time{}, now)
		if v.Class != c.want {
			t.Errorf("%q: %s (%s), want %s", c.desc, v.Class, v.Detail, c.want)
		}
		// The same description after the deadline: only a refusal of the key becomes expired.
		late := oauthcheck.Classify(oauthcheck.Response{Phase: oauthcheck.PhaseToken, Status: 401, Body: []byte(body),
			AuthStyle: oauthcheck.AuthStylePrivateKeyJWT}, now.Add(-time.Hour), now)
		if c.want != oauthcheck.ClassInvalidClient && late.Class != c.want {
			t.Errorf("%q after the deadline: %s", c.desc, late.Class)
		}
	}
}
