package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/clientkey"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The staged rotation, in the manner of AWS Secrets Manager's: a new pair
// is staged in pending/NAME beside the current one, proven against the
// real token endpoint, and only then promoted to a new version of
// credentials/NAME; the previous versions stay in KV v2's history, one
// rollback away.

// StageRequest is a new pair to stage.
type StageRequest struct {
	Name         string
	ClientID     string
	ClientSecret secret.Value
	// Key, instead of ClientSecret, is a private key to stage.
	Key *clientkey.Key
	// Unchecked stages without checking: a new key whose public half is
	// not registered at the provider yet (a refusal would be remembered
	// and the key never sent again). Promote checks it first.
	Unchecked bool
	// RotateBy is the new pair's deadline; zero: the rotation policy's
	// period from the day it is promoted.
	RotateBy time.Time
}

// Stage writes the new pair to pending/NAME (replacing a pair staged
// before) and checks it at once. A pair that fails stays staged, with its
// class recorded; promote refuses it.
// The steps are recorded in rotations/NAME's history: staged, and proven
// with the check's class.
func (r *Runner) Stage(ctx context.Context, req StageRequest) (oauthcheck.Result, error) {
	res, evs, err := r.stage(ctx, req)
	if err != nil {
		return res, err
	}
	return res, r.record(ctx, req.Name, evs...)
}

// stage is Stage, returning the events to record rather than recording
// them (an automated rotation records them in its own record).
func (r *Runner) stage(ctx context.Context, req StageRequest) (oauthcheck.Result, []vaultstore.RotationEvent, error) {
	if req.ClientID == "" || req.ClientSecret.IsZero() == (req.Key == nil) {
		return oauthcheck.Result{}, nil, errors.New("a staged pair needs a client ID and a secret or a key")
	}
	info, err := r.Store.CredentialInfo(ctx, req.Name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return oauthcheck.Result{}, nil, fmt.Errorf("credential %q not found in Vault: set its first pair with credkeeper secret set %s", req.Name, req.Name)
	}
	if err != nil {
		return oauthcheck.Result{}, nil, err
	}
	cas := 0
	switch cur, err := r.Store.GetPending(ctx, req.Name); {
	case err == nil || errors.Is(err, vaultstore.ErrMalformed) && cur != nil:
		cas = cur.Version
	case !errors.Is(err, vaultstore.ErrNotFound):
		return oauthcheck.Result{}, nil, err
	}
	p := &vaultstore.Pending{ClientID: req.ClientID, ClientSecret: req.ClientSecret, RotateBy: req.RotateBy, StagedAt: r.now().UTC().Truncate(time.Second)}
	if req.Key != nil {
		p.PrivateKey, p.KeyID, p.KeyAlg, p.KeyFingerprint = req.Key.PEM(), req.Key.KeyID, req.Key.Alg, req.Key.Fingerprint()
	}
	if p.Version, err = r.Store.PutPending(ctx, req.Name, p, cas); err != nil {
		return oauthcheck.Result{}, nil, err
	}
	evs := []vaultstore.RotationEvent{{Step: vaultstore.EventStaged, At: p.StagedAt, ClientID: p.ClientID, Deadline: info.Metadata.RotateBy}}
	if req.Unchecked {
		return oauthcheck.Result{Name: req.Name, CheckedAt: r.now(), Detail: "staged unchecked"}, evs, nil
	}
	t := check.ResolveTarget(r.config(), req.Name)
	res, err := r.checkPending(ctx, &t, info.Metadata, p)
	if !res.CheckedAt.IsZero() {
		evs = append(evs, provenEvent(res, "", p.ClientID, 0))
	}
	return res, evs, err
}

// CheckPending checks the pair staged for name and records its class in
// pending/NAME. A staged pair the provider refused is not sent again
// (lockout protection) until it is staged anew.
func (r *Runner) CheckPending(ctx context.Context, name string) (oauthcheck.Result, error) {
	t := check.ResolveTarget(r.config(), name)
	return r.CheckStaged(ctx, &t)
}

// CheckStaged is CheckPending of a credential already resolved: it looks
// nothing up in the configuration. A proof whose class differs from the
// last one recorded for the pair is recorded in rotations/NAME's history.
func (r *Runner) CheckStaged(ctx context.Context, t *check.Target) (oauthcheck.Result, error) {
	res, ev, err := r.checkStaged(ctx, t)
	if err != nil || ev == nil || !r.proofIsNew(ctx, t.Name, *ev) {
		return res, err
	}
	return res, r.record(ctx, t.Name, *ev)
}

