package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
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
			cfg, err := opts.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Filename == "" {
				cfg.Filename = opts.configPath
			}
			if err := app.SendTestNotice(cmd.Context(), cfg, args[0], opts.clock); err != nil {
				return err
			}
			_, err = fmt.Fprintf(opts.Out, "Sent a test notice through %s.\n", args[0])
			return err
		},
	})
	return cmd
}
