package parallel

import (
	"sync/atomic"
	"testing"
)

func TestDoCallsEveryIndexWithinTheLimit(t *testing.T) {
	var running, peak atomic.Int32
	seen := make([]atomic.Int32, 50)
	Do(len(seen), 3, func(i int) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		seen[i].Add(1)
		running.Add(-1)
	})
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Errorf("index %d called %d times", i, seen[i].Load())
		}
	}
	if peak.Load() > 3 {
		t.Errorf("%d calls at once, limit 3", peak.Load())
	}
}
