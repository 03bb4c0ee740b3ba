package rotation

import (
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Runner changes credentials' pairs in Vault: it stages, promotes and
// rolls back, and runs automated rotations. What it proves with a token
// request goes through oauthcheck; the check of the current pair that an
// automated rotation makes is the check engine's (check.Engine).
type Runner struct {
	Store   *vaultstore.Store
	Config  *config.Config
	Checker *oauthcheck.Checker
	// Clock is the Runner's time: the records it writes and the rotation
	// deadlines it judges (required).
	Clock clockwork.Clock
	// Cache is the check engine's memory, shared so that a staged pair the
	// provider refused is not sent again, and so that a check this runner
	// makes warms the daemon's (nil: no memory between calls).
	Cache *check.Cache
	// By names who acts, in the history rotations/NAME keeps; empty: the
	// Vault token in use (its display name and entity).
	By string

	afterPromoteWrite func() error            // a test's hook, to fail a promote midway
	afterAutoStep     func(step string) error // a test's hook, to stop an automated rotation after a step
}

func (r *Runner) now() time.Time { return r.Clock.Now() }

func (r *Runner) checker() *oauthcheck.Checker {
	if r.Checker != nil {
		return r.Checker
	}
	return &oauthcheck.Checker{Clock: r.Clock}
}

// engine is the check engine over the runner's store, config and memory.
func (r *Runner) engine() *check.Engine {
	return &check.Engine{Store: r.Store, Config: r.Config, Checker: r.Checker, Clock: r.Clock, Cache: r.Cache}
}

// records is the door to the credential's records (rotations/NAME among
// them), through the check engine's memory.
func (r *Runner) records() check.Records { return check.Records{Store: r.Store, Cache: r.Cache} }
