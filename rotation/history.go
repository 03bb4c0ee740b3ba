package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// The history of a credential's rotations, kept in rotations/NAME for the
// audit report: who asked for a new pair, when it was staged, how it was
// proven, when it was promoted against which deadline, rolled back or the
// old secret retired. Events name pairs by client ID, never by secret.

// historyTries bounds the re-reads of rotations/NAME when another writer
// moved it between the read and the write.
const historyTries = 5

// updateRotation applies edit to rotations/NAME (an empty record when
// there is none) and writes it with check-and-set, reading again and
// re-applying edit when another writer won the race. edit returns false
// to write nothing.
func (r *Runner) updateRotation(ctx context.Context, name string, edit func(rot *vaultstore.Rotation) (bool, error)) (*vaultstore.Rotation, error) {
	var err error
	for range historyTries {
		var rot *vaultstore.Rotation
		if rot, err = r.rotationRecord(ctx, name); err != nil {
			return nil, err
		}
		if rot == nil {
			rot = &vaultstore.Rotation{}
		}
		write, eerr := edit(rot)
		if eerr != nil || !write {
			return rot, eerr
		}
		var v int
		if v, err = r.records().PutRotation(ctx, name, rot, rot.Version); err == nil {
			rot.Version = v
			return rot, nil
		}
		if !errors.Is(err, vaultstore.ErrCASConflict) {
			break
		}
	}
	return nil, err
}

// appendEvents appends to rot's history those of evs that tell something
// new (a proof that repeats the last one's class does not; a promotion of
// a version already recorded does not), by by where an event names no
// one, with the open request's ticket on a staged or promoted pair. A
// promotion closes the open request. It reports whether it appended any.
func appendEvents(rot *vaultstore.Rotation, by string, evs ...vaultstore.RotationEvent) bool {
	appended := false
	for _, ev := range evs {
		switch ev.Step {
		case vaultstore.EventProven:
			if !newProof(rot, ev) {
				continue
			}
		case vaultstore.EventPromoted:
			if promotedBefore(rot, ev.Version) {
				closeRequest(rot)
				continue
			}
		}
		if ev.By == "" {
			ev.By = by
		}
		if ev.Ticket == "" && (ev.Step == vaultstore.EventStaged || ev.Step == vaultstore.EventPromoted) {
			ev.Ticket = openTicket(rot)
		}
		rot.Append(ev)
		if ev.Step == vaultstore.EventPromoted {
			closeRequest(rot)
		}
		appended = true
	}
	return appended
}

// record appends evs to rotations/NAME's history, as appendEvents does,
// by the Vault token in use.
func (r *Runner) record(ctx context.Context, name string, evs ...vaultstore.RotationEvent) error {
	if len(evs) == 0 {
		return nil
	}
	by := ""
	_, err := r.updateRotation(ctx, name, func(rot *vaultstore.Rotation) (bool, error) {
		if by == "" {
			by = r.who(ctx)
		}
		return appendEvents(rot, by, evs...), nil
	})
	if err != nil {
		return fmt.Errorf("the step %q was done but not recorded in rotations/%s: %w", evs[len(evs)-1].Step, name, err)
	}
	return nil
}

// who names the actor of a step: the Vault token in use (its display
// name and entity, as silences record it).
func (r *Runner) who(ctx context.Context) string {
	if r.By != "" {
		return r.By
	}
	return r.Store.WhoAmI(ctx)
}

// openTicket is the ticket of rot's open request, if any.
func openTicket(rot *vaultstore.Rotation) string {
	if rot == nil || rot.Request == nil {
		return ""
	}
	return rot.Request.LastTicket()
}

// provenEvent is the event of a token request with the pair clientID, of
// class res.Class.
func provenEvent(res oauthcheck.Result, by, clientID string, version int) vaultstore.RotationEvent {
	return vaultstore.RotationEvent{Step: vaultstore.EventProven, At: res.CheckedAt, By: by, ClientID: clientID, Class: string(res.Class), Version: version}
}

// newProof reports whether proof tells the history something new: the
// first proof of its pair (client ID and version: 0 while staged) since
// the pair was staged, or a class other than the last proof's. The daemon
// checks a staged pair on every run; the history keeps what changed.
func newProof(rot *vaultstore.Rotation, proof vaultstore.RotationEvent) bool {
	for i := len(rot.History) - 1; i >= 0; i-- {
		switch ev := rot.History[i]; ev.Step {
		case vaultstore.EventProven:
			if ev.ClientID == proof.ClientID && ev.Version == proof.Version {
				return ev.Class != proof.Class
			}
		case vaultstore.EventStaged:
			return true
		}
	}
	return true
}

// promotedBefore reports whether the history records the promotion of
// version already (a promote resumed).
func promotedBefore(rot *vaultstore.Rotation, version int) bool {
	for _, ev := range rot.History {
		if ev.Step == vaultstore.EventPromoted && ev.Version == version {
			return true
		}
	}
	return false
}

// closeRequest ends rot's open request: its steps are in the history
// already, and a promoted pair answers it.
func closeRequest(rot *vaultstore.Rotation) { rot.Request = nil }
