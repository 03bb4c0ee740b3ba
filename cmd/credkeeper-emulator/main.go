// Command credkeeper-emulator serves the token endpoint emulator of
// internal/emulator on a loopback address, for credkeeper's demo and for
// trying credkeeper without a real provider.
//
//	credkeeper-emulator -listen 127.0.0.1:0 -client 0oa1stage:stage-secret -client 12345:ABCDEFG
//
// When ready it prints one JSON line, {"addr":"http://127.0.0.1:PORT"}.
// Its endpoints: /oauth2/<authServerId>/v1/token (CTRP's Okta servers),
// /oauth/token (DMPTool), /accrual-services/... and /api/v2/... (resource
// APIs), and /_emulator/ to register clients and inject faults.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/emulator"
)

type clientFlags []emulator.Client

func (c *clientFlags) String() string { return fmt.Sprint(len(*c), " clients") }

// Set parses ID:SECRET[,SECRET2][:SCOPE SCOPE...].
func (c *clientFlags) Set(v string) error {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return errors.New("want ID:SECRET[,SECRET2][:SCOPES]")
	}
	cl := emulator.Client{ID: parts[0], Secrets: strings.Split(parts[1], ",")}
	if len(parts) == 3 {
		cl.Scopes = strings.Fields(parts[2])
	}
	*c = append(*c, cl)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "credkeeper-emulator: error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		listen       = flag.String("listen", "127.0.0.1:0", "loopback address to serve on")
		lockoutAfter = flag.Int("lockout-after", 5, "failed attempts that lock a client ID (0: never)")
		lockoutFor   = flag.Duration("lockout-for", 15*time.Minute, "how long a lockout lasts")
		clients      clientFlags
		locked       multiFlag
	)
	flag.Var(&clients, "client", "a client, ID:SECRET[,SECRET2][:SCOPES] (repeatable)")
	flag.Var(&locked, "locked", "a client ID locked out from the start, as after repeated failures (repeatable)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing to listen on %q: the emulator is for loopback only", *listen)
	}

	emu := emulator.New(emulator.Options{LockoutAfter: *lockoutAfter, LockoutFor: *lockoutFor, Clock: clockwork.NewRealClock()})
	for _, c := range clients {
		emu.AddClient(c)
	}
	for _, id := range locked {
		emu.Lock(id)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	line, _ := json.Marshal(map[string]string{"addr": "http://" + ln.Addr().String()})
	fmt.Println(string(line))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
