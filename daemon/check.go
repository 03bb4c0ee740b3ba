package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// job is one credential whose check, first look or renewal has come,
// resolved once by the loop from the configuration in force: its
// declaration, provider, endpoint and rotation policy (check.Target), its
// provider's budget and share of the slots, and the configuration and
// what was built from it (snap). The check and every step after it take
// the job and look nothing up again by name. The loop keeps it on the
// credential's item until a reload replaces the configuration.
type job struct {
	check.Target
	snap snapshot
	// budget is the provider's request budget (nil: no provider, the
	// check sends nothing).
	budget *Budget
	// requests is how many provider requests one check sends: the token
	// request, and the probe when the provider has one (a user grant: the
	// probe alone); a staged pair's is counted when it is dispatched.
	requests int
	// maxInFlight is the provider's share of the parallel slots.
	maxInFlight int
}

// resolveJob resolves name under snap: the one lookup of its
// configuration a check makes. nil: the configuration does not declare it.
func (d *Daemon) resolveJob(snap snapshot, name string) *job {
	j := &job{Target: check.ResolveTarget(snap.cfg, name), snap: snap}
	if !j.Declared() {
		return nil
	}
	j.maxInFlight = snap.cfg.MaxInFlight(j.Decl.Provider)
	if p := j.Provider; p != nil {
		g, ok := snap.cfg.BudgetGroupOf(p.Name)
		if !ok {
			g = config.BudgetGroup{Name: p.BudgetGroupName(), Providers: []string{p.Name}, RequestsPerSecond: p.RequestsPerSecondOrDefault()}
		}
		j.budget = d.budgets.For(p, g)
		j.requests = 1
		switch {
		case j.Decl.Grant == config.GrantAuthorizationCode:
		case p.Probe != nil:
			j.requests = 2
		}
	}
	return j
}

// runJob runs one job the loop started, under the leader's context, and
// reports what came of it.
func (d *Daemon) runJob(leading context.Context, it item) jobDone {
	done := jobDone{it: &it}
	j := it.job
	if j == nil {
		return done
	}
	if it.kind == jobFirst {
		recent, remindAt, renewAt := d.recentlyChecked(leading, j)
		done.due, done.remindAt, done.renewAt = !recent, remindAt, renewAt
		return done
	}
	out, renewAt, ran, retryNotices := d.checkAndFollowUp(leading, j, it.kind == jobRenewal)
	done.res, done.renewAt, done.ran = out.Result, renewAt, ran
	if ran && d.Notices != nil {
		// The next reminder goes out at its moment, not up to an interval
		// late; a notice that could not be sent or marked is tried again
		// once its claim has lapsed, not at the next scheduled check.
		done.remindAt = policies.NextReminder(j.Policy, out.Result.RotateBy, d.now())
		done.retryNotices = retryNotices
	}
	return done
}

// checkAndFollowUp checks one credential and does what follows from the result:
// report it, publish or remove its token, send the notices due, check a
// staged pair and take an automated rotation a step further. It returns
// what it found, when the published token is next due for renewal, and
// whether the check ran (a Vault error stops it).
func (d *Daemon) checkAndFollowUp(leading context.Context, j *job, renewal bool) (out check.Outcome, renewAt time.Time, ran bool, retryNotices bool) {
	name, decl, snap := j.Name, j.Decl, j.snap
	ctx, cancel := context.WithTimeout(leading, snap.cfg.Daemon.CheckTimeout)
	defer cancel()
	out, err := snap.engine.CheckTarget(ctx, &j.Target, false)
	if err != nil {
		d.Logger.Error("check failed", "credential", name, "error", err)
		return check.Outcome{}, time.Time{}, false, false
	}
	if j.budget != nil {
		j.budget.Observe(out.Result, d.now())
	}
	d.report(ctx, out.Result, out.State)
	if decl.PublishToken != nil {
		if renewAt, err = d.publish(ctx, j, out.Result); err != nil {
			d.Logger.Error("token not published", "credential", name, "error", err)
		}
	}
	if d.Notices != nil {
		res := out.Result
		facts := CredentialFacts{Name: name, Environment: res.Environment, Provider: res.Provider, RotateBy: res.RotateBy, Rotation: out.Metadata.Rotation, State: out.State,
			Notify: decl.Notify, Page: decl.Page, Policy: j.Policy}
		facts = d.withRequest(ctx, j, facts, d.now())
		if err := d.Notices.TickUnder(ctx, snap.notices, facts, d.now()); err != nil {
			d.Logger.Error("notices", "credential", name, "error", err)
			retryNotices = true
		} else if unsent, _ := d.Notices.unsent(ctx, name); unsent {
			retryNotices = true // claimed by a process that died: retried once the claim lapses
		}
	}
	if !renewal {
		d.checkStaged(ctx, j)
		if decl.AutoRotate != nil {
			d.advanceRotation(ctx, j)
		}
	}
	return out, renewAt, true, retryNotices
}

