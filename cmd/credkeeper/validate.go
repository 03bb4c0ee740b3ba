package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/config"
)

// ValidateOptions are validate's flags: the global ones alone.
type ValidateOptions struct {
	*globalOptions
}

// NewCmdValidate is `credkeeper validate`. runF runs it (validateRun when nil).
func NewCmdValidate(g *globalOptions, runF func(context.Context, *ValidateOptions) error) *cobra.Command {
	o := &ValidateOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file without contacting Vault",
		Long: `Validate reads the configuration file (--config, default credkeeper.hcl) and
reports every problem with file:line:col. Warnings (a value that works but
is probably not what you meant) are printed on standard error and do not
fail it. It prints the request budgets the providers share (one per token
endpoint host, or per budget_group), a line each. It contacts nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return validateRun(cmd.Context(), o)
		},
	}
}

func validateRun(_ context.Context, o *ValidateOptions) error {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(o.Err, w)
	}
	for _, g := range cfg.BudgetGroups() {
		fmt.Fprintln(o.Out, g)
	}
	_, err = fmt.Fprintln(o.Out, "Success! The configuration is valid.")
	return err
}
