package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Rotation without a person, where the provider allows it. Okta lets an
// app hold two active client secrets, so the new one is created, staged,
// proven with a real token request and promoted while the old one still
// works; after an overlap the old one is deactivated, the new one proven
// again, and the old one deleted. Each step is recorded in rotations/NAME
// with check-and-set, so a crash at any step resumes there, and the app
// never holds a third secret. CTRP's pairs are issued by a person at CTRP
// support, and Doorkeeper (DMPTool) keeps one secret per application, so
// no overlap is possible there: those are staged and promoted by hand.
//
// A credential that holds a key rotates the same way through Okta's JWKS
// API (autorotate_keys.go): the app may hold many keys, so the new key's
// public half is added beside the old one, and the keys are compared by
// their public thumbprint where secrets are compared by hash. The app's
// other keys are not the rotation's: it leaves them alone.
//
// The record of the last step is a hint for resuming, never the truth:
// before every step the rotation observes again what credentials/NAME,
// pending/NAME and Okta hold, and compares them by hash. A change it did
// not make (a rollback, a rotation by hand) is a fact to respect: the
// rotation ends "abandoned", with the reason, and touches nothing more. It
// never deactivates or deletes the secret credentials/NAME or pending/NAME
// holds, and deletes no secret it did not create itself, but the one it
// replaced. One actor at a time runs a rotation: the record carries its
// owner and a lease.

// The steps of an automated rotation, in order; each is the last one done.
const (
	StepStarted     = "started"     // the old secret's Okta ID is known
	StepStaged      = "staged"      // a new secret exists in Okta and in pending/NAME
	StepProven      = "proven"      // the new pair got a token
	StepPromoted    = "promoted"    // the new pair is the credential's current version
	StepDeactivated = "deactivated" // the overlap ended; the old secret is inactive
	StepVerified    = "verified"    // the new pair still works alone
	StepDone        = "done"        // the old secret is deleted
	StepAbandoned   = "abandoned"   // credentials/NAME changed behind the rotation, which stopped
)

// RotationLease is how long one run's claim on a rotation lasts; every
// step renews it, and the run gives it up when it stops.
const RotationLease = 10 * time.Minute

// AutoRotateOptions tune AutoRotate.
type AutoRotateOptions struct {
	// Now starts a rotation even before start_before the deadline.
	Now bool
	// DryRun says what the next run would do, without writing anywhere.
	DryRun bool
	// Transport carries Okta API requests (oauthcheck.DefaultTransport when nil).
	Transport http.RoundTripper
	// Owner names who runs the rotation ("daemon replica-1", "cli alice@host
	// pid 42"). The record carries it with a lease: while another owner's
	// lease lasts, a run takes no step and says who holds it.
	Owner string
	// Unattended is the daemon's run on the credential's schedule: after an
	// abandoned rotation it starts no new one while credentials/NAME is
	// still the version that made it stop (a person took over; the person
	// starts the next with credkeeper rotate auto).
	Unattended bool
}

// AutoRotateReport says what a run did.
type AutoRotateReport struct {
	// Step is the last step done ("" when no rotation has started).
	Step string
	// Waiting, when set, is when the next step is due: the start of the
	// rotation, or the end of the overlap.
	Waiting time.Time
	// Did lists what this run did (or, with DryRun, would do), in order.
	Did []string
	// Abandoned is why the rotation was abandoned, while the credential's
	// channels have not been told (AbandonmentAnnounced marks it told).
	Abandoned string
}

// ErrNotAutomatable: the credential's provider has no API to rotate through.
var ErrNotAutomatable = errors.New("not rotatable by API")

// ErrRotationBusy: another actor holds the rotation's lease.
var ErrRotationBusy = errors.New("the automated rotation is being run by another")

// BusyError says who holds a rotation's lease, and until when.
type BusyError struct {
	Name, Owner string
	Until       time.Time
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("the automated rotation of %s is being run by %s until %s: wait for it to finish, or run again after then", e.Name, e.Owner, dates.FormatTime(e.Until))
}

// Unwrap makes a BusyError ErrRotationBusy.
func (e *BusyError) Unwrap() error { return ErrRotationBusy }

// AutoRotate runs or resumes the automated rotation of name, as far as it
// can go now: to the end, to the end of the overlap, to the step that
// failed (the error says which, why, and what is known of the old secret),
// or to its abandonment when credentials/NAME changed behind it (then the
// report says why, and the error is nil).
func (r *Runner) AutoRotate(ctx context.Context, name string, o AutoRotateOptions) (*AutoRotateReport, error) {
	t := check.ResolveTarget(r.config(), name)
	return r.AutoRotateTarget(ctx, &t, o)
}

