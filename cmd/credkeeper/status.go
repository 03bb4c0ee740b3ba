package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/rotation"
)

type statusJSON struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Provider    string `json:"provider"`
	Owner       string `json:"owner"`
	RotateBy    string `json:"rotate_by"`
	DaysLeft    *int   `json:"days_left"`
	Version     int    `json:"version"`
	LastClass   string `json:"last_class"`
	LastCheck   string `json:"last_check"`
	LastSuccess string `json:"last_success"`
	Failures    int    `json:"consecutive_failures"`
	Pending     string `json:"pending"`
}

func newStatusCmd(opts *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Every credential's deadline and last check, in one table",
		Long: `Status reads what Vault holds (metadata, state/NAME, pending/NAME) and sends
no token request: run check for that. A token with the auditor policy is enough.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			rows, err := rotation.StatusAll(cmd.Context(), store, opts.now())
			if err != nil {
				return err
			}
			out := make([]statusJSON, 0, len(rows))
			for _, r := range rows {
				j := statusJSON{Name: r.Name, Environment: r.Environment, Provider: r.Provider, Owner: r.Owner, RotateBy: dates.Format(r.RotateBy),
					Version: r.Version, LastClass: r.LastClass, LastCheck: dates.FormatTime(r.LastCheck), LastSuccess: dates.FormatTime(r.LastSuccess), Failures: r.Failures, Pending: r.Pending}
				if !r.RotateBy.IsZero() {
					d := r.DaysLeft
					j.DaysLeft = &d
				}
				out = append(out, j)
			}
			if asJSON {
				return writeJSON(opts.Out, out)
			}
			tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tENVIRONMENT\tROTATE BY\tDAYS LEFT\tLAST CHECK\tCLASS\tFAILURES\tPENDING")
			for _, j := range out {
				days := "-"
				if j.DaysLeft != nil {
					days = fmt.Sprint(*j.DaysLeft)
					if *j.DaysLeft < 0 {
						days = fmt.Sprintf("overdue %d", -*j.DaysLeft)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.Name, dash(j.Environment), dash(j.RotateBy), days, dash(j.LastCheck), dash(j.LastClass), j.Failures, dash(j.Pending))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
