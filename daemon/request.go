package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// withRequest adds to f the open request for a new pair (rotations/NAME)
// and whether a pair is staged, where they may change a notice: once the
// credential's first reminder tier is reached (before it, no reminder
// and no follow-up is due, and a first look after a start reads nothing
// more, QuietSinceLastCheck). A record that cannot be read leaves f as
// it was: the notices go out without the request's words.
func (d *Daemon) withRequest(ctx context.Context, j *job, f CredentialFacts, now time.Time) CredentialFacts {
	f.Staged = d.hasStaged(f.Name)
	if j.Decl != nil {
		f.FollowUpAfter = j.Decl.FollowUpAfter
	}
	if !RequestMatters(f.Policy, f.RotateBy, now) {
		return f
	}
	rot, err := j.snap.engine.Records().GetRotation(ctx, f.Name)
	switch {
	case err == nil:
		f.Request = rot.Request
	case !errors.Is(err, vaultstore.ErrNotFound):
		d.Logger.Warn("rotation request not read", "credential", f.Name, "error", err)
	}
	return f
}

// RequestMatters reports whether a request for a new pair may change the
// notices of a credential with deadline rotateBy under p at now: from its
// first reminder tier on.
func RequestMatters(p *config.RotationPolicy, rotateBy, now time.Time) bool {
	if p == nil || rotateBy.IsZero() {
		return false
	}
	var longest time.Duration
	for _, tier := range p.Remind {
		longest = max(longest, tier)
	}
	return !now.Before(rotateBy.Add(-longest))
}
