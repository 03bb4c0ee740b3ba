// Package slack posts notices to a Slack incoming webhook, as Block Kit.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/notify"
)

// Config is a notifier "slack" block.
type Config struct {
	WebhookURLFile string
}

// Notifier posts to one incoming webhook. Its URL is a secret.
type Notifier struct {
	url    secret.Value
	client *http.Client
}

// New reads the webhook URL from its file.
func New(c Config, client *http.Client) (*Notifier, error) {
	u, err := notify.ReadSecretFile(c.WebhookURLFile, "the Slack webhook URL")
	if err != nil {
		return nil, err
	}
	return &Notifier{url: u, client: notify.HTTPClient(client)}, nil
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type block struct {
	Type     string       `json:"type"`
	Text     *textObject  `json:"text,omitempty"`
	Elements []textObject `json:"elements,omitempty"`
}

// Payload is the message posted: a fallback text and Block Kit blocks.
type Payload struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

// Build is the payload for a notice.
func Build(n notify.Notice) Payload {
	body := notify.Text(n)
	return Payload{
		Text: notify.Subject(n),
		Blocks: []block{
			{Type: "header", Text: &textObject{Type: "plain_text", Text: text.Truncate(notify.Subject(n), 150)}},
			{Type: "section", Text: &textObject{Type: "mrkdwn", Text: "```" + text.Truncate(strings.TrimSpace(body), 2900) + "```"}},
			{Type: "context", Elements: []textObject{{Type: "mrkdwn", Text: "credkeeper · " + n.Key}}},
		},
	}
}

// Notify implements notify.Notifier. Slack answers 200 "ok"; any other
// answer is a failure, retried only for 429 and 5xx.
func (s *Notifier) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	b, _ := json.Marshal(Build(n))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url.Reveal(), bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("the Slack webhook URL is not a URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post to Slack: the request failed (%s)", redactURL(err.Error(), s.url))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(reply)) == "ok" {
		return false, nil
	}
	return notify.RetryableStatus(resp.StatusCode), &notify.StatusError{Service: "slack", Status: resp.StatusCode, Detail: fmt.Sprintf("%q", text.Truncate(redactURL(strings.TrimSpace(string(reply)), s.url), 100))}
}

// redactURL keeps the webhook URL out of an error's text: the whole URL,
// and its path, which is the secret part (/services/T…/B…/token).
func redactURL(msg string, u secret.Value) string {
	msg = strings.ReplaceAll(msg, u.Reveal(), secret.Redacted)
	if parsed, err := url.Parse(u.Reveal()); err == nil && len(parsed.Path) > 1 {
		msg = strings.ReplaceAll(msg, parsed.Path, secret.Redacted)
		msg = strings.ReplaceAll(msg, parsed.EscapedPath(), secret.Redacted)
	}
	return msg
}
