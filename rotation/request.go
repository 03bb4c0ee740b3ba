package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The request to a provider's support for a new pair: where a person must
// ask (CTRP support issues each year's client ID and secret), credkeeper
// writes the request, sends it when asked, and tracks it in
// rotations/NAME until a new pair is staged and promoted.

// SupportMail sends a request to a provider's support: to the support
// address, with Reply-To the credential's owner, through via, the email
// notifier the provider's support block names.
type SupportMail func(ctx context.Context, via, to, replyTo, subject, body string) error

// RequestOptions are a request for a new pair.
type RequestOptions struct {
	Name   string
	Ticket string // a reference in the requester's ticket system
	Note   string // added to the request's text and record
	// Send mails the request through Mail; without it the request is
	// composed and recorded, for a person to paste where it must go.
	Send bool
	Mail SupportMail
}

// RequestReport is a request composed (and sent, with Send).
type RequestReport struct {
	Subject, Body string
	// To is the provider's support address; ReplyTo the credential's owner.
	To, ReplyTo string
	Sent        bool
	// FollowUp is set when a request was open already: this one was
	// recorded as its follow-up.
	FollowUp bool
	Deadline time.Time
	// Request is the open request as recorded.
	Request *vaultstore.RotationRequest
}

// ErrNoSupport: the provider names no support to send a request to.
var ErrNoSupport = errors.New("no support contact")

// Request composes the request for a new pair for o.Name to its provider's
// support (the provider's template, or the default), sends it with o.Send,
// and records it in rotations/NAME: a first request opens the record's
// request (step requested), and a request while one is open adds a
// follow-up to it. Nothing is recorded when a send fails. The request
// names the current client ID, never the secret. A provider with no
// support contact is refused (ErrNoSupport), nothing recorded. A credential whose
// automated rotation is under way needs no request, and is refused one.
func (r *Runner) Request(ctx context.Context, o RequestOptions) (*RequestReport, error) {
	name := o.Name
	cur, err := r.Store.GetCredential(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil, fmt.Errorf("credential %q not found in Vault: set its pair with credkeeper secret set %s first", name, name)
	}
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return nil, err
	}
	t := check.ResolveTarget(r.config(), name)
	prov, _, rotateBy, problem := t.For(r.config(), cur)
	if prov == nil {
		return nil, fmt.Errorf("no request for %s can be written: %s", name, problem)
	}
	support := prov.Support
	if support.Email == "" {
		return nil, fmt.Errorf("provider %s has no support contact: add support { email = \"...\" } to its provider block (%w)", prov.Name, ErrNoSupport)
	}
	if o.Send {
		if err := sendable(name, prov, o.Mail); err != nil {
			return nil, err
		}
	}
	rot, err := r.rotationRecord(ctx, name)
	if err != nil {
		return nil, err
	}
	if rot != nil && !finished(rot.Step) {
		return nil, fmt.Errorf("the automated rotation of %s is under way (step %q): it needs no request to support; credkeeper rotate status %s shows it", name, rot.Step, name)
	}
	by := r.who(ctx)
	now := r.now().UTC().Truncate(time.Second)
	data := requestData(&t, prov, cur, rotateBy, now, by, o)
	var open *vaultstore.RotationRequest
	if rot != nil && rot.Request != nil {
		open = rot.Request
		data.FollowUp, data.FirstRequested = true, dates.Format(open.RequestedAt)
		if data.Ticket == "" {
			data.Ticket = open.LastTicket()
		}
	}
	rep := &RequestReport{To: support.Email, ReplyTo: data.Owner, Deadline: rotateBy, FollowUp: open != nil}
	if rep.Subject, rep.Body, err = compose(prov, data); err != nil {
		return nil, err
	}
	if strings.Contains(rep.Subject+rep.Body, cur.ClientSecret.Reveal()) && !cur.ClientSecret.IsZero() {
		return nil, fmt.Errorf("the request for %s would hold its client secret: check provider %s's support template", name, prov.Name)
	}
	if o.Send {
		if err := o.Mail(ctx, support.Via, support.Email, rep.ReplyTo, rep.Subject, rep.Body); err != nil {
			return rep, fmt.Errorf("the request for %s was not sent to %s through %q (nothing recorded): %w", name, support.Email, support.Via, err)
		}
		rep.Sent = true
	}
	sentTo := ""
	if rep.Sent {
		sentTo = support.Email
	}
	rot, err = r.updateRotation(ctx, name, func(rot *vaultstore.Rotation) (bool, error) {
		if !finished(rot.Step) {
			return false, fmt.Errorf("the automated rotation of %s started meanwhile (step %q): it needs no request", name, rot.Step)
		}
		openRequest(rot, by, o.Ticket, o.Note, sentTo, now)
		return true, nil
	})
	if err != nil {
		if rep.Sent {
			return rep, fmt.Errorf("the request for %s was sent to %s but not recorded in rotations/%s: %w; run credkeeper rotate request %s again without --send to record it", name, support.Email, name, err, name)
		}
		return rep, err
	}
	rep.Request = rot.Request
	return rep, nil
}