// proofIsNew reports whether the history of name lacks proof (reading
// alone, so that a check that repeats the last class writes nothing).
func (r *Runner) proofIsNew(ctx context.Context, name string, proof vaultstore.RotationEvent) bool {
	rot, err := r.rotationRecord(ctx, name)
	return err != nil || rot == nil || newProof(rot, proof)
}

// checkStaged is CheckStaged, returning the proof to record (nil when no
// request was sent) rather than recording it.
func (r *Runner) checkStaged(ctx context.Context, t *check.Target) (oauthcheck.Result, *vaultstore.RotationEvent, error) {
	name := t.Name
	p, err := r.Store.GetPending(ctx, name)
	if err != nil {
		return oauthcheck.Result{}, nil, err
	}
	info, err := r.Store.CredentialInfo(ctx, name)
	if err != nil {
		return oauthcheck.Result{}, nil, err
	}
	refused := oauthcheck.Class(p.LastClass)
	if ref, ok := r.Cache.Refusal(pendingKey(name), p.Version); ok {
		refused = ref.Class // remembered though its record failed
	}
	if refused.IsCredentialFailure() {
		return oauthcheck.Result{Name: name, Class: refused, NotSent: true, CheckedAt: r.now(),
			Detail: "not re-sent: the provider refused the staged pair as " + string(refused) + "; stage a corrected pair with credkeeper rotate stage " + name}, nil, nil
	}
	res, err := r.checkPending(ctx, t, info.Metadata, p)
	if res.CheckedAt.IsZero() {
		return res, nil, err
	}
	ev := provenEvent(res, "", p.ClientID, 0)
	return res, &ev, err
}

// pendingKey is where the Cache remembers a refusal of name's staged pair
// (a slash cannot be in a credential's name).
func pendingKey(name string) string { return "pending/" + name }

func (r *Runner) checkPending(ctx context.Context, t *check.Target, md vaultstore.CredentialMetadata, p *vaultstore.Pending) (oauthcheck.Result, error) {
	name := t.Name
	cand := p.WithPair(name, md)
	_, endpoint, _, problem := t.For(r.config(), cand)
	var res oauthcheck.Result
	if problem != "" {
		res = check.Misconfigured(cand, r.now(), problem)
	} else {
		// The new pair's deadline is ahead of it: invalid_client means refused, not retired.
		res = r.checker().RequestToken(ctx, check.ClientOf(cand), endpoint, time.Time{}, r.now())
	}
	if res.Class.IsCredentialFailure() {
		r.Cache.RememberRefusal(pendingKey(name), check.Refusal{Version: p.Version, Class: res.Class, Status: res.Status, ErrorCode: res.ErrorCode, At: res.CheckedAt})
	}
	p.LastClass, p.CheckedAt = string(res.Class), res.CheckedAt.UTC().Truncate(time.Second)
	if err := r.Store.PutPendingResult(ctx, name, p.Version, p.LastClass, p.CheckedAt); err != nil {
		return res, fmt.Errorf("the staged pair was checked (%s) but its result not recorded: %w", res.Class, err)
	}
	return res, nil
}

// errNothingStaged: promote found no staged pair.
var errNothingStaged = errors.New("no pair is staged")

// PromoteOptions tune Promote.
type PromoteOptions struct {
	// Force promotes a pair whose last check was not ok.
	Force bool
	// DropGrant removes a stored user grant instead of carrying it over.
	DropGrant bool
	// FromVersion, when set, promotes only over that version of
	// credentials/NAME: a pair written meanwhile by another is not replaced.
	FromVersion int
}

// PromoteReport says what a promote did.
type PromoteReport struct {
	Version   int  // the credential's version holding the new pair
	Resumed   bool // the pair was already written by an earlier, unfinished promote
	KeptGrant bool // a stored user grant was carried over to the new pair
	Check     oauthcheck.Result
	Token     *vaultstore.Token // the token published from the new pair, if any
}

