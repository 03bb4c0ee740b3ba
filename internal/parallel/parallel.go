// Package parallel runs a function over indexes with bounded concurrency:
// the one loop shape that listing metadata and checking credentials share.
package parallel

import "sync"

// Do calls fn(i) for i in [0, n), at most limit at a time (at least one),
// and returns when all calls have returned.
func Do(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}
