package config

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Support is a provider's support block: the people who issue new pairs
// (CTRP's support desk hands out each year's client ID and secret), and
// how credkeeper rotate request writes to them.
type Support struct {
	Email string
	Name  string
	// Via names the email notifier that sends a request (--send); empty:
	// requests are printed only.
	Via string
	// Template is the request's text/template as written (empty: the
	// default, DefaultRequestTemplate); Parsed is it parsed.
	Template string
	Parsed   *template.Template
}

// DefaultFollowUpAfter is a credential's follow_up_after when it sets
// none: how long a request to support may stay unanswered (no new pair
// staged) before its people are told to follow it up.
const DefaultFollowUpAfter = 7 * 24 * time.Hour

// ctrpSupport is CTRP support, as the CTRP API page names it: "contact
// CTRP_support@nih.gov" for a new client ID and secret.
var ctrpSupport = Support{Email: "CTRP_support@nih.gov", Name: "CTRP Support"}

// RequestData is what a request template may use. Dates are YYYY-MM-DD.
// It holds the current client ID, never the secret.
type RequestData struct {
	Credential   string
	Provider     string
	Environment  string
	Account      string // the provider's user account the pair belongs to
	ClientID     string // the current client ID
	TokenURL     string
	Deadline     string // the current pair's rotate_by
	DaysLeft     int    // whole days until Deadline (negative once passed)
	Owner        string // who to answer: the credential's owner
	SupportName  string
	SupportEmail string
	RequestedBy  string
	Ticket       string
	Note         string
	// FollowUp is set on a request made again; FirstRequested is the
	// date of the first one.
	FollowUp       bool
	FirstRequested string
}

// Overdue says whether the deadline has passed.
func (d RequestData) Overdue() bool { return d.Deadline != "" && d.DaysLeft < 0 }

// DaysAgo says how long ago a passed deadline was: "1 day ago", "3 days ago".
func (d RequestData) DaysAgo() string {
	if d.DaysLeft == -1 {
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", -d.DaysLeft)
}

// DefaultRequestTemplate is the request to support when the provider's
// support block sets no template. A template's output is a "Subject:"
// line, a blank line, and the body.
const DefaultRequestTemplate = `Subject: {{if .FollowUp}}Follow-up: {{end}}New client ID and secret for {{.Environment}}{{with .Account}} ({{.}}){{end}}{{if .Overdue}} (was due {{.Deadline}}, {{.DaysAgo}}){{else}} before {{.Deadline}}{{end}}

Dear {{or .SupportName "support"}},

{{if .FollowUp}}We are following up on our request of {{.FirstRequested}}{{with .Ticket}} (our reference {{.}}){{end}}, to which no new pair has reached us yet.

{{end}}Please issue a new client ID and client secret for the {{.Environment}} environment{{with .Account}}, for the user account {{.}}{{end}}, to replace the current pair, which {{if .Overdue}}was due to be changed by {{.Deadline}}, {{.DaysAgo}}{{else}}must be changed by {{.Deadline}}{{end}}.

  Environment:        {{.Environment}}
  Token endpoint:     {{.TokenURL}}
{{- with .Account}}
  User account:       {{.}}{{end}}
  Current client ID:  {{.ClientID}}
  Deadline:           {{if .Overdue}}was due {{.Deadline}}, {{.DaysAgo}}{{else}}{{.Deadline}} ({{.DaysLeft}} days left){{end}}
{{- with .Ticket}}
  Our reference:      {{.}}{{end}}
{{with .Note}}
{{.}}
{{end}}
Please send the new pair, or any question, to {{.Owner}}.

Thank you,
{{.Owner}}
`

// SampleRequestData is the data validate executes a request template
// with.
func SampleRequestData() RequestData {
	return RequestData{Credential: "example", Provider: "example", Environment: "stage", Account: "jdoe", ClientID: "0oa-example",
		TokenURL: "https://example.org/oauth2/v1/token", Deadline: "2026-01-31", DaysLeft: 30, Owner: "owner@example.org",
		SupportName: "Support", SupportEmail: "support@example.org", RequestedBy: "token-alice", Ticket: "INC1", Note: "note",
		FollowUp: true, FirstRequested: "2026-01-01"}
}

// ParseRequestTemplate parses a request template and executes it with
// sample data, so that a mistake is found by validate, not by the first
// request; it returns the parsed template.
func ParseRequestTemplate(text string) (*template.Template, error) {
	t, err := template.New("request").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, SampleRequestData()); err != nil {
		return nil, err
	}
	if subject, _, ok := strings.Cut(b.String(), "\n\n"); !ok || !strings.HasPrefix(subject, "Subject: ") || strings.Contains(subject, "\n") {
		return nil, fmt.Errorf("its text must begin with a line \"Subject: ...\" and a blank line before the body")
	}
	return t, nil
}

