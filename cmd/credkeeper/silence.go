package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
)

// SilenceOptions are silence's flags.
type SilenceOptions struct {
	*globalOptions
	Name   string
	Until  string
	Reason string
	Kinds  []string
	JSON   bool
}

// NewCmdSilence is `credkeeper silence NAME`, with list and expire. runF
// runs it (silenceRun when nil).
func NewCmdSilence(g *globalOptions, runF func(context.Context, *SilenceOptions) error) *cobra.Command {
	o := &SilenceOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "silence NAME --until DATE --reason TEXT [--kind reminder|overdue|ops|incident|all]",
		Short: "Hold back a credential's notices until a date, with a reason",
		Long: `Silence writes silences/NAME in Vault: the daemon sends none of the named
kinds of notice for the credential until the date, then the silence lapses by
itself. --kind all (the default) is reminder, overdue and ops; a production
credential's incidents page unless --kind incident is given on purpose. A
silence lasts at most the notifications block's max_silence (default 90d).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return silenceRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Until, "until", "", "the date the silence lapses (YYYY-MM-DD, UTC), at most max_silence (default 90d) away")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why, for whoever sees it")
	cmd.Flags().StringSliceVar(&o.Kinds, "kind", nil, "kinds of notice to hold back: reminder, overdue, ops, incident, all (repeatable; default all)")
	cmd.AddCommand(NewCmdSilenceList(g, nil), NewCmdSilenceExpire(g, nil))
	return cmd
}

// NewCmdSilenceList is `credkeeper silence list`. runF runs it (silenceListRun when nil).
func NewCmdSilenceList(g *globalOptions, runF func(context.Context, *SilenceOptions) error) *cobra.Command {
	o := &SilenceOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Every silence, active or lapsed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return silenceListRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// NewCmdSilenceExpire is `credkeeper silence expire`. runF runs it (silenceExpireRun when nil).
func NewCmdSilenceExpire(g *globalOptions, runF func(context.Context, *SilenceOptions) error) *cobra.Command {
	o := &SilenceOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "expire NAME",
		Short: "End a credential's silence now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return silenceExpireRun(cmd.Context(), o)
		},
	}
}

func silenceRun(ctx context.Context, o *SilenceOptions) error {
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	req := app.SilenceRequest{Name: o.Name, Until: o.Until, Reason: o.Reason, Kinds: o.Kinds, MaxSilence: cfg.Notifications.MaxSilence}
	si, warnings, err := app.SetSilence(ctx, store, req, o.clock.Now())
	for _, w := range warnings {
		fmt.Fprintln(o.Err, "warning: "+w)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s: %s silenced until %s (%s), by %s.\n", o.Name, strings.Join(si.Kinds, ", "), dates.FormatTime(si.Until), si.Reason, si.CreatedBy)
	return nil
}

func silenceExpireRun(ctx context.Context, o *SilenceOptions) error {
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	si, err := app.ExpireSilence(ctx, store, o.Name, o.clock.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s: the silence ended at %s.\n", o.Name, dates.FormatTime(si.Until))
	return nil
}

func silenceListRun(ctx context.Context, o *SilenceOptions) error {
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	all, err := store.ListSilences(ctx)
	if err != nil {
		return err
	}
	rows := view.Silences(all, o.clock.Now())
	if o.JSON {
		return view.WriteJSON(o.Out, rows)
	}
	return view.WriteSilenceTable(o.Out, rows)
}
