package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionHealthOptions are the arguments and flags of `region health`.
type regionHealthOptions struct {
	*Options
	Names    []string
	Watch    bool
	Interval time.Duration
	Timeout  time.Duration
}

func newRegionHealthCommand(o *Options) *cobra.Command {
	opts := &regionHealthOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "health [NAME...]",
		Short: "Check that every regional cluster answers, runs its components and has a Ready Region",
		Long: `Check each regional cluster (all, or the named ones) at the same time, each within
--timeout: that it answers an authenticated request with the kubeconfig the
management cluster keeps for it, that cert-manager, Velero, Cluster API and its
providers are available there, and that its Region is Ready. Each region is
healthy, degraded (reachable, but a component or the Region is not ready),
unreachable or unknown; the result and the time of the check are recorded in
the state, with an event when a region's health changed.

Exit code 1 when any region is not healthy.

With --watch it checks again every --interval until interrupted, and logs each
change of a Region's Ready condition (and of health) as an event.`,
		Example: `  k0rdentctl region health
  k0rdentctl region health regional-westeu --timeout 30s
  k0rdentctl region health --watch --interval 30s`,
		Args:              regionNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return opts.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "check again every --interval until interrupted, logging Ready transitions as events")
	cmd.Flags().DurationVar(&opts.Interval, "interval", 10*time.Second, "time between checks with --watch")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", regional.DefaultHealthTimeout, "how long the checks of one regional cluster may take")
	return cmd
}

func (opts *regionHealthOptions) run(ctx context.Context) error {
	if opts.Timeout <= 0 || opts.Interval <= 0 {
		return usageError(errors.New("--timeout and --interval must be positive durations, such as 15s"))
	}
	e, err := opts.loadRegion()
	if err != nil {
		return err
	}
	health := regional.Health{Names: opts.Names, Timeout: opts.Timeout}
	if opts.Watch {
		return opts.watch(ctx, e, health)
	}
	closeFn, err := opts.openRecord(ctx, e, recordIfFree)
	defer closeFn()
	if err != nil {
		return err
	}
	if e.warning != "" {
		fmt.Fprintf(opts.IO.ErrOut, "Warning: %s\n", e.warning)
	}
	health.Env = e.env
	rep, err := health.Run(ctx)
	if err != nil {
		return err
	}
	if err := opts.emit(rep, func(w io.Writer, st ui.Style) { renderRegionHealth(w, st, rep) }); err != nil {
		return err
	}
	if len(rep.Unhealthy()) > 0 || rep.ManagementError != "" {
		return failed(ExitFailed)
	}
	return nil
}

// watch checks the regions' health every interval until ctx ends. The
// deployment record is locked only while a result is written, so that deploy
// or remove can run in another terminal during the watch.
func (opts *regionHealthOptions) watch(ctx context.Context, e *regionEnv, health regional.Health) error {
	health.Env = e.env
	wopts := &regional.WatchHealth{Health: health, Interval: opts.Interval}
	id, err := opts.currentID(ctx, e.store, e.cfg)
	switch {
	case err == nil:
		wopts.Store, wopts.DeploymentID = e.store, id
	case !errors.Is(err, state.ErrNotFound):
		return err
	}
	var lastUnhealthy int
	first := true
	wopts.OnCheck = func(rep *regional.HealthReport, trans []regional.ReadyTransition) {
		lastUnhealthy = len(rep.Unhealthy())
		if rep.RecordError != "" && !opts.structured() {
			fmt.Fprintf(opts.IO.ErrOut, "Warning: %s\n", rep.RecordError)
		}
		_ = opts.emit(map[string]any{"report": rep, "transitions": trans}, func(w io.Writer, st ui.Style) {
			if first {
				renderRegionHealth(w, st, rep)
				fmt.Fprintf(w, "watching every %s (Ctrl-C stops) ...\n", opts.Interval)
				first = false
				return
			}
			renderRegionHealthChanges(w, st, rep, trans)
		})
	}
	if err := wopts.Run(ctx); err != nil {
		return err
	}
	if lastUnhealthy > 0 {
		return failed(ExitFailed)
	}
	return nil
}
