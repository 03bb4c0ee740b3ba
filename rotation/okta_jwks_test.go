package rotation

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

// The JWKS API client against the emulator: a key is added inactive and
// listed with its thumbprint (the key's own fingerprint), activated,
// deactivated and deleted; Okta's refusals come back as OktaError with
// Okta's words and never the API token.
func TestOktaKeysAgainstTheEmulator(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2027, 2, 16, 9, 0, 0, 0, time.UTC))
	emu := emulator.New(emulator.Options{APIToken: oktaAPIToken, Clock: clock})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.AddClient(emulator.Client{ID: "0oa-keys", AppID: "0oa-app-keys"})
	ctx := context.Background()
	api := &OktaKeys{OrgURL: srv.URL, AppID: "0oa-app-keys", Token: secret.New(oktaAPIToken)}

	k, err := clientkey.Generate(clientkey.ES256)
	if err != nil {
		t.Fatal(err)
	}
	added, err := api.Add(ctx, k.PublicJWK(), "INACTIVE")
	if err != nil || added.Status != "INACTIVE" || added.KeyID != k.KeyID || added.Thumbprint != k.Fingerprint() || !added.Created.Equal(clock.Now()) {
		t.Fatalf("add: %+v %v", added, err)
	}
	if _, err := api.Add(ctx, k.PublicJWK(), "INACTIVE"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the same kid again: %v", err)
	}
	var oe *OktaError
	if err := api.Delete(ctx, "pks-none"); !errors.As(err, &oe) || oe.Status != 404 {
		t.Errorf("an unknown key: %v", err)
	}
	if err := api.Activate(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := api.Status(ctx, added.ID); st != "ACTIVE" || err != nil {
		t.Errorf("activated: %q %v", st, err)
	}
	if err := api.Deactivate(ctx, added.ID); err == nil || !strings.Contains(err.Error(), "must keep one active") {
		t.Errorf("the last active key: %v", err)
	}
	if err := api.Delete(ctx, added.ID); err == nil || !strings.Contains(err.Error(), "Deactivate the JSON Web Key before deleting it") {
		t.Errorf("deleting an active key: %v", err)
	}
	second, _ := clientkey.Generate(clientkey.RS256)
	if _, err := api.Add(ctx, second.PublicJWK(), "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	if err := api.Deactivate(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	if err := api.Delete(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	list, err := api.List(ctx)
	if err != nil || len(list) != 1 || list[0].KeyID != second.KeyID || list[0].Thumbprint != second.Fingerprint() || list[0].Status != "ACTIVE" {
		t.Errorf("the list: %+v %v", list, err)
	}

	bad := &OktaKeys{OrgURL: srv.URL, AppID: "0oa-app-keys", Token: secret.New("00Wrong-Token-abcdefghijklmnop")}
	_, err = bad.List(ctx)
	if err == nil || !strings.Contains(err.Error(), "check api_token_file") {
		t.Errorf("a wrong token: %v", err)
	}
	notifytest.AssertNoSecret(t, "the error", []string{err.Error()}, "00Wrong-Token-abcdefghijklmnop", oktaAPIToken)
	priv := k.PublicJWK()
	priv.Key = nil
	if _, err := api.Add(ctx, priv, "ACTIVE"); err == nil {
		t.Error("a JWK without a key is not added")
	}
}
