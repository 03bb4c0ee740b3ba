package rotation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Runner checks credentials kept in Vault and records the results.
type Runner struct {
	Store   *vaultstore.Store
	Config  *policies.Config
	Checker *oauthcheck.Checker
	// Clock is the Runner's time: the records it writes, the rotation
	// deadlines it judges, the waits of an authorization (required).
	Clock clockwork.Clock
	// Cache keeps decoded credentials by KV version and the last state
	// written, so that a long-running daemon reads a secret only when it
	// changed: a steady-state check is one metadata read and one state write.
	Cache *Cache

	afterPromoteWrite func() error            // a test's hook, to fail a promote midway
	afterAutoStep     func(step string) error // a test's hook, to stop an automated rotation after a step
}

// Cache is a Runner's memory between checks. The zero value is empty.
//
// Besides saving Vault reads it holds the lockout memory: every version a
// provider refused, remembered the moment the refusal is seen and kept
// whatever happens to the state write, so that a check whose result could
// not be recorded never sends that version again.
type Cache struct {
	mu       sync.Mutex
	creds    map[string]*vaultstore.Credential
	state    map[string]cachedState
	refusals map[string]Refusal
}

// Refusal is a credential version a provider refused, how, and where and
// how it was sent: a version is not sent again to the same token URL in
// the same auth style, but a corrected configuration is tried.
type Refusal struct {
	Version   int
	Class     oauthcheck.Class
	Status    int
	ErrorCode string
	At        time.Time
	// TokenURL and AuthStyle are where and how the refused request went
	// (empty when not known: then every configuration is refused).
	TokenURL  string
	AuthStyle oauthcheck.AuthStyle
}

// refusalOfResult is the refusal a check's result records: the version,
// token URL and auth style its request carried, never the ones read
// around it.
func refusalOfResult(res oauthcheck.Result) Refusal {
	return Refusal{Version: res.CredentialVersion, Class: res.Class, Status: res.Status, ErrorCode: res.ErrorCode, At: res.CheckedAt,
		TokenURL: res.TokenURL, AuthStyle: res.AuthStyle}
}

// sentTo reports whether the refused request went where and how e would
// send one now; a refusal that does not say, does.
func (ref Refusal) sentTo(e oauthcheck.Endpoint) bool {
	return (ref.TokenURL == "" || ref.TokenURL == e.TokenURL) && (ref.AuthStyle == "" || ref.AuthStyle == e.AuthStyle)
}

// refusalOf is the refusal a state records, if any. A state written before
// rejected_class was kept falls back to the newest credential failure in
// its history.
func refusalOf(st *vaultstore.State) (Refusal, bool) {
	if st == nil || st.RejectedVersion == 0 {
		return Refusal{}, false
	}
	ref := Refusal{Version: st.RejectedVersion, Class: oauthcheck.Class(st.RejectedClass), At: st.RejectedAt,
		TokenURL: st.RejectedTokenURL, AuthStyle: oauthcheck.AuthStyle(st.RejectedAuthStyle)}
	for _, h := range st.History {
		if oauthcheck.Class(h.Class).IsCredentialFailure() && (ref.Class == "" || ref.Class == oauthcheck.Class(h.Class)) {
			ref.Class, ref.Status, ref.ErrorCode = oauthcheck.Class(h.Class), h.Status, h.ErrorCode
			if ref.At.IsZero() {
				ref.At = h.At
			}
			break
		}
	}
	if ref.Class == "" {
		ref.Class = oauthcheck.ClassInvalidClient
	}
	return ref, true
}

func (c *Cache) credential(name string, version int) *vaultstore.Credential {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr := c.creds[name]; cr != nil && cr.Version == version {
		cp := *cr
		return &cp
	}
	return nil
}

func (c *Cache) putCredential(cr *vaultstore.Credential) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil {
		c.creds = map[string]*vaultstore.Credential{}
	}
	cp := *cr
	c.creds[cr.Name] = &cp
}

// State returns the last state written or read for name, if any.
func (c *Cache) State(name string) *vaultstore.State {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	cs, ok := c.state[name]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return cs.decode()
}

// Brief returns the last state of name without its history and
// conditions: what a scheduler needs to know, without decoding the rest.
func (c *Cache) Brief(name string) *vaultstore.State {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.state[name]; ok {
		b := cs.brief
		return &b
	}
	return nil
}

func (c *Cache) putState(name string, st *vaultstore.State) {
	if c == nil {
		return
	}
	var cs cachedState
	if st != nil {
		cs = encodeState(st)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		c.state = map[string]cachedState{}
	}
	if st == nil {
		delete(c.state, name)
		return
	}
	c.state[name] = cs
}

// refusal is the refusal remembered for name's version, if any.
func (c *Cache) refusal(name string, version int) (Refusal, bool) {
	if c == nil {
		return Refusal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ref, ok := c.refusals[name]
	return ref, ok && ref.Version == version
}

func (c *Cache) rememberRefusal(name string, ref Refusal) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusals == nil {
		c.refusals = map[string]Refusal{}
	}
	c.refusals[name] = ref
}

