package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credkeeper/credkeeper/vaultstore"
)

// An open request for a new pair, on the page in a real browser and in
// the API: its step, who asked, when, and the ticket; the credential's
// page lists every step rotations/NAME records.
func TestTheRequestsStepOnThePageAndInTheAPI(t *testing.T) {
	p := newPageWorld(t)
	asked := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rot := &vaultstore.Rotation{Request: &vaultstore.RotationRequest{RequestedAt: asked, RequestedBy: "token-alice", Ticket: "INC123", SentTo: "CTRP_support@nih.gov"}}
	rot.Append(vaultstore.RotationEvent{Step: vaultstore.EventRequested, At: asked, By: "token-alice", Ticket: "INC123"})
	if _, err := p.w.Store.PutRotation(context.Background(), "soon-stage", rot, 0); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/api/v1/credentials", "/api/v1/credentials/soon-stage"} {
		body := get(t, p.url+path, 200)
		for _, s := range []string{`"step": "requested"`, `"by": "token-alice"`, `"ticket": "INC123"`, `"at": "2026-11-20T09:00:00Z"`, `"sent_to": "CTRP_support@nih.gov"`} {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %s:\n%s", path, s, body)
			}
		}
	}

	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible("#credentials")); err != nil {
		t.Fatal(err)
	}
	cell := evaluate[string](t, ctx, `document.querySelector('tr[data-name="soon-stage"] small.request').innerText`)
	if cell != "requested 2026-11-20T09:00:00Z by token-alice, ticket INC123" {
		t.Errorf("the row's request: %q", cell)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/credentials/soon-stage"), chromedp.WaitVisible("#rotation-history")); err != nil {
		t.Fatal(err)
	}
	text := evaluate[string](t, ctx, `document.body.innerText`)
	screenshot(t, ctx, "status-credential-request")
	for _, s := range []string{"requested 2026-11-20T09:00:00Z by token-alice, ticket INC123", "Rotation history", "2026-11-20T09:00:00Z\trequested\ttoken-alice\tINC123",
		"requested 3 days ago by token-alice, ticket INC123; no new pair staged yet"} {
		if !strings.Contains(text, s) {
			t.Errorf("the credential's page does not say %q:\n%s", s, text)
		}
	}
	p.assertNoSecret(t, "/credentials/soon-stage", text)
}
