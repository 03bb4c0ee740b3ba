package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// MarkTimeout bounds marking a sent notice in the ledger, apart from the
// deadline of the check that sent it.
const MarkTimeout = notify.DefaultMarkTimeout

// LedgerKeep is how many entries ledger/NAME keeps.
const LedgerKeep = notify.LedgerKeep

// Notifications feeds the notices policies.Due decides to notify's
// delivery pipeline (silence, decide, claim, send per channel, mark), with
// ledger/NAME in Vault as the record: a notice is claimed (check-and-set)
// before it is sent and marked sent after, so that it is delivered at
// least once across restarts and replicas, and once only unless the sender
// cannot know it arrived (a crash between the send and the mark, or an
// answer lost or later than SendTimeout: the receiver gets it again).
// Every channel is delivered on its own, with its own deadline and
// retries: a failing channel never holds
// back another (a page behind a broken Slack). A claim older than
// ClaimTimeout whose send was never confirmed is retried, and so is a
// failed send, on later ticks, until it succeeds or a nearer notice
// supersedes it.
//
// Under a running daemon (Run) delivery goes on in the background: a tick
// returns once its notices are claimed. Elsewhere (RunOnce, a test, the
// CLI) a tick returns once every channel is done.
type Notifications struct {
	Store    *vaultstore.Store
	Config   *config.Config
	Channels map[string]notify.Notifier
	Logger   *slog.Logger
	// Replica names this process in claims, beside Nonce, the process's
	// own (the daemon gives its lease's).
	Replica, Nonce string
	// ClaimTimeout: a claim older than this, never marked sent, is retried (default 5m).
	ClaimTimeout time.Duration
	// Since is when this process started. A claim under its own Replica
	// and another Nonce made before then is a previous process's, stopped
	// before it marked the send: it is retried at once, not after
	// ClaimTimeout. (A process that stops leading stops its deliveries, and
	// the lease's nonce keeps a second process under one replica ID from
	// leading beside the first.)
	Since time.Time
	// SendTimeout bounds one notice's delivery through one channel,
	// retries included (default 30s); every channel has its own.
	SendTimeout time.Duration
	// Clock is what deliveries wait on between retries and keep their
	// deadlines by; the daemon gives its own when it is nil.
	Clock clockwork.Clock
	// Observe, when set, hears of every delivery through a channel, its
	// retries done: err nil is a delivery (for metrics).
	Observe func(channel, kind string, err error, at time.Time)

	mu   sync.Mutex
	pipe *notify.Pipeline
	// ledger is the door the daemon reads and writes ledger/NAME through
	// (its check engine's records); Store when nil.
	ledger notify.LedgerStore
	// background, while the daemon runs, is the context deliveries run
	// under: they outlive the tick that fed them; stopBackground ends it.
	background     context.Context
	stopBackground context.CancelFunc
	// silences are silences/*, as last read (RefreshSilences).
	silences map[string]*vaultstore.Silence

	// A test's hooks, to crash between a claim and its send, and between a
	// send and its mark, and to know which sends were marked.
	afterClaim, afterSend, afterMark func(key string)
}

func (n *Notifications) claimTimeout() time.Duration {
	if n.ClaimTimeout > 0 {
		return n.ClaimTimeout
	}
	return notify.DefaultClaimTimeout
}

// pipeline is the delivery pipeline, built from the fields at first use.
func (n *Notifications) pipeline() *notify.Pipeline {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pipe == nil {
		hook := func(h *func(string)) func(string) {
			return func(key string) {
				if *h != nil {
					(*h)(key)
				}
			}
		}
		var ledger notify.LedgerStore = n.Store
		if n.ledger != nil {
			ledger = n.ledger
		}
		n.pipe = &notify.Pipeline{Ledger: ledger, Clock: n.Clock, Replica: n.Replica, Nonce: n.Nonce, Since: n.Since,
			ClaimTimeout: n.ClaimTimeout, SendTimeout: n.SendTimeout, MarkTimeout: MarkTimeout, Logger: n.Logger, Observe: n.Observe,
			Hooks: notify.Hooks{AfterClaim: hook(&n.afterClaim), AfterSend: hook(&n.afterSend), AfterMark: hook(&n.afterMark)}}
		if n.Store == nil && n.ledger == nil {
			n.pipe.Ledger = nil
		}
	}
	return n.pipe
}

