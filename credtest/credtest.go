package credtest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// OktaAPIToken is the API token the emulator's Okta client secrets API
// accepts.
const OktaAPIToken = "00Credtest-Okta-Api-Token-0123456789"

// Start is when a World's clock starts.
var Start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Deadline is the rotation deadline tests give a credential that is not
// about its deadline.
var Deadline = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// World is one test's providers and Vault. Its providers: okta-stage and
// okta-prod (HTTP Basic, CTRP's Stage and Production servers) and
// doorkeeper (credentials in the body, scopes public and read_dmps).
type World struct {
	T      *testing.T
	Emu    *emulator.Server
	Env    *vaulttest.Env
	URL    string // the emulator's
	Cfg    *config.Config
	Store  *vaultstore.Store
	Engine *check.Engine
	// Clock is the time of the emulator and the engine: a fake clock at
	// Start, or the one an option gives the emulator; tests advance it.
	Clock *clockwork.FakeClock
}

// NewWorld makes a World; extraHCL, when not nil, adds configuration
// (it is given the emulator's URL). opts, when given, adjust the
// emulator's options.
func NewWorld(t *testing.T, extraHCL func(emulatorURL string) string, opts ...func(*emulator.Options)) *World {
	t.Helper()
	w := &World{T: t}
	eo := emulator.Options{LockoutAfter: 3, APIToken: OktaAPIToken, Clock: clockwork.NewFakeClockAt(Start)}
	for _, f := range opts {
		f(&eo)
	}
	fc, ok := eo.Clock.(*clockwork.FakeClock)
	if !ok {
		t.Fatalf("credtest: the emulator's clock is a %T, not a fake clock", eo.Clock)
	}
	w.Clock = fc
	w.Emu = emulator.New(eo)
	srv := httptest.NewServer(w.Emu)
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	extra := ""
	if extraHCL != nil {
		extra = extraHCL(w.URL)
	}
	hcl := fmt.Sprintf(`
provider "okta-stage" {
  token_url  = "%[1]s/oauth2/%[2]s/v1/token"
  auth_style = "header"
  timeout    = "2s"
  environment = "stage"
}
provider "okta-prod" {
  token_url  = "%[1]s/oauth2/%[3]s/v1/token"
  auth_style = "header"
  environment = "prod"
}
provider "doorkeeper" {
  token_url  = "%[1]s/oauth/token"
  auth_style = "body"
  scopes     = ["public", "read_dmps"]
}
%[4]s
`, w.URL, emulator.AuthServerStage, emulator.AuthServerProd, extra)
	cfg, diags := config.Parse([]byte(hcl), "test.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	w.Cfg = cfg
	w.Env = vaulttest.New(t)
	w.Store = w.Env.Store(t)
	w.Engine = &check.Engine{Store: w.Store, Config: cfg, Clock: w.Clock}
	return w
}

// Put stores a credential in Vault and returns its version.
func (w *World) Put(name, provider, clientID, clientSecret string, rotateBy time.Time) int {
	w.T.Helper()
	info, err := w.Store.CredentialInfo(context.Background(), name)
	cas := 0
	if err == nil {
		cas = info.Version
	}
	v, err := w.Store.PutCredential(context.Background(), &vaultstore.Credential{
		Name: name, ClientID: clientID, ClientSecret: secret.New(clientSecret),
		Metadata: vaultstore.CredentialMetadata{Provider: provider, RotateBy: rotateBy},
	}, cas)
	if err != nil {
		w.T.Fatal(err)
	}
	return v
}

// Check runs the engine's check of name and fails the test on a Vault error.
func (w *World) Check(name string, force bool) oauthcheck.Result {
	w.T.Helper()
	r, err := w.Engine.CheckOne(context.Background(), name, force)
	if err != nil {
		w.T.Fatalf("CheckOne(%s): %v", name, err)
	}
	return r
}
