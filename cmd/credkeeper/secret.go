package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func newSecretCmd(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set, list and show the client credentials kept in Vault",
	}
	cmd.AddCommand(NewCmdSecretSet(opts, nil), NewCmdSecretList(opts, nil), NewCmdSecretShow(opts, nil))
	return cmd
}

// SecretSetOptions are secret set's argument and flags.
type SecretSetOptions struct {
	*globalOptions
	Request rotation.SetSecretRequest // Name and the flags; ClientSecret is read by the run
	// PrivateKeyFile, instead of a secret on standard input, is a PEM
	// private key for private_key_jwt; KeyID its kid (default: its
	// RFC 7638 thumbprint).
	PrivateKeyFile string
	KeyID          string
}

// NewCmdSecretSet is `credkeeper secret set`. runF runs it (secretSetRun when nil).
func NewCmdSecretSet(g *globalOptions, runF func(context.Context, *SecretSetOptions) error) *cobra.Command {
	o := &SecretSetOptions{globalOptions: g}
	var meta pairFlags
	cmd := &cobra.Command{
		Use:   "set NAME --client-id ID",
		Short: "Store a client ID and secret; the secret is read from standard input",
		Long: `Set writes credentials/NAME in Vault with check-and-set. The client secret is
read from standard input (its first line, without surrounding white space, at
most 64 KiB), never from a flag or an argument, so it stays out of shell
history and process listings.
On a terminal it is asked for without echo.

Metadata not given on the command line comes from the credential's block in
the config, else from the record already in Vault, else from defaults: issued
today, to be rotated 365 days after issue. A user grant stored with the
credential (credkeeper authorize) is kept with the new pair; --drop-grant
removes it.`,
		Example: `  printf '%s\n' "$CLIENT_SECRET" | credkeeper secret set ctrp-stage --client-id 0oa1b2c3 --provider ctrp-stage
  credkeeper secret set dmptool --client-id 12345 --provider dmptool --rotate-by 2027-03-01 < secret.txt`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := meta.parse(&o.Request, args[0]); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return secretSetRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	meta.register(f, &o.Request)
	f.BoolVar(&o.Request.DropGrant, "drop-grant", false, "remove a stored user grant instead of keeping it with the new pair")
	f.StringVar(&o.PrivateKeyFile, "private-key-file", "", "store this PEM private key (RSA 2048+ or EC P-256) for private_key_jwt instead of a secret from standard input")
	f.StringVar(&o.KeyID, "key-id", "", "the key's kid as registered at the provider (default: its RFC 7638 thumbprint)")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

func secretSetRun(ctx context.Context, o *SecretSetOptions) error {
	req := o.Request
	var err error
	switch {
	case o.PrivateKeyFile != "":
		if req.Key, err = readPrivateKey(o.PrivateKeyFile, o.KeyID); err != nil {
			return err
		}
	case o.KeyID != "":
		return errors.New("--key-id names the key of --private-key-file: give both")
	default:
		if req.ClientSecret, err = readSecret(o.In, o.Err, req.Name); err != nil {
			return err
		}
	}
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	rep, err := rotation.SetSecret(ctx, store, cfg, req, o.clock.Now())
	if err != nil {
		return err
	}
	if rep.KeptGrant {
		fmt.Fprintln(o.Out, keptGrantNote)
	}
	_, err = fmt.Fprintf(o.Out, "Success! Wrote %s/%s/credentials/%s (version %d).\n", store.Mount(), store.Prefix(), req.Name, rep.Version)
	return err
}

// readPrivateKey reads a PEM private key from path; its errors name the
// file, never its contents.
func readPrivateKey(path, kid string) (*clientkey.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the private key: %w", err)
	}
	k, err := clientkey.Parse(b, kid)
	if err != nil {
		return nil, fmt.Errorf("the private key in %s: %w", path, err)
	}
	return k, nil
}

// readSecret reads the client secret: without echo on a terminal, else the
// first line of standard input; either way without surrounding white space
// and at most 64 KiB.
func readSecret(in io.Reader, prompt io.Writer, name string) (secret.Value, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "Client secret for %s: ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return secret.Value{}, fmt.Errorf("read the client secret: %w", err)
		}
		if len(b) > secret.MaxLineSize {
			return secret.Value{}, tooLongSecret()
		}
		return nonEmptySecret(secret.Trim(string(b)))
	}
	v, err := secret.ReadLine(in)
	if errors.Is(err, secret.ErrTooLong) {
		return secret.Value{}, tooLongSecret()
	}
	if err != nil {
		return secret.Value{}, fmt.Errorf("read the client secret from standard input: %w", err)
	}
	return nonEmptySecret(v)
}

