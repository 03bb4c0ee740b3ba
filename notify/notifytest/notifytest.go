// Package notifytest is what every channel's tests assert, in one place
// (Alertmanager's notify/test is the model): that a notifier's failures
// never show its secret, in any of the Forms a secret may take. It also
// runs the receivers channels deliver to: a real SMTP relay on loopback,
// and an HTTP receiver that can be told to answer 500 forever or to hang
// until its sender gives up. The product never imports it.
package notifytest

import (
	"context"
	"encoding/base64"
	"html"
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
// of the secrets, in any of its Forms.
func AssertNoSecret(t testing.TB, what string, texts []string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret cannot be looked for")
		}
		for _, form := range Forms(s) {
			for _, text := range texts {
				if strings.Contains(text, form) {
					t.Errorf("%s shows a secret (%d characters long)", what, len(s))
				}
			}
		}
	}
}

// Forms are the ways a secret v may be dressed in what a person or a system
// sees: plain, URL-escaped (query and path), HTML-escaped and base64 (the
// standard and URL alphabets, padded or not). Inside a longer base64 text v
// starts at one of three alignments; for each, only the characters wholly
// determined by v's bytes are looked for.
func Forms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			b := append(make([]byte, pad), v...)
			e := enc.EncodeToString(b)
			skip := []int{0, 2, 3}[pad]
			whole := (len(b) / 3) * 4
			out = append(out, e[skip:whole])
		}
	}
	return out
}
