package view

import (
	"fmt"
	"io"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/oauthcheck"
)

// CheckJSON is one check as check --json prints it.
type CheckJSON struct {
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
	RateLimit         *RateLimitJSON   `json:"rate_limit,omitempty"`
	ProbeStatus       int              `json:"probe_status,omitempty"`
	NotSent           bool             `json:"not_sent"`
	CredentialVersion int              `json:"credential_version"`
	CheckedAt         string           `json:"checked_at"`
}

// RateLimitJSON is what a token response's rate-limit headers said.
type RateLimitJSON struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Reset     string `json:"reset,omitempty"`
}

// Checks is results as check --json prints them.
func Checks(results []oauthcheck.Result) []CheckJSON {
	out := make([]CheckJSON, 0, len(results))
	for _, r := range results {
		j := CheckJSON{
			Name: r.Name, Environment: r.Environment, Provider: r.Provider, Class: r.Class, Status: r.Status,
			ErrorCode: r.ErrorCode, Description: r.Description, Detail: r.Detail, TokenType: r.TokenType, Scope: r.Scope,
			ExpiresAt: dates.FormatTime(r.ExpiresAt), NoExpiry: r.NoExpiry, LatencyMS: r.Latency.Milliseconds(), RetryAt: dates.FormatTime(r.RetryAt),
			ProbeStatus: r.ProbeStatus, NotSent: r.NotSent, CredentialVersion: r.CredentialVersion, CheckedAt: dates.FormatTime(r.CheckedAt),
		}
		if r.RateLimit.Seen {
			j.RateLimit = &RateLimitJSON{Limit: r.RateLimit.Limit, Remaining: r.RateLimit.Remaining, Reset: dates.FormatTime(r.RateLimit.Reset)}
		}
		out = append(out, j)
	}
	return out
}

// WriteCheckTable prints results as check's table, the token lifetimes
// relative to now.
func WriteCheckTable(w io.Writer, results []oauthcheck.Result, now time.Time) error {
	tw := table(w)
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
				expires = "in " + dates.ShortDuration(left.Round(time.Minute))
			}
		}
		latency := "-"
		if !r.NotSent && r.Latency > 0 {
			latency = r.Latency.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, Dash(r.Environment), r.Class, expires, latency, r.Detail)
	}
	return tw.Flush()
}
