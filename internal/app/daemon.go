package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/internal/app/server"
	"github.com/credkeeper/credkeeper/internal/app/web"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// DaemonGCPercent is the garbage collector's target the daemon runs at
// when GOGC is not set: half Go's default. The daemon spends its life
// waiting on Vault and providers while holding a little state for each of
// thousands of credentials; collecting more often costs it little CPU and
// keeps its resident memory near what it holds (Prometheus likewise lowers
// its default). GOGC, or GOMEMLIMIT, in the environment overrides it.
const DaemonGCPercent = 50

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DaemonGCPercent)
	}
}

// HTTPShutdownTimeout bounds the health and metrics server's shutdown.
const HTTPShutdownTimeout = 5 * time.Second

// DaemonOptions are what `credkeeper daemon` is told besides its config.
type DaemonOptions struct {
	// Listen is the address of /healthz, /readyz, /metrics and the status page.
	Listen string
	// BasicAuthFile, when set, holds USER:BCRYPT-HASH lines: /metrics and
	// the status page then ask for a user and password.
	BasicAuthFile string
	// ReplicaID names this replica in the leader lease (default: the host
	// name, the process ID and a random suffix).
	ReplicaID string
	Logger    *slog.Logger
	Overrides StoreOverrides
	// Reload receives a value for each SIGHUP; LoadConfig then reads the
	// configuration again. A bad one is logged and the running one kept.
	Reload     <-chan struct{}
	LoadConfig func() (*config.Config, error)
	// Clock is the daemon's time, and its pages', channels' and login's
	// (required: main's real clock, or a test's).
	Clock clockwork.Clock
}

// RunDaemon runs the daemon for cfg until ctx ends: it opens the store
// (with metrics on its requests), builds the channels, serves health and
// metrics, keeps the Vault login alive, reloads on request, and stops the
// HTTP server after the daemon has stopped.
func RunDaemon(ctx context.Context, cfg *config.Config, o DaemonOptions) error {
	logger := o.logger()
	tuneGC()
	m := metrics.New()
	d, store, err := newDaemon(ctx, cfg, o, logger, m)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	var auth *server.BasicAuth
	if o.BasicAuthFile != "" {
		if auth, err = server.LoadBasicAuthFile(o.BasicAuthFile); err != nil {
			return err
		}
	}
	pages := &web.Pages{Store: store, Config: d.Config, Clock: o.Clock, Channels: m.Channels}
	pages.Held = d.HeldRecords
	srv := &http.Server{Handler: server.New(m.Registry, d, pages.Handler(), auth), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
		}
	}()
	logger.Info("serving health and metrics", "addr", "http://"+ln.Addr().String(), "status_page", "http://"+ln.Addr().String()+"/")

	go func() {
		_ = store.KeepLoggedIn(ctx, o.Clock, func(e vaultstore.AuthEvent) {
			if e.Kind == "error" {
				logger.Error("vault login", "error", e.Err)
			} else {
				logger.Debug("vault login", "event", e.Kind, "ttl", e.TTL)
			}
		})
	}()
	if o.Reload != nil && o.LoadConfig != nil {
		go reloadOnRequest(ctx, o, d, logger)
	}

	err = d.Run(ctx)
	shutdown, cancel := context.WithTimeout(context.Background(), HTTPShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return err
}

// reloadOnRequest reloads the configuration on each value of o.Reload; a
// bad one is reported and the running one kept.
func reloadOnRequest(ctx context.Context, o DaemonOptions, d *daemon.Daemon, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.Reload:
			cfg, err := o.LoadConfig()
			if err != nil {
				logger.Error("configuration not reloaded; the running one is kept", "error", err)
				continue
			}
			channels, err := BuildNotifiers(cfg, nil, o.Clock)
			if err != nil {
				logger.Error("configuration not reloaded; the running one is kept", "error", err)
				continue
			}
			d.Reload(cfg, channels)
		}
	}
}

func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// RunDaemonOnce is one cycle of the daemon, for a CronJob or a CI job that
// wants no resident process: it takes the leader lease, checks every
// credential once now (publishing tokens and sending the notices due), gives
// the lease back and returns the results.
func RunDaemonOnce(ctx context.Context, cfg *config.Config, o DaemonOptions) ([]oauthcheck.Result, error) {
	d, _, err := newDaemon(ctx, cfg, o, o.logger(), nil)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	return d.RunOnce(ctx)
}

// The metrics hear the budget groups' requests as well as the checks.
var _ daemon.BudgetObserver = (*metrics.Metrics)(nil)

// newDaemon is the wiring RunDaemon and RunDaemonOnce share: the store
// opened for cfg, the replica's name, the channels, and the daemon with its
// notice pipeline. m, when set, counts Vault requests, checks and
// deliveries.
func newDaemon(ctx context.Context, cfg *config.Config, o DaemonOptions, logger *slog.Logger, m *metrics.Metrics) (*daemon.Daemon, *vaultstore.Store, error) {
	sc := StoreConfig(cfg, o.Overrides)
	var obs daemon.Observer // nil, not a nil *metrics.Metrics, when m is
	var delivered func(channel, kind string, err error, at time.Time)
	if m != nil {
		sc.Observe, obs, delivered = m.VaultRequest, m, m.NoticeDelivered
	}
	store, err := vaultstore.Open(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	id := o.ReplicaID
	if id == "" {
		id = replicaID()
	}
	channels, err := BuildNotifiers(cfg, nil, o.Clock)
	if err != nil {
		return nil, nil, err
	}
	d := daemon.NewDaemon(store, cfg, logger, obs, id, o.Clock)
	d.Notices = &daemon.Notifications{Store: store, Config: cfg, Channels: channels, Logger: logger, Replica: id, Observe: delivered}
	return d, store, nil
}

// logger is o.Logger, or one that discards.
func (o DaemonOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