// AutoRotateTarget is AutoRotate of a credential already resolved: it
// looks nothing up in the configuration.
func (r *Runner) AutoRotateTarget(ctx context.Context, t *check.Target, o AutoRotateOptions) (*AutoRotateReport, error) {
	name, decl := t.Name, t.Decl
	if decl == nil || decl.AutoRotate == nil {
		return nil, notAutomatable(name, decl)
	}
	ar := decl.AutoRotate
	rot, err := r.rotationRecord(ctx, name)
	if err != nil {
		return nil, err
	}
	rep := reportOf(rot)
	now := r.now()
	if rot == nil || finished(rot.Step) {
		wait, err := r.beforeStart(ctx, name, ar, rot, o, now, rep)
		if err != nil {
			return nil, err
		}
		if wait {
			return rep, nil
		}
	} else if rot.Step == StepPromoted {
		if wait, err := r.inOverlap(ctx, name, ar, rot, now, rep); wait || err != nil {
			return rep, err
		}
	}
	if o.DryRun {
		rep.Did = dryRun(rep.Step, ar, r.rotatedNoun(ctx, name))
		return rep, nil
	}
	token, err := secret.ReadFile(ar.APITokenFile, "the Okta API token")
	if err != nil {
		return nil, err
	}
	okta, err := r.oktaAPI(ctx, name, ar, token, o.Transport)
	if err != nil {
		return nil, err
	}
	if rot, err = r.startOrResume(ctx, name, okta, rot, o.Owner, now, rep); err != nil {
		return rep, err
	}
	err = r.advance(ctx, t, ar, okta, rot, rep)
	r.releaseLease(ctx, name, rot, o.Owner)
	return rep, err
}

// reportOf is the report of a run that has done nothing yet: the step
// rot stands at, and why it was abandoned if no one was told yet.
func reportOf(rot *vaultstore.Rotation) *AutoRotateReport {
	rep := &AutoRotateReport{}
	if rot != nil {
		rep.Step = rot.Step
		if rot.Step == StepAbandoned && !rot.Announced {
			rep.Abandoned = rot.AbandonedReason
		}
	}
	return rep
}

// beforeStart reports whether a new rotation is not due at now: before
// its start, which it sets in rep.Waiting, or, unattended, after a person
// took over the last one.
func (r *Runner) beforeStart(ctx context.Context, name string, ar *config.AutoRotate, rot *vaultstore.Rotation, o AutoRotateOptions, now time.Time, rep *AutoRotateReport) (bool, error) {
	info, err := r.Store.CredentialInfo(ctx, name)
	if err != nil {
		return false, err
	}
	if o.Unattended && rot != nil && rot.Step == StepAbandoned && info.Version == rot.CredentialVersion {
		return true, nil // a person took over: the person starts the next
	}
	if start := info.Metadata.RotateBy.Add(-ar.StartBefore); !o.Now && now.Before(start) {
		rep.Waiting = start
		return true, nil
	}
	return false, nil
}

// inOverlap reports whether a promoted rotation is in its overlap at now,
// with nothing to do in Okta until it ends (set in rep.Waiting), unless
// credentials/NAME changed (read in Vault alone).
func (r *Runner) inOverlap(ctx context.Context, name string, ar *config.AutoRotate, rot *vaultstore.Rotation, now time.Time, rep *AutoRotateReport) (bool, error) {
	end := overlapEnd(rot, ar)
	same, err := r.holdsNewSecret(ctx, name, rot)
	if err != nil {
		return false, err
	}
	if same && now.Before(end) {
		rep.Waiting = end
		return true, nil
	}
	return false, nil
}

// startOrResume starts a new rotation when rot is none or finished, and
// otherwise takes the lease of the one under way.
func (r *Runner) startOrResume(ctx context.Context, name string, okta oktaCredentials, rot *vaultstore.Rotation, owner string, now time.Time, rep *AutoRotateReport) (*vaultstore.Rotation, error) {
	if rot != nil && !finished(rot.Step) {
		return rot, r.takeLease(ctx, name, rot, owner, now)
	}
	rot, err := r.startRotation(ctx, name, okta, rot, owner, now)
	if err != nil {
		return rot, err
	}
	rep.Step, rep.Abandoned = rot.Step, ""
	rep.Did = append(rep.Did, "found the current "+nounOf(okta)+" in Okta ("+rot.OldSecretID+")")
	return rot, r.stepDone(rot.Step)
}

// releaseLease gives up owner's lease on rot, so that the next run may be
// anyone's. A failure to write it leaves the lease to lapse.
func (r *Runner) releaseLease(ctx context.Context, name string, rot *vaultstore.Rotation, owner string) {
	if rot.Owner == owner && !rot.LeaseUntil.IsZero() {
		rot.LeaseUntil = time.Time{}
		if v, perr := r.records().PutRotation(ctx, name, rot, rot.Version); perr == nil {
			rot.Version = v
		}
	}
}

