package authorize

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Flow obtains user grants (authorization_code) for the credentials its
// Config declares as such, and stores them in Vault.
type Flow struct {
	Store  *vaultstore.Store
	Config *config.Config
	// Clock is the Flow's time: the grant's expiry, the wait for the
	// browser's answer (required).
	Clock clockwork.Clock
}

func (f *Flow) now() time.Time { return f.Clock.Now() }

func (f *Flow) config() *config.Config {
	if f.Config != nil {
		return f.Config
	}
	return config.Default()
}

// Options tune Authorize.
type Options struct {
	// Timeout bounds the wait for the user's answer (default 5 minutes).
	Timeout time.Duration
	// Out hears the authorization URL, on a line of its own.
	Out io.Writer
	// OpenBrowser, when set, is asked to open the URL.
	OpenBrowser func(url string) error
	// Transport carries the code exchange (oauthcheck.DefaultTransport when nil).
	Transport http.RoundTripper
}

// Result is what a user granted. It holds no token.
type Result struct {
	Scope     string // as the provider returned it; it may differ from what was asked
	ExpiresAt time.Time
	NoExpiry  bool
	Version   int // the credential's KV version holding the token
}

// Authorize obtains a user grant for the credential name: it listens on
// the loopback redirect URI, sends the user to the provider's
// authorization endpoint with a random state and PKCE (S256) where the
// provider supports it, exchanges the returned code for a token, and
// stores the token in credentials/NAME beside the app's client ID and
// secret, with check-and-set. On any failure nothing is written.
func (f *Flow) Authorize(ctx context.Context, name string, o Options) (*Result, error) {
	g, err := f.userGrant(ctx, name)
	if err != nil {
		return nil, err
	}
	client := check.ClientOf(g.cred)
	oc := g.endpoint.AuthCodeConfig(client, g.provider.AuthorizeURL, g.decl.RedirectURI, g.decl.Scopes)
	state := randomString(24)
	var authOpts, exchangeOpts []oauth2.AuthCodeOption
	if g.provider.PKCE {
		verifier := oauth2.GenerateVerifier()
		authOpts = append(authOpts, oauth2.S256ChallengeOption(verifier))
		exchangeOpts = append(exchangeOpts, oauth2.VerifierOption(verifier))
	}
	ans, stop, err := awaitAnswer(ctx, f.Clock, g.callback, state, oc.AuthCodeURL(state, authOpts...), name, o)
	if err != nil {
		return nil, err
	}
	defer stop()

	grant, err := oauthcheck.ExchangeCode(ctx, o.Transport, g.endpoint, client, oc, ans.code, f.now(), exchangeOpts...)
	if err != nil {
		ans.reply(http.StatusBadGateway, "The provider refused the code: "+err.Error())
		return nil, err
	}
	res := &Result{Scope: grant.Scope, ExpiresAt: grant.ExpiresAt, NoExpiry: grant.NoExpiry}
	g.cred.AccessToken = grant.Token
	g.cred.Grant = vaultstore.StoredGrant{TokenType: grant.TokenType, Scope: grant.Scope, CreatedAt: grant.CreatedAt, ExpiresAt: grant.ExpiresAt}
	if res.Version, err = f.Store.PutCredential(ctx, g.cred, g.cred.Version); err != nil {
		ans.reply(http.StatusInternalServerError, "The token could not be stored in Vault; see the terminal.")
		return nil, fmt.Errorf("the grant succeeded but the token was not stored: %w", err)
	}
	ans.reply(http.StatusOK, "credkeeper has stored the grant in Vault. You can close this tab.")
	return res, nil
}

// userGrant is what an authorization needs, gathered and checked first:
// the credential's block, its provider, the loopback callback and the
// app's pair in Vault.
type userGrant struct {
	decl     *config.Credential
	provider *config.Provider
	endpoint oauthcheck.Endpoint
	callback *url.URL
	cred     *vaultstore.Credential
}

func (f *Flow) userGrant(ctx context.Context, name string) (*userGrant, error) {
	cfg := f.config()
	decl, ok := cfg.Credential(name)
	if !ok || decl.Grant != config.GrantAuthorizationCode {
		return nil, fmt.Errorf("credential %q is not a user grant: declare it with grant = %q and a redirect_uri", name, config.GrantAuthorizationCode)
	}
	provider, ok := cfg.Provider(decl.Provider)
	if !ok {
		return nil, fmt.Errorf("the credential's provider %q is neither a provider block nor a preset", decl.Provider)
	}
	if provider.AuthorizeURL == "" {
		return nil, fmt.Errorf("provider %q has no authorize_url: set it in its provider block", provider.Name)
	}
	for what, u := range map[string]string{"token_url": provider.TokenURL, "authorize_url": provider.AuthorizeURL} {
		if problem := oauthcheck.EndpointProblem(u, what, provider.InsecureHTTP); problem != "" {
			return nil, fmt.Errorf("provider %q: %s", provider.Name, problem)
		}
	}
	callback, err := loopbackRedirect(decl.RedirectURI)
	if err != nil {
		return nil, err
	}
	cred, err := f.Store.GetCredential(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil, fmt.Errorf("credential %q not found in Vault: set the app's client ID and secret first with credkeeper secret set %s", name, name)
	}
	if err != nil {
		return nil, err
	}
	return &userGrant{decl: decl, provider: provider, endpoint: check.EndpointOf(provider), callback: callback, cred: cred}, nil
}

