package check

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Engine checks credentials kept in Vault and records the results.
type Engine struct {
	Store   *vaultstore.Store
	Config  *config.Config
	Checker *oauthcheck.Checker
	// Clock is the Engine's time: the records it writes and the rotation
	// deadlines it judges (required).
	Clock clockwork.Clock
	// Cache keeps decoded credentials by KV version, the last state
	// written and the published tokens (Records), so that a long-running
	// daemon reads a secret only when it changed: a steady-state check is
	// one metadata read and one state write.
	Cache *Cache
}

// CheckOptions tune one run of checks.
type CheckOptions struct {
	// Force sends a request even for a version the provider already refused.
	Force bool
	// Parallel bounds concurrent checks (default 8).
	Parallel int
	// Done, when set, is called after each check (from several goroutines).
	Done func()
}

func (r *Engine) now() time.Time { return r.Clock.Now() }

// Names returns every credential in Vault, sorted.
func (r *Engine) Names(ctx context.Context) ([]string, error) {
	infos, err := r.Store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	return names, nil
}

// CheckAll checks names with bounded concurrency and returns the results
// in the order of names. A Vault error (not a check's failure) stops it.
func (r *Engine) CheckAll(ctx context.Context, names []string, o CheckOptions) ([]oauthcheck.Result, error) {
	limit := o.Parallel
	if limit <= 0 {
		limit = config.DefaultParallel
	}
	results := make([]oauthcheck.Result, len(names))
	errs := make([]error, len(names))
	parallel.Do(len(names), limit, func(i int) {
		results[i], errs[i] = r.CheckOne(ctx, names[i], o.Force)
		if o.Done != nil {
			o.Done()
		}
	})
	return results, errors.Join(errs...)
}

// CheckOne checks one credential and records the result in state/NAME.
//
// Lockout protection: after invalid_client, invalid_grant or expired, the
// refused KV version is remembered at once (in the Cache, then in state/NAME
// as rejected_version), with the token URL and auth style the request was
// sent with, and later checks of the same version sent the same way to the
// same place are answered from that record without a request (NotSent)
// until the secret changes in Vault or force is set. A corrected token URL
// or auth style is tried once. Nothing but a new version or force lifts it:
// not a misconfigured or unavailable check since, nor a state write that
// failed. The state write has its own deadline (RecordTimeout), so a check
// whose context ran out after the provider answered is still recorded.
func (r *Engine) CheckOne(ctx context.Context, name string, force bool) (oauthcheck.Result, error) {
	out, err := r.CheckAndRecord(ctx, name, force)
	return out.Result, err
}

// Outcome is one check of one credential: what came back, and state/NAME
// after it.
type Outcome struct {
	Result oauthcheck.Result
	// State is the state recorded after the check (when its write failed,
	// the state it would have written; the error says so).
	State vaultstore.State
	// Metadata is the credential's metadata as the check read it.
	Metadata vaultstore.CredentialMetadata
}

// CheckAndRecord is CheckOne with the state it recorded, so that what
// follows a check (publishing, notices, metrics) reads the check's own
// answer and never goes back to a cache for it.
func (r *Engine) CheckAndRecord(ctx context.Context, name string, force bool) (Outcome, error) {
	t := ResolveTarget(r.config(), name)
	return r.CheckTarget(ctx, &t, force)
}

// CheckTarget is CheckAndRecord of a credential already resolved: it
// looks nothing up in the configuration (but the provider a credential
// the configuration does not declare names in Vault).
func (r *Engine) CheckTarget(ctx context.Context, t *Target, force bool) (Outcome, error) {
	out, cred, err := r.gatherRequestRecord(ctx, t, force)
	if cred != nil {
		out.Metadata = cred.Metadata
	}
	return out, err
}

// gatherRequestRecord reads top to bottom: gather (the credential, its
// provider, its state), decide (the lockout record), act (the token
// request, the refusal remembered, the state written).
func (r *Engine) gatherRequestRecord(ctx context.Context, t *Target, force bool) (Outcome, *vaultstore.Credential, error) {
	name := t.Name
	// Gather.
	cred, err := r.Records().Credential(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrMalformed) && cred != nil:
		out, err := r.Records().record(ctx, name, Misconfigured(cred, r.now(), err.Error()), nil)
		return out, cred, err
	case errors.Is(err, vaultstore.ErrNotFound):
		return Outcome{}, nil, fmt.Errorf("credential %q not found in Vault (%w); add it with credkeeper secret set %s", name, err, name)
	case err != nil:
		return Outcome{}, nil, err
	}
	provider, endpoint, rotateBy, problem := t.For(r.config(), cred)
	if problem != "" {
		out, err := r.Records().record(ctx, name, Misconfigured(cred, r.now(), problem), nil)
		return out, cred, err
	}
	prev, err := r.Records().State(ctx, name)
	if err != nil {
		return Outcome{}, nil, err
	}

	// Decide: a version the provider refused is never sent again the
	// same way to the same place.
	if !force && cred.Version != 0 {
		if ref, ok := r.rejection(name, prev, cred.Version, endpoint); ok {
			res := notSent(cred, provider, ref, r.now())
			if prev.RejectedVersion == cred.Version && prev.RejectedTokenURL == ref.TokenURL && prev.RejectedAuthStyle == string(ref.AuthStyle) {
				return Outcome{Result: res, State: *prev}, cred, nil // Vault knows already
			}
			out, err := r.Records().record(ctx, name, res, prev)
			return out, cred, err
		}
	}

	// Act.
	var res oauthcheck.Result
	client := ClientOf(cred)
	client.Forms = r.Cache.Forms(cred)
	if t.userGrant() {
		res = r.checker().CheckStoredToken(ctx, client, storedTokenOf(cred), endpoint, cred.Metadata.RotateBy, r.now())
	} else {
		res = r.checker().RequestToken(ctx, client, endpoint, rotateBy, r.now())
	}
	switch {
	case res.Class.IsCredentialFailure():
		r.Cache.RememberRefusal(name, refusalOfResult(res))
	case res.Class == oauthcheck.ClassOK:
		r.Cache.forgetRefusal(name)
	}
	if ctx.Err() != nil && !res.Class.IsCredentialFailure() {
		// Cancelled (a daemon that stopped leading, a stop): what it found
		// is not recorded; another check will look again. A refusal is
		// recorded all the same: lockout protection depends on it.
		return Outcome{Result: res}, cred, fmt.Errorf("the check of %s was cancelled (%w): nothing recorded", name, context.Cause(ctx))
	}
	out, err := r.Records().record(ctx, name, res, prev)
	return out, cred, err
}

