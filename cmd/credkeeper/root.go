package main

import (
	"context"
	"io"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"

	"github.com/credkeeper/credkeeper/authorize"
	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// streams are the command's standard input, output and error.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globalOptions are the flags every command has.
type globalOptions struct {
	streams
	configPath string
	// configNamed: the user named the config file (--config or
	// CREDKEEPER_CONFIG); otherwise a missing credkeeper.hcl means defaults.
	configNamed bool
	mount       string
	prefix      string
	// clock is every command's time: main's real clock, or a test's fake.
	clock clockwork.Clock
	// isTerminal reports whether standard input is a terminal to ask on.
	isTerminal func() bool
	// reload receives a value for each SIGHUP (main's signal handling).
	reload <-chan struct{}
	// daemonConfig, when set, adjusts each configuration the daemon loads:
	// tests shorten its schedules below the language's floors.
	daemonConfig func(*config.Config)
}

// runWith executes one command line on clock and returns the process exit
// code. setup, when given, adjusts the options first: main hands over its
// reload signal; tests stand in for a terminal.
func runWith(ctx context.Context, clock clockwork.Clock, args []string, s streams, setup func(*globalOptions)) int {
	opts := &globalOptions{streams: s, clock: clock}
	opts.isTerminal = func() bool { return stdinIsTerminal(s.In) }
	if setup != nil {
		setup(opts)
	}
	root := newRootCmd(opts)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return reportError(s.Err, err)
}

func newRootCmd(opts *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "credkeeper",
		Short: "Keep OAuth2 client credentials in Vault valid, checked and rotated on time",
		Long: `credkeeper keeps OAuth2 client IDs and secrets in HashiCorp Vault (KV v2),
checks them against their token endpoints, and reminds people before each
yearly rotation deadline.

Vault is reached as the vault CLI reaches it: VAULT_ADDR, VAULT_TOKEN (or
~/.vault-token), VAULT_NAMESPACE, VAULT_CACERT and VAULT_SKIP_VERIFY.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			opts.configNamed = cmd.Flags().Changed("config") || os.Getenv("CREDKEEPER_CONFIG") != ""
		},
	}
	root.SetIn(opts.In)
	root.SetOut(opts.Out)
	root.SetErr(opts.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(c, err)
	})

	defaultConfig := config.DefaultConfigFile
	if env := os.Getenv("CREDKEEPER_CONFIG"); env != "" {
		defaultConfig = env
	}
	pf := root.PersistentFlags()
	pf.StringVar(&opts.configPath, "config", defaultConfig, "configuration file (env CREDKEEPER_CONFIG)")
	pf.StringVar(&opts.mount, "mount", "", "KV v2 mount (overrides the config; default \"secret\")")
	pf.StringVar(&opts.prefix, "prefix", "", "folder under the mount (overrides the config; default \"credkeeper\")")

	root.AddCommand(
		NewCmdValidate(opts, nil),
		newSecretCmd(opts),
		NewCmdCheck(opts, nil),
		NewCmdStatus(opts, nil),
		NewCmdPlan(opts, nil),
		NewCmdApply(opts, nil),
		NewCmdFmt(opts, nil),
		newVaultPoliciesCmd(opts),
		NewCmdDaemon(opts, nil),
		NewCmdToken(opts, nil),
		newRotateCmd(opts),
		NewCmdKeygen(opts, nil),
		NewCmdAuthorize(opts, nil),
		newNotifyCmd(opts),
		NewCmdSilence(opts, nil),
		newCICmd(opts),
		NewCmdReport(opts, nil),
		NewCmdVersion(opts, nil),
	)
	return root
}

// loadConfig loads the config, or the defaults when no file was named and
// credkeeper.hcl does not exist.
func (o *globalOptions) loadConfig() (*config.Config, error) {
	return config.LoadOrDefault(o.configPath, o.configNamed)
}

// openStore loads the config and opens the Vault store it describes.
func (o *globalOptions) openStore(ctx context.Context) (*config.Config, *vaultstore.Store, error) {
	cfg, err := o.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	store, err := app.OpenStore(ctx, cfg, app.StoreOverrides{Mount: o.mount, Prefix: o.prefix})
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
}

// runner opens the store and returns a Runner over it.
func (o *globalOptions) runner(ctx context.Context) (*rotation.Runner, error) {
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return &rotation.Runner{Store: store, Config: cfg, Clock: o.clock}, nil
}

// engine opens the store and returns the check engine over it.
func (o *globalOptions) engine(ctx context.Context) (*check.Engine, error) {
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return &check.Engine{Store: store, Config: cfg, Clock: o.clock}, nil
}

// authorizer opens the store and returns the user grant flow over it.
func (o *globalOptions) authorizer(ctx context.Context) (*authorize.Flow, error) {
	cfg, store, err := o.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return &authorize.Flow{Store: store, Config: cfg, Clock: o.clock}, nil
}
