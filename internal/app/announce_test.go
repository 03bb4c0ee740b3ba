package app_test

import (
	"context"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

// A channel a credential names both to notify and to page is told of a
// rotation once: the notice does not go through the ledger, so nothing
// else would catch the second send.
func TestARotationIsToldOnceToAChannelNamedInNotifyAndPage(t *testing.T) {
	recv := notifytest.StartReceiver(t)
	cfg, diags := config.Parse([]byte(`
notifier "webhook" "both" {
  url = "`+recv.URL+`/hook"
}
notifier "webhook" "oncall" {
  url = "`+recv.URL+`/oncall"
}
credential "ctrp-prod" {
  provider = "ctrp-prod"
  notify   = ["both"]
  page     = ["both", "oncall"]
}
`), "announce.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	told, err := app.AnnounceRotation(context.Background(), cfg, "ctrp-prod", 2, clockwork.NewFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	if len(told) != 2 || told[0] != "both" || told[1] != "oncall" {
		t.Errorf("told %v, want [both oncall]", told)
	}
	if n := len(recv.Bodies()); n != 2 {
		t.Errorf("%d notices received, want one per channel (2)", n)
	}
}
