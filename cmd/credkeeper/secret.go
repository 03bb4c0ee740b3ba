package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
	cmd.AddCommand(newSecretSetCmd(opts), newSecretListCmd(opts), newSecretShowCmd(opts))
	return cmd
}

type secretSetOptions struct {
	clientID, provider, environment, owner string
	issuedAt, rotateBy                     string
	dropGrant                              bool
}

func newSecretSetCmd(opts *globalOptions) *cobra.Command {
	var o secretSetOptions
	cmd := &cobra.Command{
		Use:   "set NAME --client-id ID",
		Short: "Store a client ID and secret; the secret is read from standard input",
		Long: `Set writes credentials/NAME in Vault with check-and-set. The client secret is
read from standard input (one line; the trailing newline is dropped), never from
a flag or an argument, so it stays out of shell history and process listings.
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
			req := rotation.SetSecretRequest{Name: args[0], ClientID: o.clientID, Provider: o.provider, Environment: o.environment, Owner: o.owner, DropGrant: o.dropGrant}
			var err error
			if req.IssuedAt, err = parseDateFlag("--issued-at", o.issuedAt); err != nil {
				return err
			}
			if req.RotateBy, err = parseDateFlag("--rotate-by", o.rotateBy); err != nil {
				return err
			}
			if err := vaultstore.ValidateName(req.Name); err != nil {
				return err
			}
			if req.ClientSecret, err = readSecret(opts.In, opts.Err, req.Name); err != nil {
				return err
			}
			cfg, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			rep, err := rotation.SetSecret(cmd.Context(), store, cfg, req, opts.now())
			if err != nil {
				return err
			}
			if rep.KeptGrant {
				fmt.Fprintln(opts.Out, keptGrantNote)
			}
			_, err = fmt.Fprintf(opts.Out, "Success! Wrote %s/%s/credentials/%s (version %d).\n", store.Mount(), store.Prefix(), req.Name, rep.Version)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.clientID, "client-id", "", "the OAuth2 client ID (required)")
	f.StringVar(&o.provider, "provider", "", "provider: a provider block's name or a preset (ctrp-int, ctrp-stage, ctrp-prod, dmptool)")
	f.StringVar(&o.environment, "environment", "", "environment, e.g. stage or prod (presets give one)")
	f.StringVar(&o.owner, "owner", "", "who owns the credential, e.g. security@example.org")
	f.StringVar(&o.issuedAt, "issued-at", "", "when the pair was issued, YYYY-MM-DD (default today)")
	f.StringVar(&o.rotateBy, "rotate-by", "", "the rotation deadline, YYYY-MM-DD (default 365 days after issue)")
	f.BoolVar(&o.dropGrant, "drop-grant", false, "remove a stored user grant instead of keeping it with the new pair")
	_ = cmd.MarkFlagRequired("client-id")
	return cmd
}

// readSecret reads the client secret: without echo on a terminal, else one
// line of standard input.
func readSecret(in io.Reader, prompt io.Writer, name string) (secret.Value, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "Client secret for %s: ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return secret.Value{}, fmt.Errorf("read the client secret: %w", err)
		}
		return nonEmptySecret(string(b))
	}
	line, err := bufio.NewReaderSize(in, 64*1024).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return secret.Value{}, fmt.Errorf("read the client secret from standard input: %w", err)
	}
	return nonEmptySecret(strings.TrimRight(line, "\r\n"))
}

func nonEmptySecret(s string) (secret.Value, error) {
	if strings.TrimSpace(s) == "" {
		return secret.Value{}, errors.New("the client secret is empty: give it on standard input, e.g. printf '%s\\n' \"$SECRET\" | credkeeper secret set NAME --client-id ID")
	}
	return secret.New(s), nil
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

// credentialJSON is how listings show a credential: metadata, never data.
type credentialJSON struct {
	Name        string `json:"name"`
	Provider    string `json:"provider"`
	Environment string `json:"environment"`
	Owner       string `json:"owner"`
	IssuedAt    string `json:"issued_at"`
	RotateBy    string `json:"rotate_by"`
	Version     int    `json:"version"`
	UpdatedTime string `json:"updated_time"`
}

func toCredentialJSON(i vaultstore.CredentialInfo) credentialJSON {
	return credentialJSON{
		Name: i.Name, Provider: i.Metadata.Provider, Environment: i.Metadata.Environment, Owner: i.Metadata.Owner,
		IssuedAt: dates.Format(i.Metadata.IssuedAt), RotateBy: dates.Format(i.Metadata.RotateBy),
		Version: i.Version, UpdatedTime: dates.FormatTime(i.UpdatedTime),
	}
}

func newSecretListCmd(opts *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the credentials in Vault with their metadata (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			infos, err := store.ListCredentials(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]credentialJSON, 0, len(infos))
			for _, i := range infos {
				rows = append(rows, toCredentialJSON(i))
			}
			if asJSON {
				return writeJSON(opts.Out, rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(opts.Out, "No credentials under %s/%s/credentials/. Add one with credkeeper secret set.\n", store.Mount(), store.Prefix())
				return err
			}
			tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPROVIDER\tENVIRONMENT\tOWNER\tISSUED_AT\tROTATE_BY\tVERSION")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Name, dash(r.Provider), dash(r.Environment), dash(r.Owner), dash(r.IssuedAt), dash(r.RotateBy), r.Version)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newSecretShowCmd(opts *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show NAME",
		Aliases: []string{"get-metadata"},
		Short:   "Show one credential's metadata (never its secret)",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vaultstore.ValidateName(args[0]); err != nil {
				return err
			}
			_, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			info, err := store.CredentialInfo(cmd.Context(), args[0])
			if errors.Is(err, vaultstore.ErrNotFound) {
				return fmt.Errorf("no credential %q under %s/%s/credentials/: add it with credkeeper secret set %s", args[0], store.Mount(), store.Prefix(), args[0])
			}
			if err != nil {
				return err
			}
			r := toCredentialJSON(*info)
			if asJSON {
				return writeJSON(opts.Out, r)
			}
			tw := tabwriter.NewWriter(opts.Out, 0, 4, 2, ' ', 0)
			for _, kv := range [][2]string{
				{"name", r.Name}, {"provider", dash(r.Provider)}, {"environment", dash(r.Environment)}, {"owner", dash(r.Owner)},
				{"issued_at", dash(r.IssuedAt)}, {"rotate_by", dash(r.RotateBy)}, {"version", fmt.Sprint(r.Version)}, {"updated_time", r.UpdatedTime},
			} {
				fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// exactArgs is cobra.ExactArgs with a message that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError(cmd, fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), names, len(args)))
		}
		return nil
	}
}
