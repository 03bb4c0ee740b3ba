package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/policies"
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
			return app.RunDaemon(cmd.Context(), cfg, app.DaemonOptions{
				Listen: o.listen, ReplicaID: o.id, Logger: logger,
				Overrides: app.StoreOverrides{Mount: opts.mount, Prefix: opts.prefix},
				Reload:    opts.reload, LoadConfig: opts.loadDaemonConfig,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9464", "address for /healthz, /readyz and /metrics")
	f.StringVar(&o.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.id, "replica-id", "", "this replica's name in the leader lease (default hostname and a random suffix)")
	return cmd
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

// loadDaemonConfig loads the configuration file the daemon runs.
func (o *globalOptions) loadDaemonConfig() (*policies.Config, error) {
	cfg, err := policies.Load(o.configPath)
	if err == nil && o.daemonConfig != nil {
		o.daemonConfig(cfg)
	}
	return cfg, err
}
