package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
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

// The steps of an automated rotation, in order; each is the last one done.
const (
	StepStarted     = "started"     // the old secret's Okta ID is known
	StepStaged      = "staged"      // a new secret exists in Okta and in pending/NAME
	StepProven      = "proven"      // the new pair got a token
	StepPromoted    = "promoted"    // the new pair is the credential's current version
	StepDeactivated = "deactivated" // the overlap ended; the old secret is inactive
	StepVerified    = "verified"    // the new pair still works alone
	StepDone        = "done"        // the old secret is deleted
)

// AutoRotateOptions tune AutoRotate.
type AutoRotateOptions struct {
	// Now starts a rotation even before start_before the deadline.
	Now bool
	// DryRun says what the next run would do, without writing anywhere.
	DryRun bool
	// Transport carries Okta API requests (http.DefaultTransport when nil).
	Transport http.RoundTripper
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
}

// ErrNotAutomatable: the credential's provider has no API to rotate through.
var ErrNotAutomatable = errors.New("not rotatable by API")

// AutoRotate runs or resumes the automated rotation of name, as far as it
// can go now: to the end, to the end of the overlap, or to the step that
// failed (the error says which and why; the old secret still works).
func (r *Runner) AutoRotate(ctx context.Context, name string, o AutoRotateOptions) (*AutoRotateReport, error) {
	decl, ok := r.config().Credential(name)
	if !ok || decl.AutoRotate == nil {
		return nil, notAutomatable(name, decl)
	}
	ar := decl.AutoRotate
	rot, err := r.Store.GetRotation(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		rot = nil
	case err != nil:
		return nil, err
	}
	rep := &AutoRotateReport{}
	if rot != nil {
		rep.Step = rot.Step
	}
	now := r.now()
	if rot == nil || rot.Step == StepDone {
		info, err := r.Store.CredentialInfo(ctx, name)
		if err != nil {
			return nil, err
		}
		if start := info.Metadata.RotateBy.Add(-ar.StartBefore); !o.Now && now.Before(start) {
			rep.Waiting = start
			return rep, nil
		}
	}
	if o.DryRun {
		rep.Did = dryRun(rep.Step, ar)
		return rep, nil
	}
	token, err := secret.ReadFile(ar.APITokenFile, "the Okta API token")
	if err != nil {
		return nil, err
	}
	okta := &OktaSecrets{OrgURL: ar.OktaOrgURL, AppID: ar.AppID, Token: token, Transport: o.Transport}
	if rot == nil || rot.Step == StepDone {
		cas := 0
		if rot != nil {
			cas = rot.Version
		}
		if rot, err = r.startRotation(ctx, name, okta, now, cas); err != nil {
			return rep, err
		}
		rep.Step = rot.Step
		rep.Did = append(rep.Did, "found the current secret in Okta ("+rot.OldSecretID+")")
		if err := r.stepDone(rot.Step); err != nil {
			return rep, err
		}
	}
	for rot.Step != StepDone {
		did, waiting, err := r.autoStep(ctx, name, ar, okta, rot)
		if err != nil {
			rot.LastError = fmt.Sprintf("after %s: %v", rot.Step, err)
			_ = r.saveRotation(ctx, name, rot)
			return rep, fmt.Errorf("automated rotation of %s stopped after the step %q: %w; the old secret still works; run credkeeper rotate auto %s again once it is fixed", name, rot.Step, err, name)
		}
		if !waiting.IsZero() {
			rep.Waiting = waiting
			return rep, nil
		}
		rot.LastError = ""
		if err := r.saveRotation(ctx, name, rot); err != nil {
			return rep, err
		}
		rep.Step, rep.Did = rot.Step, append(rep.Did, did)
		if err := r.stepDone(rot.Step); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// stepDone is where a test's hook stops a run after a step.
func (r *Runner) stepDone(step string) error {
	if r.afterAutoStep != nil {
		return r.afterAutoStep(step)
	}
	return nil
}

// startRotation finds which of the app's secrets is the one in Vault and
// records the start. An app that already holds two secrets cannot rotate:
// a third cannot be created, and credkeeper deletes no secret it did not
// create.
func (r *Runner) startRotation(ctx context.Context, name string, okta *OktaSecrets, now time.Time, cas int) (*vaultstore.Rotation, error) {
	cur, err := r.Store.GetCredential(ctx, name)
	if err != nil {
		return nil, err
	}
	secrets, err := okta.List(ctx)
	if err != nil {
		return nil, err
	}
	old := ""
	switch {
	case len(secrets) == 1:
		old = secrets[0].ID
	case len(secrets) >= 2:
		return nil, fmt.Errorf("app %s already holds %d client secrets, the most Okta allows: deactivate and delete the one not in Vault, then run again", okta.AppID, len(secrets))
	}
	hash := HashClientSecret(cur.ClientSecret)
	for _, s := range secrets {
		if s.SecretHash == hash {
			old = s.ID
		}
	}
	if old == "" {
		return nil, fmt.Errorf("none of app %s's client secrets is the one in credentials/%s: set the right pair first", okta.AppID, name)
	}
	rot := &vaultstore.Rotation{Step: StepStarted, OldSecretID: old, StartedAt: now}
	v, err := r.Store.PutRotation(ctx, name, rot, cas)
	if err != nil {
		return nil, err
	}
	rot.Version = v
	return rot, nil
}

// autoStep does the step after rot.Step and moves rot on; it returns what
// it did, or when it may go on (the end of the overlap).
func (r *Runner) autoStep(ctx context.Context, name string, ar *policies.AutoRotate, okta *OktaSecrets, rot *vaultstore.Rotation) (string, time.Time, error) {
	switch rot.Step {
	case StepStarted:
		id, err := r.stageNewSecret(ctx, name, okta, rot.OldSecretID)
		if err != nil {
			return "", time.Time{}, err
		}
		rot.Step, rot.NewSecretID = StepStaged, id
		return "created a new client secret in Okta (" + id + ") and staged it in pending/" + name, time.Time{}, nil
	case StepStaged:
		// Staging checked it already; check again only if that check was not ok.
		if info, err := r.Store.PendingInfo(ctx, name); err != nil || info.LastClass != string(oauthcheck.ClassOK) {
			res, err := r.CheckPending(ctx, name)
			if err != nil {
				return "", time.Time{}, err
			}
			if res.Class != oauthcheck.ClassOK {
				return "", time.Time{}, fmt.Errorf("the new secret was refused (%s: %s)", res.Class, res.Detail)
			}
		}
		rot.Step = StepProven
		return "proved the new secret with a token request", time.Time{}, nil
	case StepProven:
		rep, err := r.Promote(ctx, name, PromoteOptions{})
		if err != nil && !errors.Is(err, errNothingStaged) {
			return "", time.Time{}, err
		}
		rot.Step, rot.PromotedAt = StepPromoted, r.now()
		if rep != nil {
			return fmt.Sprintf("promoted it: credentials/%s is version %d", name, rep.Version), time.Time{}, nil
		}
		return "promoted it", time.Time{}, nil
	case StepPromoted:
		if end := rot.PromotedAt.Add(ar.Overlap); r.now().Before(end) {
			return "", end, nil
		}
		if err := ignoreGone(okta.Deactivate(ctx, rot.OldSecretID)); err != nil {
			return "", time.Time{}, err
		}
		rot.Step = StepDeactivated
		return "the overlap is over: deactivated the old secret (" + rot.OldSecretID + "); whether anything still used it is not known: credkeeper does not read Okta's system log, so a consumer still on the old secret now gets invalid_client", time.Time{}, nil
	case StepDeactivated:
		res, err := r.CheckOne(ctx, name, true)
		if err == nil && res.Class != oauthcheck.ClassOK {
			err = fmt.Errorf("the new secret no longer works alone (%s: %s)", res.Class, res.Detail)
		}
		if err != nil {
			if aerr := okta.Activate(ctx, rot.OldSecretID); aerr != nil {
				return "", time.Time{}, fmt.Errorf("%w; and the old secret could not be activated again: %v", err, aerr)
			}
			rot.Step = StepPromoted // the old secret works again; the overlap goes on
			return "", time.Time{}, fmt.Errorf("%w; the old secret was activated again", err)
		}
		rot.Step = StepVerified
		return "proved the new secret works alone", time.Time{}, nil
	case StepVerified:
		if err := ignoreGone(okta.Delete(ctx, rot.OldSecretID)); err != nil {
			return "", time.Time{}, err
		}
		rot.Step, rot.FinishedAt = StepDone, r.now()
		return "deleted the old secret: the rotation is complete", time.Time{}, nil
	}
	return "", time.Time{}, fmt.Errorf("rotations/%s records an unknown step %q", name, rot.Step)
}

// stageNewSecret creates the new secret and stages it. A secret an earlier
// run created but did not record is adopted when pending/NAME holds it,
// and otherwise deleted (it was never stored, so nothing can use it): the
// app never holds a third secret.
func (r *Runner) stageNewSecret(ctx context.Context, name string, okta *OktaSecrets, oldID string) (string, error) {
	secrets, err := okta.List(ctx)
	if err != nil {
		return "", err
	}
	staged, err := r.Store.GetPending(ctx, name)
	if err != nil && !errors.Is(err, vaultstore.ErrNotFound) {
		return "", err
	}
	for _, s := range secrets {
		if s.ID == oldID {
			continue
		}
		if staged != nil && s.SecretHash == HashClientSecret(staged.ClientSecret) {
			return s.ID, nil // created and staged; the record of it was lost
		}
		if s.Status == "ACTIVE" {
			if err := okta.Deactivate(ctx, s.ID); err != nil {
				return "", err
			}
		}
		if err := ignoreGone(okta.Delete(ctx, s.ID)); err != nil {
			return "", err
		}
	}
	created, err := okta.Create(ctx)
	if err != nil {
		return "", err
	}
	clientID, err := r.clientID(ctx, name)
	if err != nil {
		return "", err
	}
	if _, err := r.Stage(ctx, StageRequest{Name: name, ClientID: clientID, ClientSecret: created.Secret}); err != nil {
		return "", err
	}
	return created.ID, nil
}

func (r *Runner) clientID(ctx context.Context, name string) (string, error) {
	cred, err := r.Store.GetCredential(ctx, name)
	if err != nil && !(errors.Is(err, vaultstore.ErrMalformed) && cred != nil) {
		return "", err
	}
	return cred.ClientID, nil
}

func (r *Runner) saveRotation(ctx context.Context, name string, rot *vaultstore.Rotation) error {
	v, err := r.Store.PutRotation(ctx, name, rot, rot.Version)
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
func dryRun(step string, ar *policies.AutoRotate) []string {
	steps := []struct{ after, what string }{
		{StepDone, "find the current secret among app " + ar.AppID + "'s client secrets in Okta"},
		{StepStarted, "create a new client secret in Okta and stage it"},
		{StepStaged, "prove the new secret with a token request"},
		{StepProven, "promote it to the credential's current version"},
		{StepPromoted, "after the overlap of " + policies.ShortDuration(ar.Overlap) + ", deactivate the old secret"},
		{StepDeactivated, "prove the new secret works alone"},
		{StepVerified, "delete the old secret"},
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

func notAutomatable(name string, decl *policies.Credential) error {
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