// start readies the notices for a run of the daemon: when this process
// started, the daemon's clock, the door to the ledgers (nil: Store), and
// (for Run) delivery in the background.
func (n *Notifications) start(since time.Time, nonce string, clock clockwork.Clock, ledger notify.LedgerStore, background bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ledger == nil && n.pipe == nil {
		n.ledger = ledger
	}
	if n.Since.IsZero() {
		n.Since = since
	}
	if n.Nonce == "" {
		n.Nonce = nonce
	}
	if n.Clock == nil {
		n.Clock = clock
	}
	if background && (n.background == nil || n.background.Err() != nil) {
		n.background, n.stopBackground = context.WithCancel(context.Background())
	}
}

// lead follows this process's leadership: a process that stops leading
// stops its background deliveries at once (no new attempt starts; one
// under way ends by its answer or its deadline; each releases
// its claim in the ledger, for the next leader, unless it was delivered),
// so that two processes never send one claim at the same time; leading
// again starts a new background for the daemon's deliveries.
func (n *Notifications) lead(leading bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.background == nil {
		return // not under a running daemon
	}
	switch {
	case !leading:
		n.stopBackground()
	case n.background.Err() != nil:
		n.background, n.stopBackground = context.WithCancel(context.Background())
	}
}

// stop ends background delivery: a delivery waiting to retry gives up and
// records why in the ledger. It returns once every delivery has.
func (n *Notifications) stop() {
	n.mu.Lock()
	stop, pipe := n.stopBackground, n.pipe
	n.mu.Unlock()
	if stop != nil {
		stop()
	}
	if pipe != nil {
		pipe.Wait()
	}
}

// deliveryContext is what a tick's deliveries run under, and whether the
// tick leaves them to it: the background while the daemon runs; else the
// tick's context without its deadline (each channel has its own).
func (n *Notifications) deliveryContext(ctx context.Context) (base context.Context, background bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.background != nil && n.background.Err() == nil {
		return n.background, true
	}
	return context.WithoutCancel(ctx), false
}

// unsent reports whether ledger/NAME holds a notice not yet sent nor
// superseded: one whose send failed or is under way, or whose claimer died
// before sending. Reading it warms the ledger for the tick that follows.
func (n *Notifications) unsent(ctx context.Context, name string) (bool, error) {
	return n.pipeline().Unsent(ctx, name)
}

// pending reports whether a tick at now would have anything to send: a
// notice the decision wants that the ledger does not hold yet, or one it
// holds unsent. It goes by the ledger alone, so that a check recorded by
// a process that died before claiming what it decided is not taken for
// a check whose notices went out.
func (n *Notifications) pending(ctx context.Context, f CredentialFacts, now time.Time) (bool, error) {
	l, err := n.pipeline().Held(ctx, f.Name)
	if err != nil {
		return false, err
	}
	if notify.Unsent(l) {
		return true, nil
	}
	return len(policies.Due(n.input(n.setup().Config, l, f, now))) > 0, nil
}