// Promote makes the staged pair the credential's new version: one
// check-and-set write of credentials/NAME with issued_at today and the
// staged deadline (or the rotation policy's period from today); then the
// new pair is checked, which clears the old pair's failure state, its
// token published when the credential publishes one, and pending/NAME
// removed last. If a step after the write fails, running Promote again
// finishes the job: it finds the pair already written and resumes.
// Without o.Force, only a staged pair whose last check was ok is promoted.
// A user grant stored beside the old pair is kept unless o.DropGrant.
//
// The promotion is recorded in rotations/NAME's history with the new
// version and the deadline it met or missed (the old pair's rotate_by),
// with the new pair's proof; it closes the open request for a new pair.
func (r *Runner) Promote(ctx context.Context, name string, o PromoteOptions) (*PromoteReport, error) {
	rep, evs, err := r.promote(ctx, name, o)
	if rerr := r.record(ctx, name, evs...); rerr != nil && err == nil {
		err = rerr
	}
	return rep, err
}

// promote is Promote, returning the events to record rather than
// recording them (an automated rotation records them in its own record).
func (r *Runner) promote(ctx context.Context, name string, o PromoteOptions) (*PromoteReport, []vaultstore.RotationEvent, error) {
	p, err := r.Store.GetPending(ctx, name)
	if errors.Is(err, vaultstore.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w for %q: stage one with credkeeper rotate stage %s (after a finished promote there is nothing left to do)", errNothingStaged, name, name)
	}
	if err != nil {
		return nil, nil, err
	}
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return nil, nil, err
	}
	if p.LastClass == "" && !o.Force && !cur.SamePair(p) { // staged unchecked (a new key): check it now
		if _, err := r.CheckPending(ctx, name); err != nil {
			return nil, nil, err
		}
		if p, err = r.Store.GetPending(ctx, name); err != nil {
			return nil, nil, err
		}
	}
	var rep *PromoteReport
	deadline := cur.Metadata.RotateBy
	if cur.SamePair(p) {
		if rep, err = r.resumePromote(ctx, name, cur); err != nil {
			return rep, nil, err
		}
		deadline = r.deadlineBefore(ctx, name, cur.Version)
	} else if rep, err = r.writeStaged(ctx, name, p, cur, o); err != nil {
		return nil, nil, err
	}
	evs := []vaultstore.RotationEvent{{Step: vaultstore.EventPromoted, At: r.now(), Version: rep.Version, ClientID: p.ClientID, Deadline: deadline}}
	if r.afterPromoteWrite != nil {
		if err := r.afterPromoteWrite(); err != nil {
			return rep, evs, r.unfinished(name, rep.Version, "the step after the write", err)
		}
	}
	if rep.Check, err = r.engine().CheckOne(ctx, name, true); err != nil {
		return rep, evs, r.unfinished(name, rep.Version, "checking the new pair", err)
	}
	if !rep.Check.CheckedAt.IsZero() && !rep.Check.NotSent {
		evs = append(evs, provenEvent(rep.Check, "", p.ClientID, rep.Version))
	}
	if err := r.publishPromoted(ctx, name, rep); err != nil {
		return rep, evs, err
	}
	if err := r.Store.DeletePending(ctx, name); err != nil {
		return rep, evs, r.unfinished(name, rep.Version, "removing pending/"+name, err)
	}
	return rep, evs, nil
}

// deadlineBefore is the rotate_by of the version before version: the
// deadline a promote that wrote version met or missed (zero when unknown).
func (r *Runner) deadlineBefore(ctx context.Context, name string, version int) time.Time {
	if version <= 1 {
		return time.Time{}
	}
	prev, err := r.Store.GetCredentialVersion(ctx, name, version-1)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && prev != nil) {
		return time.Time{}
	}
	return prev.Metadata.RotateBy
}

// resumePromote picks up a promote that wrote the pair and stopped: it
// finishes the pair's metadata.
func (r *Runner) resumePromote(ctx context.Context, name string, cur *vaultstore.Credential) (*PromoteReport, error) {
	rep := &PromoteReport{Version: cur.Version, Resumed: true, KeptGrant: !cur.AccessToken.IsZero()}
	if err := r.finishMetadata(ctx, name, cur); err != nil {
		return rep, r.unfinished(name, rep.Version, "writing the new pair's dates to its metadata", err)
	}
	return rep, nil
}