// advance takes the steps after rot.Step, observing before each one.
func (r *Runner) advance(ctx context.Context, t *check.Target, ar *config.AutoRotate, okta oktaCredentials, rot *vaultstore.Rotation, rep *AutoRotateReport) error {
	name := t.Name
	for rot.Step != StepDone {
		ob, err := r.observe(ctx, name, okta)
		if err == nil {
			if reason := drift(name, rot, ob); reason != "" {
				return r.abandon(ctx, name, rot, reason+reactivateInUse(ctx, okta, rot, ob), ob.credVersion, rep)
			}
		}
		var did string
		var waiting time.Time
		if err == nil {
			did, waiting, err = r.autoStep(ctx, t, ar, okta, rot, ob)
		}
		var ab abandonment
		if errors.As(err, &ab) {
			return r.abandon(ctx, name, rot, string(ab), ob.credVersion, rep)
		}
		if err != nil {
			rot.LastError = fmt.Sprintf("after %s: %v", rot.Step, err)
			_ = r.saveRotation(ctx, name, rot)
			return fmt.Errorf("automated rotation of %s stopped after the step %q: %w; %s; run credkeeper rotate auto %s again once it is fixed", name, rot.Step, err, knownAfter(rot.Step, err, nounOf(okta)), name)
		}
		if !waiting.IsZero() {
			rep.Waiting = waiting
			return nil
		}
		rot.LastError = ""
		if err := r.saveRotation(ctx, name, rot); err != nil {
			return err
		}
		rep.Step, rep.Did = rot.Step, append(rep.Did, did)
		if err := r.stepDone(rot.Step); err != nil {
			return err
		}
	}
	return nil
}

// overlapEnd is when the old secret may be deactivated: the overlap after
// the promotion, or after the last failed proof of the new secret alone.
func overlapEnd(rot *vaultstore.Rotation, ar *config.AutoRotate) time.Time {
	end := rot.PromotedAt.Add(ar.Overlap)
	if rot.DeactivateAfter.After(end) {
		end = rot.DeactivateAfter
	}
	return end
}

// finished reports whether step ends a rotation: the next run starts anew.
// A record with no step holds only a person's request and history.
func finished(step string) bool { return step == "" || step == StepDone || step == StepAbandoned }

func (r *Runner) rotationRecord(ctx context.Context, name string) (*vaultstore.Rotation, error) {
	rot, err := r.records().GetRotation(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil, nil
	}
	return rot, err
}

// stepDone is where a test's hook stops a run after a step.
func (r *Runner) stepDone(step string) error {
	if r.afterAutoStep != nil {
		return r.afterAutoStep(step)
	}
	return nil
}

// takeLease claims rot for owner, unless another owner's lease lasts.
func (r *Runner) takeLease(ctx context.Context, name string, rot *vaultstore.Rotation, owner string, now time.Time) error {
	if err := busy(name, rot, owner, now); err != nil {
		return err
	}
	rot.Owner, rot.LeaseUntil = owner, now.Add(RotationLease)
	v, err := r.records().PutRotation(ctx, name, rot, rot.Version)
	if errors.Is(err, vaultstore.ErrCASConflict) {
		return r.lostRace(ctx, name, owner, now)
	}
	if err != nil {
		return err
	}
	rot.Version = v
	return nil
}

// busy is the error for a run by owner while another owner's lease on rot
// lasts (nil when there is none).
func busy(name string, rot *vaultstore.Rotation, owner string, now time.Time) error {
	if rot == nil || rot.Owner == owner || !now.Before(rot.LeaseUntil) {
		return nil
	}
	return &BusyError{Name: name, Owner: rot.Owner, Until: rot.LeaseUntil}
}

// lostRace is the error when another actor wrote rotations/NAME between
// this run's read and its write.
func (r *Runner) lostRace(ctx context.Context, name, owner string, now time.Time) error {
	latest, err := r.rotationRecord(ctx, name)
	if err != nil {
		return err
	}
	if err := busy(name, latest, owner, now); err != nil {
		return err
	}
	return fmt.Errorf("rotations/%s changed while this run read it (another run?): run credkeeper rotate auto %s again", name, name)
}

// holdsNewSecret reports whether credentials/NAME holds the secret rot
// created (true when the record predates the hash).
func (r *Runner) holdsNewSecret(ctx context.Context, name string, rot *vaultstore.Rotation) (bool, error) {
	if rot.NewSecretHash == "" {
		return true, nil
	}
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return false, err
	}
	return credentialHash(cur) == rot.NewSecretHash, nil
}

// observation is what Vault and Okta hold now, secrets as hashes: what
// every step is decided on.
type observation struct {
	current     string // the hash of credentials/NAME's secret
	credVersion int    // credentials/NAME's version
	pending     string // the hash of pending/NAME's secret; "" when none
	noun        string // what the rotation rotates: "secret" or "key"
	okta        []OktaSecret
}