// RefreshSilences reads every silence from Vault: one list request, and a
// read for each silence there is. The daemon does it with each lease
// renewal, so a silence set with the CLI holds within a third of the
// lease's life.
func (n *Notifications) RefreshSilences(ctx context.Context) error {
	all, err := n.Store.ListSilences(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.silences = all
	n.mu.Unlock()
	return nil
}

func (n *Notifications) silence(name string, maxSilence time.Duration, now time.Time) notify.Silence {
	n.mu.Lock()
	defer n.mu.Unlock()
	return boundedSilence(n.silences[name], maxSilence, now)
}

// boundedSilence is a silence as the daemon honours it at now: until its
// Until, but never past max_silence (maxSilence, DefaultMaxSilence when 0)
// from when it was set, whoever wrote silences/NAME and however. A silence
// that does not say when it was set, or says a time after now, holds
// nothing back.
func boundedSilence(si *vaultstore.Silence, maxSilence time.Duration, now time.Time) notify.Silence {
	if si == nil || si.CreatedAt.IsZero() || si.CreatedAt.After(now) {
		return notify.Silence{}
	}
	if maxSilence <= 0 {
		maxSilence = config.DefaultMaxSilence
	}
	until := si.Until
	if limit := si.CreatedAt.Add(maxSilence); until.After(limit) {
		until = limit
	}
	return notify.Silence{Until: until, Kinds: si.Kinds}
}

// Forget drops what this replica remembers of the ledgers (after it lost
// and regained the lease, say): the next tick reads them from Vault.
func (n *Notifications) Forget() { n.pipeline().Forget() }

// CredentialFacts are what a tick needs to know of a credential.
type CredentialFacts struct {
	Name        string
	Environment string
	Provider    string
	RotateBy    time.Time
	// Rotation is the rotation policy its metadata in Vault names.
	Rotation string
	State    vaultstore.State
	// Notify and Page are the channels its credential block names, and
	// Policy its rotation policy: resolved with the credential, so that a
	// tick looks nothing up by name. Tick fills them from its
	// configuration when Policy is nil.
	Notify, Page []string
	Policy       *config.RotationPolicy
	// Request is the open request for a new pair (nil: none, or not
	// read); Staged, whether a new pair is staged; FollowUpAfter, the
	// credential's follow_up_after (zero: the default).
	Request       *vaultstore.RotationRequest
	Staged        bool
	FollowUpAfter time.Duration
}

// resolved is f with its block's channels and its rotation policy, from
// cfg when f does not carry them.
func (f CredentialFacts) resolved(cfg *config.Config) CredentialFacts {
	if f.Policy != nil {
		return f
	}
	if decl, ok := cfg.Credential(f.Name); ok {
		f.Notify, f.Page = decl.Notify, decl.Page
	}
	f.Policy = cfg.RotationPolicyFor(f.Name, f.Rotation)
	return f
}

// Setup is one configuration and the channels built from it: what a tick
// decides and sends by, taken once so that a reload never splits a tick.
type Setup struct {
	Config   *config.Config
	Channels map[string]notify.Notifier
}

// Tick sends the notices due for one credential at now, under the
// notifications' current configuration. In steady state, when nothing is
// due, it sends no request to Vault.
func (n *Notifications) Tick(ctx context.Context, f CredentialFacts, now time.Time) error {
	s := n.setup()
	return n.TickUnder(ctx, s, f.resolved(s.Config), now)
}

// TickUnder is Tick under a given setup, the daemon's snapshot of the
// configuration its check ran under, for facts resolved with the
// credential (their Policy set). It feeds the pipeline one round: the
// decision (policies.Due, on the ledger the pipeline reads), the silence,
// and what a reminder that is no longer current looks like.
func (n *Notifications) TickUnder(ctx context.Context, s Setup, f CredentialFacts, now time.Time) error {
	current := "reminder/" + f.Name + "/" + dates.Format(f.RotateBy) + "/"
	round := notify.Round{
		Credential: f.Name,
		Now:        now,
		About: notify.About{Credential: f.Name, Environment: f.Environment, Provider: f.Provider, Deadline: f.RotateBy,
			Class: f.State.LastClass, ConsecutiveFailures: f.State.ConsecutiveFailures, Request: f.Request, Staged: f.Staged},
		Decide: func(l *vaultstore.Ledger) []notify.Due {
			return decided(f.Name, policies.Due(n.input(s.Config, l, f, now)))
		},
		Silence: n.silence(f.Name, s.Config.Notifications.MaxSilence, now),
		Stale: func(key string) bool { // about a deadline the credential no longer has: it was rotated
			return strings.HasPrefix(key, "reminder/"+f.Name+"/") && !f.RotateBy.IsZero() && !strings.HasPrefix(key, current)
		},
		Channels: s.Channels,
	}
	base, background := n.deliveryContext(ctx)
	d, err := n.pipeline().Deliver(ctx, base, round)
	if err != nil || background {
		return err
	}
	return d.Wait()
}

// decided is the decision in the pipeline's terms: a reminder or overdue
// notice sets aside the credential's unsent reminders it replaces.
func decided(name string, due []policies.DueNotice) []notify.Due {
	out := make([]notify.Due, 0, len(due))
	for _, d := range due {
		nd := notify.Due{Key: d.Key, Kind: d.Kind, Channels: d.Channels, Page: d.Page, DaysLeft: d.DaysLeft, Class: d.Class, Resolves: d.Resolves}
		if d.Kind == policies.NoticeReminder || d.Kind == policies.NoticeOverdue {
			nd.Supersedes = "reminder/" + name + "/"
		}
		out = append(out, nd)
	}
	return out
}

func (n *Notifications) setup() Setup {
	n.mu.Lock()
	defer n.mu.Unlock()
	return Setup{Config: n.Config, Channels: n.Channels}
}

// input gathers the decision's inputs from the config, the facts and the
// ledger. The silence is the pipeline's silence stage's, not the decision's.
func (n *Notifications) input(cfg *config.Config, l *vaultstore.Ledger, f CredentialFacts, now time.Time) policies.NoticeInput {
	in := policies.NoticeInput{Credential: f.Name, Environment: f.Environment, RotateBy: f.RotateBy,
		LastClass: f.State.LastClass, ConsecutiveFailures: f.State.ConsecutiveFailures,
		PageEnvironments: cfg.Notifications.PageEnvironments, OpsAfter: cfg.Notifications.OpsAfter, PageOps: cfg.Notifications.PageOps,
		Sent: map[string]bool{}, Now: now}
	f = f.resolved(cfg) // the daemon's facts are: nothing is looked up
	in.Notify, in.Page, in.Policy = f.Notify, f.Page, f.Policy
	if f.Request != nil {
		in.RequestedAt, in.Staged, in.FollowUpAfter = f.Request.LastAt(), f.Staged, f.FollowUpAfter
	}
	for _, e := range l.Entries {
		if strings.HasPrefix(e.Key, "reminder/") {
			in.Sent[e.Key] = true
		}
	}
	for _, i := range l.Incidents {
		in.Open = append(in.Open, i.Key)
	}
	return in
}

// Announce sends a notice outside the ladder (a test, a rotation) to the
// named channels at once, each on its own, without the ledger. Under a
// running daemon it returns once the sends are started (their failures
// are logged and observed); elsewhere once every channel is done.
func (n *Notifications) Announce(ctx context.Context, channels []string, nt notify.Notice) error {
	all := n.setup().Channels
	var missing []error
	var known []string
	for _, ch := range channels {
		if _, ok := all[ch]; !ok {
			missing = append(missing, fmt.Errorf("no notifier named %q", ch))
			continue
		}
		known = append(known, ch)
	}
	base, background := n.deliveryContext(ctx)
	if !background {
		base = ctx // outside the daemon, the caller's context bounds it (an interrupt)
	}
	d := n.pipeline().Announce(base, known, all, nt)
	if background {
		return errors.Join(missing...)
	}
	return errors.Join(append(missing, d.Wait())...)
}

// SetConfig switches to a reloaded configuration and its channels.
func (n *Notifications) SetConfig(cfg *config.Config, channels map[string]notify.Notifier) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.Config, n.Channels = cfg, channels
}
