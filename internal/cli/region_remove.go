package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionRemoveOptions are the argument and flags of `region remove`.
type regionRemoveOptions struct {
	*Options
	Name          string
	Force         bool
	DeleteCluster bool
	Timeout       time.Duration
}

func newRegionRemoveCommand(o *Options) *cobra.Command {
	opts := &regionRemoveOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a regional cluster: its Credentials, its Region and (if k0rdentctl created it) its cluster",
		Long: `Remove a regional cluster, in this order, waiting until each is gone:
  1. with --force, the ClusterDeployments placed in the region (through
     Credentials with its spec.region); without --force a region in use is
     refused (exit 3) and they are listed;
  2. the Credentials of the region;
  3. the Region (k0rdent removes the regional components, then its finalizer);
  4. the regional cluster's own ClusterDeployment, if k0rdentctl created it
     (an adopted one is kept unless --delete-cluster);
  5. a kubeconfig Secret k0rdentctl made for an external cluster, and the
     local kubeconfig file.
The record then says removed. It asks for confirmation unless -y is given
(with no terminal and no -y it is refused, exit 3). Remove the region from the
configuration too, or the next region deploy creates it again.`,
		Example: `  k0rdentctl region remove regional-westeu
  k0rdentctl region remove regional-useast --force --delete-cluster -y`,
		ValidArgsFunction: regionNames(o),
		Args:              oneRegionArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return opts.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete the ClusterDeployments placed in the region first (otherwise a region in use is refused)")
	cmd.Flags().BoolVar(&opts.DeleteCluster, "delete-cluster", false, "also delete an adopted regional ClusterDeployment (one k0rdentctl created is always deleted)")
	deletionTimeoutFlag(cmd, &opts.Timeout)
	return cmd
}

func (opts *regionRemoveOptions) run(ctx context.Context) error {
	e, closeFn, err := opts.openRegion(ctx, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	remove := &regional.Remove{Env: e.env, Name: opts.Name, RemoveOptions: regional.RemoveOptions{
		Force: opts.Force, DeleteCluster: opts.DeleteCluster, Timeout: opts.Timeout, Progress: opts.progressFunc()}}
	plan, err := remove.Plan(ctx)
	if err != nil {
		return err
	}
	if plan.Empty() {
		return opts.emit(map[string]any{"plan": plan}, func(w io.Writer, _ ui.Style) {
			fmt.Fprintf(w, "Regional cluster %s is removed already: nothing of it is left.\n", opts.Name)
		})
	}
	if err := plan.Refusal(); err != nil {
		_ = opts.emit(map[string]any{"plan": plan, "refused": err.Error()}, func(w io.Writer, _ ui.Style) {
			renderRegionInUse(w, plan)
		})
		return err // *regional.InUseError: exit 3
	}
	renderRemovalPlan(opts.progressOut(), opts.style(), plan)
	if err := opts.confirm(fmt.Sprintf("Remove regional cluster %s?", opts.Name)); err != nil {
		return err
	}
	rep, err := remove.Run(ctx, plan)
	if err != nil {
		return err
	}
	if err := opts.emit(map[string]any{"plan": plan, "result": rep}, func(w io.Writer, st ui.Style) { renderRegionRemoval(w, st, rep) }); err != nil {
		return err
	}
	if rep.Status != state.RegionalRemoved {
		return failed(ExitFailed)
	}
	return nil
}