// what names what the rotation rotates: "secret" unless noun says.
func (ob observation) what() string {
	if ob.noun == "" {
		return "secret"
	}
	return ob.noun
}

// find is the secret Okta lists as id.
func (ob observation) find(id string) (OktaSecret, bool) {
	for _, s := range ob.okta {
		if id != "" && s.ID == id {
			return s, true
		}
	}
	return OktaSecret{}, false
}

// byHash is the secret Okta lists with hash h.
func (ob observation) byHash(h string) (OktaSecret, bool) {
	for _, s := range ob.okta {
		if h != "" && s.SecretHash == h {
			return s, true
		}
	}
	return OktaSecret{}, false
}

// observe reads credentials/NAME and pending/NAME, and lists Okta's secrets.
func (r *Runner) observe(ctx context.Context, name string, okta oktaCredentials) (observation, error) {
	ob := observation{noun: nounOf(okta)}
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return ob, err
	}
	ob.current, ob.credVersion = credentialHash(cur), cur.Version
	if ob.pending, err = r.pendingHash(ctx, name); err != nil {
		return ob, err
	}
	ob.okta, err = okta.List(ctx)
	return ob, err
}

func (r *Runner) pendingHash(ctx context.Context, name string) (string, error) {
	p, err := r.Store.GetPending(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		return "", nil
	case err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && p != nil):
		return "", err
	}
	return pendingCredentialHash(p), nil
}

// drift says why rot cannot go on from what ob shows ("" when it can):
// credentials/NAME must hold the secret the rotation started from until
// the promotion, and the one it created after; pending/NAME must hold the
// staged one until the promotion. It is a pure function of its inputs.
func drift(name string, rot *vaultstore.Rotation, ob observation) string {
	newHash := rot.NewSecretHash
	if s, ok := ob.find(rot.NewSecretID); ok && newHash == "" {
		newHash = s.SecretHash
	}
	switch rot.Step {
	case StepStarted, StepStaged, StepProven:
		if rot.Step == StepProven && newHash != "" && ob.current == newHash {
			return "" // promoted by a run that stopped before recording it
		}
		old, ok := ob.find(rot.OldSecretID)
		if !ok || old.SecretHash != ob.current {
			why := fmt.Sprintf("credentials/%s no longer holds the %s the rotation started from (%s): it was changed by hand", name, ob.what(), rot.OldSecretID)
			if !ok {
				why += ", and Okta no longer lists that " + ob.what()
			}
			return why
		}
		if rot.Step != StepStarted && (newHash == "" || ob.pending != newHash) {
			return fmt.Sprintf("pending/%s no longer holds the %s the rotation staged (%s): another pair was staged, or it was removed", name, ob.what(), rot.NewSecretID)
		}
	case StepPromoted, StepDeactivated, StepVerified:
		if newHash == "" || ob.current == newHash {
			return ""
		}
		holds := "a " + ob.what() + " Okta does not list"
		if old, ok := ob.find(rot.OldSecretID); ok && old.SecretHash == ob.current {
			holds = fmt.Sprintf("the %s the rotation replaced (%s) again, as after a rollback", ob.what(), old.ID)
		} else if s, ok := ob.byHash(ob.current); ok {
			holds = fmt.Sprintf("another of the app's %ss (%s), as after a rotation by hand", ob.what(), s.ID)
		}
		return fmt.Sprintf("credentials/%s no longer holds the %s the rotation promoted (%s): it holds %s", name, ob.what(), rot.NewSecretID, holds)
	}
	return ""
}

// reactivateInUse activates the secret the rotation replaced again when
// credentials/NAME holds it once more (a rollback) and the rotation had
// deactivated it, and says so.
func reactivateInUse(ctx context.Context, okta oktaCredentials, rot *vaultstore.Rotation, ob observation) string {
	old, ok := ob.find(rot.OldSecretID)
	if !ok || old.SecretHash != ob.current || old.Status == "ACTIVE" {
		return ""
	}
	if err := okta.Activate(ctx, old.ID); err != nil {
		return fmt.Sprintf("; the rotation had deactivated it, and could not activate it again (%v): activate it in Okta", err)
	}
	return "; the rotation had deactivated it, and activated it again"
}

// abandonment stops a rotation for good: something changed behind it.
type abandonment string

func (a abandonment) Error() string { return string(a) }

// abandon records that rot stopped for good, and why.
func (r *Runner) abandon(ctx context.Context, name string, rot *vaultstore.Rotation, reason string, credVersion int, rep *AutoRotateReport) error {
	rot.Step, rot.AbandonedReason, rot.FinishedAt, rot.LastError = StepAbandoned, reason, r.now(), ""
	rot.CredentialVersion, rot.Announced = credVersion, false
	appendEvents(rot, rot.Owner, vaultstore.RotationEvent{Step: vaultstore.EventAbandoned, At: r.now(), Version: credVersion, Note: reason})
	if err := r.saveRotation(ctx, name, rot); err != nil {
		return err
	}
	rep.Step, rep.Abandoned = StepAbandoned, reason
	rep.Did = append(rep.Did, "abandoned the rotation, touching nothing more: "+reason)
	return nil
}

