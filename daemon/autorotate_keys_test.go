package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The daemon rotates a key credential through Okta's JWKS API on its
// schedule: start_before the deadline it adds and activates a new key,
// proves and promotes it, keeps publishing tokens; after the overlap the
// old key is deactivated and deleted. No incident opens, nothing pages.
func TestDaemonRotatesAKeyThroughOktasJWKSAPI(t *testing.T) {
	tokenFile := oktaTokenFile(t)
	w, f := newDaemonWorld(t, fmt.Sprintf(`notifier "webhook" "security" {
  url = "http://127.0.0.1:1/unused"
}
notifier "webhook" "oncall" {
  url = "http://127.0.0.1:1/unused"
}
provider "okta-keys" {
  token_url  = "EMULATOR_URL/oauth2/%s/v1/token"
  auth_style = "private_key_jwt"
}
credential "svc-keys" {
  provider = "okta-keys"
  check    = "@every 6h"
  notify   = ["security"]
  page     = ["oncall"]
  publish_token {
    renew_before = "10m"
  }
  auto_rotate {
    okta_org_url   = "EMULATOR_URL"
    app_id         = "0oa-app-keys"
    api_token_file = %q
  }
}
`, emulator.AuthServerStage, tokenFile))
	w.Cfg.Daemon.LeaseTTL = 7 * 24 * time.Hour
	ctx := context.Background()
	old, err := clientkey.Generate(clientkey.RS256)
	if err != nil {
		t.Fatal(err)
	}
	w.Emu.AddClient(emulator.Client{ID: "0oa-keys", AppID: "0oa-app-keys", Keys: []emulator.ClientKey{
		{ID: "pks-old", JWK: old.PublicJWK(), Status: emulator.KeyActive, Created: f.Now()},
	}})
	if _, err := w.Store.PutCredential(ctx, &vaultstore.Credential{Name: "svc-keys", ClientID: "0oa-keys", PrivateKey: old.PEM(), KeyID: old.KeyID, KeyAlg: old.Alg,
		Metadata: vaultstore.CredentialMetadata{Provider: "okta-keys", RotateBy: f.Now().Add(10 * 24 * time.Hour)}}, 0); err != nil {
		t.Fatal(err)
	}
	security, oncall := &keyInbox{}, &keyInbox{}
	f.start(w.Store, w.Cfg, "replica-a", func(d *daemon.Daemon) {
		d.Notices = &daemon.Notifications{Store: w.Store, Config: w.Cfg, Replica: "replica-a", Channels: map[string]notify.Notifier{"security": security, "oncall": oncall}}
	})
	f.advance(time.Hour)
	rot, err := w.Store.GetRotation(ctx, "svc-keys")
	if err != nil || rot.Step != rotation.StepPromoted || rot.NewKeyID == "" || rot.NewKeyID == old.KeyID {
		t.Fatalf("the rotation: %+v %v; want it promoted to a new key", rot, err)
	}
	if keys := w.Emu.AppKeys("0oa-keys"); len(keys) != 2 {
		t.Fatalf("during the overlap Okta holds both keys: %v", keys)
	}
	f.advance(8 * 24 * time.Hour)
	rot, err = w.Store.GetRotation(ctx, "svc-keys")
	keys := w.Emu.AppKeys("0oa-keys")
	if err != nil || rot.Step != rotation.StepDone || len(keys) != 1 || !strings.HasSuffix(keys[0], " "+rot.NewKeyID+" ACTIVE") {
		t.Fatalf("after the overlap: %+v %v, Okta %v; want the old key deleted", rot, err, keys)
	}
	if res := w.Check("svc-keys", true); res.Class != "ok" {
		t.Errorf("the new key: %s %s", res.Class, res.Detail)
	}
	if tok, err := w.Store.GetToken(ctx, "svc-keys"); err != nil || tok.AccessToken.IsZero() {
		t.Errorf("the published token: %v", err)
	}
	for _, k := range security.got() {
		if strings.HasPrefix(k, "rotation_abandoned/") || strings.HasPrefix(k, "rotation_failed/") || strings.HasPrefix(k, "incident/") {
			t.Errorf("security was told %s", k)
		}
	}
	if got := oncall.got(); len(got) != 0 {
		t.Errorf("on-call was paged: %v", got)
	}
}
