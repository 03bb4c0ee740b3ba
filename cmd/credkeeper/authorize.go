package main

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

func newAuthorizeCmd(opts *globalOptions) *cobra.Command {
	var (
		noBrowser bool
		timeout   time.Duration
	)
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
			name := args[0]
			if err := vaultstore.ValidateName(name); err != nil {
				return err
			}
			r, err := opts.runner(cmd)
			if err != nil {
				return err
			}
			o := rotation.AuthorizeOptions{Timeout: timeout, Out: opts.Out}
			if !noBrowser {
				o.OpenBrowser = openBrowser
			}
			res, err := r.Authorize(cmd.Context(), name, o)
			if err != nil {
				return err
			}
			expiry := "no expiry given"
			if !res.NoExpiry {
				expiry = "expires " + dates.FormatTime(res.ExpiresAt)
			}
			_, err = fmt.Fprintf(opts.Out, "Success! Stored the grant in credentials/%s (version %d).\nGranted scopes: %s\nToken: %s\n", name, res.Version, dash(res.Scope), expiry)
			return err
		},
	}
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the URL only; do not open a browser")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the browser's answer")
	return cmd
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
