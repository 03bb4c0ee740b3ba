package check_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The published token goes through the same door and memory as the
// state: once known, a token or that none is published, it is not read
// again, a write or a removal keeps the memory true, and forgetting what was read from Vault (a change of
// leader) forgets it with the rest.
func TestRecordsRememberThePublishedTokenWithTheRest(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Engine.Cache = &check.Cache{}
	w.Emu.AddClient(emulator.Client{ID: "0oa-pub", Secrets: []string{"s"}})
	w.Put("pub", "okta-stage", "0oa-pub", "s", credtest.Deadline)
	ctx := context.Background()
	rs := w.Engine.Records()
	res := w.Check("pub", false)
	if res.Class != oauthcheck.ClassOK {
		t.Fatalf("check: %s %s", res.Class, res.Detail)
	}

	reads := func(f func()) int64 {
		before := w.Store.Requests()
		f()
		return w.Store.Requests() - before
	}
	if n := reads(func() {
		if tok, err := rs.PublishedToken(ctx, "pub"); err != nil || tok != nil {
			t.Fatalf("before publishing: %+v %v", tok, err)
		}
	}); n != 1 {
		t.Errorf("%d Vault requests to learn nothing is published, want 1", n)
	}
	if n := reads(func() {
		if tok, err := rs.PublishedToken(ctx, "pub"); err != nil || tok != nil {
			t.Fatalf("asked again before publishing: %+v %v", tok, err)
		}
	}); n != 0 {
		t.Errorf("%d Vault requests to be told again that nothing is published, want none: it is remembered", n)
	}
	if tok, known := rs.Cache.HeldToken("pub"); tok != nil || !known {
		t.Errorf("the records hold %+v (known %v) for a credential that publishes nothing, want known to be none", tok, known)
	}
	tok, err := rs.PublishToken(ctx, res, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := reads(func() {
		if got, err := rs.PublishedToken(ctx, "pub"); err != nil || got == nil || got.Version != tok.Version {
			t.Fatalf("after publishing: %+v %v", got, err)
		}
	}); n != 0 {
		t.Errorf("%d Vault requests for the token just published, want none", n)
	}

	rs.Cache.ForgetVault()
	if n := reads(func() {
		if got, err := rs.PublishedToken(ctx, "pub"); err != nil || got == nil || got.Version != tok.Version {
			t.Fatalf("after forgetting: %+v %v", got, err)
		}
	}); n != 1 {
		t.Errorf("%d Vault requests after forgetting, want 1: it is read again", n)
	}

	cur, _ := rs.PublishedToken(ctx, "pub")
	if err := rs.RemoveToken(ctx, "pub", cur); err != nil {
		t.Fatal(err)
	}
	if n := reads(func() {
		if got, err := rs.PublishedToken(ctx, "pub"); err != nil || got != nil {
			t.Errorf("after removing: %+v %v", got, err)
		}
	}); n != 0 {
		t.Errorf("%d Vault requests after the removal, want none: the removal is remembered", n)
	}
}

func TestAPairsFormsAreMadeOncePerVersion(t *testing.T) {
	var c check.Cache
	cred := &vaultstore.Credential{Name: "a", ClientID: "id-a", ClientSecret: secret.New("first-secret"), Version: 1}
	first := c.Forms(cred)
	if again := c.Forms(cred); again != first {
		t.Error("the same version's forms were made again")
	}
	next := &vaultstore.Credential{Name: "a", ClientID: "id-a", ClientSecret: secret.New("second-secret"), Version: 2}
	second := c.Forms(next)
	if second == first {
		t.Fatal("a new version kept the old version's forms")
	}
	if got := second.Text("it was second-secret", 100); strings.Contains(got, "second-secret") {
		t.Errorf("the new version's forms do not remove its secret: %q", got)
	}
}

// The status page of the leading replica answers from the records its
// checks hold: the same rows as from Vault, with the three lists as its
// only Vault reads; a credential the records lack is read.
func TestStatusHeldAnswersFromTheRecordsAndReadsOnlyWhatTheyLack(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Engine.Cache = &check.Cache{}
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		w.Emu.AddClient(emulator.Client{ID: "0oa-" + name, Secrets: []string{"s-" + name}})
		w.Put(name, "okta-stage", "0oa-"+name, "s-"+name, credtest.Deadline)
	}
	w.Check("a", false)
	w.Check("b", false) // c is never checked: the records lack it
	now := w.Clock.Now()
	want, err := check.StatusAll(ctx, w.Store, now)
	if err != nil {
		t.Fatal(err)
	}
	before := w.Store.Requests()
	got, err := check.StatusHeld(ctx, w.Store, w.Engine.Cache, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.Store.Requests() - before; n != 4+2 {
		t.Errorf("%d Vault requests, want 6: four lists, and c's metadata and state", n)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("StatusHeld = %+v\nStatusAll = %+v", got, want)
	}
}
