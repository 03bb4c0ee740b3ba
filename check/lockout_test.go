package check_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/credtest"
	"github.com/credkeeper/credkeeper/internal/emulator"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

// readOnlyPolicy may read credentials and state but write nothing.
func readOnlyPolicy(env *vaulttest.Env) string {
	return `
path "` + env.Mount + `/data/` + env.Prefix + `/*" { capabilities = ["read"] }
path "` + env.Mount + `/metadata/` + env.Prefix + `/*" { capabilities = ["read", "list"] }
`
}

// A refused version is sent once, whatever happens after: a state write
// that fails, a Vault that is sealed and unsealed, a reload (a new Engine
// sharing the cache, as Daemon.Reload makes), a misconfigured check in
// between, and a restart (a new Engine and an empty cache).
func TestARefusedVersionIsSentOnceThroughFaultsReloadsAndRestarts(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	env, srv := vaulttest.NewPrivate(t)
	w.Env, w.Store = env, env.Store(t)
	w.Engine.Store = w.Store
	ctx := context.Background()
	w.Emu.AddClient(emulator.Client{ID: "0oa-lock", Secrets: []string{"right"}})
	v1 := w.Put("locky", "okta-stage", "0oa-lock", "wrong", credtest.Deadline)
	requests := func(want int, when string) {
		t.Helper()
		if n := w.Emu.Requests("0oa-lock"); n != want {
			t.Fatalf("%s: %d token requests, want %d: lockout protection failed", when, n, want)
		}
	}

	cache := &check.Cache{}
	readOnly := &check.Engine{Store: env.StoreWithPolicy(t, "read-only", readOnlyPolicy(env)), Config: w.Cfg, Cache: cache, Clock: w.Engine.Clock}
	res, err := readOnly.CheckOne(ctx, "locky", false)
	if res.Class != oauthcheck.ClassInvalidClient || err == nil {
		t.Fatalf("first check under a read-only policy: %s, %v; want invalid_client and a write error", res.Class, err)
	}
	for i := 0; i < 3; i++ {
		res, _ = readOnly.CheckOne(ctx, "locky", false)
		if !res.NotSent || res.Class != oauthcheck.ClassInvalidClient {
			t.Fatalf("check %d after an unrecorded refusal: %s not-sent=%v", i, res.Class, res.NotSent)
		}
	}
	requests(1, "after failed state writes")

	if err := env.Root.Sys().SealWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := readOnly.CheckOne(ctx, "locky", false); err == nil {
		t.Fatal("a check against a sealed Vault should fail")
	}
	env.Unseal(t, srv)
	requests(1, "across a sealed Vault")

	reloaded := &check.Engine{Store: w.Store, Config: w.Cfg, Cache: cache, Clock: w.Engine.Clock}
	res, err = reloaded.CheckOne(ctx, "locky", false)
	if err != nil || !res.NotSent {
		t.Fatalf("after a reload: %s not-sent=%v, %v", res.Class, res.NotSent, err)
	}
	st, err := w.Store.GetState(ctx, "locky")
	if err != nil || st.RejectedVersion != v1 {
		t.Fatalf("the refusal reaches Vault with the first write that succeeds: %+v, %v", st, err)
	}

	// A provider typo: no request, class misconfigured; then fixed.
	setProvider := func(p string) {
		t.Helper()
		info, err := w.Store.CredentialInfo(ctx, "locky")
		if err != nil {
			t.Fatal(err)
		}
		md := info.Metadata
		md.Provider = p
		if err := w.Store.PutCredentialMetadata(ctx, "locky", md, info.Fingerprint); err != nil {
			t.Fatal(err)
		}
	}
	setProvider("okta-stgae")
	if res, err := reloaded.CheckOne(ctx, "locky", false); err != nil || res.Class != oauthcheck.ClassMisconfigured {
		t.Fatalf("a provider typo: %s, %v", res.Class, err)
	}
	setProvider("okta-stage")

	restarted := &check.Engine{Store: w.Store, Config: w.Cfg, Cache: &check.Cache{}, Clock: w.Engine.Clock}
	res, err = restarted.CheckOne(ctx, "locky", false)
	if err != nil || !res.NotSent || res.Class != oauthcheck.ClassInvalidClient {
		t.Fatalf("after a misconfigured check and a restart: %s not-sent=%v, %v", res.Class, res.NotSent, err)
	}
	requests(1, "after a misconfigured check and a restart")

	w.Put("locky", "okta-stage", "0oa-lock", "right", credtest.Deadline)
	if res, err := restarted.CheckOne(ctx, "locky", false); err != nil || res.Class != oauthcheck.ClassOK {
		t.Fatalf("a new version is sent: %s, %v", res.Class, err)
	}
	requests(2, "after the secret changed")
}

// cancelAfterResponse cancels the check's context the moment the token
// response arrives, as a check_timeout running out between the request
// and the state write would.
type cancelAfterResponse struct {
	base   http.RoundTripper
	cancel context.CancelFunc
}

