package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/metrics"
	"github.com/credkeeper/credkeeper/internal/server"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

type daemonOptions struct {
	listen    string
	logFormat string
	logLevel  string
	id        string
}

func newDaemonCmd(opts *globalOptions) *cobra.Command {
	var o daemonOptions
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Check every credential on its schedule, publish tokens for CI, serve health and metrics",
		Long: `Daemon runs until SIGTERM or SIGINT: it checks each credential of the
configuration on its cron schedule, records each result in state/NAME,
publishes access tokens to tokens/NAME for credentials with publish_token, and
serves /healthz, /readyz and /metrics on --listen.

Several replicas may share one Vault: the one holding the leader lease at
leases/daemon runs the checks, the others stand by. SIGHUP reloads the
configuration; a bad one is reported and the old one keeps running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(opts.Err, o.logFormat, o.logLevel)
			if err != nil {
				return usageError(cmd, err)
			}
			cfg, err := opts.loadDaemonConfig()
			if err != nil {
				return err
			}
			m := metrics.New()
			sc := rotation.StoreConfig(cfg, rotation.StoreOverrides{Mount: opts.mount, Prefix: opts.prefix})
			sc.Observe = m.VaultRequest
			store, err := vaultstore.Open(cmd.Context(), sc)
			if err != nil {
				return err
			}
			id := o.id
			if id == "" {
				id = replicaID()
			}
			channels, err := rotation.BuildNotifiers(cfg, nil)
			if err != nil {
				return err
			}
			d := daemon.NewDaemon(store, cfg, logger, m, id)
			d.Notices = &daemon.Notifications{Store: store, Config: cfg, Channels: channels, Logger: logger, Replica: id}

			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", o.listen, err)
			}
			srv := &http.Server{Handler: server.New(m.Registry, d), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Error("http server stopped", "error", err)
				}
			}()
			logger.Info("serving health and metrics", "addr", "http://"+ln.Addr().String())

			ctx := cmd.Context()
			go func() {
				_ = store.KeepLoggedIn(ctx, func(e vaultstore.AuthEvent) {
					if e.Kind == "error" {
						logger.Error("vault login", "error", e.Err)
					} else {
						logger.Debug("vault login", "event", e.Kind, "ttl", e.TTL)
					}
				})
			}()
			go reloadOnSignal(ctx, opts, d, logger)

			err = d.Run(ctx)
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9464", "address for /healthz, /readyz and /metrics")
	f.StringVar(&o.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.id, "replica-id", "", "this replica's name in the leader lease (default hostname and a random suffix)")
	return cmd
}

// reloadOnSignal reloads the configuration on each SIGHUP; a bad one is
// reported and the running one kept.
func reloadOnSignal(ctx context.Context, opts *globalOptions, d *daemon.Daemon, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-opts.reload:
			cfg, err := opts.loadDaemonConfig()
			if err != nil {
				logger.Error("configuration not reloaded; the running one is kept", "error", err)
				continue
			}
			channels, err := rotation.BuildNotifiers(cfg, nil)
			if err != nil {
				logger.Error("configuration not reloaded; the running one is kept", "error", err)
				continue
			}
			d.Reload(cfg, channels)
		}
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return slog.New(slog.NewTextHandler(w, ho)), nil
		}
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text, json or auto", format)
}

func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// loadDaemonConfig loads the configuration file the daemon runs.
func (o *globalOptions) loadDaemonConfig() (*policies.Config, error) {
	cfg, err := policies.Load(o.configPath)
	if err == nil && o.daemonConfig != nil {
		o.daemonConfig(cfg)
	}
	return cfg, err
}
