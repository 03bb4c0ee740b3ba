// Command credkeeper keeps OAuth2 client credentials in HashiCorp Vault
// valid: it checks them, classifies failures, publishes tokens for CI, and
// reminds people before each rotation deadline.
//
// This package holds main and the cobra commands only: each command parses
// its flags, calls a package, and prints.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