func (c cancelAfterResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	c.cancel()
	return resp, err
}

func TestARefusalIsRecordedWhenTheCheckDeadlinePassesAfterTheResponse(t *testing.T) {
	w := credtest.NewWorld(t, nil)
	w.Emu.AddClient(emulator.Client{ID: "0oa-late", Secrets: []string{"right"}})
	v1 := w.Put("late", "okta-stage", "0oa-late", "wrong", credtest.Deadline)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Engine.Checker = &oauthcheck.Checker{Transport: cancelAfterResponse{base: http.DefaultTransport, cancel: cancel}}

	res, err := w.Engine.CheckOne(ctx, "late", false)
	if res.Class != oauthcheck.ClassInvalidClient || err != nil {
		t.Fatalf("check whose deadline passed after the response: %s, %v; want invalid_client recorded", res.Class, err)
	}
	st, err := w.Store.GetState(context.Background(), "late")
	if err != nil || st.RejectedVersion != v1 {
		t.Fatalf("state: %+v, %v", st, err)
	}
}

func TestAMisconfiguredCheckDoesNotReArmARefusedVersion(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	refused := oauthcheck.Result{Class: oauthcheck.ClassInvalidGrant, CredentialVersion: 4, Status: 400, ErrorCode: "invalid_grant"}
	st := check.NextState(vaultstore.State{}, refused, now)
	st = check.NextState(st, oauthcheck.Result{Class: oauthcheck.ClassMisconfigured, CredentialVersion: 4}, now.Add(time.Hour))
	st = check.NextState(st, oauthcheck.Result{Class: oauthcheck.ClassUnavailable, CredentialVersion: 4}, now.Add(2*time.Hour))
	if st.RejectedVersion != 4 || st.RejectedClass != string(oauthcheck.ClassInvalidGrant) || !st.RejectedAt.Equal(now) {
		t.Errorf("the rejection outlives other classes: version %d class %q at %s", st.RejectedVersion, st.RejectedClass, st.RejectedAt)
	}
	st = check.NextState(st, oauthcheck.Result{Class: oauthcheck.ClassOK, CredentialVersion: 4}, now.Add(3*time.Hour))
	if st.RejectedVersion != 0 || st.RejectedClass != "" {
		t.Errorf("a forced check that succeeds clears it: %+v", st)
	}
}

// A refusal is remembered with the token URL and auth style the version
// was sent with: once the provider's configuration is corrected, the same
// version is sent once more (not answered "not re-sent" until --force),
// by this runner and by one that restarts with an empty cache; the same
// configuration is never sent twice.
func TestARefusalIsTiedToTheTokenURLAndAuthStyleItWasSentWith(t *testing.T) {
	w := credtest.NewWorld(t, func(u string) string {
		return `
provider "okta-style" {
  token_url  = "` + u + `/oauth2/` + emulator.AuthServerStage + `/v1/token"
  auth_style = "body"
}`
	})
	ctx := context.Background()
	w.Emu.AddClient(emulator.Client{ID: "0oa-style", Secrets: []string{"Style-Secret-0001"}})
	w.Put("styled", "okta-style", "0oa-style", "Style-Secret-0001", credtest.Deadline)
	p, _ := w.Cfg.Provider("okta-style")
	for _, step := range []struct {
		name      string
		style     string
		restart   bool
		wantClass oauthcheck.Class
		notSent   bool
		requests  int
	}{
		{"the secret sent in the body, which these servers refuse", "body", false, oauthcheck.ClassInvalidClient, false, 1},
		{"the same configuration is not sent again", "body", false, oauthcheck.ClassInvalidClient, true, 1},
		{"auth_style corrected: the version is tried once more, and works", "header", false, oauthcheck.ClassOK, false, 2},
		{"auth_style broken again: refused again", "body", false, oauthcheck.ClassInvalidClient, false, 3},
		{"after a restart, the refused configuration is still not sent", "body", true, oauthcheck.ClassInvalidClient, true, 3},
		{"after a restart, the corrected one is", "header", true, oauthcheck.ClassOK, false, 4},
	} {
		p.AuthStyle = step.style
		if step.restart {
			w.Engine = &check.Engine{Store: w.Store, Config: w.Cfg, Clock: w.Engine.Clock, Cache: &check.Cache{}}
		}
		res := w.Check("styled", false)
		if res.Class != step.wantClass || res.NotSent != step.notSent || w.Emu.Requests("0oa-style") != step.requests {
			t.Fatalf("%s: %s not-sent=%v after %d requests (%s); want %s not-sent=%v after %d",
				step.name, res.Class, res.NotSent, w.Emu.Requests("0oa-style"), res.Detail, step.wantClass, step.notSent, step.requests)
		}
	}
	st, err := w.Store.GetState(ctx, "styled")
	if err != nil || st.RejectedVersion != 0 {
		t.Fatalf("the last check was ok, yet state/styled keeps a refusal: %+v, %v", st, err)
	}
}
