package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/plan"
	"github.com/credkeeper/credkeeper/policies"
)

func newPlanCmd(opts *globalOptions) *cobra.Command {
	var (
		asJSON, detailed bool
		out              string
	)
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
			p, err := opts.makePlan(cmd)
			if err != nil {
				return err
			}
			if out != "" {
				if err := plan.SavePlan(out, p); err != nil {
					return fmt.Errorf("save the plan: %w", err)
				}
			}
			if asJSON {
				err = writeJSON(opts.Out, p)
			} else {
				err = plan.RenderPlan(opts.Out, p)
			}
			if err != nil {
				return err
			}
			if out != "" && !asJSON {
				fmt.Fprintf(opts.Out, "\nSaved the plan to %s. To make exactly these changes, run: credkeeper apply %s\n", out, out)
			}
			if detailed && p.HasChanges() {
				return &codedError{code: planChanges}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	f.StringVar(&out, "out", "", "save the plan to this file (mode 0600) for apply")
	f.BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there are changes, 0 when none")
	return cmd
}

// makePlan loads the config, which plan and apply require, and plans.
func (o *globalOptions) makePlan(cmd *cobra.Command) (*plan.Plan, error) {
	cfg, err := policies.Load(o.configPath)
	if err != nil {
		return nil, err
	}
	store, err := app.OpenStore(cmd.Context(), cfg, app.StoreOverrides{Mount: o.mount, Prefix: o.prefix})
	if err != nil {
		return nil, err
	}
	return plan.MakePlan(cmd.Context(), store, cfg, o.now())
}

func newApplyCmd(opts *globalOptions) *cobra.Command {
	var autoApprove, prune bool
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
			var (
				p   *plan.Plan
				err error
			)
			if len(args) == 1 {
				if p, err = plan.LoadPlan(args[0]); err != nil {
					return err
				}
			} else {
				if p, err = opts.makePlan(cmd); err != nil {
					return err
				}
				if err := plan.RenderPlan(opts.Out, p); err != nil {
					return err
				}
				if !p.HasChanges() {
					return nil
				}
				if !autoApprove {
					if err := opts.confirm(); err != nil {
						return err
					}
				}
			}
			cfg, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			managed, err := plan.ManagedPolicies(cfg, store)
			if err != nil {
				return err
			}
			rep, applyErr := plan.Apply(cmd.Context(), store, p, plan.ApplyOptions{Prune: prune, Policies: managed})
			if rep != nil {
				writeApplyReport(opts, rep, applyErr != nil)
			}
			return applyErr
		},
	}
	f := cmd.Flags()
	f.BoolVar(&autoApprove, "auto-approve", false, "apply without asking")
	f.BoolVar(&prune, "prune", false, "delete credentials the configuration no longer declares")
	return cmd
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
		fmt.Fprintf(opts.Out, "%s is not declared in the configuration and was left in place; apply --prune deletes it.\n", c.Path())
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
	cmd.AddCommand(&cobra.Command{
		Use:       "print [ROLE]",
		Short:     "Print the policy documents (all, or one role's: daemon, operator, ci or auditor)",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: policies.Roles,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := opts.loadConfig(cmd)
			if err != nil {
				return err
			}
			sc := app.StoreConfig(cfg, app.StoreOverrides{Mount: opts.mount, Prefix: opts.prefix})
			names := policies.DefaultVaultPolicyNames()
			if cfg.VaultPolicies != nil {
				names = *cfg.VaultPolicies
			}
			if len(args) == 1 {
				doc, err := policies.PolicyDocument(args[0], sc.Mount, sc.Prefix)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(opts.Out, doc)
				return err
			}
			docs, err := policies.Documents(names, sc.Mount, sc.Prefix)
			if err != nil {
				return err
			}
			for i, d := range docs {
				if i > 0 {
					fmt.Fprintln(opts.Out)
				}
				role := "the " + d.Role + " role"
				if len(d.Scope) > 0 {
					role = "CI, for the tokens of " + strings.Join(d.Scope, ", ")
				}
				fmt.Fprintf(opts.Out, "# policy %q (%s)\n%s", d.Name, role, d.Text)
			}
			return nil
		},
	})
	return cmd
}
