// Package email sends notices by SMTP, as plain text with an HTML
// alternative, through github.com/wneessen/go-mail: STARTTLS and
// authentication as the relay asks.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/notify"
)

// Config is a notifier "email" block.
type Config struct {
	SMTP         string // host:port
	From         string
	To           []string
	Username     string
	PasswordFile string
	StartTLS     bool   // require STARTTLS (default true in the config language)
	CAFile       string // PEM roots for the relay's certificate; the system's when empty
}

// Notifier sends through one relay. Its password is a secret.
type Notifier struct {
	cfg      Config
	host     string
	port     int
	password secret.Value
	tls      *tls.Config
}

// New checks the config and reads the password and CA file.
func New(c Config) (*Notifier, error) {
	host, portStr, err := net.SplitHostPort(c.SMTP)
	if err != nil {
		return nil, fmt.Errorf("%w: smtp %q is not host:port", notify.ErrConfig, c.SMTP)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("%w: smtp %q has no port number", notify.ErrConfig, c.SMTP)
	}
	if c.From == "" || len(c.To) == 0 {
		return nil, fmt.Errorf("%w: an email notifier needs from and to", notify.ErrConfig)
	}
	n := &Notifier{cfg: c, host: host, port: port, tls: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	if c.PasswordFile != "" {
		if n.password, err = notify.ReadSecretFile(c.PasswordFile, "the SMTP password"); err != nil {
			return nil, err
		}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: read ca_file: %w", notify.ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca_file %s holds no PEM certificate", notify.ErrConfig, c.CAFile)
		}
		n.tls.RootCAs = pool
	}
	return n, nil
}

// Message builds the mail for a notice.
func (n *Notifier) Message(nt notify.Notice) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(n.cfg.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", n.cfg.From, err)
	}
	if err := m.To(n.cfg.To...); err != nil {
		return nil, fmt.Errorf("to %v: %w", n.cfg.To, err)
	}
	m.Subject(notify.Subject(nt))
	text := notify.Text(nt)
	m.SetBodyString(mail.TypeTextPlain, text)
	m.AddAlternativeString(mail.TypeTextHTML, "<html><body><pre style=\"font-family: monospace\">"+html.EscapeString(text)+"</pre></body></html>")
	m.SetGenHeader("X-Credkeeper-Key", nt.Key)
	return m, nil
}

// Letter is a mail written for one reader rather than a notice: a
// request to a provider's support, sent through the notifier's relay and
// from its address, to To (not the notifier's to), with Reply-To set.
type Letter struct {
	To      []string
	ReplyTo string
	Subject string
	Body    string
}

// LetterMessage builds the mail for a letter.
func (n *Notifier) LetterMessage(l Letter) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(n.cfg.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", n.cfg.From, err)
	}
	if err := m.To(l.To...); err != nil {
		return nil, fmt.Errorf("to %v: %w", l.To, err)
	}
	if l.ReplyTo != "" {
		if err := m.ReplyTo(l.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to %q: %w", l.ReplyTo, err)
		}
	}
	m.Subject(l.Subject)
	m.SetBodyString(mail.TypeTextPlain, l.Body)
	return m, nil
}

// Send sends a letter through the relay, once: the caller tells a person
// whether it went.
func (n *Notifier) Send(ctx context.Context, l Letter) error {
	m, err := n.LetterMessage(l)
	if err != nil {
		return err
	}
	_, err = n.send(ctx, m)
	return err
}

// Notify implements notify.Notifier. A refused login or address is not
// retried; a connection or temporary (4xx) failure is.
func (n *Notifier) Notify(ctx context.Context, nt notify.Notice) (bool, error) {
	m, err := n.Message(nt)
	if err != nil {
		return false, err
	}
	return n.send(ctx, m)
}

// send delivers m through the relay; retry says whether trying again can
// help.
func (n *Notifier) send(ctx context.Context, m *mail.Msg) (bool, error) {
	opts := []mail.Option{mail.WithPort(n.port), mail.WithTLSConfig(n.tls), mail.WithTimeout(15 * time.Second)}
	if n.cfg.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if n.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(n.cfg.Username), mail.WithPassword(n.password.Reveal()))
	}
	c, err := mail.NewClient(n.host, opts...)
	if err != nil {
		return false, err
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		msg := err.Error()
		if !n.password.IsZero() {
			msg = strings.ReplaceAll(msg, n.password.Reveal(), secret.Redacted)
		}
		var se *mail.SendError
		retry := true
		if errors.As(err, &se) {
			retry = se.IsTemp()
		}
		if strings.Contains(msg, "535") || strings.Contains(msg, "SMTP AUTH failed") && !strings.Contains(msg, " 454 ") {
			return false, fmt.Errorf("the SMTP relay %s refused the login for %s: check username and password_file (%s)", n.cfg.SMTP, n.cfg.Username, text.OneLine(msg, 300))
		}
		err = fmt.Errorf("send mail through %s: %s", n.cfg.SMTP, text.OneLine(msg, 300))
		if se != nil && se.ErrorCode() != 0 {
			err = &relayError{msg: err.Error(), code: &textproto.Error{Code: se.ErrorCode()}}
		}
		return retry, err
	}
	return false, nil
}

// relayError is a relay's answer: its text, redacted, and underneath its
// code, for notify.Reason (4xx: a relay in trouble; 5xx: a refusal).
type relayError struct {
	msg  string
	code *textproto.Error
}

func (e *relayError) Error() string { return e.msg }
func (e *relayError) Unwrap() error { return e.code }
