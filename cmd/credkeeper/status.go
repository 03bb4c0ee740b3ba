package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/app/view"
)

// StatusOptions are status's flags.
type StatusOptions struct {
	*globalOptions
	JSON bool
}

// NewCmdStatus is `credkeeper status`. runF runs it (statusRun when nil).
func NewCmdStatus(g *globalOptions, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	o := &StatusOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Every credential's deadline and last check, in one table",
		Long: `Status reads what Vault holds (metadata, state/NAME, pending/NAME) and sends
no token request: run check for that. A token with the auditor policy is enough.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return statusRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func statusRun(ctx context.Context, o *StatusOptions) error {
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	rows, err := check.StatusAll(ctx, store, o.clock.Now())
	if err != nil {
		return err
	}
	if o.JSON {
		return view.WriteJSON(o.Out, view.Statuses(rows))
	}
	return view.WriteStatusTable(o.Out, rows)
}
