package main

import (
	"fmt"
	"os"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/policies"
)

func newFmtCmd(opts *globalOptions) *cobra.Command {
	var check, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [FILE...]",
		Short: "Rewrite configuration files in the canonical HCL layout",
		Long: `Fmt rewrites configuration files (default: the --config file) in HCL's
canonical layout, as terraform fmt does, and prints the names of the files it
changed. With --check it changes nothing and exits 3 when a file needs
formatting; --diff prints the changes.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			if len(files) == 0 {
				files = []string{opts.configPath}
			}
			unformatted := 0
			for _, path := range files {
				src, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				out, err := policies.Format(src, path)
				if err != nil {
					return err
				}
				if string(out) == string(src) {
					continue
				}
				unformatted++
				fmt.Fprintln(opts.Out, path)
				if diff {
					d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
						A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
						FromFile: "old/" + path, ToFile: "new/" + path, Context: 3,
					})
					fmt.Fprint(opts.Out, d)
				}
				if !check {
					info, err := os.Stat(path)
					if err != nil {
						return err
					}
					if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
						return err
					}
				}
			}
			if check && unformatted > 0 {
				return &codedError{code: fmtUnformatted}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; exit 3 when a file is not formatted")
	cmd.Flags().BoolVar(&diff, "diff", false, "print the changes")
	return cmd
}
