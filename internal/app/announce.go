package app

import (
	"context"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/notify"
)

// SendTestNotice sends a test notice through the notifier of that name,
// dated by clock, whose time its retries wait on.
func SendTestNotice(ctx context.Context, cfg *config.Config, notifier string, clock clockwork.Clock) error {
	now := clock.Now()
	if _, ok := cfg.Notifiers[notifier]; !ok {
		return fmt.Errorf("no notifier named %q in %s", notifier, cfg.Filename)
	}
	return announce(ctx, cfg, clock, []string{notifier}, notify.Notice{
		Key: "test/" + notifier + "/" + now.UTC().Format("20060102T150405Z"), Kind: notify.KindTest, Credential: "(test)",
		Summary: "A test notice from credkeeper: this channel works.", Action: "nothing.", At: now})
}

// AnnounceRotation tells a credential's notify and page channels that its
// version now holds a new pair, and returns the channels it told (none
// when the credential names none). The notice is dated by clock, whose
// time its retries wait on.
func AnnounceRotation(ctx context.Context, cfg *config.Config, name string, version int, clock clockwork.Clock) ([]string, error) {
	decl, ok := cfg.Credential(name)
	if !ok || len(decl.Notify)+len(decl.Page) == 0 {
		return nil, nil
	}
	targets := decl.Channels()
	return targets, announce(ctx, cfg, clock, targets, notify.Notice{
		Key: fmt.Sprintf("rotated/%s/%d", name, version), Kind: notify.KindRotated, Credential: name, Environment: decl.Environment,
		Provider: decl.Provider, Summary: fmt.Sprintf("%s was rotated: version %d holds the new pair.", name, version), Action: "nothing.", At: clock.Now()})
}

func announce(ctx context.Context, cfg *config.Config, clock clockwork.Clock, channels []string, n notify.Notice) error {
	built, err := BuildNotifiers(cfg, nil, clock)
	if err != nil {
		return err
	}
	return (&daemon.Notifications{Config: cfg, Channels: built, Clock: clock}).Announce(ctx, channels, n)
}
