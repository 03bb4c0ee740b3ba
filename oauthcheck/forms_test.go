package oauthcheck

import (
	"strings"
	"testing"
)

// shortestCore says how long the shortest literal form of a value is
// without making the forms: it must be exactly that, or a text that holds
// a form would be passed over.
func TestShortestCoreIsTheShortestLiteral(t *testing.T) {
	for n := minSecret; n < 80; n++ {
		for _, id := range []string{"", "0oa-client"} {
			f := newForms(id, strings.Repeat("s", n)).made()
			least := 0
			for _, l := range f.literals {
				if least == 0 || len(l) < least {
					least = len(l)
				}
			}
			if f.shortest != least {
				t.Errorf("a secret of %d bytes (client ID %q): shortest literal %d bytes, shortestCore says %d", n, id, least, f.shortest)
			}
		}
	}
}

// A check's boundary gains the token it was issued; reading the token
// type and an empty scope through it must not make the token's forms (a
// suffix automaton and thirty-odd base64 forms for every check).
func TestATokensFormsAreMadeOnlyForATextThatCouldHoldOne(t *testing.T) {
	token := "emu_" + strings.Repeat("Tk9", 11)
	b := NewBoundary("0oa-client", "Client-Secret-0123456789").With(token)
	tok := b.secrets[len(b.secrets)-1]
	if got := b.Code("Bearer") + b.Text("", MaxScope); got != "Bearer" {
		t.Fatalf("token type and scope read as %q", got)
	}
	if tok.literals != nil || tok.parts != nil {
		t.Errorf("the token's forms were made to read %q", "Bearer")
	}
	if got := b.Text("scope "+token[10:30], MaxScope); strings.Contains(got, token[10:20]) {
		t.Errorf("a piece of the token survives: %q", got)
	}
	if tok.parts == nil {
		t.Error("a text long enough to hold a piece of the token was read without its forms")
	}
}
