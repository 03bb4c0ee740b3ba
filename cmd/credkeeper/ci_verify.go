package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/ciaccess"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/secret"
)

// CIVerifyOptions are ci verify's argument and flags.
type CIVerifyOptions struct {
	*globalOptions
	Name    string
	JWTFile string
	// JWT is "-" (standard input) or empty: a JWT on the command line
	// would show in the process list and the shell's history.
	JWT  string
	JSON bool
}

// NewCmdCIVerify is `credkeeper ci verify`. runF runs it (ciVerifyRun when nil).
func NewCmdCIVerify(g *globalOptions, runF func(context.Context, *CIVerifyOptions) error) *cobra.Command {
	o := &CIVerifyOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "verify NAME (--jwt-file FILE | --jwt -)",
		Short: "Log in with a CI job's JWT as the job would, and prove what it can read",
		Long: `Verify logs in to Vault with a CI job's ID token (or a pod's service account
token) exactly as the job would: the role named NAME at the ci_access block's
auth mount. It then tries every read of credkeeper's records: it lists the
tokens the job can read, and proves it can read no client secret, pending
pair, state, ledger or other credential's token. A refused login is explained
in plain words: a wrong audience, a claim with its expected and actual values,
an expired JWT, an unknown issuer or key.

It exits 0 only when the access is exactly what the configuration says,
otherwise 1. The JWT is never printed: give it in a file or on standard input.`,
		Example: `  credkeeper ci verify deploy-prod --jwt-file id-token.jwt
  echo "$ACTIONS_ID_TOKEN" | credkeeper ci verify deploy-prod --jwt -`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			switch {
			case (o.JWTFile == "") == (o.JWT == ""):
				return usageError(cmd, errors.New("give the JWT with exactly one of --jwt-file FILE and --jwt -"))
			case o.JWT != "" && o.JWT != "-":
				return usageError(cmd, errors.New("--jwt takes only - (standard input): a JWT on the command line shows in the process list; use --jwt-file FILE or --jwt -"))
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return ciVerifyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.JWTFile, "jwt-file", "", "read the JWT from this file")
	cmd.Flags().StringVar(&o.JWT, "jwt", "", "- to read the JWT from standard input")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the report as JSON")
	return cmd
}

func ciVerifyRun(ctx context.Context, o *CIVerifyOptions) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	jwt, err := readJWT(o)
	if err != nil {
		return err
	}
	rep, err := ciaccess.Verify(ctx, ciaccess.Input{
		Config: cfg, Access: o.Name, JWT: jwt, Now: o.clock.Now(),
		Vault: app.StoreConfig(cfg, app.StoreOverrides{Mount: o.mount, Prefix: o.prefix}),
	})
	if err != nil {
		return err
	}
	if o.JSON {
		err = view.WriteJSON(o.Out, rep)
	} else {
		err = view.CIVerify(o.Out, rep)
	}
	if err != nil {
		return err
	}
	switch {
	case rep.Refusal != nil:
		return fmt.Errorf("the login of ci_access %q was refused: %s", o.Name, rep.Refusal.Explanation)
	case !rep.Exact:
		return fmt.Errorf("the access of ci_access %q is not what the configuration says", o.Name)
	}
	return nil
}

func readJWT(o *CIVerifyOptions) (secret.Value, error) {
	if o.JWTFile != "" {
		return secret.ReadFile(o.JWTFile, "JWT")
	}
	v, err := secret.ReadLine(o.In)
	if err != nil {
		return secret.Value{}, fmt.Errorf("read the JWT from standard input: %w", err)
	}
	if v.IsZero() {
		return secret.Value{}, errors.New("standard input holds no JWT")
	}
	if strings.ContainsAny(v.Reveal(), " \t") {
		return secret.Value{}, errors.New("standard input holds more than one JWT")
	}
	return v, nil
}
