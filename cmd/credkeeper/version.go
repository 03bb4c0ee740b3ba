package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/version"
)

// VersionOptions are version's flags: the global ones alone.
type VersionOptions struct {
	*globalOptions
}

// NewCmdVersion is `credkeeper version`. runF runs it (versionRun when nil).
func NewCmdVersion(g *globalOptions, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	o := &VersionOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "version",
		Short: "Print credkeeper's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return versionRun(cmd.Context(), o)
		},
	}
}

func versionRun(_ context.Context, o *VersionOptions) error {
	_, err := fmt.Fprintf(o.Out, "credkeeper %s (%s, %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
