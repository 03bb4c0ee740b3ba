package check

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Records is the one door to a credential's records in Vault: the
// credential itself (read again only when its KV version moved), state/NAME,
// tokens/NAME, ledger/NAME and rotations/NAME, and the staged pairs' list.
// Its Cache is the one memory of them between checks; a zero Cache (nil)
// reads Vault every time.
type Records struct {
	Store *vaultstore.Store
	Cache *Cache
}

// Cache is the memory of Records (and so of an Engine) between checks:
// decoded credentials by KV version, the last state, the published tokens
// and the refusals. The zero value is empty.
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
	// tokens is what tokens/NAME holds, as last seen: nil when nothing is
	// published there (read so, or removed). A name not in it is not known
	// (never read, or a write or removal that failed): it is read.
	tokens map[string]*vaultstore.Token
	// infos is each credential's version and metadata, as last read.
	infos map[string]vaultstore.CredentialInfo
	// forms is each credential's pair boundary (every form of its
	// secret), made once per KV version.
	forms map[string]pairForms
}

// pairForms is the boundary of one version of a pair.
type pairForms struct {
	version                int
	clientID, clientSecret string
	b                      *oauthcheck.Boundary
}

// Forms is the boundary of cred's pair, made at its version's first
// check and kept until the version or the pair changes (nil Cache: made
// each time).
func (c *Cache) Forms(cred *vaultstore.Credential) *oauthcheck.Boundary {
	sec := cred.ClientSecret.Reveal()
	if c == nil || cred.Version == 0 {
		b := oauthcheck.NewBoundary(cred.ClientID, sec)
		return &b
	}
	c.mu.Lock()
	f, ok := c.forms[cred.Name]
	c.mu.Unlock()
	if ok && f.version == cred.Version && f.clientID == cred.ClientID && f.clientSecret == sec {
		return f.b
	}
	b := oauthcheck.NewBoundary(cred.ClientID, sec)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forms == nil {
		c.forms = map[string]pairForms{}
	}
	c.forms[cred.Name] = pairForms{version: cred.Version, clientID: cred.ClientID, clientSecret: sec, b: &b}
	return &b
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
// conditions (what a scheduler needs to know, without decoding the rest),
// and whether the cache holds one.
func (c *Cache) Brief(name string) (vaultstore.State, bool) {
	if c == nil {
		return vaultstore.State{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := c.state[name]
	return cs.brief, ok
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

func (c *Cache) putInfo(info *vaultstore.CredentialInfo) {
	if c == nil || info == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.infos == nil {
		c.infos = map[string]vaultstore.CredentialInfo{}
	}
	c.infos[info.Name] = *info
}

// Held is what the cache holds of name for a status row: its version and
// metadata and its state (without history and conditions, as Brief), as
// last read or written, and ok when it holds both.
func (c *Cache) Held(name string) (info vaultstore.CredentialInfo, st *vaultstore.State, ok bool) {
	if c == nil {
		return info, nil, false
	}
	c.mu.Lock()
	info, ok = c.infos[name]
	cs, stOK := c.state[name]
	c.mu.Unlock()
	if !ok || !stOK {
		return vaultstore.CredentialInfo{}, nil, false
	}
	brief := cs.brief
	return info, &brief, true
}

// HeldToken is what tokens/NAME holds as last seen (nil: nothing), and
// known when it has been seen.
func (c *Cache) HeldToken(name string) (tok *vaultstore.Token, known bool) {
	return c.token(name)
}

// Refusal is the refusal remembered under key for version, if any. The
// check remembers a credential's under its name; rotation remembers a
// staged pair's under a key of its own.
func (c *Cache) Refusal(name string, version int) (Refusal, bool) {
	if c == nil {
		return Refusal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ref, ok := c.refusals[name]
	return ref, ok && ref.Version == version
}

// RememberRefusal remembers ref under key, whatever becomes of the state
// write that follows.
func (c *Cache) RememberRefusal(name string, ref Refusal) {
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

// ForgetVault drops what was read from Vault (credentials, state and
// published tokens), so
// that the next checks read Vault afresh, as a replica that becomes leader
// must. It keeps the refusals: those are what providers answered, and
// lockout protection depends on them until Vault has them too.
func (c *Cache) ForgetVault() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creds, c.state, c.tokens, c.forms, c.infos = nil, nil, nil, nil, nil
}

func (c *Cache) token(name string) (tok *vaultstore.Token, known bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, known = c.tokens[name]
	return tok, known
}

// putToken remembers tokens/NAME; known false forgets it (read it again).
func (c *Cache) putToken(name string, tok *vaultstore.Token, known bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !known {
		delete(c.tokens, name)
		return
	}
	if c.tokens == nil {
		c.tokens = map[string]*vaultstore.Token{}
	}
	c.tokens[name] = tok
}

func (c *Cache) forgetRefusal(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refusals, name)
}

// Credential reads a credential, from the cache when its KV version has
// not moved (then only its metadata is read).
func (rs Records) Credential(ctx context.Context, name string) (*vaultstore.Credential, error) {
	if rs.Cache == nil {
		return rs.Store.GetCredential(ctx, name)
	}
	info, err := rs.Store.CredentialInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	rs.Cache.putInfo(info)
	if cred := rs.Cache.credential(name, info.Version); cred != nil {
		cred.Metadata = info.Metadata // metadata moves without a new version
		return cred, nil
	}
	cred, err := rs.Store.GetCredential(ctx, name)
	if err == nil {
		rs.Cache.putCredential(cred)
	}
	return cred, err
}

// State reads state/NAME, or the cached copy of what was last written.
func (rs Records) State(ctx context.Context, name string) (*vaultstore.State, error) {
	if st := rs.Cache.State(name); st != nil {
		return st, nil
	}
	st, err := rs.Store.GetState(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		st, err = &vaultstore.State{}, nil
	}
	if err == nil {
		rs.Cache.putState(name, st)
	}
	return st, err
}

// record writes the result to state/NAME with check-and-set against prev
// (read now when nil), re-reading and merging again when another writer
// got there first, and returns the check's outcome.
func (rs Records) record(ctx context.Context, name string, res oauthcheck.Result, prev *vaultstore.State) (Outcome, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RecordTimeout)
	defer cancel()
	out := Outcome{Result: res}
	for attempt := 0; ; attempt++ {
		if prev == nil {
			var err error
			prev, err = rs.Store.GetState(ctx, name)
			switch {
			case errors.Is(err, vaultstore.ErrNotFound):
				prev = &vaultstore.State{}
			case err != nil:
				return out, err
			}
		}
		// next goes to the heap with the write; out, as large as a result
		// and a state together, stays on the stack
		next := NextState(*prev, res, res.CheckedAt)
		v, err := rs.Store.PutState(ctx, name, &next, prev.Version)
		out.State = next
		if err == nil {
			out.State.Version = v
			rs.Cache.putState(name, &out.State)
			return out, nil
		}
		rs.Cache.putState(name, nil)
		if !errors.Is(err, vaultstore.ErrCASConflict) || attempt == 2 {
			return out, err
		}
		prev = nil
	}
}

// CredentialInfo reads a credential's version and metadata (never its
// secret).
func (rs Records) CredentialInfo(ctx context.Context, name string) (*vaultstore.CredentialInfo, error) {
	info, err := rs.Store.CredentialInfo(ctx, name)
	if err == nil {
		rs.Cache.putInfo(info)
	}
	return info, err
}

// PublishedToken is what tokens/NAME holds (nil: nothing), as last seen,
// read from Vault when not known. That nothing is published is remembered
// too, so a credential that publishes none (failing, or not yet checked
// ok) costs no read until a write or a removal through this door changes
// it; one written past it (by another process) shows as a check-and-set
// conflict at the next publish, which forgets it. A record that does not
// decode is returned to be replaced on the next write.
func (rs Records) PublishedToken(ctx context.Context, name string) (*vaultstore.Token, error) {
	if tok, known := rs.Cache.token(name); known {
		return tok, nil
	}
	tok, err := rs.Store.GetToken(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		tok = nil
	case errors.Is(err, vaultstore.ErrMalformed) && tok != nil:
		// Replace it on the next write.
	case err != nil:
		return nil, err
	}
	rs.Cache.putToken(name, tok, true) // nil: none published, remembered as well
	return tok, nil
}

// PublishToken is PublishToken through the door: the record written is
// remembered; when the write fails, tokens/NAME is read again next time.
func (rs Records) PublishToken(ctx context.Context, res oauthcheck.Result, cur *vaultstore.Token, maxTokenTTL time.Duration) (*vaultstore.Token, error) {
	tok, err := PublishToken(ctx, rs.Store, res, cur, maxTokenTTL)
	rs.Cache.putToken(res.Name, tok, err == nil)
	return tok, err
}

// RemoveToken deletes tokens/NAME if it is still cur (check-and-set on its
// version); gone already is not an error. That nothing is published is
// then known; when the removal fails, tokens/NAME is read again next time.
func (rs Records) RemoveToken(ctx context.Context, name string, cur *vaultstore.Token) error {
	if err := rs.Store.DeleteTokenIf(ctx, name, cur.Version); err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
		rs.Cache.putToken(name, nil, false)
		return err
	}
	rs.Cache.putToken(name, nil, true)
	return nil
}

// GetLedger reads ledger/NAME (notify's pipeline keeps its own memory of
// the ledgers it claims in, so that a claim and its mark are one story).
func (rs Records) GetLedger(ctx context.Context, name string) (*vaultstore.Ledger, error) {
	return rs.Store.GetLedger(ctx, name)
}

// PutLedger writes ledger/NAME with check-and-set.
func (rs Records) PutLedger(ctx context.Context, name string, l *vaultstore.Ledger, cas int) (int, error) {
	return rs.Store.PutLedger(ctx, name, l, cas)
}

// GetRotation reads rotations/NAME.
func (rs Records) GetRotation(ctx context.Context, name string) (*vaultstore.Rotation, error) {
	return rs.Store.GetRotation(ctx, name)
}

// PutRotation writes rotations/NAME with check-and-set.
func (rs Records) PutRotation(ctx context.Context, name string, rot *vaultstore.Rotation, cas int) (int, error) {
	return rs.Store.PutRotation(ctx, name, rot, cas)
}

// Staged lists the credentials that have a staged pair.
func (rs Records) Staged(ctx context.Context) (map[string]bool, error) {
	return rs.Store.Staged(ctx)
}
