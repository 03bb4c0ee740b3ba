package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/rotation"
)

type checkOptions struct {
	all, asJSON, force bool
	parallel           int
}

func newCheckCmd(opts *globalOptions) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check [NAME...] [--all]",
		Short: "Request a token for each credential now and say what the provider answered",
		Long: `Check reads each credential from Vault, requests one token from its provider,
classifies the answer, records it in state/NAME, and prints a table (or --json).

Classes: ok, invalid_client, invalid_grant, expired (credential failures), and
rate_limited, unavailable, misconfigured, protocol (not the credential's fault).

A version the provider refused (invalid_client, invalid_grant, expired) is not
sent again until the secret changes in Vault, so that checking never locks an
account; --force sends it anyway.

Exit status: 0 every check ok; 2 a credential failure; 3 only failures that are
not the credential's (provider down, rate limited, misconfigured, protocol);
1 a usage or Vault error.`,
		Example: `  credkeeper check ctrp-stage
  credkeeper check --all --json`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if o.all == (len(names) > 0) {
				return usageError(cmd, errors.New("name the credentials to check, or pass --all (not both)"))
			}
			cfg, store, err := opts.openStore(cmd)
			if err != nil {
				return err
			}
			runner := &rotation.Runner{Store: store, Config: cfg, Now: opts.now}
			if o.all {
				if names, err = runner.Names(cmd.Context()); err != nil {
					return err
				}
				if len(names) == 0 {
					return fmt.Errorf("no credentials under %s/%s/credentials/: add one with credkeeper secret set", store.Mount(), store.Prefix())
				}
			}
			results, err := runner.CheckAll(cmd.Context(), names, rotation.CheckOptions{Force: o.force, Parallel: o.parallel})
			if err != nil {
				return err
			}
			if o.asJSON {
				err = writeJSON(opts.Out, checkJSONs(results))
			} else {
				err = writeCheckTable(opts.Out, results, opts.now())
			}
			if err != nil {
				return err
			}
			return checkExit(results)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "check every credential in Vault")
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
	f.BoolVar(&o.force, "force", false, "send even a version the provider already refused")
	f.IntVar(&o.parallel, "parallel", 8, "checks at once")
	return cmd
}

// checkJSON is one check as --json prints it.
type checkJSON struct {
	Name              string           `json:"name"`
	Environment       string           `json:"environment"`
	Provider          string           `json:"provider"`
	Class             oauthcheck.Class `json:"class"`
	Status            int              `json:"status"`
	ErrorCode         string           `json:"error_code"`
	Description       string           `json:"description,omitempty"`
	Detail            string           `json:"detail"`
	TokenType         string           `json:"token_type,omitempty"`
	Scope             string           `json:"scope,omitempty"`
	ExpiresAt         string           `json:"expires_at"`
	NoExpiry          bool             `json:"no_expiry,omitempty"`
	LatencyMS         int64            `json:"latency_ms"`
	RetryAt           string           `json:"retry_at,omitempty"`
	RateLimit         *rateLimitJSON   `json:"rate_limit,omitempty"`
	ProbeStatus       int              `json:"probe_status,omitempty"`
	NotSent           bool             `json:"not_sent"`
	CredentialVersion int              `json:"credential_version"`
	CheckedAt         string           `json:"checked_at"`
}

type rateLimitJSON struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Reset     string `json:"reset,omitempty"`
}

func checkJSONs(results []oauthcheck.Result) []checkJSON {
	out := make([]checkJSON, 0, len(results))
	for _, r := range results {
		j := checkJSON{
			Name: r.Name, Environment: r.Environment, Provider: r.Provider, Class: r.Class, Status: r.Status,
			ErrorCode: r.ErrorCode, Description: r.Description, Detail: r.Detail, TokenType: r.TokenType, Scope: r.Scope,
			ExpiresAt: dates.FormatTime(r.ExpiresAt), NoExpiry: r.NoExpiry, LatencyMS: r.Latency.Milliseconds(), RetryAt: dates.FormatTime(r.RetryAt),
			ProbeStatus: r.ProbeStatus, NotSent: r.NotSent, CredentialVersion: r.CredentialVersion, CheckedAt: dates.FormatTime(r.CheckedAt),
		}
		if r.RateLimit.Seen {
			j.RateLimit = &rateLimitJSON{Limit: r.RateLimit.Limit, Remaining: r.RateLimit.Remaining, Reset: dates.FormatTime(r.RateLimit.Reset)}
		}
		out = append(out, j)
	}
	return out
}

func writeCheckTable(w io.Writer, results []oauthcheck.Result, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENVIRONMENT\tCLASS\tTOKEN EXPIRES\tLATENCY\tDETAIL")
	for _, r := range results {
		expires := "-"
		switch {
		case r.NoExpiry:
			expires = "not given"
		case !r.ExpiresAt.IsZero():
			if left := r.ExpiresAt.Sub(now); left < 0 {
				expires = "expired"
			} else {
				expires = "in " + shortDuration(left)
			}
		}
		latency := "-"
		if !r.NotSent && r.Latency > 0 {
			latency = r.Latency.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Environment), r.Class, expires, latency, r.Detail)
	}
	return tw.Flush()
}

// shortDuration prints a duration to the minute without zero units:
// 8h, 1h30m, 45m, 0m.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}