// openRequest records a request made at now in rot: it opens one, or adds
// a follow-up to the one open.
func openRequest(rot *vaultstore.Rotation, by, ticket, note, sentTo string, now time.Time) {
	ev := vaultstore.RotationEvent{Step: vaultstore.EventRequested, At: now, By: by, Ticket: ticket, Note: note}
	if rot.Request == nil {
		rot.Request = &vaultstore.RotationRequest{RequestedAt: now, RequestedBy: by, Ticket: ticket, Note: note, SentTo: sentTo}
	} else {
		rot.Request.FollowUps = append(rot.Request.FollowUps, vaultstore.RequestFollowUp{At: now, By: by, Ticket: ticket, Note: note, SentTo: sentTo})
		ev.Step = vaultstore.EventFollowedUp
		if ev.Ticket == "" {
			ev.Ticket = rot.Request.LastTicket()
		}
	}
	rot.Append(ev)
}

// sendable says why a request for name cannot be sent (nil when it can).
func sendable(name string, prov *config.Provider, mail SupportMail) error {
	switch s := prov.Support; {
	case s.Email == "":
		return fmt.Errorf("%w for provider %s: add support { email = \"...\" } to its provider block, or leave out --send and send the request yourself", ErrNoSupport, prov.Name)
	case s.Via == "":
		return fmt.Errorf("provider %s's support block names no email notifier to send through: add support { via = \"NOTIFIER\" }, or leave out --send and send the request for %s yourself", prov.Name, name)
	case mail == nil:
		return fmt.Errorf("no mail channel to send the request for %s through", name)
	}
	return nil
}

// requestData is what the request template is executed with.
func requestData(t *check.Target, prov *config.Provider, cur *vaultstore.Credential, rotateBy, now time.Time, by string, o RequestOptions) config.RequestData {
	d := config.RequestData{Credential: t.Name, Provider: prov.Name, Environment: cur.Metadata.Environment, ClientID: cur.ClientID, TokenURL: prov.TokenURL,
		Owner: cur.Metadata.Owner, SupportName: prov.Support.Name, SupportEmail: prov.Support.Email, RequestedBy: by, Ticket: o.Ticket, Note: o.Note}
	if decl := t.Decl; decl != nil {
		d.Account = decl.Account
		if d.Environment == "" {
			d.Environment = decl.Environment
		}
		if d.Owner == "" {
			d.Owner = decl.Owner
		}
	}
	if d.Environment == "" {
		d.Environment = prov.Environment
	}
	if !rotateBy.IsZero() {
		d.Deadline, d.DaysLeft = dates.Format(rotateBy), policies.CalendarDays(now, rotateBy)
	}
	return d
}

// compose executes prov's request template with d, and splits its output
// into the subject and the body.
func compose(prov *config.Provider, d config.RequestData) (subject, body string, err error) {
	var b bytes.Buffer
	if err := prov.RequestTemplate().Execute(&b, d); err != nil {
		return "", "", fmt.Errorf("provider %s's support template: %w", prov.Name, err)
	}
	head, body, ok := strings.Cut(b.String(), "\n\n")
	subject, found := strings.CutPrefix(head, "Subject: ")
	if !ok || !found || strings.Contains(subject, "\n") {
		return "", "", fmt.Errorf("provider %s's support template must begin with a line \"Subject: ...\" and a blank line", prov.Name)
	}
	return strings.TrimSpace(subject), strings.TrimLeft(body, "\n"), nil
}