// ClientOf is the pair of cred, as a check sends it.
// A credential holding a private key carries it parsed, or why it cannot
// be read.
func ClientOf(cred *vaultstore.Credential) oauthcheck.Client {
	cl := oauthcheck.Client{ID: cred.ClientID, Secret: cred.ClientSecret, Name: cred.Name, Environment: cred.Metadata.Environment, Version: cred.Version}
	if cred.HasKey() {
		k, err := clientkey.Parse([]byte(cred.PrivateKey.Reveal()), cred.KeyID)
		if err != nil {
			cl.KeyProblem = err.Error()
		} else {
			cl.Key = k
		}
	}
	return cl
}

// storedTokenOf is the user grant's token cred holds, if any.
func storedTokenOf(cred *vaultstore.Credential) oauthcheck.StoredToken {
	return oauthcheck.StoredToken{Token: cred.AccessToken, TokenType: cred.Grant.TokenType, Scope: cred.Grant.Scope, ExpiresAt: cred.Grant.ExpiresAt}
}

// rejection is the refusal of version, sent where and how e sends, that
// Vault's state or this runner's memory holds, if either does.
func (r *Engine) rejection(name string, st *vaultstore.State, version int, e oauthcheck.Endpoint) (Refusal, bool) {
	if ref, ok := r.Cache.Refusal(name, version); ok && ref.sentTo(e) {
		return ref, true
	}
	if ref, ok := refusalOf(st); ok && ref.Version == version && ref.sentTo(e) {
		return ref, true
	}
	return Refusal{}, false
}

// Records is the engine's door to the records in Vault, through its Cache.
func (r *Engine) Records() Records { return Records{Store: r.Store, Cache: r.Cache} }

func (r *Engine) config() *config.Config {
	if r.Config != nil {
		return r.Config
	}
	return config.Default()
}

func (r *Engine) checker() *oauthcheck.Checker {
	if r.Checker != nil {
		return r.Checker
	}
	return &oauthcheck.Checker{Clock: r.Clock}
}

// Misconfigured is the result of a check of cred that could not be sent:
// detail says why.
func Misconfigured(cred *vaultstore.Credential, now time.Time, detail string) oauthcheck.Result {
	return oauthcheck.Result{
		Name: cred.Name, Environment: cred.Metadata.Environment, Provider: cred.Metadata.Provider, RotateBy: cred.Metadata.RotateBy,
		Class: oauthcheck.ClassMisconfigured, Detail: detail, CredentialVersion: cred.Version, CheckedAt: now,
	}
}

func notSent(cred *vaultstore.Credential, p *config.Provider, ref Refusal, now time.Time) oauthcheck.Result {
	res := oauthcheck.Result{
		Name: cred.Name, Environment: cred.Metadata.Environment, Provider: p.Name, RotateBy: cred.Metadata.RotateBy,
		Class: ref.Class, Status: ref.Status, ErrorCode: ref.ErrorCode, NotSent: true, RefusedAt: ref.At,
		CredentialVersion: ref.Version, CheckedAt: now, TokenURL: ref.TokenURL, AuthStyle: ref.AuthStyle,
	}
	when := ""
	if !ref.At.IsZero() {
		when = " on " + dates.FormatTime(ref.At)
	}
	how := ""
	if ref.AuthStyle != "" {
		how = fmt.Sprintf(" with auth_style %q", ref.AuthStyle)
	}
	fix := "set the new secret with credkeeper secret set " + cred.Name
	if cred.HasKey() {
		fix = "register the key's JWKS at the provider, or make a new key with credkeeper keygen " + cred.Name
	}
	res.Detail = fmt.Sprintf("not re-sent: the provider refused version %d%s as %s%s; %s, correct the provider if it was sent wrong, or check --force",
		ref.Version, how, ref.Class, when, fix)
	return res
}

// RecordTimeout bounds the state write of one check. It runs on a deadline
// of its own, apart from the check's: a result the provider has given is
// recorded even when the check's time ran out on the way.
const RecordTimeout = 10 * time.Second