// awaitAnswer listens on the callback, shows authURL (and opens a
// browser), and waits for the answer with the right state until o.Timeout
// has passed on clock.
// stop shuts the listener down once the answer's page is written.
func awaitAnswer(ctx context.Context, clock clockwork.Clock, callback *url.URL, state, authURL, name string, o Options) (ans callbackAnswer, stop func(), err error) {
	ln, err := net.Listen("tcp", callback.Host)
	if err != nil {
		return ans, nil, fmt.Errorf("listen on the redirect URI's address %s: %w", callback.Host, err)
	}
	answers := make(chan callbackAnswer, 1)
	ignored := func() {
		if o.Out != nil {
			fmt.Fprintln(o.Out, "(ignored an answer whose state does not match this request; still waiting)")
		}
	}
	srv := &http.Server{Handler: callbackHandler(callback.Path, state, answers, ignored), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop = func() {
		// Shutdown, not Close: the browser's page must be written first.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}

	if o.Out != nil {
		fmt.Fprintf(o.Out, "Open this URL in a browser to approve the request:\n\n%s\n\n", authURL)
	}
	if o.OpenBrowser != nil {
		if err := o.OpenBrowser(authURL); err != nil && o.Out != nil {
			fmt.Fprintf(o.Out, "(could not open a browser: %v; open the URL yourself)\n", err)
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	giveUp := clock.After(timeout)
	for ans.code == "" { // answers with the wrong state never arrive here
		select {
		case ans = <-answers:
		case <-giveUp:
			stop()
			return ans, nil, fmt.Errorf("no answer from the browser within %s: run credkeeper authorize %s again (--timeout sets the wait)", timeout, name)
		case <-ctx.Done():
			stop()
			return ans, nil, ctx.Err()
		}
		if ans.err != nil {
			ans.reply(http.StatusBadRequest, ans.err.Error())
			stop()
			return ans, nil, ans.err
		}
	}
	return ans, stop, nil
}

// loopbackRedirect checks that a redirect URI is http on a loopback
// address with a port (RFC 8252, 7.3), where credkeeper can listen.
func loopbackRedirect(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return nil, fmt.Errorf("redirect_uri %q must be http://127.0.0.1:PORT/… (a loopback address with a port), as RFC 8252 asks of native apps", raw)
	}
	if !oauthcheck.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("redirect_uri %q is not on a loopback address: credkeeper listens only on 127.0.0.1, [::1] or localhost; register such a redirect URI with the provider", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// callbackAnswer is the browser's visit to the redirect URI; reply writes
// the page the user sees.
type callbackAnswer struct {
	code  string
	err   error
	reply func(status int, msg string)
}

// errWrongState marks an answer that is not to this authorization request.
var errWrongState = errors.New("the answer's state does not match the request's: it is not the answer to this authorization (a stale tab, or a forged request); nothing was stored")

// callbackHandler serves the redirect URI. The first visit with the right
// state is the answer; a visit with another state (a stale tab, a forged
// link) is refused in that browser, reported through ignored, and does not
// end the wait.
func callbackHandler(path, state string, answers chan<- callbackAnswer, ignored func()) http.Handler {
	var answered atomic.Bool // the first visit with the right state is the answer; later ones are told so
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		type page struct {
			status int
			msg    string
		}
		pages := make(chan page, 1)
		ans := callbackAnswer{reply: func(status int, msg string) { pages <- page{status, msg} }}
		switch {
		case q.Get("state") != state:
			writePage(w, http.StatusBadRequest, errWrongState.Error())
			ignored()
			return
		case q.Get("error") == "access_denied":
			ans.err = errors.New("the user declined the request (access_denied): nothing was stored")
		case q.Get("error") != "":
			ans.err = fmt.Errorf("the provider answered %s (%s): nothing was stored", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			ans.err = errors.New("the answer carries no code: nothing was stored")
		default:
			ans.code = q.Get("code")
		}
		p := page{http.StatusConflict, "This authorization was already answered."}
		if answered.CompareAndSwap(false, true) {
			answers <- ans
			select {
			case p = <-pages:
			case <-r.Context().Done():
				return
			}
		}
		writePage(w, p.status, p.msg)
	})
	return mux
}

// writePage writes the one-line page the browser shows.
func writePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>credkeeper</title></head><body><p>%s</p></body></html>\n", html.EscapeString(msg))
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
