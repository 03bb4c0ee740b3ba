package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
)

// newCICmd is `credkeeper ci`: what CI jobs need to read their tokens with
// their own identity (ci_access blocks).
func newCICmd(g *globalOptions) *cobra.Command {
	ci := &cobra.Command{
		Use:   "ci",
		Short: "Give CI jobs their tokens with their own identity",
		Long: `A ci_access block lets one CI identity (a GitHub Actions repository, a GitLab
project, a Kubernetes service account) log in to Vault with its own OIDC ID
token or service account token and read some credentials' access tokens: no
Vault token is stored in CI. apply writes its Vault role and policy; these
commands print what an administrator and the pipeline need.`,
	}
	ci.AddCommand(NewCmdCISetupCommands(g, nil), NewCmdCISnippet(g, nil))
	ci.AddCommand(NewCmdCIVerify(g, nil))
	return ci
}

// CISetupCommandsOptions are ci setup-commands' options.
type CISetupCommandsOptions struct {
	*globalOptions
}

// NewCmdCISetupCommands is `credkeeper ci setup-commands`. runF runs it
// (ciSetupCommandsRun when nil).
func NewCmdCISetupCommands(g *globalOptions, runF func(context.Context, *CISetupCommandsOptions) error) *cobra.Command {
	o := &CISetupCommandsOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "setup-commands",
		Short: "Print the vault commands that enable and configure the CI auth mounts",
		Long: `Setup-commands prints the vault auth enable and vault write auth/…/config
commands an administrator runs once so that GitHub Actions, GitLab CI and
Kubernetes pods can log in: the JWT mounts trusting GitHub's and GitLab's
issuers, the Kubernetes mount. The mounts and issuers are the vault block's
(github_jwt_mount, gitlab_jwt_mount, kubernetes_mount, github_issuer,
gitlab_issuer). It reads no Vault.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return ciSetupCommandsRun(cmd.Context(), o)
		},
	}
}

func ciSetupCommandsRun(_ context.Context, o *CISetupCommandsOptions) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	return view.WriteCISetupCommands(o.Out, app.CISetup(cfg))
}

// CISnippetOptions are ci snippet's argument and flags.
type CISnippetOptions struct {
	*globalOptions
	Name    string
	JobTime time.Duration
}

// NewCmdCISnippet is `credkeeper ci snippet`. runF runs it (ciSnippetRun
// when nil).
func NewCmdCISnippet(g *globalOptions, runF func(context.Context, *CISnippetOptions) error) *cobra.Command {
	o := &CISnippetOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "snippet NAME",
		Short: "Print the workflow fragment a ci_access block's jobs paste",
		Long: `Snippet prints, ready to paste, what the ci_access block NAME's jobs need to
read their tokens: a GitHub Actions job (id-token: write, hashicorp/vault-action
with method jwt), a GitLab CI job (id_tokens and secrets), or a pod template's
Vault Agent annotations. Each reads every token with its expires_at and refuses
a token that expires within --job-time. It reads no Vault.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if o.JobTime < time.Minute {
				return usageError(cmd, fmt.Errorf("--job-time %s is shorter than a minute", o.JobTime))
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return ciSnippetRun(cmd.Context(), o)
		},
	}
	cmd.Flags().DurationVar(&o.JobTime, "job-time", 30*time.Minute, "how long the job runs: a token expiring sooner is refused")
	return cmd
}

func ciSnippetRun(_ context.Context, o *CISnippetOptions) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	s, err := app.CISnippet(cfg, app.StoreOverrides{Mount: o.mount, Prefix: o.prefix}, o.Name, o.JobTime)
	if err != nil {
		return err
	}
	return view.WriteCISnippet(o.Out, s)
}