var defaultRequestTemplate = template.Must(ParseRequestTemplate(DefaultRequestTemplate))

// RequestTemplate is the template of a request to p's support: its own,
// or the default.
func (p *Provider) RequestTemplate() *template.Template {
	if p.Support.Parsed != nil {
		return p.Support.Parsed
	}
	return defaultRequestTemplate
}

// FollowUpAfterOf is how long a request for name's new pair may go
// unanswered before a follow-up is due (DefaultFollowUpAfter when the
// credential sets none or is not declared).
func (c *Config) FollowUpAfterOf(name string) time.Duration {
	if cr, ok := c.byName[name]; ok && cr.FollowUpAfter > 0 {
		return cr.FollowUpAfter
	}
	return DefaultFollowUpAfter
}

var supportSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "email"}, {Name: "name"}, {Name: "via"}, {Name: "template"}},
}

// decodeSupport decodes a provider's support block over what its preset
// says of support.
func decodeSupport(b *hcl.Block, p *Provider) hcl.Diagnostics {
	content, diags := b.Body.Content(supportSchema)
	s := p.Support
	diags = append(diags, optString(content.Attributes["email"], &s.Email)...)
	diags = append(diags, optString(content.Attributes["name"], &s.Name)...)
	diags = append(diags, optString(content.Attributes["via"], &s.Via)...)
	diags = append(diags, optString(content.Attributes["template"], &s.Template)...)
	if a := content.Attributes["email"]; a != nil && !strings.Contains(s.Email, "@") {
		diags = append(diags, errAt(a.Expr.Range(), "Invalid support email", "%q is not an email address.", s.Email))
	}
	if a := content.Attributes["template"]; a != nil && !diags.HasErrors() {
		t, err := ParseRequestTemplate(s.Template)
		if err != nil {
			diags = append(diags, errAt(a.Expr.Range(), "Invalid request template", "The support template does not work: %v.", err))
		}
		s.Parsed = t
	}
	if s.Via != "" {
		p.supportViaRange = content.Attributes["via"].Expr.Range().Ptr()
	}
	p.Support = s
	return diags
}

// checkSupportVia reports a support block's via that names no email
// notifier, or a via without an address to send to.
func checkSupportVia(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range cfg.Providers {
		if p.Support.Via == "" || p.supportViaRange == nil {
			continue
		}
		n, ok := cfg.Notifiers[p.Support.Via]
		switch {
		case !ok:
			diags = append(diags, errAt(*p.supportViaRange, "Unknown notifier", "Provider %q's support block sends through %q, and no notifier block is named so.", p.Name, p.Support.Via))
		case n.Type != NotifierEmail:
			diags = append(diags, errAt(*p.supportViaRange, "Support via a notifier that is not email", "Provider %q's support block sends through %q, a %s notifier: a request to support goes by email.", p.Name, p.Support.Via, n.Type))
		case p.Support.Email == "":
			diags = append(diags, errAt(*p.supportViaRange, "Missing support email", "Provider %q's support block sends requests through %q but names no email to send them to.", p.Name, p.Support.Via))
		}
	}
	return diags
}