// AbandonmentAnnounced marks the abandonment rotations/NAME records as
// told to the credential's channels.
func (r *Runner) AbandonmentAnnounced(ctx context.Context, name string) error {
	rot, err := r.records().GetRotation(ctx, name)
	if err != nil {
		return err
	}
	if rot.Step != StepAbandoned || rot.Announced {
		return nil
	}
	rot.Announced = true
	_, err = r.records().PutRotation(ctx, name, rot, rot.Version)
	return err
}

// startRotation finds which of the app's secrets is the one in Vault (by
// hash: an app whose one secret is not Vault's is not rotated) and records
// the start, with owner's lease. A secret an abandoned rotation created and
// left is removed, once the new record holds the lease; any other second
// secret stops it: a third cannot be created, and credkeeper deletes no
// secret it did not create.
func (r *Runner) startRotation(ctx context.Context, name string, okta oktaCredentials, prev *vaultstore.Rotation, owner string, now time.Time) (*vaultstore.Rotation, error) {
	if err := busy(name, prev, owner, now); err != nil {
		return nil, err
	}
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil {
		return nil, err
	}
	pending, err := r.pendingHash(ctx, name)
	if err != nil {
		return nil, err
	}
	secrets, err := okta.List(ctx)
	if err != nil {
		return nil, err
	}
	ob := observation{current: credentialHash(cur), credVersion: cur.Version, pending: pending, okta: secrets, noun: nounOf(okta)}
	old, ok := ob.byHash(ob.current)
	if !ok {
		return nil, fmt.Errorf("none of app %s's client secrets is the one in credentials/%s: set the right pair first (credkeeper secret set %s), or check app_id", okta.app(), name, name)
	}
	_, keys := okta.(oktaKeyCredentials)
	leftover, err := leftoverSecret(okta.app(), secrets, old, prev, keys)
	if err != nil {
		return nil, err
	}
	cas := 0
	if prev != nil {
		cas = prev.Version
	}
	rot := &vaultstore.Rotation{Step: StepStarted, OldSecretID: old.ID, StartedAt: now, CredentialVersion: cur.Version, Owner: owner, LeaseUntil: now.Add(RotationLease)}
	if prev != nil {
		rot.Request, rot.History = prev.Request, prev.History // a new rotation keeps the record's past
	}
	rot.Append(vaultstore.RotationEvent{Step: vaultstore.EventStarted, At: now, By: owner, ClientID: cur.ClientID, Version: cur.Version, Deadline: cur.Metadata.RotateBy})
	v, err := r.records().PutRotation(ctx, name, rot, cas)
	if errors.Is(err, vaultstore.ErrCASConflict) {
		return nil, r.lostRace(ctx, name, owner, now)
	}
	if err != nil {
		return nil, err
	}
	rot.Version = v
	if leftover != nil {
		return rot, r.removeLeftover(ctx, name, okta, *leftover, ob)
	}
	return rot, nil
}

// leftoverSecret is the secret beside old among the app's secrets that
// prev, an abandoned rotation, created and left, if any. Any other second
// secret is an error: credkeeper deletes no secret it did not create. An
// app's other keys (keys is set) are no error: an app holds many keys, and
// the rotation leaves those it did not create alone.
func leftoverSecret(appID string, secrets []OktaSecret, old OktaSecret, prev *vaultstore.Rotation, keys bool) (*OktaSecret, error) {
	var leftover *OktaSecret
	for _, s := range secrets {
		if s.ID == old.ID {
			continue
		}
		if prev != nil && prev.Step == StepAbandoned && (s.ID == prev.NewSecretID || prev.NewSecretHash != "" && s.SecretHash == prev.NewSecretHash) {
			leftover = &s
			continue
		}
		if keys {
			continue
		}
		return nil, fmt.Errorf("app %s already holds %d client secrets, the most Okta allows, and %s is not one credkeeper created: deactivate and delete the one not in Vault, then run again", appID, len(secrets), s.ID)
	}
	return leftover, nil
}

// removeLeftover removes the secret an abandoned rotation created and
// left, and the staged pair that holds it, if one does: the new rotation
// stages its own.
func (r *Runner) removeLeftover(ctx context.Context, name string, okta oktaCredentials, leftover OktaSecret, ob observation) error {
	if leftover.SecretHash == ob.pending {
		if err := r.Store.DeletePending(ctx, name); err != nil {
			return err
		}
		ob.pending = ""
	}
	if err := retireOwn(ctx, okta, name, leftover, ob); err != nil {
		return fmt.Errorf("removing the secret an abandoned rotation created (%s): %w", leftover.ID, err)
	}
	return nil
}

