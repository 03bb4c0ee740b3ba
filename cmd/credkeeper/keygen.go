package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/rotation"
)

// KeygenOptions are keygen's argument and flags.
type KeygenOptions struct {
	*globalOptions
	Request rotation.KeygenRequest
}

// NewCmdKeygen is `credkeeper keygen`. runF runs it (keygenRun when nil).
func NewCmdKeygen(g *globalOptions, runF func(context.Context, *KeygenOptions) error) *cobra.Command {
	o := &KeygenOptions{globalOptions: g}
	var meta pairFlags
	cmd := &cobra.Command{
		Use:   "keygen NAME --client-id ID [--alg RS256|ES256] [--stage]",
		Short: "Make a key pair for private_key_jwt, keep the private key in Vault, print the JWKS to register",
		Long: `Keygen makes a new key pair (ES256: EC P-256, the default; RS256: RSA 2048)
for a client that authenticates with private_key_jwt, and writes its private
key to credentials/NAME in Vault (with --stage, to pending/NAME for a staged
rotation, unchecked: promote checks it). The private key never leaves Vault
again but in the signature of a client assertion.

Standard output is the JWKS document to register at the provider (the
public key with its kid, alg and use "sig") and nothing else; what keygen did
goes to standard error.`,
		Example: `  credkeeper keygen svc-reports --client-id 0oa1b2c3 --provider acme-keys > jwks.json
  credkeeper keygen svc-reports --client-id 0oa1b2c3 --stage > new-jwks.json`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := meta.parse(&o.Request.SetSecretRequest, args[0]); err != nil {
				return err
			}
			if o.Request.Alg != clientkey.RS256 && o.Request.Alg != clientkey.ES256 {
				return usageError(cmd, fmt.Errorf("--alg %q is not RS256 or ES256", o.Request.Alg))
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return keygenRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	meta.register(f, &o.Request.SetSecretRequest)
	f.StringVar(&o.Request.Alg, "alg", clientkey.ES256, "the key's algorithm: ES256 (EC P-256) or RS256 (RSA 2048)")
	f.BoolVar(&o.Request.Stage, "stage", false, "stage the key in pending/NAME for a rotation instead of writing credentials/NAME")
	f.BoolVar(&o.Request.Force, "force", false, "replace the pair credentials/NAME already holds (without it keygen refuses: stage a key with --stage instead)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func keygenRun(ctx context.Context, o *KeygenOptions) error {
	r, err := o.runner(ctx)
	if err != nil {
		return err
	}
	rep, err := r.Keygen(ctx, o.Request)
	if err != nil {
		return err
	}
	name := o.Request.Name
	if rep.PendingVersion > 0 {
		fmt.Fprintf(o.Err, "Staged a new %s key for %s in pending/%s (version %d): kid %s, fingerprint %s.\n", rep.Alg, name, name, rep.PendingVersion, rep.KeyID, rep.Fingerprint)
		fmt.Fprintf(o.Err, "Register the JWKS on standard output at the provider beside the current key, then: credkeeper rotate promote %s\n", name)
	} else {
		fmt.Fprintf(o.Err, "Wrote a new %s key for %s to credentials/%s (version %d): kid %s, fingerprint %s.\n", rep.Alg, name, name, rep.Version, rep.KeyID, rep.Fingerprint)
		fmt.Fprintf(o.Err, "Register the JWKS on standard output at the provider, then: credkeeper check %s\n", name)
	}
	_, err = fmt.Fprintf(o.Out, "%s\n", rep.JWKS)
	return err
}
