package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func newRotateCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Stage a new pair beside the current one, prove it, promote it, or roll back",
		Long: `The yearly rotation, made safe: stage the new client ID and secret in
pending/NAME, where they are checked against the real token endpoint; promote
them only when they work; the old pair stays in Vault's history, one rollback
away.`,
	}
	cmd.AddCommand(NewCmdRotateRequest(opts, nil), NewCmdRotateStage(opts, nil), NewCmdRotatePromote(opts, nil), NewCmdRotateRollback(opts, nil), NewCmdRotateAuto(opts, nil), NewCmdRotateStatus(opts, nil))
	return cmd
}

// RotateRequestOptions are rotate request's argument and flags.
type RotateRequestOptions struct {
	*globalOptions
	rotation.RequestOptions
}

// NewCmdRotateRequest is `credkeeper rotate request`. runF runs it (rotateRequestRun when nil).
func NewCmdRotateRequest(g *globalOptions, runF func(context.Context, *RotateRequestOptions) error) *cobra.Command {
	o := &RotateRequestOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "request NAME [--send] [--ticket REF] [--note TEXT]",
		Short: "Write (and with --send, mail) the request for a new pair to the provider's support, and track it",
		Long: `Request composes the request a person would write to the provider's support
for a new client ID and secret (CTRP support, for the CTRP presets): the
environment, the user account the pair belongs to (the credential's account),
the current client ID (never the secret), the deadline, and who to answer (the
credential's owner). The provider's support block may give its own template.

It prints the request, to paste into a ticket system or mail client; --send
mails it through the email notifier the provider's support block names
(support { via = "NOTIFIER" }), with Reply-To the owner. The request is recorded
in rotations/NAME with who made it, when, --ticket and --note; reminders then
say so, and a follow-up is due when no new pair is staged within
follow_up_after (7d by default). Running request again adds a follow-up to the
same request. Staging the new pair (rotate stage) and promoting it close it.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := vaultstore.ValidateName(o.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateRequestRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Send, "send", false, "mail the request through the provider's support notifier")
	cmd.Flags().StringVar(&o.Ticket, "ticket", "", "a reference in your ticket system, recorded with the request")
	cmd.Flags().StringVar(&o.Note, "note", "", "a note added to the request and its record")
	return cmd
}

func rotateRequestRun(ctx context.Context, o *RotateRequestOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	o.Mail = app.SupportMail(r.Config)
	rep, err := r.Request(ctx, o.RequestOptions)
	if err != nil {
		return err
	}
	return view.WriteRequest(o.Out, o.Name, rep)
}

// RotateStageOptions are rotate stage's argument and flags.
type RotateStageOptions struct {
	*globalOptions
	Name     string
	ClientID string
	RotateBy time.Time
}

// NewCmdRotateStage is `credkeeper rotate stage`. runF runs it (rotateStageRun when nil).
func NewCmdRotateStage(g *globalOptions, runF func(context.Context, *RotateStageOptions) error) *cobra.Command {
	o := &RotateStageOptions{globalOptions: g}
	var rotateBy string
	cmd := &cobra.Command{
		Use:   "stage NAME --client-id NEW_ID",
		Short: "Stage a new pair (secret on standard input) and check it at once",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := vaultstore.ValidateName(o.Name); err != nil {
				return err
			}
			var err error
			if o.RotateBy, err = parseDateFlag("--rotate-by", rotateBy); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateStageRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.ClientID, "client-id", "", "the new client ID (required)")
	cmd.Flags().StringVar(&rotateBy, "rotate-by", "", "the new pair's deadline, YYYY-MM-DD (default: the rotation policy's period from the day it is promoted)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func rotateStageRun(ctx context.Context, o *RotateStageOptions) error {
	sec, err := readSecret(o.In, o.Err, o.Name)
	if err != nil {
		return err
	}
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	res, err := r.Stage(ctx, rotation.StageRequest{Name: o.Name, ClientID: o.ClientID, ClientSecret: sec, RotateBy: o.RotateBy})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Staged a new pair for %s in pending/%s. Its check: %s\n  %s\n", o.Name, o.Name, res.Class, res.Detail)
	if res.Class != oauthcheck.ClassOK {
		fmt.Fprintf(o.Out, "The pair stays staged, marked %s; promote refuses it. Stage a corrected pair to replace it.\n", res.Class)
		return checkExit([]oauthcheck.Result{res})
	}
	fmt.Fprintf(o.Out, "When ready: credkeeper rotate promote %s\n", o.Name)
	return nil
}

// RotatePromoteOptions are rotate promote's argument and flags.
type RotatePromoteOptions struct {
	*globalOptions
	Name string
	rotation.PromoteOptions
}

// NewCmdRotatePromote is `credkeeper rotate promote`. runF runs it (rotatePromoteRun when nil).
func NewCmdRotatePromote(g *globalOptions, runF func(context.Context, *RotatePromoteOptions) error) *cobra.Command {
	o := &RotatePromoteOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "promote NAME",
		Short: "Make the staged pair the current one (only when its last check was ok)",
		Long: `Promote writes the staged pair as the new version of credentials/NAME (one
check-and-set write) with issued_at today and its deadline, checks it, publishes
a token from it when the credential publishes one, and removes pending/NAME.
If a step after the write fails, run promote again: it resumes.

--force promotes a pair whose last check was not ok, or that was never checked.
A user grant stored with the credential (credkeeper authorize) is kept with the
new pair; --drop-grant removes it.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotatePromoteRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "promote even if the staged pair's last check was not ok")
	cmd.Flags().BoolVar(&o.DropGrant, "drop-grant", false, "remove the stored user grant instead of keeping it")
	return cmd
}

