package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// TokenOptions are token's argument and flags.
type TokenOptions struct {
	*globalOptions
	Name   string
	MinTTL time.Duration
	JSON   bool
}

// NewCmdToken is `credkeeper token`. runF runs it (tokenRun when nil).
func NewCmdToken(g *globalOptions, runF func(context.Context, *TokenOptions) error) *cobra.Command {
	o := &TokenOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "token NAME",
		Short: "Print the access token the daemon published for CI",
		Long: `Token prints the access token in tokens/NAME and nothing else, for
$(credkeeper token NAME) in a CI job. It fails with exit status 1 when the token
is missing, expired, or expires within --min-ttl. It reads tokens/NAME only, so
a token with the ci policy is enough.`,
		Example: `  curl -H "Authorization: Bearer $(credkeeper token ctrp-stage)" https://…`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vaultstore.ValidateName(args[0]); err != nil {
				return err
			}
			o.Name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return tokenRun(cmd.Context(), o)
		},
	}
	cmd.Flags().DurationVar(&o.MinTTL, "min-ttl", 60*time.Second, "fail when the token expires sooner than this")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the token with its type, expiry and scope as JSON")
	return cmd
}

func tokenRun(ctx context.Context, o *TokenOptions) error {
	name := o.Name
	_, store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	tok, err := store.GetToken(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return fmt.Errorf("no token published for %q: is publish_token set for it, and the daemon running? (credkeeper check %s tells whether the credential works)", name, name)
	}
	if err != nil {
		return err
	}
	left := tok.ExpiresAt.Sub(o.clock.Now())
	switch {
	case left <= 0:
		return fmt.Errorf("the token for %q expired at %s: the daemon has not renewed it; check the daemon and credkeeper check %s", name, dates.FormatTime(tok.ExpiresAt), name)
	case left < o.MinTTL:
		return fmt.Errorf("the token for %q expires in %s, less than --min-ttl %s: the daemon renews it before expiry; try again shortly", name, left.Round(time.Second), o.MinTTL)
	}
	if o.JSON {
		return view.WriteJSON(o.Out, map[string]any{
			"access_token": tok.AccessToken.Reveal(), "token_type": tok.TokenType,
			"expires_at": dates.FormatTime(tok.ExpiresAt), "scope": tok.Scope, "credential_version": tok.CredentialVersion,
		})
	}
	_, err = fmt.Fprintln(o.Out, tok.AccessToken.Reveal())
	return err
}