func tooLongSecret() error {
	return fmt.Errorf("the client secret on standard input is %w: give the secret alone, one line, e.g. printf '%%s\\n' \"$SECRET\" | credkeeper secret set NAME --client-id ID", secret.ErrTooLong)
}

func nonEmptySecret(v secret.Value) (secret.Value, error) {
	if v.IsZero() {
		return secret.Value{}, errors.New("the client secret is empty: give it on standard input, e.g. printf '%s\\n' \"$SECRET\" | credkeeper secret set NAME --client-id ID")
	}
	return v, nil
}

func parseDateFlag(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(dates.Layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not a date: write it as YYYY-MM-DD", flag, s)
	}
	return t, nil
}

// SecretListOptions are secret list's flags.
type SecretListOptions struct {
	*globalOptions
	JSON bool
}

// NewCmdSecretList is `credkeeper secret list`. runF runs it (secretListRun when nil).
func NewCmdSecretList(g *globalOptions, runF func(context.Context, *SecretListOptions) error) *cobra.Command {
	o := &SecretListOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the credentials in Vault with their metadata (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return secretListRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func secretListRun(ctx context.Context, o *SecretListOptions) error {
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	infos, err := store.ListCredentials(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return view.WriteJSON(o.Out, view.Credentials(infos))
	}
	if len(infos) == 0 {
		_, err := fmt.Fprintf(o.Out, "No credentials under %s/%s/credentials/. Add one with credkeeper secret set.\n", store.Mount(), store.Prefix())
		return err
	}
	return view.WriteCredentialTable(o.Out, infos)
}

// SecretShowOptions are secret show's argument and flags.
type SecretShowOptions struct {
	*globalOptions
	Name string
	JSON bool
}

// NewCmdSecretShow is `credkeeper secret show`. runF runs it (secretShowRun when nil).
func NewCmdSecretShow(g *globalOptions, runF func(context.Context, *SecretShowOptions) error) *cobra.Command {
	o := &SecretShowOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:     "show NAME",
		Aliases: []string{"get-metadata"},
		Short:   "Show one credential's metadata (never its secret)",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := vaultstore.ValidateName(o.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return secretShowRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func secretShowRun(ctx context.Context, o *SecretShowOptions) error {
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	info, err := store.CredentialInfo(ctx, o.Name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return fmt.Errorf("no credential %q under %s/%s/credentials/: add it with credkeeper secret set %s", o.Name, store.Mount(), store.Prefix(), o.Name)
	}
	if err != nil {
		return err
	}
	if o.JSON {
		return view.WriteJSON(o.Out, view.Credential(*info))
	}
	return view.WriteCredential(o.Out, *info)
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError(cmd, fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), names, len(args)))
		}
		return nil
	}
}

// pairFlags are the flags of a command that writes a credential's pair
// (secret set, keygen): its client ID and the metadata it is written with.
type pairFlags struct{ issuedAt, rotateBy string }

// register adds the flags, filling req.
func (m *pairFlags) register(f *pflag.FlagSet, req *rotation.SetSecretRequest) {
	f.StringVar(&req.ClientID, "client-id", "", "the OAuth2 client ID (required)")
	f.StringVar(&req.Provider, "provider", "", "provider: a provider block's name or a preset (ctrp-int, ctrp-stage, ctrp-prod, dmptool)")
	f.StringVar(&req.Environment, "environment", "", "environment, e.g. stage or prod (presets give one)")
	f.StringVar(&req.Owner, "owner", "", "who owns the credential, e.g. security@example.org")
	f.StringVar(&m.issuedAt, "issued-at", "", "when the pair was issued, YYYY-MM-DD (default today)")
	f.StringVar(&m.rotateBy, "rotate-by", "", "the rotation deadline, YYYY-MM-DD (default 365 days after issue)")
}

// parse sets req's name and dates from the argument and the flags.
func (m *pairFlags) parse(req *rotation.SetSecretRequest, name string) error {
	req.Name = name
	var err error
	if req.IssuedAt, err = parseDateFlag("--issued-at", m.issuedAt); err != nil {
		return err
	}
	if req.RotateBy, err = parseDateFlag("--rotate-by", m.rotateBy); err != nil {
		return err
	}
	return vaultstore.ValidateName(req.Name)
}