// ForgetVault drops what was read from Vault (credentials and state), so
// that the next checks read Vault afresh, as a replica that becomes leader
// must. It keeps the refusals: those are what providers answered, and
// lockout protection depends on them until Vault has them too.
func (c *Cache) ForgetVault() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creds, c.state = nil, nil
}

func (c *Cache) forgetRefusal(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refusals, name)
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

func (r *Runner) now() time.Time { return r.Clock.Now() }

// Names returns every credential in Vault, sorted.
func (r *Runner) Names(ctx context.Context) ([]string, error) {
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
func (r *Runner) CheckAll(ctx context.Context, names []string, o CheckOptions) ([]oauthcheck.Result, error) {
	limit := o.Parallel
	if limit <= 0 {
		limit = policies.DefaultParallel
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
func (r *Runner) CheckOne(ctx context.Context, name string, force bool) (oauthcheck.Result, error) {
	out, err := r.Check(ctx, name, force)
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

// Check is CheckOne with the state it recorded, so that what follows a
// check (publishing, notices, metrics) reads the check's own answer and
// never goes back to a cache for it. It reads top to bottom: gather (the
// credential, its provider, its state), decide (the lockout record), act
// (the token request, the refusal remembered, the state written).
func (r *Runner) Check(ctx context.Context, name string, force bool) (Outcome, error) {
	out, cred, err := r.check(ctx, name, force)
	if cred != nil {
		out.Metadata = cred.Metadata
	}
	return out, err
}

func (r *Runner) check(ctx context.Context, name string, force bool) (Outcome, *vaultstore.Credential, error) {
	// Gather.
	cred, err := r.credential(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrMalformed) && cred != nil:
		out, err := r.record(ctx, name, r.misconfigured(cred, err.Error()), nil)
		return out, cred, err
	case errors.Is(err, vaultstore.ErrNotFound):
		return Outcome{}, nil, fmt.Errorf("credential %q not found in Vault (%w); add it with credkeeper secret set %s", name, err, name)
	case err != nil:
		return Outcome{}, nil, err
	}
	provider, rotateBy, problem := r.resolve(cred)
	if problem != "" {
		out, err := r.record(ctx, name, r.misconfigured(cred, problem), nil)
		return out, cred, err
	}
	prev, err := r.state(ctx, name)
	if err != nil {
		return Outcome{}, nil, err
	}

	// Decide: a version the provider refused is never sent again the
	// same way to the same place.
	if !force && cred.Version != 0 {
		if ref, ok := r.rejection(name, prev, cred.Version, provider.Endpoint()); ok {
			res := notSent(cred, provider, ref, r.now())
			if prev.RejectedVersion == cred.Version && prev.RejectedTokenURL == ref.TokenURL && prev.RejectedAuthStyle == string(ref.AuthStyle) {
				return Outcome{Result: res, State: *prev}, cred, nil // Vault knows already
			}
			out, err := r.record(ctx, name, res, prev)
			return out, cred, err
		}
	}

	// Act.
	var res oauthcheck.Result
	if decl, ok := r.config().Credential(name); ok && decl.Grant == policies.GrantAuthorizationCode {
		res = r.checker().CheckStoredToken(ctx, clientOf(cred), storedTokenOf(cred), provider.Endpoint(), cred.Metadata.RotateBy, r.now())
	} else {
		res = r.checker().Check(ctx, clientOf(cred), provider.Endpoint(), rotateBy, r.now())
	}
	switch {
	case res.Class.IsCredentialFailure():
		r.Cache.rememberRefusal(name, refusalOfResult(res))
	case res.Class == oauthcheck.ClassOK:
		r.Cache.forgetRefusal(name)
	}
	if ctx.Err() != nil && !res.Class.IsCredentialFailure() {
		// Cancelled (a daemon that stopped leading, a stop): what it found
		// is not recorded; another check will look again. A refusal is
		// recorded all the same: lockout protection depends on it.
		return Outcome{Result: res}, cred, fmt.Errorf("the check of %s was cancelled (%w): nothing recorded", name, context.Cause(ctx))
	}
	out, err := r.record(ctx, name, res, prev)
	return out, cred, err
}

// clientOf is the pair of cred, as a check sends it.
func clientOf(cred *vaultstore.Credential) oauthcheck.Client {
	return oauthcheck.Client{ID: cred.ClientID, Secret: cred.ClientSecret, Name: cred.Name, Environment: cred.Metadata.Environment, Version: cred.Version}
}

// storedTokenOf is the user grant's token cred holds, if any.
func storedTokenOf(cred *vaultstore.Credential) oauthcheck.StoredToken {
	return oauthcheck.StoredToken{Token: cred.AccessToken, TokenType: cred.Grant.TokenType, Scope: cred.Grant.Scope, ExpiresAt: cred.Grant.ExpiresAt}
}

// rejection is the refusal of version, sent where and how e sends, that
// Vault's state or this runner's memory holds, if either does.
func (r *Runner) rejection(name string, st *vaultstore.State, version int, e oauthcheck.Endpoint) (Refusal, bool) {
	if ref, ok := r.Cache.refusal(name, version); ok && ref.sentTo(e) {
		return ref, true
	}
	if ref, ok := refusalOf(st); ok && ref.Version == version && ref.sentTo(e) {
		return ref, true
	}
	return Refusal{}, false
}

// credential reads a credential, from the cache when its KV version has
// not moved (then only its metadata is read).
func (r *Runner) credential(ctx context.Context, name string) (*vaultstore.Credential, error) {
	if r.Cache == nil {
		return r.Store.GetCredential(ctx, name)
	}
	info, err := r.Store.CredentialInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	if cred := r.Cache.credential(name, info.Version); cred != nil {
		cred.Metadata = info.Metadata // metadata moves without a new version
		return cred, nil
	}
	cred, err := r.Store.GetCredential(ctx, name)
	if err == nil {
		r.Cache.putCredential(cred)
	}
	return cred, err
}

// state reads state/NAME, or the cached copy of what was last written.
func (r *Runner) state(ctx context.Context, name string) (*vaultstore.State, error) {
	if st := r.Cache.State(name); st != nil {
		return st, nil
	}
	st, err := r.Store.GetState(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		st, err = &vaultstore.State{}, nil
	}
	if err == nil {
		r.Cache.putState(name, st)
	}
	return st, err
}

func (r *Runner) checker() *oauthcheck.Checker {
	if r.Checker != nil {
		return r.Checker
	}
	return &oauthcheck.Checker{Clock: r.Clock}
}

// resolve finds a credential's provider and deadline: the config's
// credential block first, then the metadata in Vault.
func (r *Runner) resolve(cred *vaultstore.Credential) (*policies.Provider, time.Time, string) {
	cfg := r.config()
	providerName := cred.Metadata.Provider
	rotateBy := cred.Metadata.RotateBy
	if decl, ok := cfg.Credential(cred.Name); ok {
		providerName = decl.Provider
		if rotateBy.IsZero() {
			rotateBy = decl.RotateBy
		}
	}
	if providerName == "" {
		return nil, rotateBy, "the credential names no provider: set it with credkeeper secret set " + cred.Name + " --provider P, or declare a credential block"
	}
	p, ok := cfg.Provider(providerName)
	if !ok {
		return nil, rotateBy, fmt.Sprintf("the credential's provider %q is neither a provider block nor a preset (%v): declare it in the config", providerName, policies.PresetNames())
	}
	return p, rotateBy, ""
}

func (r *Runner) misconfigured(cred *vaultstore.Credential, detail string) oauthcheck.Result {
	return oauthcheck.Result{
		Name: cred.Name, Environment: cred.Metadata.Environment, Provider: cred.Metadata.Provider, RotateBy: cred.Metadata.RotateBy,
		Class: oauthcheck.ClassMisconfigured, Detail: detail, CredentialVersion: cred.Version, CheckedAt: r.now(),
	}
}

func notSent(cred *vaultstore.Credential, p *policies.Provider, ref Refusal, now time.Time) oauthcheck.Result {
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
	res.Detail = fmt.Sprintf("not re-sent: the provider refused version %d%s as %s%s; set the new secret with credkeeper secret set %s, correct the provider if it was sent wrong, or check --force",
		ref.Version, how, ref.Class, when, cred.Name)
	return res
}

// RecordTimeout bounds the state write of one check. It runs on a deadline
// of its own, apart from the check's: a result the provider has given is
// recorded even when the check's time ran out on the way.
const RecordTimeout = 10 * time.Second

// record writes the result to state/NAME with check-and-set against prev
// (read now when nil), re-reading and merging again when another writer
// got there first, and returns the check's outcome.
func (r *Runner) record(ctx context.Context, name string, res oauthcheck.Result, prev *vaultstore.State) (Outcome, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RecordTimeout)
	defer cancel()
	out := Outcome{Result: res}
	for attempt := 0; ; attempt++ {
		if prev == nil {
			var err error
			prev, err = r.Store.GetState(ctx, name)
			switch {
			case errors.Is(err, vaultstore.ErrNotFound):
				prev = &vaultstore.State{}
			case err != nil:
				return out, err
			}
		}
		out.State = NextState(*prev, res, res.CheckedAt)
		v, err := r.Store.PutState(ctx, name, &out.State, prev.Version)
		if err == nil {
			out.State.Version = v
			r.Cache.putState(name, &out.State)
			return out, nil
		}
		r.Cache.putState(name, nil)
		if !errors.Is(err, vaultstore.ErrCASConflict) || attempt == 2 {
			return out, err
		}
		prev = nil
	}
}
