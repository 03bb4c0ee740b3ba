package notify

import "github.com/credkeeper/credkeeper/vaultstore"

// decide is the decide stage: the daemon's decision, taken as an input
// (notify decides how to deliver, never what is due), less the kinds the
// silence stage holds back.
func decide(r Round, l *vaultstore.Ledger, muted func(kind string) bool) []Due {
	if r.Decide == nil {
		return nil
	}
	var out []Due
	for _, d := range r.Decide(l) {
		if !muted(d.Kind) {
			out = append(out, d)
		}
	}
	return out
}
