package app

import (
	"fmt"
	"net/http"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/email"
	"github.com/credkeeper/credkeeper/notify/pagerduty"
	"github.com/credkeeper/credkeeper/notify/slack"
	"github.com/credkeeper/credkeeper/notify/webhook"
)

// BuildNotifiers makes the channels the config declares, reading their
// secrets from their files. This is the one place that wires notify's
// channels to the configuration. clock dates what a channel stamps itself
// (a webhook's signed timestamp).
func BuildNotifiers(cfg *config.Config, client *http.Client, clock clockwork.Clock) (map[string]notify.Notifier, error) {
	out := make(map[string]notify.Notifier, len(cfg.Notifiers))
	for name, n := range cfg.Notifiers {
		var (
			nf  notify.Notifier
			err error
		)
		switch n.Type {
		case config.NotifierEmail:
			nf, err = email.New(email.Config{SMTP: n.SMTP, From: n.From, To: n.To, Username: n.Username, PasswordFile: n.PasswordFile, StartTLS: n.StartTLS, CAFile: n.CAFile})
		case config.NotifierSlack:
			nf, err = slack.New(slack.Config{WebhookURLFile: n.WebhookURLFile}, client)
		case config.NotifierPagerDuty:
			nf, err = pagerduty.New(pagerduty.Config{RoutingKeyFile: n.RoutingKeyFile, EventsURL: n.EventsURL}, client)
		case config.NotifierWebhook:
			nf, err = webhook.New(webhook.Config{URL: n.URL, HMACSecretFile: n.HMACSecretFile}, client, clock)
		default:
			err = fmt.Errorf("unknown type %q", n.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("notifier %q: %w", name, err)
		}
		out[name] = nf
	}
	return out, nil
}