// writeStaged writes the staged pair over cur as the credential's new
// version, dated today, unless promoteRefusal refuses it.
func (r *Runner) writeStaged(ctx context.Context, name string, p *vaultstore.Pending, cur *vaultstore.Credential, o PromoteOptions) (*PromoteReport, error) {
	if err := promoteRefusal(name, p, cur, o); err != nil {
		return nil, err
	}
	md := cur.Metadata
	now := r.now().UTC()
	md.IssuedAt = now.Truncate(24 * time.Hour)
	md.RotateBy = p.RotateBy
	if md.RotateBy.IsZero() {
		md.RotateBy = md.IssuedAt.Add(r.config().RotationPolicyFor(name, md.Rotation).Period)
	}
	next := p.WithPair(name, md)
	rep := &PromoteReport{KeptGrant: carryGrant(next, cur, o.DropGrant)}
	v, err := r.Store.PutCredential(ctx, next, cur.Version)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", name, err)
	}
	rep.Version = v
	return rep, nil
}

// promoteRefusal says why the staged pair p may not replace cur: its last
// check was not ok (without o.Force), or cur is not the version
// o.FromVersion names.
func promoteRefusal(name string, p *vaultstore.Pending, cur *vaultstore.Credential, o PromoteOptions) error {
	if !o.Force && oauthcheck.Class(p.LastClass) != oauthcheck.ClassOK {
		last := p.LastClass
		if last == "" {
			last = "never checked"
		}
		if !p.PrivateKey.IsZero() {
			return fmt.Errorf("the staged key's last check was %s: promote refuses it; register the key's JWKS (the one credkeeper keygen %s --stage printed) at the provider, or stage a new key with credkeeper keygen %s --stage and register its JWKS; --force promotes it unchecked", last, name, name)
		}
		return fmt.Errorf("the staged pair's last check was %s: promote refuses it; stage a pair that works, or pass --force to promote it unchecked", last)
	}
	if o.FromVersion != 0 && cur.Version != o.FromVersion {
		return fmt.Errorf("credentials/%s moved from version %d to %d meanwhile: promote refuses to replace a pair written by another", name, o.FromVersion, cur.Version)
	}
	return nil
}

// publishPromoted publishes a token from the new pair, when the
// credential publishes one and the pair's check was ok.
func (r *Runner) publishPromoted(ctx context.Context, name string, rep *PromoteReport) error {
	decl, ok := r.config().Credential(name)
	if !ok || decl.PublishToken == nil || rep.Check.Class != oauthcheck.ClassOK {
		return nil
	}
	var maxTTL time.Duration
	if prov, ok := r.config().Provider(rep.Check.Provider); ok {
		maxTTL = prov.MaxTokenTTL
	}
	// Through the check engine's door, so that its memory of tokens/NAME
	// follows the token published here.
	records := r.records()
	cur, err := records.PublishedToken(ctx, name)
	if err != nil {
		return r.unfinished(name, rep.Version, "reading the published token", err)
	}
	if rep.Token, err = records.PublishToken(ctx, rep.Check, cur, maxTTL); err != nil {
		return r.unfinished(name, rep.Version, "publishing a token from the new pair", err)
	}
	return nil
}

// finishMetadata makes the custom metadata carry the dates the current
// version's data records (PutCredential writes the data first, then the
// metadata): a promote interrupted between the two left the old deadline
// in the metadata, where reminders and the classifier read it.
func (r *Runner) finishMetadata(ctx context.Context, name string, cur *vaultstore.Credential) error {
	written, err := r.Store.GetCredentialVersion(ctx, name, cur.Version)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && written != nil) {
		return err
	}
	if written.Metadata.IssuedAt.Equal(cur.Metadata.IssuedAt) && written.Metadata.RotateBy.Equal(cur.Metadata.RotateBy) {
		return nil
	}
	info, err := r.Store.CredentialInfo(ctx, name)
	if err != nil {
		return err
	}
	if info.Version != cur.Version {
		return fmt.Errorf("credentials/%s moved to version %d meanwhile", name, info.Version)
	}
	return r.Store.PutCredentialMetadata(ctx, name, written.Metadata, info.Fingerprint)
}

func (r *Runner) unfinished(name string, version int, step string, err error) error {
	return fmt.Errorf("the new pair is credentials/%s version %d, but %s failed: %w; run credkeeper rotate promote %s again to finish", name, version, step, err, name)
}

func (r *Runner) config() *config.Config {
	if r.Config != nil {
		return r.Config
	}
	return config.Default()
}

// RollbackOptions tune Rollback.
type RollbackOptions struct {
	// ToVersion is the version to write back; 0 means the newest earlier
	// version whose data is still there.
	ToVersion int
	// Force writes it back without checking that it still works.
	Force bool
	// DropGrant removes a stored user grant instead of carrying it over.
	DropGrant bool
}

