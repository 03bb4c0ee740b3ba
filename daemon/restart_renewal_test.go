package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
)

// A restart forgets the moment the published token is due for renewal,
// but Vault's tokens/NAME tells it again: the token a daily credential
// published before the restart is renewed before it expires, not left
// expired until the credential's next scheduled check (the first look
// after the start skips the check, as the last one is recent).
func TestARestartedDaemonRenewsATokenPublishedBeforeTheRestart(t *testing.T) {
	w, f := newDaemonWorld(t, `credential "daily" {
  provider = "okta-stage"
  check    = "@every 24h"
  publish_token {
    renew_before = "1h"
  }
}
`)
	w.Cfg.Daemon.LeaseTTL = time.Hour // fewer renewals to step through
	w.Emu.AddClient(emulator.Client{ID: "0oa-d", Secrets: []string{"s"}})
	w.Put("daily", "okta-stage", "0oa-d", "s", credtest.Deadline)
	ctx := context.Background()
	_, stop := f.start(w.Store, w.Cfg, "replica-a")
	f.advance(time.Minute)
	first, err := w.Store.GetToken(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour)
	stop() // a clean stop releases the lease; the next process leads at once
	f.start(w.Store, w.Cfg, "replica-a")
	f.advance(12 * time.Hour) // Okta's tokens live 8h
	tok, err := w.Store.GetToken(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.After(f.Now()) {
		st, _ := w.Store.GetState(ctx, "daily")
		t.Errorf("12h after the restart tokens/daily (version %d) expired at %s (the first, published before the restart, at %s); last check %s: CI reads an expired token until the next scheduled check",
			tok.Version, tok.ExpiresAt.Format(time.DateTime), first.ExpiresAt.Format(time.DateTime), st.LastCheck.Format(time.DateTime))
	}
}
