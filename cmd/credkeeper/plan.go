package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/progress"
	"github.com/credkeeper/credkeeper/plan"
)

// PlanOptions are plan's flags.
type PlanOptions struct {
	*globalOptions
	JSON         bool
	PlanFile     string // --out: save the plan here
	DetailedExit bool
}

// NewCmdPlan is `credkeeper plan`. runF runs it (planRun when nil).
func NewCmdPlan(g *globalOptions, runF func(context.Context, *PlanOptions) error) *cobra.Command {
	o := &PlanOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in Vault to match the configuration",
		Long: `Plan compares the configuration file with what Vault holds and prints the
changes apply would make: + create, ~ update in place, - destroy (only with
apply --prune). It writes nothing to Vault.

With --detailed-exitcode the exit status is 0 when there are no changes, 1 on
an error and 2 when there are changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return planRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	f.StringVar(&o.PlanFile, "out", "", "save the plan to this file (mode 0600) for apply")
	f.BoolVar(&o.DetailedExit, "detailed-exitcode", false, "exit 2 when there are changes, 0 when none")
	return cmd
}

func planRun(ctx context.Context, o *PlanOptions) error {
	p, err := o.makePlan(ctx)
	if err != nil {
		return err
	}
	if o.PlanFile != "" {
		if err := plan.SavePlan(o.PlanFile, p); err != nil {
			return fmt.Errorf("save the plan: %w", err)
		}
	}
	if o.JSON {
		err = view.WriteJSON(o.Out, p)
	} else {
		err = plan.RenderPlan(o.Out, p)
	}
	if err != nil {
		return err
	}
	if o.PlanFile != "" && !o.JSON {
		fmt.Fprintf(o.Out, "\nSaved the plan to %s. To make exactly these changes, run: credkeeper apply %s\n", o.PlanFile, o.PlanFile)
	}
	if o.DetailedExit && p.HasChanges() {
		return &codedError{code: planChanges}
	}
	return nil
}

// makePlan loads the config, which plan and apply require, and plans.
func (o *globalOptions) makePlan(ctx context.Context) (*plan.Plan, error) {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return nil, err
	}
	store, err := app.OpenStore(ctx, cfg, app.StoreOverrides{Mount: o.mount, Prefix: o.prefix})
	if err != nil {
		return nil, err
	}
	return plan.MakePlan(ctx, store, cfg, o.clock.Now())
}

// ApplyOptions are apply's argument and flags.
type ApplyOptions struct {
	*globalOptions
	PlanFile    string // a plan saved by plan --out; "" plans now
	AutoApprove bool
	Prune       bool
}

// NewCmdApply is `credkeeper apply`. runF runs it (applyRun when nil).
func NewCmdApply(g *globalOptions, runF func(context.Context, *ApplyOptions) error) *cobra.Command {
	o := &ApplyOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Make the changes a plan shows",
		Long: `Apply plans, shows the plan and asks for confirmation, then writes the changes
to Vault. Given a plan saved by plan --out, it applies exactly that plan, and
refuses if anything it touches changed in Vault since the plan was made.

Credentials the configuration no longer declares are deleted only with --prune.
Without a terminal to ask on, apply refuses unless --auto-approve is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.PlanFile = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return applyRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.AutoApprove, "auto-approve", false, "apply without asking")
	f.BoolVar(&o.Prune, "prune", false, "delete credentials the configuration no longer declares")
	return cmd
}

func applyRun(ctx context.Context, o *ApplyOptions) error {
	var (
		p   *plan.Plan
		err error
	)
	if o.PlanFile != "" {
		if p, err = plan.LoadPlan(o.PlanFile); err != nil {
			return err
		}
	} else {
		if p, err = o.makePlan(ctx); err != nil {
			return err
		}
		if err := plan.RenderPlan(o.Out, p); err != nil {
			return err
		}
		if !p.HasChanges() {
			return nil
		}
		if !o.AutoApprove {
			if err := o.confirm(); err != nil {
				return err
			}
		}
	}
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	managed, err := plan.ManagedPolicies(cfg, store)
	if err != nil {
		return err
	}
	bar := progress.New(o.Err, "applying", len(p.Changes), o.clock)
	rep, applyErr := plan.Apply(ctx, store, p, plan.ApplyOptions{Prune: o.Prune, Policies: managed, CIRoles: plan.CIRoles(cfg, store), CIScope: plan.CIScopeOf(cfg), Done: func() { bar.Add(1) }})
	bar.Done()
	if rep != nil {
		writeApplyReport(o.globalOptions, rep, applyErr != nil)
	}
	return applyErr
}

// confirm asks on the terminal; only "yes" proceeds.
func (o *globalOptions) confirm() error {
	if !o.isTerminal() {
		return errors.New("no terminal to ask for confirmation on: review the plan and run apply --auto-approve, or apply a saved plan (plan --out FILE, then apply FILE)")
	}
	fmt.Fprint(o.Out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(o.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled: nothing was changed")
	}
	fmt.Fprintln(o.Out)
	return nil
}

func stdinIsTerminal(in any) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func writeApplyReport(opts *globalOptions, rep *plan.ApplyReport, failed bool) {
	for _, c := range rep.Skipped {
		fmt.Fprintln(opts.Out, c.LeftInPlace())
	}
	add, change, destroy := rep.Counts()
	if !failed {
		fmt.Fprintf(opts.Out, "Apply complete! Changes: %d added, %d changed, %d destroyed.\n", add, change, destroy)
		return
	}
	fmt.Fprintf(opts.Err, "Apply stopped. Applied: %d added, %d changed, %d destroyed.\n", add, change, destroy)
	for _, c := range rep.Applied {
		fmt.Fprintf(opts.Err, "  applied:     %s %s\n", c.Action.Symbol(), c.Path())
	}
	for _, c := range rep.NotApplied {
		fmt.Fprintf(opts.Err, "  not applied: %s %s\n", c.Action.Symbol(), c.Path())
	}
}

func newVaultPoliciesCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault-policies",
		Short: "The Vault ACL policies of the daemon, operator, CI and auditor roles",
	}
	cmd.AddCommand(NewCmdVaultPoliciesPrint(opts, nil))
	return cmd
}

// VaultPoliciesPrintOptions are vault-policies print's argument.
type VaultPoliciesPrintOptions struct {
	*globalOptions
	Role string // "" prints every policy
}

// NewCmdVaultPoliciesPrint is `credkeeper vault-policies print`. runF runs
// it (vaultPoliciesPrintRun when nil).
func NewCmdVaultPoliciesPrint(g *globalOptions, runF func(context.Context, *VaultPoliciesPrintOptions) error) *cobra.Command {
	o := &VaultPoliciesPrintOptions{globalOptions: g}
	return &cobra.Command{
		Use:       "print [ROLE]",
		Short:     "Print the policy documents (all, or one role's: daemon, operator, ci or auditor)",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: config.Roles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Role = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return vaultPoliciesPrintRun(cmd.Context(), o)
		},
	}
}

func vaultPoliciesPrintRun(_ context.Context, o *VaultPoliciesPrintOptions) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	overrides := app.StoreOverrides{Mount: o.mount, Prefix: o.prefix}
	if o.Role != "" {
		doc, err := app.VaultPolicy(cfg, overrides, o.Role)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(o.Out, doc)
		return err
	}
	docs, err := app.VaultPolicies(cfg, overrides)
	if err != nil {
		return err
	}
	return view.WriteVaultPolicies(o.Out, docs)
}