// RollbackReport says what a rollback did.
type RollbackReport struct {
	Version   int               // the new version holding the earlier pair
	Check     oauthcheck.Result // the earlier pair's check (none with Force)
	KeptGrant bool              // the current user grant was carried over
}

// Rollback writes an earlier version's pair back as a new version of
// credentials/NAME, with the dates that version recorded. Unless o.Force,
// the old pair is checked first and the rollback refused if it no longer
// works. The user grant stored now (the newest the user approved) is kept
// unless o.DropGrant.
func (r *Runner) Rollback(ctx context.Context, name string, o RollbackOptions) (*RollbackReport, error) {
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cur != nil) {
		return nil, err
	}
	toVersion := o.ToVersion
	if toVersion == 0 {
		versions, err := r.Store.CredentialVersions(ctx, name)
		if err != nil {
			return nil, err
		}
		for i := len(versions) - 1; i >= 0; i-- {
			if v := versions[i]; v.Version < cur.Version && !v.Deleted {
				toVersion = v.Version
				break
			}
		}
		if toVersion == 0 {
			return nil, fmt.Errorf("credentials/%s has no earlier version to roll back to", name)
		}
	}
	if toVersion >= cur.Version {
		return nil, fmt.Errorf("version %d is not earlier than the current version %d", toVersion, cur.Version)
	}
	old, err := r.Store.GetCredentialVersion(ctx, name, toVersion)
	if err != nil {
		return nil, err
	}
	rep := &RollbackReport{}
	if !o.Force {
		provider, rotateBy, problem := check.Resolve(r.config(), old)
		if problem != "" {
			return nil, errors.New(problem)
		}
		rep.Check = r.checker().RequestToken(ctx, check.ClientOf(old), check.EndpointOf(provider), rotateBy, r.now())
		if rep.Check.Class != oauthcheck.ClassOK {
			return rep, fmt.Errorf("version %d no longer works (%s: %s): rollback refused; pass --force to write it back anyway", toVersion, rep.Check.Class, rep.Check.Detail)
		}
	}
	back := old.PairOnly()
	back.Name = name
	rep.KeptGrant = carryGrant(back, cur, o.DropGrant)
	if rep.Version, err = r.Store.PutCredential(ctx, back, cur.Version); err != nil {
		return nil, err
	}
	return rep, r.record(ctx, name, vaultstore.RotationEvent{Step: vaultstore.EventRolledBack, At: r.now(), Version: rep.Version, ClientID: old.ClientID,
		Deadline: old.Metadata.RotateBy, Note: fmt.Sprintf("version %d written back over version %d", toVersion, cur.Version)})
}

// RotationStatus is what `rotate status` shows. It holds no secret.
type RotationStatus struct {
	Name           string
	CurrentVersion int
	Metadata       vaultstore.CredentialMetadata
	Versions       []vaultstore.VersionInfo
	Pending        *PendingStatus
	LastClass      string
	LastCheck      time.Time
	// Auto is the automated rotation's record, when one has run.
	Auto *vaultstore.Rotation
}

// PendingStatus describes a staged pair without its secret.
type PendingStatus struct {
	ClientID  string
	StagedAt  time.Time
	RotateBy  time.Time
	LastClass string
	CheckedAt time.Time
}

// Status gathers a credential's rotation status.
func (r *Runner) Status(ctx context.Context, name string) (*RotationStatus, error) {
	info, err := r.Store.CredentialInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &RotationStatus{Name: name, CurrentVersion: info.Version, Metadata: info.Metadata}
	if st.Versions, err = r.Store.CredentialVersions(ctx, name); err != nil {
		return nil, err
	}
	switch p, err := r.Store.PendingInfo(ctx, name); {
	case err == nil:
		st.Pending = &PendingStatus{ClientID: p.ClientID, StagedAt: p.StagedAt, RotateBy: p.RotateBy, LastClass: p.LastClass, CheckedAt: p.CheckedAt}
	case !errors.Is(err, vaultstore.ErrNotFound):
		return nil, err
	}
	switch s, err := r.Store.GetState(ctx, name); {
	case err == nil:
		st.LastClass, st.LastCheck = s.LastClass, s.LastCheck
	case !errors.Is(err, vaultstore.ErrNotFound):
		return nil, err
	}
	switch rot, err := r.records().GetRotation(ctx, name); {
	case err == nil:
		st.Auto = rot
	case !errors.Is(err, vaultstore.ErrNotFound):
		return nil, err
	}
	return st, nil
}
