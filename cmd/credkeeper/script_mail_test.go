package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/credkeeper/credkeeper/notify/notifytest"
)

// The scripts' SMTP relay: a real SMTP server on loopback, one per
// script, requiring STARTTLS and a login. A script's email notifier
// points at $SMTP_ADDR with ca_file $SMTP_CA_FILE, username credkeeper
// and password_file $SMTP_PASSWORD_FILE.

type relayKey struct{}

// scriptSMTPPassword is the relay's password: no script output may hold it.
const scriptSMTPPassword = "Script-Smtp-Password-0042"

// setupScriptRelay starts a relay for the script e sets up.
func setupScriptRelay(t *testing.T, e *testscript.Env, cert tls.Certificate, caFile string) error {
	r := &notifytest.Relay{User: "credkeeper", Password: scriptSMTPPassword}
	addr := notifytest.StartRelay(t, r, cert)
	pw := filepath.Join(e.WorkDir, "smtp-password")
	if err := os.WriteFile(pw, []byte(scriptSMTPPassword+"\n"), 0o600); err != nil {
		return err
	}
	e.Values[relayKey{}] = r
	e.Setenv("SMTP_ADDR", addr)
	e.Setenv("SMTP_CA_FILE", caFile)
	e.Setenv("SMTP_PASSWORD_FILE", pw)
	return nil
}

// mail-save FILE: write every message the script's relay received so
// far to FILE: each one's recipients, headers and decoded text, between
// "=== message N" lines, for grep.
func cmdMailSave(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mail-save FILE")
	}
	r := ts.Value(relayKey{}).(*notifytest.Relay)
	msgs, rcpts := r.Messages()
	var b strings.Builder
	for i, raw := range msgs {
		b.WriteString(fmt.Sprintf("=== message %d\n", i+1))
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		ts.Check(err)
		for _, h := range []string{"From", "To", "Reply-To", "Subject"} {
			v, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get(h))
			b.WriteString(h + ": " + v + "\n")
		}
		b.WriteString("\n" + textOf(ts, m.Header, m.Body) + "\n")
		// The raw message too, so that a secret in any encoding is found.
		b.WriteString("--- raw\n" + string(raw) + "\n")
	}
	b.WriteString("=== recipients: " + strings.Join(rcpts, " ") + "\n")
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
}

// textOf is a message's text/plain part, decoded.
func textOf(ts *testscript.TestScript, h mail.Header, body io.Reader) string {
	media, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
				b, err := io.ReadAll(p) // multipart decodes quoted-printable itself
				ts.Check(err)
				return string(b)
			}
		}
	}
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	ts.Check(err)
	return string(b)
}
