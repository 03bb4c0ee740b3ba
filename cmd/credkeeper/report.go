package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/report"
)

// ReportOptions are report's flags.
type ReportOptions struct {
	*globalOptions
	Since   string
	Until   string
	Format  string
	OutFile string
}

// NewCmdReport is `credkeeper report`. runF runs it (reportRun when nil).
func NewCmdReport(g *globalOptions, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	o := &ReportOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "report [--since DATE] [--until DATE] [--format table|json|csv|html] [--out FILE]",
		Short: "The audit report: every rotation deadline met, missed or open, with who did what",
		Long: `Report reads Vault alone (metadata, rotations/NAME, ledger/NAME, silences/NAME,
the staged pairs' metadata) and never a secret: a token with the auditor policy
is enough. For each credential it shows each deadline in the period and whether
it was met (the date its new version was promoted, or "missed by N days"), the
rotation's steps with who and when, incidents with their time to resolve, the
notices sent and failed per channel, and the silences with their reasons; a
summary on top. The period is the year before today and the year after unless
--since and --until say otherwise. --format html writes one self-contained file
(no script, print-friendly) with the deadline timeline on top.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return reportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Since, "since", "", "first date of the period (YYYY-MM-DD, UTC; default a year ago)")
	cmd.Flags().StringVar(&o.Until, "until", "", "last date of the period (YYYY-MM-DD, UTC; default a year from today)")
	cmd.Flags().StringVar(&o.Format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	cmd.Flags().StringVar(&o.OutFile, "out", "", "write the report to this file instead of standard output")
	return cmd
}

func reportRun(ctx context.Context, o *ReportOptions) error {
	now := o.clock.Now()
	period, err := report.ParsePeriod(o.Since, o.Until, now)
	if err != nil {
		return err
	}
	if err := report.CheckFormat(o.Format); err != nil {
		return err
	}
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	recs, err := report.Gather(ctx, store)
	if err != nil {
		return err
	}
	r := report.Build(recs, period, now)
	var b bytes.Buffer
	if err := report.Write(&b, r, o.Format); err != nil {
		return err
	}
	if o.OutFile == "" {
		_, err := o.globalOptions.Out.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(o.OutFile, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	fmt.Fprintf(o.Err, "wrote the report of %s to %s to %s: %d credentials, %d deadlines met on time, %d missed, %d open\n",
		r.Since, r.Until, o.OutFile, r.Summary.Credentials, r.Summary.MetOnTime, r.Summary.Missed, r.Summary.Open)
	return nil
}