// checkStaged checks the pair staged for name, when there is one (the
// loop took the provider's budget for it with the check's).
func (d *Daemon) checkStaged(ctx context.Context, j *job) {
	name := j.Name
	if !d.hasStaged(name) {
		return
	}
	pr, err := j.snap.runner.CheckStaged(ctx, &j.Target)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		d.mu.Lock()
		delete(d.pending, name)
		d.mu.Unlock()
	case err != nil:
		d.Logger.Error("staged pair not checked", "credential", name, "error", err)
	default:
		d.Logger.Info("staged pair checked", "credential", name, "class", string(pr.Class), "not_sent", pr.NotSent, "detail", pr.Detail)
	}
}

// advanceRotation runs a credential's automated rotation as far as it can
// go now: from start_before its deadline, step by step, on the credential's
// schedule. A step that fails is reported to the credential's channels
// with the step and the provider's answer (the error says what is known of
// the old secret). A rotation abandoned because credentials/NAME changed
// behind it (a rollback, a rotation by hand) is told once to the notify
// channels, never paged; the daemon then starts no new one until the
// credential changes again. A run while another actor holds the
// rotation's lease only waits.
func (d *Daemon) advanceRotation(ctx context.Context, j *job) {
	decl := j.Decl
	rep, err := j.snap.runner.AutoRotateTarget(ctx, &j.Target, rotation.AutoRotateOptions{Transport: d.Checker.Transport, Owner: "daemon " + d.ID, Unattended: true})
	if rep != nil {
		for _, did := range rep.Did {
			d.Logger.Info("automated rotation", "credential", decl.Name, "step", rep.Step, "did", did)
		}
		if rep.Abandoned != "" {
			d.announceAbandoned(ctx, j.snap.runner, decl, rep.Abandoned)
		}
	}
	if errors.Is(err, rotation.ErrRotationBusy) {
		d.Logger.Info("automated rotation not advanced", "credential", decl.Name, "reason", err)
		return
	}
	d.mu.Lock()
	if d.rotationErrs == nil {
		d.rotationErrs = map[string]string{}
	}
	prev := d.rotationErrs[decl.Name]
	if err == nil {
		delete(d.rotationErrs, decl.Name)
	} else {
		d.rotationErrs[decl.Name] = err.Error()
	}
	d.mu.Unlock()
	if err == nil {
		return
	}
	d.Logger.Error("automated rotation stopped", "credential", decl.Name, "error", err)
	targets := decl.Channels()
	if d.Notices == nil || len(targets) == 0 || prev == err.Error() {
		return // told once per failure, not at every check
	}
	nt := notify.Notice{Key: "rotation_failed/" + decl.Name, Kind: notify.KindRotationFailed, Credential: decl.Name, Environment: decl.Environment,
		Provider: decl.Provider, Summary: err.Error(), Action: "fix what the summary names, then run credkeeper rotate auto " + decl.Name + " to resume.", At: d.now()}
	if err := d.Notices.Announce(ctx, targets, nt); err != nil {
		d.Logger.Error("the rotation notice was not sent everywhere", "credential", decl.Name, "error", err)
	}
}