// retireOwn deactivates and deletes s, a secret the rotation created that
// nothing holds, after making sure of that again by hash.
func retireOwn(ctx context.Context, okta oktaCredentials, name string, s OktaSecret, ob observation) error {
	if err := mayTouch(name, s, ob); err != nil {
		return err
	}
	if s.Status == "ACTIVE" {
		if err := ignoreGone(okta.Deactivate(ctx, s.ID)); err != nil {
			if st, lerr := okta.Status(ctx, s.ID); lerr != nil || st == "ACTIVE" {
				return err
			}
		}
	}
	return ignoreGone(okta.Delete(ctx, s.ID))
}

// mayTouch refuses to deactivate or delete s when it is the secret
// credentials/NAME or pending/NAME holds, compared by hash.
func mayTouch(name string, s OktaSecret, ob observation) error {
	switch s.SecretHash {
	case ob.current:
		return fmt.Errorf("the %[1]s %[2]s is the one credentials/%[3]s holds: credkeeper never deactivates or deletes the %[1]s in use", ob.what(), s.ID, name)
	case ob.pending:
		return fmt.Errorf("the %[1]s %[2]s is the one pending/%[3]s holds: credkeeper never deactivates or deletes a staged %[1]s", ob.what(), s.ID, name)
	}
	return nil
}

// autoStep does the step after rot.Step, on what ob shows, and moves rot
// on; it returns what it did, or when it may go on (the end of the
// overlap).
func (r *Runner) autoStep(ctx context.Context, t *check.Target, ar *config.AutoRotate, okta oktaCredentials, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	name := t.Name
	switch rot.Step {
	case StepStarted:
		if keys, ok := okta.(oktaKeyCredentials); ok {
			return r.stageNewKey(ctx, name, keys, rot, ob)
		}
		return r.stageNewSecret(ctx, name, okta.(*OktaSecrets), rot, ob)
	case StepStaged:
		return r.proveStaged(ctx, t, rot, nounOf(okta))
	case StepProven:
		return r.promoteProven(ctx, name, rot, ob)
	case StepPromoted:
		return r.deactivateOld(ctx, name, ar, okta, rot, ob)
	case StepDeactivated:
		return r.proveAlone(ctx, t, ar, okta, rot, ob)
	case StepVerified:
		return r.deleteOld(ctx, name, okta, rot, ob)
	}
	return "", time.Time{}, fmt.Errorf("rotations/%s records an unknown step %q", name, rot.Step)
}

// proveStaged proves the staged secret with a token request. Staging
// checked it already; it checks again only if that check was not ok.
func (r *Runner) proveStaged(ctx context.Context, t *check.Target, rot *vaultstore.Rotation, noun string) (string, time.Time, error) {
	if info, err := r.Store.PendingInfo(ctx, t.Name); err != nil || info.LastClass != string(oauthcheck.ClassOK) {
		res, ev, err := r.checkStaged(ctx, t)
		if ev != nil {
			appendEvents(rot, rot.Owner, *ev)
		}
		if err != nil {
			return "", time.Time{}, err
		}
		if res.Class != oauthcheck.ClassOK {
			return "", time.Time{}, fmt.Errorf("the new %s was refused (%s: %s)", noun, res.Class, res.Detail)
		}
	}
	rot.Step = StepProven
	return "proved the new " + noun + " with a token request", time.Time{}, nil
}

// promoteProven promotes the proven secret into credentials/NAME, unless
// an earlier run did.
func (r *Runner) promoteProven(ctx context.Context, name string, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	rep, evs, err := r.promote(ctx, name, PromoteOptions{FromVersion: ob.credVersion})
	appendEvents(rot, rot.Owner, evs...)
	if err != nil && !errors.Is(err, errNothingStaged) {
		return "", time.Time{}, err
	}
	rot.Step, rot.PromotedAt = StepPromoted, r.now()
	if rep != nil {
		rot.CredentialVersion = rep.Version
		return fmt.Sprintf("promoted it: credentials/%s is version %d", name, rep.Version), time.Time{}, nil
	}
	rot.CredentialVersion = ob.credVersion
	return "promoted it", time.Time{}, nil
}

