package main

import (
	"fmt"
	"os"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/config"
)

// FmtOptions are fmt's arguments and flags.
type FmtOptions struct {
	*globalOptions
	Files []string // default: the --config file
	Check bool
	Diff  bool
}

// NewCmdFmt is `credkeeper fmt`. runF runs it (fmtRun when nil).
func NewCmdFmt(g *globalOptions, runF func(*FmtOptions) error) *cobra.Command {
	o := &FmtOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "fmt [FILE...]",
		Short: "Rewrite configuration files in the canonical HCL layout",
		Long: `Fmt rewrites configuration files (default: the --config file) in HCL's
canonical layout, as terraform fmt does, and prints the names of the files it
changed. With --check it changes nothing and exits 3 when a file needs
formatting; --diff prints the changes.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			if len(files) == 0 {
				files = []string{o.configPath}
			}
			o.Files = files
			if runF != nil {
				return runF(o)
			}
			return fmtRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.Check, "check", false, "change nothing; exit 3 when a file is not formatted")
	cmd.Flags().BoolVar(&o.Diff, "diff", false, "print the changes")
	return cmd
}

func fmtRun(o *FmtOptions) error {
	unformatted := 0
	for _, path := range o.Files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, err := config.Format(src, path)
		if err != nil {
			return err
		}
		if string(out) == string(src) {
			continue
		}
		unformatted++
		fmt.Fprintln(o.Out, path)
		if o.Diff {
			d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
				FromFile: "old/" + path, ToFile: "new/" + path, Context: 3,
			})
			fmt.Fprint(o.Out, d)
		}
		if !o.Check {
			info, err := os.Stat(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	if o.Check && unformatted > 0 {
		return &codedError{code: fmtUnformatted}
	}
	return nil
}
