package app

import (
	"context"
	"fmt"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/notify/email"
	"github.com/credkeeper/credkeeper/rotation"
)

// SupportMail is how rotate request --send mails a request to a
// provider's support: through the email notifier the support block names
// (its relay, login and from address), to the support address, with
// Reply-To the credential's owner.
func SupportMail(cfg *config.Config) rotation.SupportMail {
	return func(ctx context.Context, via, to, replyTo, subject, body string) error {
		n, ok := cfg.Notifiers[via]
		if !ok || n.Type != config.NotifierEmail {
			return fmt.Errorf("no email notifier named %q in %s", via, cfg.Filename)
		}
		m, err := email.New(email.Config{SMTP: n.SMTP, From: n.From, To: n.To, Username: n.Username, PasswordFile: n.PasswordFile, StartTLS: n.StartTLS, CAFile: n.CAFile})
		if err != nil {
			return fmt.Errorf("notifier %q: %w", via, err)
		}
		return m.Send(ctx, email.Letter{To: []string{to}, ReplyTo: replyTo, Subject: subject, Body: body})
	}
}