// deactivateOld deactivates the old secret once the overlap is over, and
// returns the overlap's end until then.
func (r *Runner) deactivateOld(ctx context.Context, name string, ar *config.AutoRotate, okta oktaCredentials, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	if end := overlapEnd(rot, ar); r.now().Before(end) {
		return "", end, nil
	}
	old, ok := ob.find(rot.OldSecretID)
	if !ok || old.Status != "ACTIVE" {
		rot.Step = StepDeactivated
		return "the overlap is over: the old " + ob.what() + " (" + rot.OldSecretID + ") was no longer active in Okta", time.Time{}, nil
	}
	if err := mayTouch(name, old, ob); err != nil {
		return "", time.Time{}, err
	}
	if err := ignoreGone(okta.Deactivate(ctx, old.ID)); err != nil {
		// Okta may have done it and lost its answer: ask.
		switch st, lerr := okta.Status(ctx, old.ID); {
		case lerr != nil:
			return "", time.Time{}, knownError{fmt.Errorf("%w; and listing the app's %ss failed too: %v", err, ob.what(), lerr), "whether the old " + ob.what() + " was deactivated is not known: Okta's admin console shows its status"}
		case st == "ACTIVE":
			return "", time.Time{}, err
		}
	}
	rot.Step = StepDeactivated
	return "the overlap is over: deactivated the old " + ob.what() + " (" + rot.OldSecretID + "); whether anything still used it is not known: credkeeper does not read Okta's system log, so a consumer still on the old " + ob.what() + " now gets invalid_client", time.Time{}, nil
}

// proveAlone proves the new secret works with the old one deactivated.
// When it does not, it activates the old secret again, and the next try
// waits a whole overlap.
func (r *Runner) proveAlone(ctx context.Context, t *check.Target, ar *config.AutoRotate, okta oktaCredentials, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	out, err := r.engine().CheckTarget(ctx, t, true)
	res := out.Result
	switch {
	case err == nil && res.CredentialVersion != ob.credVersion:
		return "", time.Time{}, abandonment(fmt.Sprintf("credentials/%s moved from version %d to %d while the new %s was being proven alone", t.Name, ob.credVersion, res.CredentialVersion, ob.what()))
	case err == nil && res.Class != oauthcheck.ClassOK:
		err = fmt.Errorf("the new %s no longer works alone (%s: %s)", ob.what(), res.Class, res.Detail)
	}
	if err != nil {
		if aerr := okta.Activate(ctx, rot.OldSecretID); aerr != nil {
			return "", time.Time{}, fmt.Errorf("%w; and the old %s could not be activated again: %v", err, ob.what(), aerr)
		}
		// The old secret works again; the next try waits a whole
		// overlap, so that its consumers are not cut off at every run.
		rot.Step, rot.DeactivateAfter = StepPromoted, r.now().Add(ar.Overlap)
		return "", time.Time{}, fmt.Errorf("%w; the old %s was activated again, and is deactivated again no sooner than %s", err, ob.what(), dates.FormatTime(rot.DeactivateAfter))
	}
	rot.Step = StepVerified
	return "proved the new " + ob.what() + " works alone", time.Time{}, nil
}

// deleteOld deletes the deactivated old secret, which completes the
// rotation; an old secret active again abandons it.
func (r *Runner) deleteOld(ctx context.Context, name string, okta oktaCredentials, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	old, ok := ob.find(rot.OldSecretID)
	if ok && old.Status == "ACTIVE" {
		return "", time.Time{}, abandonment(fmt.Sprintf("the old %s (%s) is active again in Okta: someone activated it after the rotation deactivated it", ob.what(), old.ID))
	}
	if ok {
		if err := mayTouch(name, old, ob); err != nil {
			return "", time.Time{}, err
		}
		if err := ignoreGone(okta.Delete(ctx, old.ID)); err != nil {
			if st, lerr := okta.Status(ctx, old.ID); lerr != nil || st != "" {
				return "", time.Time{}, err
			}
		}
	}
	rot.Step, rot.FinishedAt = StepDone, r.now()
	appendEvents(rot, rot.Owner, vaultstore.RotationEvent{Step: vaultstore.EventRetired, At: r.now(), Version: rot.CredentialVersion, Note: "old client " + ob.what() + " " + rot.OldSecretID + " deleted in Okta"})
	return "deleted the old " + ob.what() + ": the rotation is complete", time.Time{}, nil
}

