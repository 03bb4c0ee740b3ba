package daemon

import (
	"sync"
	"testing"
	"testing/synctest"
)

// A check's stack grows deep; a goroutine made for each job grows it again
// every time. The loop's workers take job after job instead, and there are
// never more of them than jobs ran at once.
func TestTheLoopsWorkersTakeJobAfterJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := workers{jobs: make(chan func())}
		defer w.stop()
		var mu sync.Mutex
		ran := 0
		job := func() { mu.Lock(); ran++; mu.Unlock() }
		for range 100 { // one at a time: the same worker each time
			w.run(job)
			synctest.Wait()
		}
		if w.started != 1 {
			t.Errorf("100 jobs one after another started %d workers, want 1", w.started)
		}

		release := make(chan struct{})
		for range 3 { // three at once: two more workers
			w.run(func() { <-release; job() })
		}
		synctest.Wait()
		close(release)
		synctest.Wait()
		for range 100 {
			w.run(job)
			synctest.Wait()
		}
		if w.started != 3 {
			t.Errorf("at most 3 jobs at once started %d workers, want 3", w.started)
		}
		if ran != 203 {
			t.Errorf("%d jobs ran, want 203", ran)
		}
	})
}