// announceAbandoned tells the credential's notify channels, once, that its
// automated rotation was abandoned and why; rotations/NAME records that it
// was told.
func (d *Daemon) announceAbandoned(ctx context.Context, runner *rotation.Runner, decl *config.Credential, reason string) {
	d.Logger.Warn("automated rotation abandoned", "credential", decl.Name, "reason", reason)
	if d.Notices != nil && len(decl.Notify) > 0 {
		nt := notify.Notice{Key: "rotation_abandoned/" + decl.Name, Kind: notify.KindRotationFailed, Credential: decl.Name, Environment: decl.Environment,
			Provider: decl.Provider, Summary: "the automated rotation of " + decl.Name + " was abandoned: " + reason,
			Action: "nothing more was deactivated or deleted: the secret in credentials/" + decl.Name + " stays in use. To rotate again, run credkeeper rotate auto " + decl.Name + "; it removes the secret the abandoned rotation created.", At: d.now()}
		if err := d.Notices.Announce(ctx, decl.Notify, nt); err != nil {
			d.Logger.Error("the rotation notice was not sent everywhere", "credential", decl.Name, "error", err)
			return // told again at the next check
		}
	}
	if err := runner.AbandonmentAnnounced(ctx, decl.Name); err != nil {
		d.Logger.Error("the abandonment was told but not recorded", "credential", decl.Name, "error", err)
	}
}

// recentlyChecked reports whether name's last check, as Vault records it,
// is younger than its interval and nothing fell due since: then its first
// check after a start waits for its schedule, for remindAt (the moment its
// next reminder falls due) or for renewAt (when its published token is to
// be renewed). A process that restarts forgets the moments it had
// scheduled; Vault's records of the deadline, the last check and the
// published token tell them again.
func (d *Daemon) recentlyChecked(ctx context.Context, j *job) (recent bool, remindAt, renewAt time.Time) {
	name, decl := j.Name, j.Decl
	records := j.snap.engine.Records()
	st, err := records.State(ctx, name)
	if err != nil || st.LastCheck.IsZero() {
		return false, time.Time{}, time.Time{}
	}
	now := d.now()
	if now.Sub(st.LastCheck) >= Interval(decl.Schedule, now) {
		return false, time.Time{}, time.Time{}
	}
	if decl.PublishToken != nil {
		var follows bool
		if renewAt, follows = d.tokenFollowsState(ctx, j, st, now); !follows {
			return false, time.Time{}, time.Time{}
		}
	}
	if d.Notices != nil {
		if at, quiet := QuietSinceLastCheck(j.Policy, *st, decl.AutoRotate != nil, now); quiet {
			// The state alone tells: no notice may be due, so neither the
			// metadata nor the ledger is read.
			d.Logger.Debug("first check skipped: checked recently", "credential", name, "last_check", dates.FormatTime(st.LastCheck))
			return true, at, renewAt
		}
		info, err := records.CredentialInfo(ctx, name)
		if err != nil {
			return false, time.Time{}, time.Time{}
		}
		facts := CredentialFacts{Name: name, Environment: info.Metadata.Environment, Provider: decl.Provider,
			RotateBy: info.Metadata.RotateBy, Rotation: info.Metadata.Rotation, State: *st,
			Notify: decl.Notify, Page: decl.Page, Policy: j.Policy}
		facts = d.withRequest(ctx, j, facts, now)
		if pending, err := d.Notices.pending(ctx, facts, now); err != nil || pending {
			// A notice due and not in the ledger (its check's process died
			// before claiming it, say), or claimed and never sent.
			return false, time.Time{}, time.Time{}
		}
		remindAt = policies.NextReminder(j.Policy, info.Metadata.RotateBy, now)
	}
	d.Logger.Debug("first check skipped: checked recently", "credential", name, "last_check", dates.FormatTime(st.LastCheck))
	return true, remindAt, renewAt
}

// tokenFollowsState reports whether tokens/NAME is as the recorded check
// left it, and when it is due for renewal: published and not yet due
// after an ok check, absent after a credential failure. A process killed
// between its state write and its publishing, or a restart that forgot
// when the token was to be renewed, leaves it otherwise: the first look
// then checks now, or schedules the renewal.
func (d *Daemon) tokenFollowsState(ctx context.Context, j *job, st *vaultstore.State, now time.Time) (renewAt time.Time, follows bool) {
	cur, err := j.snap.engine.Records().PublishedToken(ctx, j.Name)
	if err != nil {
		return time.Time{}, false
	}
	class := oauthcheck.Class(st.LastClass)
	switch {
	case class.IsCredentialFailure():
		return time.Time{}, cur == nil
	case cur == nil:
		return time.Time{}, class != oauthcheck.ClassOK
	}
	at := RenewAt(cur.IssuedAt, cur.ExpiresAt, j.Decl.PublishToken.RenewBefore)
	return at, now.Before(at)
}

