package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/authorize"
	"github.com/credkeeper/credkeeper/internal/app/view"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// AuthorizeOptions are authorize's argument and flags.
type AuthorizeOptions struct {
	*globalOptions
	Name      string
	NoBrowser bool
	Timeout   time.Duration
}

// NewCmdAuthorize is `credkeeper authorize`. runF runs it (authorizeRun when nil).
func NewCmdAuthorize(g *globalOptions, runF func(context.Context, *AuthorizeOptions) error) *cobra.Command {
	o := &AuthorizeOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "authorize NAME",
		Short: "Obtain a user grant (authorization_code) and store its token in Vault",
		Long: `Authorize sends a user to the provider to approve access (for DMPTool, the
protected API), receives the answer on the credential's loopback redirect_uri,
exchanges the code for a long-lived token, and stores it in credentials/NAME
beside the app's client ID and secret (set first with credkeeper secret set).
The token is never printed. A random state and PKCE (S256) protect the exchange.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := vaultstore.ValidateName(o.Name); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return authorizeRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "print the URL only; do not open a browser")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the browser's answer")
	return cmd
}

func authorizeRun(ctx context.Context, o *AuthorizeOptions) error {
	r, err := o.authorizer(ctx)
	if err != nil {
		return err
	}
	ao := authorize.Options{Timeout: o.Timeout, Out: o.Out}
	if !o.NoBrowser {
		ao.OpenBrowser = openBrowser
	}
	res, err := r.Authorize(ctx, o.Name, ao)
	if err != nil {
		return err
	}
	expiry := "no expiry given"
	if !res.NoExpiry {
		expiry = "expires " + dates.FormatTime(res.ExpiresAt)
	}
	_, err = fmt.Fprintf(o.Out, "Success! Stored the grant in credentials/%s (version %d).\nGranted scopes: %s\nToken: %s\n", o.Name, res.Version, view.Dash(res.Scope), expiry)
	return err
}

// openBrowser asks the desktop to open url.
func openBrowser(url string) error {
	var name string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return errors.New("opening a browser is not supported here")
	default:
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("%s not found", name)
	}
	return exec.Command(path, url).Start()
}
