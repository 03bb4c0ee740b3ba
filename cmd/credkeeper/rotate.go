package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
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
	cmd.AddCommand(newRotateStageCmd(opts), newRotatePromoteCmd(opts), newRotateRollbackCmd(opts), newRotateStatusCmd(opts))
	return cmd
}

// runner opens the store and returns a Runner over it.
func (o *globalOptions) runner(cmd *cobra.Command) (*rotation.Runner, error) {
	cfg, store, err := o.openStore(cmd)
	if err != nil {
		return nil, err
	}
	return &rotation.Runner{Store: store, Config: cfg, Now: o.now}, nil
}

func newRotateStageCmd(opts *globalOptions) *cobra.Command {
	var clientID, rotateBy string
	cmd := &cobra.Command{
		Use:   "stage NAME --client-id NEW_ID",
		Short: "Stage a new pair (secret on standard input) and check it at once",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := vaultstore.ValidateName(name); err != nil {
				return err
			}
			deadline, err := parseDateFlag("--rotate-by", rotateBy)
			if err != nil {
				return err
			}
			sec, err := readSecret(opts.In, opts.Err, name)
			if err != nil {
				return err
			}
			r, err := opts.runner(cmd)
			if err != nil {
				return err
			}
			res, err := r.Stage(cmd.Context(), rotation.StageRequest{Name: name, ClientID: clientID, ClientSecret: sec, RotateBy: deadline})
			if err != nil {
				return err
			}
			fmt.Fprintf(opts.Out, "Staged a new pair for %s in pending/%s. Its check: %s\n  %s\n", name, name, res.Class, res.Detail)
			if res.Class != oauthcheck.ClassOK {
				fmt.Fprintf(opts.Out, "The pair stays staged, marked %s; promote refuses it. Stage a corrected pair to replace it.\n", res.Class)
				return checkExit([]oauthcheck.Result{res})
			}
			fmt.Fprintf(opts.Out, "When ready: credkeeper rotate promote %s\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&clientID, "client-id", "", "the new client ID (required)")
	cmd.Flags().StringVar(&rotateBy, "rotate-by", "", "the new pair's deadline, YYYY-MM-DD (default: the rotation policy's period from the day it is promoted)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func newRotatePromoteCmd(opts *globalOptions) *cobra.Command {
	var force, dropGrant bool
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
			r, err := opts.runner(cmd)
			if err != nil {
				return err
			}
			if force {
				fmt.Fprintln(opts.Err, "credkeeper: warning: --force: promoting without requiring a good check of the staged pair")
			}
			rep, err := r.Promote(cmd.Context(), args[0], rotation.PromoteOptions{Force: force, DropGrant: dropGrant})
			if err != nil {
				return err
			}
			if rep.KeptGrant {
				fmt.Fprintln(opts.Out, keptGrantNote)
			}
			if rep.Resumed {
				fmt.Fprintf(opts.Out, "The pair was already written as version %d by an earlier promote; finished the rest.\n", rep.Version)
			}
			fmt.Fprintf(opts.Out, "Promoted: credentials/%s is now version %d. Its check: %s\n", args[0], rep.Version, rep.Check.Class)
			if rep.Token != nil {
				fmt.Fprintf(opts.Out, "Published a token from the new pair, expiring %s.\n", dates.FormatTime(rep.Token.ExpiresAt))
			}
			fmt.Fprintf(opts.Out, "The previous pair is version %d in Vault's history: credkeeper rotate rollback %s\n", rep.Version-1, args[0])
			announceRotation(cmd, opts, r, args[0], rep.Version)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "promote even if the staged pair's last check was not ok")
	cmd.Flags().BoolVar(&dropGrant, "drop-grant", false, "remove the stored user grant instead of keeping it")
	return cmd
}

// keptGrantNote tells the user their stored grant survived a new pair.
const keptGrantNote = "Kept the stored user grant (its access token) with the new pair; --drop-grant removes it."

func newRotateRollbackCmd(opts *globalOptions) *cobra.Command {
	var (
		toVersion        int
		force, dropGrant bool
	)
	cmd := &cobra.Command{
		Use:   "rollback NAME [--to-version N]",
		Short: "Write an earlier pair back as a new version, after checking it still works",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := opts.runner(cmd)
			if err != nil {
				return err
			}
			rep, err := r.Rollback(cmd.Context(), args[0], rotation.RollbackOptions{ToVersion: toVersion, Force: force, DropGrant: dropGrant})
			if err != nil {
				return err
			}
			if rep.KeptGrant {
				fmt.Fprintln(opts.Out, keptGrantNote)
			}
			_, err = fmt.Fprintf(opts.Out, "Rolled back: credentials/%s is now version %d, a copy of an earlier pair.\n", args[0], rep.Version)
			return err
		},
	}
	cmd.Flags().IntVar(&toVersion, "to-version", 0, "the version to restore (default: the newest earlier one)")
	cmd.Flags().BoolVar(&force, "force", false, "restore it without checking that it still works")
	return cmd
}

// rotateStatusJSON is `rotate status --json`: no secret, ever.
type rotateStatusJSON struct {
	Name           string              `json:"name"`
	CurrentVersion int                 `json:"current_version"`
	Provider       string              `json:"provider"`
	Environment    string              `json:"environment"`
	IssuedAt       string              `json:"issued_at"`
	RotateBy       string              `json:"rotate_by"`
	LastClass      string              `json:"last_class"`
	LastCheck      string              `json:"last_check"`
	Pending        *pendingJSON        `json:"pending"`
	Versions       []versionStatusJSON `json:"versions"`
}

type pendingJSON struct {
	ClientID  string `json:"client_id"`
	StagedAt  string `json:"staged_at"`
	RotateBy  string `json:"rotate_by"`
	LastClass string `json:"last_class"`
	CheckedAt string `json:"checked_at"`
}

type versionStatusJSON struct {
	Version int    `json:"version"`
	Created string `json:"created"`
	Deleted bool   `json:"deleted"`
}

func newRotateStatusCmd(opts *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "The current version, the staged pair and its check, earlier versions, the deadline",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := opts.runner(cmd)
			if err != nil {
				return err
			}
			st, err := r.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			j := rotateStatusJSON{Name: st.Name, CurrentVersion: st.CurrentVersion, Provider: st.Metadata.Provider, Environment: st.Metadata.Environment,
				IssuedAt: dates.Format(st.Metadata.IssuedAt), RotateBy: dates.Format(st.Metadata.RotateBy), LastClass: st.LastClass, LastCheck: dates.FormatTime(st.LastCheck),
				Versions: []versionStatusJSON{}}
			if p := st.Pending; p != nil {
				j.Pending = &pendingJSON{ClientID: p.ClientID, StagedAt: dates.FormatTime(p.StagedAt), RotateBy: dates.Format(p.RotateBy), LastClass: p.LastClass, CheckedAt: dates.FormatTime(p.CheckedAt)}
			}
			for _, v := range st.Versions {
				j.Versions = append(j.Versions, versionStatusJSON{Version: v.Version, Created: dates.FormatTime(v.CreatedTime), Deleted: v.Deleted})
			}
			if asJSON {
				return writeJSON(opts.Out, j)
			}
			tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "credential\t%s (%s, %s)\n", j.Name, dash(j.Provider), dash(j.Environment))
			fmt.Fprintf(tw, "current version\t%d, issued %s, rotate by %s\n", j.CurrentVersion, dash(j.IssuedAt), dash(j.RotateBy))
			fmt.Fprintf(tw, "last check\t%s %s\n", dash(j.LastClass), j.LastCheck)
			if p := j.Pending; p != nil {
				class := p.LastClass
				if class == "" {
					class = "not checked yet"
				}
				fmt.Fprintf(tw, "pending\tclient ID %s, staged %s: %s (checked %s)\n", p.ClientID, p.StagedAt, class, dash(p.CheckedAt))
			} else {
				fmt.Fprintf(tw, "pending\tnone\n")
			}
			for _, v := range j.Versions {
				note := ""
				if v.Version == j.CurrentVersion {
					note = " (current)"
				} else if v.Deleted {
					note = " (deleted)"
				}
				fmt.Fprintf(tw, "version %d\twritten %s%s\n", v.Version, v.Created, note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// announceRotation sends a "rotated" notice (a PagerDuty change event) to
// the credential's channels, when it has any. A channel that fails is
// reported; the rotation itself is done.
func announceRotation(cmd *cobra.Command, opts *globalOptions, r *rotation.Runner, name string, version int) {
	targets, err := app.AnnounceRotation(cmd.Context(), r.Config, name, version, opts.now())
	switch {
	case err != nil:
		fmt.Fprintf(opts.Err, "credkeeper: warning: the rotated notice was not sent everywhere: %v\n", err)
	case len(targets) > 0:
		fmt.Fprintf(opts.Out, "Announced the rotation to %v.\n", targets)
	}
}
