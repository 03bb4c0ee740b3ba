package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/rotation"
)

func newNotifyCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "The channels reminders and alerts go out on",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "test NOTIFIER",
		Short: "Send a test notice through one notifier of the configuration",
		Args:  exactArgs(1, "NOTIFIER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := opts.loadConfig(cmd)
			if err != nil {
				return err
			}
			if _, ok := cfg.Notifiers[args[0]]; !ok {
				return fmt.Errorf("no notifier named %q in %s", args[0], opts.configPath)
			}
			channels, err := rotation.BuildNotifiers(cfg, nil)
			if err != nil {
				return err
			}
			n := &daemon.Notifications{Config: cfg, Channels: channels}
			now := opts.now()
			err = n.Announce(cmd.Context(), []string{args[0]}, notify.Notice{
				Key: "test/" + args[0] + "/" + now.UTC().Format("20060102T150405Z"), Kind: notify.KindTest, Credential: "(test)",
				Summary: "A test notice from credkeeper: this channel works.", Action: "nothing.", At: now})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(opts.Out, "Sent a test notice through %s.\n", args[0])
			return err
		},
	})
	return cmd
}
