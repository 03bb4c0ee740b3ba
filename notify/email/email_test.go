package email

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

const smtpPassword = "Smtp-P4ssword-Never-Shown"

func TestEmailOverSTARTTLSWithLogin(t *testing.T) {
	cert, caFile := notifytest.TestCert(t)
	r := &notifytest.Relay{User: "credkeeper", Password: smtpPassword}
	addr := notifytest.StartRelay(t, r, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword+"\n"), 0o600)

	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org", "oncall@example.org"},
		Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	notice := notify.Notice{Key: "reminder/ctrp-prod/2027-03-01/14d", Kind: "reminder", Credential: "ctrp-prod", Environment: "prod",
		Deadline: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), DaysLeft: 14, Class: "ok",
		Summary: "ctrp-prod must be rotated by 2027-03-01", Action: "request the new pair from CTRP support"}
	if retry, err := n.Notify(context.Background(), notice); err != nil {
		t.Fatalf("Notify: retry %v, %v", retry, err)
	}

	msgs, rcpts := r.Messages()
	if len(msgs) != 1 || len(rcpts) != 2 {
		t.Fatalf("the relay got %d messages for %v", len(msgs), rcpts)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[credkeeper] ctrp-prod (prod) must be rotated by 2027-03-01: 14 days left" || msg.Header.Get("X-Credkeeper-Key") != notice.Key {
		t.Errorf("headers: subject %q key %q", subject, msg.Header.Get("X-Credkeeper-Key"))
	}
	media, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if media != "multipart/alternative" {
		t.Fatalf("content type %q", media)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "Days left:    14") || !strings.Contains(parts["text/html"], "<pre") {
		t.Errorf("parts: %v", parts)
	}
	notifytest.AssertNoSecret(t, "the message", []string{string(msgs[0])}, smtpPassword)
	if bytes.Contains(msgs[0], []byte(smtpPassword)) {
		t.Error("the password is in the message")
	}
}

func TestWrongPasswordFailsClearlyAndIsNotRetried(t *testing.T) {
	cert, caFile := notifytest.TestCert(t)
	addr := notifytest.StartRelay(t, &notifytest.Relay{User: "credkeeper", Password: "the-right-one"}, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword), 0o600)
	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org"}, Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	nt := notify.Notice{Key: "k", Kind: "test", Credential: "c", Summary: "s"}
	retry, err := n.Notify(context.Background(), nt)
	if err == nil || retry || !strings.Contains(err.Error(), "refused the login for credkeeper") {
		t.Errorf("wrong password: retry %v, %v", retry, err)
	}
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), n, nt, smtpPassword)
}

func TestAnUntrustedCertificateIsRefused(t *testing.T) {
	cert, _ := notifytest.TestCert(t)
	addr := notifytest.StartRelay(t, &notifytest.Relay{User: "u", Password: "p"}, cert)
	_, otherCA := notifytest.TestCert(t)
	n, err := New(Config{SMTP: addr, From: "a@example.org", To: []string{"b@example.org"}, StartTLS: true, CAFile: otherCA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), notify.Notice{Key: "k", Kind: "test", Credential: "c"}); err == nil {
		t.Error("STARTTLS with a certificate nobody vouches for succeeded")
	}
}

// A relay that fails every message with a temporary error, forever: each
// attempt fails, and retrying is worth it; the relay that takes messages
// again gets the next attempt.
func TestARelayFailingForeverIsRetriedNotRefused(t *testing.T) {
	cert, caFile := notifytest.TestCert(t)
	r := &notifytest.Relay{User: "credkeeper", Password: smtpPassword}
	addr := notifytest.StartRelay(t, r, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword+"\n"), 0o600)
	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org"},
		Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	notice := notify.Notice{Key: "incident/ctrp-prod/invalid_client", Kind: "incident", Credential: "ctrp-prod", Summary: "ctrp-prod is refused"}
	r.Fail(451)
	for attempt := 1; attempt <= 3; attempt++ {
		retry, err := n.Notify(context.Background(), notice)
		if err == nil || !retry || notify.Reason(err) != notify.ReasonServerError {
			t.Fatalf("attempt %d at a failing relay: retry %v, %v (reason %q), want a retryable server_error", attempt, retry, err, notify.Reason(err))
		}
		notifytest.AssertNoSecret(t, "the error", []string{err.Error()}, smtpPassword)
	}
	if msgs, _ := r.Messages(); len(msgs) != 0 {
		t.Fatalf("a failing relay kept %d messages", len(msgs))
	}
	r.Fail(0)
	if _, err := n.Notify(context.Background(), notice); err != nil {
		t.Errorf("the relay recovered, and the notice was not taken: %v", err)
	}
}

func TestLetterGoesToItsOwnReaderWithReplyTo(t *testing.T) {
	cert, caFile := notifytest.TestCert(t)
	r := &notifytest.Relay{User: "credkeeper", Password: smtpPassword}
	addr := notifytest.StartRelay(t, r, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword+"\n"), 0o600)
	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org"},
		Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), Letter{To: []string{"CTRP_support@nih.gov"}, ReplyTo: "owner@example.org", Subject: "New client ID and secret for stage", Body: "Please issue a new pair.\n"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, rcpts := r.Messages()
	if len(msgs) != 1 || len(rcpts) != 1 || rcpts[0] != "CTRP_support@nih.gov" {
		t.Fatalf("the relay got %d messages for %v", len(msgs), rcpts)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(msg.Body)
	if msg.Header.Get("Reply-To") != "<owner@example.org>" || msg.Header.Get("To") != "<CTRP_support@nih.gov>" || !strings.Contains(string(body), "Please issue a new pair.") {
		t.Errorf("headers %v, body %q", msg.Header, body)
	}
	notifytest.AssertNoSecret(t, "the letter", []string{string(msgs[0])}, smtpPassword)
}
