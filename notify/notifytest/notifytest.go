// Package notifytest is what every channel's tests assert, in one place
// (Alertmanager's notify/test is the model): that a notifier's failures
// never show its secret. The product never imports it.
package notifytest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/notify"
)

// AssertNotifyLeaksNoSecret sends n through nf, which the test has set up
// to fail (a receiver that is down, or that echoes the secret back in its
// answer), and fails t unless it fails without any of the secrets, plain
// or URL-escaped, in its error.
func AssertNotifyLeaksNoSecret(t testing.TB, ctx context.Context, nf notify.Notifier, n notify.Notice, secrets ...string) {
	t.Helper()
	_, err := nf.Notify(ctx, n)
	if err == nil {
		t.Fatal("the notifier was meant to fail, and did not")
	}
	AssertNoSecret(t, "the error", []string{err.Error()}, secrets...)
}

// AssertNoSecret fails t when any of texts (what names them) contains any
// of the secrets, plain or URL-escaped.
func AssertNoSecret(t testing.TB, what string, texts []string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret cannot be looked for")
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			for _, text := range texts {
				if strings.Contains(text, form) {
					t.Errorf("%s shows a secret (%d characters long)", what, len(s))
				}
			}
		}
	}
}