// stageNewSecret creates the new secret and stages it. Its hash is
// recorded before Okta is asked to create it, so that a secret an earlier
// run created is known as the rotation's own: adopted when pending/NAME
// holds it, and otherwise deleted (it was never stored, so nothing can use
// it). Any other secret beside the old one stops the rotation: credkeeper
// deletes only secrets it created.
func (r *Runner) stageNewSecret(ctx context.Context, name string, okta *OktaSecrets, rot *vaultstore.Rotation, ob observation) (string, time.Time, error) {
	for _, s := range ob.okta {
		if s.ID == rot.OldSecretID {
			continue
		}
		if rot.NewSecretHash == "" || s.SecretHash != rot.NewSecretHash {
			return "", time.Time{}, fmt.Errorf("app %s holds a client secret (%s) that is neither the one in credentials/%s nor one this rotation created: credkeeper deletes only secrets it created; if nothing uses it, deactivate and delete it in Okta, then run again", okta.app(), s.ID, name)
		}
		if s.SecretHash == ob.pending {
			rot.Step, rot.NewSecretID = StepStaged, s.ID
			return "found the new secret an earlier run created (" + s.ID + ") staged in pending/" + name, time.Time{}, nil
		}
		if err := retireOwn(ctx, okta, name, s, ob); err != nil {
			return "", time.Time{}, fmt.Errorf("removing the secret an earlier run created and never stored (%s): %w", s.ID, err)
		}
	}
	value, err := NewClientSecret()
	if err != nil {
		return "", time.Time{}, err
	}
	rot.NewSecretID, rot.NewSecretHash = "", HashClientSecret(value)
	if err := r.saveRotation(ctx, name, rot); err != nil {
		return "", time.Time{}, err
	}
	created, err := okta.Create(ctx, value)
	if err != nil {
		return "", time.Time{}, err
	}
	rot.NewSecretID = created.ID
	clientID, err := r.clientID(ctx, name)
	if err != nil {
		return "", time.Time{}, err
	}
	_, evs, err := r.stage(ctx, StageRequest{Name: name, ClientID: clientID, ClientSecret: value})
	appendEvents(rot, rot.Owner, evs...)
	if err != nil {
		return "", time.Time{}, err
	}
	rot.Step = StepStaged
	return "created a new client secret in Okta (" + created.ID + ") and staged it in pending/" + name, time.Time{}, nil
}

// knownError is a step's error with what is known of the old secret.
type knownError struct {
	err   error
	known string
}

func (e knownError) Error() string { return e.err.Error() }
func (e knownError) Unwrap() error { return e.err }

// knownAfter says what is known of the old secret when a rotation stopped
// after step with err.
func knownAfter(step string, err error, noun string) string {
	var ke knownError
	if errors.As(err, &ke) {
		return ke.known
	}
	switch step {
	case StepDeactivated:
		return "the old " + noun + " is inactive in Okta and the new one in use"
	case StepVerified:
		return "the old " + noun + " is inactive in Okta and the new one works alone"
	}
	return "the old " + noun + " still works"
}

func (r *Runner) clientID(ctx context.Context, name string) (string, error) {
	cred, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cred != nil) {
		return "", err
	}
	return cred.ClientID, nil
}

// saveRotation records rot with check-and-set, renewing its lease.
func (r *Runner) saveRotation(ctx context.Context, name string, rot *vaultstore.Rotation) error {
	if !rot.LeaseUntil.IsZero() {
		rot.LeaseUntil = r.now().Add(RotationLease)
	}
	v, err := r.records().PutRotation(ctx, name, rot, rot.Version)
	if err != nil {
		return fmt.Errorf("the step %q was done but not recorded in rotations/%s: %w; run again to resume", rot.Step, name, err)
	}
	rot.Version = v
	return nil
}

// ignoreGone treats a 404 as done: a resumed step finds its work done.
func ignoreGone(err error) error {
	var oe *OktaError
	if errors.As(err, &oe) && oe.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// dryRun says what the steps after step would do.
func dryRun(step string, ar *config.AutoRotate, noun string) []string {
	if step == StepAbandoned {
		step = StepDone
	}
	find, create := "find the current secret among app "+ar.AppID+"'s client secrets in Okta", "create a new client secret in Okta and stage it"
	if noun == "key" {
		find, create = "find the current key among app "+ar.AppID+"'s keys in Okta (JWKS API)", "generate a new key pair, stage its private key, add its public key to Okta and activate it"
	}
	steps := []struct{ after, what string }{
		{StepDone, find},
		{StepStarted, create},
		{StepStaged, "prove the new " + noun + " with a token request"},
		{StepProven, "promote it to the credential's current version"},
		{StepPromoted, "after the overlap of " + dates.ShortDuration(ar.Overlap) + ", deactivate the old " + noun},
		{StepDeactivated, "prove the new " + noun + " works alone"},
		{StepVerified, "delete the old " + noun},
	}
	if step == "" {
		step = StepDone
	}
	var out []string
	for i, s := range steps {
		if s.after == step {
			for _, rest := range steps[i:] {
				out = append(out, rest.what)
			}
			break
		}
	}
	return out
}

func notAutomatable(name string, decl *config.Credential) error {
	provider := ""
	if decl != nil {
		provider = decl.Provider
	}
	why := "it has no auto_rotate block"
	switch {
	case len(provider) >= 4 && provider[:4] == "ctrp":
		why = "CTRP's client ID and secret are issued by a person at CTRP support, not by an API"
	case len(provider) >= 7 && provider[:7] == "dmptool":
		why = "Doorkeeper (DMPTool) keeps one secret per application: a new one retires the old at once, so there is no overlap to rotate through"
	}
	return fmt.Errorf("%w: %s cannot be rotated automatically: %s; stage the new pair with credkeeper rotate stage %s, then promote it", ErrNotAutomatable, name, why, name)
}