// QuietSinceLastCheck reports whether st, recorded by a recent check,
// tells on its own that no notice of the credential may be due at now, and
// when its next reminder falls due: st records the deadline the check went
// by, no reminder tier of p has been reached (the longest is further
// away), and its checks were all ok (no alert, and no resolution, may be
// waiting in the ledger); a credential that rotates itself may have a
// rotation notice waiting, so it is never quiet. When it is not, the
// first look reads the metadata and the ledger: a reminder decided by a
// process that died before claiming it is found there.
func QuietSinceLastCheck(p *config.RotationPolicy, st vaultstore.State, autoRotates bool, now time.Time) (remindAt time.Time, quiet bool) {
	if st.RotateBy == nil || autoRotates || p == nil || st.LastClass != string(oauthcheck.ClassOK) || st.ConsecutiveFailures != 0 {
		return time.Time{}, false
	}
	for _, h := range st.History {
		if h.Class != string(oauthcheck.ClassOK) {
			return time.Time{}, false
		}
	}
	rotateBy := *st.RotateBy
	if rotateBy.IsZero() {
		return time.Time{}, true
	}
	var longest time.Duration
	for _, tier := range p.Remind {
		longest = max(longest, tier)
	}
	if !now.Before(rotateBy.Add(-longest)) {
		return time.Time{}, false
	}
	return policies.NextReminder(p, rotateBy, now), true
}

// report tells the observer and the log what a check found.
func (d *Daemon) report(ctx context.Context, res oauthcheck.Result, st vaultstore.State) {
	d.Observer.CheckDone(res, st.LastSuccess)
	level := slog.LevelInfo
	if res.Class != oauthcheck.ClassOK {
		level = slog.LevelWarn
	}
	d.Logger.Log(ctx, level, "check", "credential", res.Name, "environment", res.Environment, "class", string(res.Class),
		"status", res.Status, "latency_ms", res.Latency.Milliseconds(), "not_sent", res.NotSent, "detail", res.Detail)
}

// publish keeps tokens/NAME live: it writes the check's fresh token when
// the published one is missing or due for renewal, and deletes the
// published token when the credential failed, so CI never reads a token
// that cannot work. It returns when the token it published is due for
// renewal (zero when it published none).
func (d *Daemon) publish(ctx context.Context, j *job, res oauthcheck.Result) (time.Time, error) {
	name, decl := j.Name, j.Decl
	records := j.snap.engine.Records()
	cur, err := records.PublishedToken(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	now := d.now()
	switch {
	case res.Class.IsCredentialFailure():
		if cur == nil {
			return time.Time{}, nil
		}
		if err := records.RemoveToken(ctx, name, cur); err != nil {
			return time.Time{}, err
		}
		d.Observer.TokenPublished(name, time.Time{})
		d.Logger.Warn("published token removed: the credential failed", "credential", name, "class", string(res.Class))
		return time.Time{}, nil
	case res.Class != oauthcheck.ClassOK || res.AccessToken.IsZero():
		return time.Time{}, nil // not the credential's fault: the published token may still work
	}
	if cur != nil {
		if at := RenewAt(cur.IssuedAt, cur.ExpiresAt, decl.PublishToken.RenewBefore); now.Before(at) {
			return at, nil
		}
	}
	var maxTTL time.Duration
	if j.Provider != nil {
		maxTTL = j.Provider.MaxTokenTTL
	}
	tok, err := records.PublishToken(ctx, res, cur, maxTTL) // when it fails, tokens/NAME is read again next time
	if err != nil {
		return time.Time{}, err
	}
	d.Observer.TokenPublished(name, tok.ExpiresAt)
	d.Logger.Info("token published", "credential", name, "expires_at", dates.FormatTime(tok.ExpiresAt))
	return RenewAt(tok.IssuedAt, tok.ExpiresAt, decl.PublishToken.RenewBefore), nil
}