func rotatePromoteRun(ctx context.Context, o *RotatePromoteOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	if o.Force {
		fmt.Fprintln(o.Err, "credkeeper: warning: --force: promoting without requiring a good check of the staged pair")
	}
	rep, err := r.Promote(ctx, o.Name, o.PromoteOptions)
	if err != nil {
		return err
	}
	if rep.KeptGrant {
		fmt.Fprintln(o.Out, keptGrantNote)
	}
	if rep.Resumed {
		fmt.Fprintf(o.Out, "The pair was already written as version %d by an earlier promote; finished the rest.\n", rep.Version)
	}
	fmt.Fprintf(o.Out, "Promoted: credentials/%s is now version %d. Its check: %s\n", o.Name, rep.Version, rep.Check.Class)
	if rep.Token != nil {
		fmt.Fprintf(o.Out, "Published a token from the new pair, expiring %s.\n", dates.FormatTime(rep.Token.ExpiresAt))
	}
	fmt.Fprintf(o.Out, "The previous pair is version %d in Vault's history: credkeeper rotate rollback %s\n", rep.Version-1, o.Name)
	targets, err := app.AnnounceRotation(ctx, r.Config, o.Name, rep.Version, o.clock)
	switch {
	case err != nil:
		fmt.Fprintf(o.Err, "credkeeper: warning: the rotated notice was not sent everywhere: %v\n", err)
	case len(targets) > 0:
		fmt.Fprintf(o.Out, "Announced the rotation to %v.\n", targets)
	}
	return nil
}

// keptGrantNote tells the user their stored grant survived a new pair.
const keptGrantNote = "Kept the stored user grant (its access token) with the new pair; --drop-grant removes it."

// RotateRollbackOptions are rotate rollback's argument and flags.
type RotateRollbackOptions struct {
	*globalOptions
	Name string
	rotation.RollbackOptions
}

