package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
)

func newNotifyCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "The channels reminders and alerts go out on",
	}
	cmd.AddCommand(NewCmdNotifyTest(opts, nil))
	return cmd
}

// NotifyTestOptions are notify test's argument.
type NotifyTestOptions struct {
	*globalOptions
	Notifier string
}

// NewCmdNotifyTest is `credkeeper notify test`. runF runs it (notifyTestRun when nil).
func NewCmdNotifyTest(g *globalOptions, runF func(context.Context, *NotifyTestOptions) error) *cobra.Command {
	o := &NotifyTestOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "test NOTIFIER",
		Short: "Send a test notice through one notifier of the configuration",
		Args:  exactArgs(1, "NOTIFIER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Notifier = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return notifyTestRun(cmd.Context(), o)
		},
	}
}

func notifyTestRun(ctx context.Context, o *NotifyTestOptions) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Filename == "" {
		cfg.Filename = o.configPath
	}
	if err := app.SendTestNotice(ctx, cfg, o.Notifier, o.clock); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "Sent a test notice through %s.\n", o.Notifier)
	return err
}
