// Package cli holds k0rdentctl's commands. Each command is an options struct
// and a run function; the work itself lives in the domain packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// IOStreams are the standard streams a command uses, injected so that every
// command can be tested without a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTerminal and OutTerminal say whether In and Out are terminals.
	InTerminal  bool
	OutTerminal bool
	// Width is how many columns Out has (a terminal's width); 0 when
	// unknown or not a terminal: lines are then not fitted to a width.
	Width int
}

// BuildInfo describes the binary.
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// Options are the global flags and the environment every command shares.
type Options struct {
	ConfigPath string
	// Deployment chooses the record when the store holds several.
	Deployment string
	StateDir   string
	Kubeconfig string
	Output     string
	Yes        bool
	Verbose    bool
	NoColor    bool
	// WaitForLock is how long to wait for a deployment's lock held by
	// another command before refusing (--wait-for-lock).
	WaitForLock time.Duration

	IO    IOStreams
	Build BuildInfo
	// Now is the clock; tests set it.
	Now func() time.Time

	// Hooks reach test servers instead of Azure; zero in production.
	Hooks Hooks

	// backend is the configuration's state section, once it is loaded.
	backend *config.State
	// commandPath names the running command, for a lock's holder.
	commandPath string
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) style() ui.Style {
	return ui.Style{Color: o.IO.OutTerminal && !o.NoColor && os.Getenv("NO_COLOR") == ""}
}

// structured reports whether -o asks for JSON or YAML.
func (o *Options) structured() bool { return o.Output == ui.FormatJSON || o.Output == ui.FormatYAML }

// Execute runs k0rdentctl with args and returns the process exit code.
func Execute(ctx context.Context, args []string, streams IOStreams, build BuildInfo) int {
	return ExecuteWith(ctx, args, streams, build, Hooks{})
}

// ExecuteWith is Execute with hooks: tests run the whole command against
// their simulations of Azure.
func ExecuteWith(ctx context.Context, args []string, streams IOStreams, build BuildInfo, hooks Hooks) int {
	o := &Options{IO: streams, Build: build, Hooks: hooks}
	root := NewRootCommand(o)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitCode(err)
	var quiet *silentError
	if !errors.As(err, &quiet) {
		fmt.Fprintf(streams.ErrOut, "Error: %v\n", err)
	}
	return code
}

// NewRootCommand builds the command tree.
func NewRootCommand(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "k0rdentctl",
		Short: "Deploy and run k0rdent 1.5 on Azure from one YAML file",
		Long: `k0rdentctl deploys and runs k0rdent 1.5: the management cluster, k0rdent itself,
k0rdent regional management clusters (Region objects), Azure child clusters and
the KOF observability stack, all from one YAML file (-c, default ./k0rdent.yaml).

Every step is recorded in a state file (--state-dir, default ./state), so an
interrupted run resumes where it stopped, and every step can be inspected.

Start here:
  k0rdentctl config init --template existing  # ./k0rdent.yaml for a cluster you have
  k0rdentctl config validate                  # check it, every problem at once
  k0rdentctl plan                             # what deploy would do, nothing touched
  k0rdentctl deploy                           # do it; run again to resume

Exit codes: 0 done; 1 failed; 2 invalid usage or configuration (nothing was
touched); 3 refused (a lock is held, confirmation needed, or a guard that
needs --force); 130 interrupted (Ctrl-C or SIGTERM; run the same command again
to resume).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			o.commandPath = cmd.CommandPath()
			if !cmd.Flags().Changed("state-dir") {
				// The state folder belongs to the configuration: beside
				// it, wherever the command runs from.
				o.StateDir = defaultStateDir(o.ConfigPath)
			}
			if o.WaitForLock < 0 {
				return usageError(fmt.Errorf("--wait-for-lock %s: give how long to wait, such as 2m", o.WaitForLock))
			}
			if !ui.ValidFormat(o.Output) {
				return usageError(fmt.Errorf("-o %q is not an output format; use table, json or yaml", o.Output))
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	// Unknown commands are found by Args, so that they are a typed usage
	// error (cobra's own is text only); without arguments, help.
	root.Args = unknownCommand
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }

	f := root.PersistentFlags()
	f.StringVarP(&o.ConfigPath, "config", "c", "k0rdent.yaml", "configuration file")
	f.StringVar(&o.StateDir, "state-dir", "state", "folder of the deployment record, kubeconfigs and keys (default: state beside the -c file)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "management cluster kubeconfig; overrides management.kubeconfig and the one the bootstrap wrote (KUBECONFIG is never read)")
	f.StringVarP(&o.Output, "output", "o", ui.FormatTable, "output format: table, json or yaml")
	f.BoolVarP(&o.Yes, "yes", "y", false, "answer yes to confirmations (does not override guards; that is --force)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "more detail in progress and errors")
	f.BoolVar(&o.NoColor, "no-color", false, "no colours in output (also: NO_COLOR set)")
	f.StringVar(&o.Deployment, "deployment", "", "the deployment record to use when the state folder holds several (an id such as k0rdent-ab12cd34)")
	f.DurationVar(&o.WaitForLock, "wait-for-lock", 0, "when another command holds the deployment's lock, wait up to this long (e.g. 5m) instead of refusing")
	_ = root.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{ui.FormatTable, ui.FormatJSON, ui.FormatYAML}, cobra.ShellCompDirectiveNoFileComp
	})

	root.AddCommand(
		newVersionCommand(o),
		newConfigCommand(o),
		newPlanCommand(o),
		newDeployCommand(o),
		newK0rdentCommand(o),
		newRegionCommand(o),
		newCredentialsCommand(o),
		newChildCommand(o),
		newKOFCommand(o),
		newVPNCommand(o),
		newResetCommand(o),
		newStatusCommand(o),
		newEventsCommand(o),
		newStateCommand(o),
	)
	for _, c := range root.Commands() {
		groupsAreStrict(c)
	}
	return root
}

// groupsAreStrict walks the tree below c: a command that only groups others
// (region, config, state, ...) refuses an unknown subcommand with a typed
// usage error and suggestions (exit 2), and shows its help when run alone;
// a top-level command that takes no arguments refuses them. Commands added
// later get the same by being in the tree.
func groupsAreStrict(c *cobra.Command) {
	if c.HasSubCommands() {
		if !c.Runnable() {
			c.Args = unknownCommand
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		for _, sub := range c.Commands() {
			groupsAreStrict(sub)
		}
		return
	}
	if c.Args == nil && c.Parent() != nil && !c.Parent().HasParent() {
		c.Args = noArgs
	}
}

// defaultStateDir is the state folder of a configuration file: "state"
// beside it ("state" for ./k0rdent.yaml and for -c -).
func defaultStateDir(configPath string) string {
	if configPath == "-" {
		return "state"
	}
	return filepath.Join(filepath.Dir(configPath), "state")
}

// noArgs rejects positional arguments with exit code 2.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError(fmt.Errorf("%q takes no arguments, got %q; see %s --help", cmd.CommandPath(), args, cmd.CommandPath()))
	}
	return nil
}
