package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/progress"
)

// CheckOptions are check's arguments and flags.
type CheckOptions struct {
	*globalOptions
	Names    []string
	All      bool
	JSON     bool
	Force    bool
	Parallel int
}

// NewCmdCheck is `credkeeper check`. runF runs it (checkRun when nil).
func NewCmdCheck(g *globalOptions, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	o := &CheckOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check [NAME...] [--all]",
		Short: "Request a token for each credential now and say what the provider answered",
		Long: `Check reads each credential from Vault, requests one token from its provider,
classifies the answer, records it in state/NAME, and prints a table (or --json).

Classes: ok, invalid_client, invalid_grant, expired (credential failures), and
rate_limited, unavailable, misconfigured, protocol (not the credential's fault).

A version the provider refused (invalid_client, invalid_grant, expired) is not
sent again until the secret changes in Vault, so that checking never locks an
account; --force sends it anyway.

Exit status: 0 every check ok; 2 a credential failure; 3 only failures that are
not the credential's (provider down, rate limited, misconfigured, protocol);
1 a usage or Vault error.`,
		Example: `  credkeeper check ctrp-stage
  credkeeper check --all --json`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if o.All == (len(names) > 0) {
				return usageError(cmd, errors.New("name the credentials to check, or pass --all (not both)"))
			}
			o.Names = names
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return checkRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "check every credential in Vault")
	f.BoolVar(&o.JSON, "json", false, "print JSON")
	f.BoolVar(&o.Force, "force", false, "send even a version the provider already refused")
	f.IntVar(&o.Parallel, "parallel", 8, "checks at once")
	return cmd
}

func checkRun(ctx context.Context, o *CheckOptions) error {
	runner, err := o.engine(ctx)
	if err != nil {
		return err
	}
	names := o.Names
	if o.All {
		if names, err = runner.Names(ctx); err != nil {
			return err
		}
		if len(names) == 0 {
			return fmt.Errorf("no credentials under %s/%s/credentials/: add one with credkeeper secret set", runner.Store.Mount(), runner.Store.Prefix())
		}
	}
	bar := progress.New(o.Err, "checking", len(names), o.clock)
	results, err := runner.CheckAll(ctx, names, check.CheckOptions{Force: o.Force, Parallel: o.Parallel, Done: func() { bar.Add(1) }})
	bar.Done()
	if err != nil {
		return err
	}
	if o.JSON {
		err = view.WriteJSON(o.Out, view.Checks(results))
	} else {
		err = view.WriteCheckTable(o.Out, results, o.clock.Now())
	}
	if err != nil {
		return err
	}
	return checkExit(results)
}