// NewCmdRotateRollback is `credkeeper rotate rollback`. runF runs it (rotateRollbackRun when nil).
func NewCmdRotateRollback(g *globalOptions, runF func(context.Context, *RotateRollbackOptions) error) *cobra.Command {
	o := &RotateRollbackOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "rollback NAME [--to-version N]",
		Short: "Write an earlier pair back as a new version, after checking it still works",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateRollbackRun(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.ToVersion, "to-version", 0, "the version to restore (default: the newest earlier one)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "restore it without checking that it still works")
	cmd.Flags().BoolVar(&o.DropGrant, "drop-grant", false, "remove the stored user grant instead of keeping it")
	return cmd
}

func rotateRollbackRun(ctx context.Context, o *RotateRollbackOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	rep, err := r.Rollback(ctx, o.Name, o.RollbackOptions)
	if err != nil {
		return err
	}
	if rep.KeptGrant {
		fmt.Fprintln(o.Out, keptGrantNote)
	}
	_, err = fmt.Fprintf(o.Out, "Rolled back: credentials/%s is now version %d, a copy of an earlier pair.\n", o.Name, rep.Version)
	return err
}

// RotateStatusOptions are rotate status's argument and flags.
type RotateStatusOptions struct {
	*globalOptions
	Name string
	JSON bool
}

// NewCmdRotateStatus is `credkeeper rotate status`. runF runs it (rotateStatusRun when nil).
func NewCmdRotateStatus(g *globalOptions, runF func(context.Context, *RotateStatusOptions) error) *cobra.Command {
	o := &RotateStatusOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "The current version, the staged pair and its check, earlier versions, the deadline",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateStatusRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func rotateStatusRun(ctx context.Context, o *RotateStatusOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	st, err := r.Status(ctx, o.Name)
	if err != nil {
		return err
	}
	if o.JSON {
		return view.WriteJSON(o.Out, view.RotateStatus(st))
	}
	return view.WriteRotateStatus(o.Out, st)
}

// RotateAutoOptions are rotate auto's argument and flags.
type RotateAutoOptions struct {
	*globalOptions
	Name string
	rotation.AutoRotateOptions
}

// NewCmdRotateAuto is `credkeeper rotate auto`. runF runs it (rotateAutoRun when nil).
func NewCmdRotateAuto(g *globalOptions, runF func(context.Context, *RotateAutoOptions) error) *cobra.Command {
	o := &RotateAutoOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "auto NAME [--now] [--dry-run]",
		Short: "Run or resume the automated rotation of a credential with auto_rotate (Okta)",
		Long: `Auto rotates a credential's secret through its provider's API, where the
provider allows an overlap (Okta's client secrets API): a new secret is created,
staged, proven with a token request and promoted while the old one still works;
after the overlap the old one is deactivated, the new one proven alone, and the
old one deleted. Every step is recorded in rotations/NAME: run auto again to
resume after a failure. The daemon runs it by itself from start_before the
deadline.

--now starts before start_before; --dry-run says what the next run would do,
without writing to Okta or Vault. CTRP and DMPTool cannot be rotated this way.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := vaultstore.ValidateName(o.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateAutoRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Now, "now", false, "start even before start_before the deadline")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "say what the next run would do, and do nothing")
	return cmd
}

func rotateAutoRun(ctx context.Context, o *RotateAutoOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	o.Owner = commandLineOwner()
	rep, err := r.AutoRotate(ctx, o.Name, o.AutoRotateOptions)
	if rep != nil {
		verb := "Did"
		if o.DryRun {
			verb = "Would"
		}
		for _, d := range rep.Did {
			fmt.Fprintf(o.Out, "%s: %s\n", verb, d)
		}
	}
	if err != nil {
		return err
	}
	starting := rep.Step == "" || rep.Step == rotation.StepDone || rep.Step == rotation.StepAbandoned
	switch {
	case !rep.Waiting.IsZero() && starting:
		fmt.Fprintf(o.Out, "Not due: the next rotation of %s starts on %s (--now starts it today).\n", o.Name, dates.Format(rep.Waiting))
	case rep.Step == rotation.StepAbandoned && rep.Abandoned != "":
		fmt.Fprintf(o.Out, "The automated rotation of %s was abandoned: %s.\nNothing more was deactivated or deleted: credentials/%s keeps its secret. credkeeper rotate auto %s starts a new rotation.\n", o.Name, rep.Abandoned, o.Name, o.Name)
	case rep.Step == rotation.StepDone && !o.DryRun:
		fmt.Fprintf(o.Out, "The automated rotation of %s is complete.\n", o.Name)
	case !rep.Waiting.IsZero():
		fmt.Fprintf(o.Out, "Both secrets stay active until %s (the overlap); run again then, or let the daemon finish.\n", dates.FormatTime(rep.Waiting))
	}
	return nil
}

// commandLineOwner names this run of rotate auto in the rotation's lease:
// who, where, which process.
func commandLineOwner() string {
	who := "someone"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("credkeeper rotate auto (%s@%s, pid %d)", who, host, os.Getpid())
}
