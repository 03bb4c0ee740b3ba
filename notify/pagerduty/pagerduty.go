// Package pagerduty sends notices to PagerDuty's Events API v2: a trigger
// for a page, a resolve with the same dedup key, and change events for
// rotations.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/notify"
)

// DefaultEventsURL is PagerDuty's Events API v2.
const DefaultEventsURL = "https://events.pagerduty.com"

// MaxSummary is the Events API's limit on a summary, in characters.
const MaxSummary = 1024

// Config is a notifier "pagerduty" block.
type Config struct {
	RoutingKeyFile string
	EventsURL      string // default DefaultEventsURL
	Source         string // the payload's source; default "credkeeper"
}

// Notifier sends to one integration. Its routing key is a secret.
type Notifier struct {
	key    secret.Value
	url    string
	source string
	client *http.Client
}

// New reads the routing key from its file.
func New(c Config, client *http.Client) (*Notifier, error) {
	key, err := notify.ReadSecretFile(c.RoutingKeyFile, "the PagerDuty routing key")
	if err != nil {
		return nil, err
	}
	n := &Notifier{key: key, url: strings.TrimRight(c.EventsURL, "/"), source: c.Source, client: notify.HTTPClient(client)}
	if n.url == "" {
		n.url = DefaultEventsURL
	}
	if n.source == "" {
		n.source = "credkeeper"
	}
	return n, nil
}

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action,omitempty"` // trigger, resolve; empty for change events
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
}

// Payload is an event's payload.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Build is the event for a notice, and the path it goes to. Pages and
// incidents trigger (critical when paging); resolves resolve the same
// dedup key; rotations are change events; the rest trigger as warnings.
func Build(n notify.Notice, source string) (path string, ev Event) {
	details := map[string]any{"credential": n.Credential, "environment": n.Environment, "provider": n.Provider,
		"class": n.Class, "action": n.Action, "key": n.Key}
	if !n.Deadline.IsZero() {
		details["deadline"] = dates.Format(n.Deadline)
		details["days_left"] = n.DaysLeft
	}
	summary := text.Truncate(notify.Subject(n), MaxSummary)
	switch {
	case n.Kind == notify.KindRotated:
		return "/v2/change/enqueue", Event{Payload: &Payload{Summary: summary, Source: source, CustomDetails: details}}
	case n.Kind == "resolve":
		return "/v2/enqueue", Event{EventAction: "resolve", DedupKey: n.Resolves}
	}
	severity := "warning"
	switch {
	case n.Page:
		severity = "critical"
	case n.Kind == "incident" || n.Kind == "overdue":
		severity = "error"
	case n.Kind == "test":
		severity = "info"
	}
	return "/v2/enqueue", Event{EventAction: "trigger", DedupKey: n.Key, Payload: &Payload{
		Summary: summary, Source: source, Severity: severity, Component: n.Credential, Group: n.Environment, Class: n.Class, CustomDetails: details,
	}}
}

// Notify implements notify.Notifier. PagerDuty answers 202 when it takes
// an event; 429 and 5xx are retried, other statuses are not.
func (p *Notifier) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	path, ev := Build(n, p.source)
	ev.RoutingKey = p.key.Reveal()
	b, _ := json.Marshal(ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post to PagerDuty: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
		return false, nil
	}
	msg := strings.ReplaceAll(strings.TrimSpace(string(reply)), p.key.Reveal(), secret.Redacted)
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return notify.RetryableStatus(resp.StatusCode), &notify.StatusError{Service: "pagerduty", Status: resp.StatusCode, Detail: msg}
}
