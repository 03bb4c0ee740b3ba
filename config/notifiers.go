package config

import (
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Notifier types.
const (
	NotifierEmail     = "email"
	NotifierSlack     = "slack"
	NotifierPagerDuty = "pagerduty"
	NotifierWebhook   = "webhook"
)

// Notifier is a notifier block: a channel notices go out on. Its secrets
// (SMTP password, Slack webhook URL, PagerDuty routing key, HMAC key) are
// named by file, never written here.
type Notifier struct {
	Type string
	Name string

	// email
	SMTP         string
	From         string
	To           []string
	Username     string
	PasswordFile string
	StartTLS     bool
	CAFile       string
	// slack
	WebhookURLFile string
	// pagerduty
	RoutingKeyFile string
	EventsURL      string
	// webhook
	URL            string
	HMACSecretFile string
}

// Notifications is the notifications block: who gets paged, when outages
// become ops notices, and how long a silence may last.
type Notifications struct {
	PageEnvironments []string
	OpsAfter         int
	PageOps          bool
	// MaxSilence bounds a silence's --until (default DefaultMaxSilence).
	MaxSilence time.Duration
}

// inlineSecrets are attributes that would put a secret in the file, with
// the attribute to use instead.
var inlineSecrets = map[string]string{
	"password": "password_file", "webhook_url": "webhook_url_file", "routing_key": "routing_key_file", "hmac_secret": "hmac_secret_file",
}

var notifierSchemas = map[string]*hcl.BodySchema{
	NotifierEmail: {Attributes: []hcl.AttributeSchema{{Name: "smtp", Required: true}, {Name: "from", Required: true}, {Name: "to", Required: true},
		{Name: "username"}, {Name: "password_file"}, {Name: "starttls"}, {Name: "ca_file"}, {Name: "password"}}},
	NotifierSlack:     {Attributes: []hcl.AttributeSchema{{Name: "webhook_url_file", Required: true}, {Name: "webhook_url"}}},
	NotifierPagerDuty: {Attributes: []hcl.AttributeSchema{{Name: "routing_key_file", Required: true}, {Name: "events_url"}, {Name: "routing_key"}}},
	NotifierWebhook:   {Attributes: []hcl.AttributeSchema{{Name: "url", Required: true}, {Name: "hmac_secret_file"}, {Name: "hmac_secret"}}},
}

var notificationsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "page_environments"}, {Name: "ops_after"}, {Name: "page_ops"}, {Name: "max_silence"}},
}

func decodeNotifier(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	typ, name := b.Labels[0], b.Labels[1]
	schema, ok := notifierSchemas[typ]
	if !ok {
		return hcl.Diagnostics{errAt(b.LabelRanges[0], "Unknown notifier type", "%q is not a notifier type: use email, slack, pagerduty or webhook.", typ)}
	}
	if _, dup := cfg.Notifiers[name]; dup {
		return hcl.Diagnostics{errAt(b.LabelRanges[1], "Duplicate notifier", "A notifier named %q is declared twice.", name)}
	}
	content, diags := b.Body.Content(schema)
	for attr, instead := range inlineSecrets {
		if a := content.Attributes[attr]; a != nil {
			d := errAt(a.NameRange, "Secret in the configuration", "Secrets are never written in the configuration: put it in a file readable by credkeeper only and set %s.", instead)
			d.Extra = noSnippet{} // the line holds the secret: do not echo it
			diags = append(diags, d)
		}
	}
	n := &Notifier{Type: typ, Name: name, StartTLS: true}
	for attr, dst := range map[string]*string{"smtp": &n.SMTP, "from": &n.From, "username": &n.Username, "password_file": &n.PasswordFile,
		"ca_file": &n.CAFile, "webhook_url_file": &n.WebhookURLFile, "routing_key_file": &n.RoutingKeyFile, "events_url": &n.EventsURL,
		"url": &n.URL, "hmac_secret_file": &n.HMACSecretFile} {
		diags = append(diags, optString(content.Attributes[attr], dst)...)
	}
	diags = append(diags, optStringList(content.Attributes["to"], &n.To)...)
	diags = append(diags, optBool(content.Attributes["starttls"], &n.StartTLS)...)
	if n.Username != "" && n.PasswordFile == "" && typ == NotifierEmail {
		diags = append(diags, errAt(b.DefRange, "Missing password_file", "Notifier %q has a username but no password_file.", name))
	}
	cfg.Notifiers[name] = n
	return diags
}

func decodeNotifications(b *hcl.Block, n *Notifications) hcl.Diagnostics {
	content, diags := b.Body.Content(notificationsSchema)
	diags = append(diags, optStringList(content.Attributes["page_environments"], &n.PageEnvironments)...)
	diags = append(diags, optBool(content.Attributes["page_ops"], &n.PageOps)...)
	diags = append(diags, optDurationIn(content.Attributes["max_silence"], &n.MaxSilence, MinMaxSilence, MaxMaxSilence)...)
	if a := content.Attributes["ops_after"]; a != nil {
		diags = append(diags, optInt(a, &n.OpsAfter, 1, 1000)...)
	}
	return diags
}

// checkChannels reports credential notify/page names that no notifier
// block declares.
func checkChannels(cfg *Config, attrs map[*Credential]hcl.Attributes) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for c, as := range attrs {
		for attr, names := range map[string][]string{"notify": c.Notify, "page": c.Page} {
			for _, name := range names {
				if _, ok := cfg.Notifiers[name]; !ok {
					known := make([]string, 0, len(cfg.Notifiers))
					for k := range cfg.Notifiers {
						known = append(known, k)
					}
					slices.Sort(known)
					diags = append(diags, errAt(as[attr].Expr.Range(), "Unknown notifier", "No notifier block is named %q (declared: %v).", name, known))
				}
			}
		}
	}
	return diags
}

func optInt(a *hcl.Attribute, dst *int, lo, hi int) hcl.Diagnostics {
	v, diags := attrValue(a, cty.Number)
	if v == cty.NilVal {
		return diags
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != 0 || n < int64(lo) || n > int64(hi) {
		return append(diags, errAt(a.Expr.Range(), "Invalid number", "%s is a whole number from %d to %d.", a.Name, lo, hi))
	}
	*dst = int(n)
	return diags
}

// Silences last at most the notifications block's max_silence, so that
// none outlives the reason it was set for.
const (
	DefaultMaxSilence = 90 * 24 * time.Hour
	MinMaxSilence     = 24 * time.Hour
	MaxMaxSilence     = 365 * 24 * time.Hour
)

// DefaultOpsAfter is how many consecutive non-credential failures open an
// ops notice.
const DefaultOpsAfter = 3

// DefaultPageEnvironments are the environments whose credential failures page.
var DefaultPageEnvironments = []string{"prod", "production"}
