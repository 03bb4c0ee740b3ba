package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/config"
)

func newValidateCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file without contacting Vault",
		Long: `Validate reads the configuration file (--config, default credkeeper.hcl) and
reports every problem with file:line:col. Warnings (a value that works but
is probably not what you meant) are printed on standard error and do not
fail it. It contacts nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(opts.configPath)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintln(opts.Err, w)
			}
			_, err = fmt.Fprintln(opts.Out, "Success! The configuration is valid.")
			return err
		},
	}
}
