package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/policies"
)

func newValidateCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file without contacting Vault",
		Long: `Validate reads the configuration file (--config, default credkeeper.hcl) and
reports every problem with file:line:col. It contacts nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := policies.Load(opts.configPath); err != nil {
				return err
			}
			_, err := fmt.Fprintln(opts.Out, "Success! The configuration is valid.")
			return err
		},
	}
}
