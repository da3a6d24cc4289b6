package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionCleanupOptions are the flags of `region cleanup`.
type regionCleanupOptions struct {
	*Options
	Timeout time.Duration
}

func newRegionCleanupCommand(o *Options) *cobra.Command {
	opts := &regionCleanupOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Find and remove what k0rdentctl left behind for regional clusters that no longer exist",
		Long: `Find the orphans of regional clusters and remove them after confirmation:
Regions and Credentials that k0rdentctl created for this deployment but that
are neither in the configuration nor in the record any more, regional
ClusterDeployments k0rdentctl created that were left half-created by a failed
deploy (or belong to such a region), and kubeconfig files of regional clusters
that no longer exist. Objects of other deployments, and regions that
ClusterDeployments still use (for k0rdentctl region remove --force), are listed
but left.

It asks for confirmation unless -y is given (with no terminal and no -y it is
refused, exit 3). Exit code 1 when an orphan could not be removed.`,
		Example: `  k0rdentctl region cleanup
  k0rdentctl region cleanup -y -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return opts.run(cmd.Context()) },
	}
	deletionTimeoutFlag(cmd, &opts.Timeout)
	return cmd
}

func (opts *regionCleanupOptions) run(ctx context.Context) error {
	e, closeFn, err := opts.openRegion(ctx, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	cleanup := &regional.Cleanup{Env: e.env, CleanupOptions: regional.CleanupOptions{Timeout: opts.Timeout, Progress: opts.progressFunc()}}
	plan, err := cleanup.Plan(ctx)
	if err != nil {
		return err
	}
	renderCleanupPlan(opts.progressOut(), plan)
	if len(plan.Orphans) == 0 {
		return opts.emit(map[string]any{"plan": plan, "result": regional.CleanupReport{Removed: []regional.Orphan{}}}, func(w io.Writer, _ ui.Style) {
			fmt.Fprintln(w, "No orphans found: nothing to clean up.")
		})
	}
	if err := opts.confirm(fmt.Sprintf("Remove these %d orphans?", len(plan.Orphans))); err != nil {
		return err
	}
	rep, err := cleanup.Run(ctx, plan)
	if err != nil && rep == nil {
		return err
	}
	if werr := opts.emit(map[string]any{"plan": plan, "result": rep}, func(w io.Writer, st ui.Style) { renderCleanup(w, st, rep) }); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if len(rep.Failed) > 0 {
		return failed(ExitFailed)
	}
	return nil
}
