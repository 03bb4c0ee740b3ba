// Command credkeeper keeps OAuth2 client credentials in HashiCorp Vault
// valid: it checks them, classifies failures, publishes tokens for CI, and
// reminds people before each rotation deadline.
//
// This package holds main and the cobra commands only: each command is an
// options struct, NewCmdX(globals, runF) and xRun(ctx, options); its RunE
// only parses flags and calls xRun (or runF, for tests), and xRun calls a
// package and prints through a view.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/jonboulle/clockwork"
)

// Signals are handled here only: SIGINT and SIGTERM end the context,
// SIGHUP asks the daemon to reload its configuration. The real clock is
// made here, once: every command, and the daemon, take time from it.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	code := runWith(ctx, clockwork.NewRealClock(), os.Args[1:], streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, func(o *globalOptions) { o.reload = reload })
	stop()
	os.Exit(code)
}
