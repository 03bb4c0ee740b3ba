// Package lint holds checks of credkeeper's own source that the compiler
// and go vet do not make, run as ordinary tests (make lint and make test
// run them).
//
// TestNoWallClock keeps time injected: outside main packages and the few
// test-support packages it names, no code reads or waits on the wall
// clock (time.Now, time.Since, time.Until, time.After, time.Sleep,
// time.NewTimer, time.NewTicker, time.Tick, time.AfterFunc) or makes a
// real clock (clockwork.NewRealClock): it takes a clockwork.Clock, which
// main creates once.
//
// It parses source with go/parser and reads no type information, so it
// must not import any package of the product, nor anything beyond the
// standard library.
package lint
