package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/view"
)

// DaemonOptions are daemon's flags.
type DaemonOptions struct {
	*globalOptions
	Listen    string
	LogFormat string
	LogLevel  string
	ReplicaID string
	// BasicAuthFile holds USER:BCRYPT-HASH lines for /metrics and the status page.
	BasicAuthFile string
	// Once checks every credential once, now, and exits with check's statuses.
	Once bool
}

// NewCmdDaemon is `credkeeper daemon`. runF runs it (daemonRun when nil).
func NewCmdDaemon(g *globalOptions, runF func(context.Context, *DaemonOptions) error) *cobra.Command {
	o := &DaemonOptions{globalOptions: g}
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
			if _, err := newLogger(o.Err, o.LogFormat, o.LogLevel); err != nil {
				return usageError(cmd, err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:9464", "address for /healthz, /readyz, /metrics and the status page")
	f.StringVar(&o.BasicAuthFile, "web-basic-auth-file", "", "USER:BCRYPT-HASH lines (htpasswd -nbB): /metrics and the status page ask for them")
	f.StringVar(&o.LogFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	f.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.ReplicaID, "replica-id", "", "this replica's name in the leader lease (default hostname and a random suffix)")
	f.BoolVar(&o.Once, "once", false, "check every credential once, now (publishing tokens, sending notices due), then exit with check's exit statuses")
	return cmd
}

func daemonRun(ctx context.Context, o *DaemonOptions) error {
	logger, err := newLogger(o.Err, o.LogFormat, o.LogLevel)
	if err != nil {
		return err
	}
	cfg, err := o.loadDaemonConfig()
	if err != nil {
		return err
	}
	if o.Once {
		results, err := app.RunDaemonOnce(ctx, cfg, app.DaemonOptions{ReplicaID: o.ReplicaID, Logger: logger,
			Overrides: app.StoreOverrides{Mount: o.mount, Prefix: o.prefix}, Clock: o.clock})
		if err != nil {
			return err
		}
		if err := view.WriteCheckTable(o.Out, results, o.clock.Now()); err != nil {
			return err
		}
		return checkExit(results)
	}
	return app.RunDaemon(ctx, cfg, app.DaemonOptions{
		Listen: o.Listen, BasicAuthFile: o.BasicAuthFile, ReplicaID: o.ReplicaID, Logger: logger,
		Overrides: app.StoreOverrides{Mount: o.mount, Prefix: o.prefix},
		Reload:    o.reload, LoadConfig: o.loadDaemonConfig, Clock: o.clock,
	})
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
func (o *globalOptions) loadDaemonConfig() (*config.Config, error) {
	cfg, err := config.Load(o.configPath)
	if err == nil && o.daemonConfig != nil {
		o.daemonConfig(cfg)
	}
	return cfg, err
}
