package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionStatusOptions are the flags of `region status`.
type regionStatusOptions struct {
	*Options
	States    []string
	Locations []string
}

func newRegionStatusCommand(o *Options) *cobra.Command {
	opts := &regionStatusOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every regional cluster: state, Region Ready, components, credentials, certificates, placed clusters",
		Long: `Show every regional cluster that the configuration, the deployment record or the
management cluster knows: its state, type and location, its Region's Ready
condition and reason, the components k0rdent reports for it, whether the Azure
credential and the registry certificate were propagated, the ClusterDeployments
placed in it (through Credentials with its spec.region) and its kubeconfig file.

It reads the management cluster with one list call per object kind, however
many regions there are, and never contacts the regional clusters (that is
k0rdentctl region health). Regions that neither the configuration nor the
record knows are shown as unmanaged (someone else's) or orphaned (k0rdentctl
made them: k0rdentctl region cleanup removes them).

Exit code 1 when a region failed, or is deployed but its Region is missing or
not Ready, or when the management cluster cannot be read.`,
		Example: `  k0rdentctl region status
  k0rdentctl region status --state failed --state deploying
  k0rdentctl region status --location eastus -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return opts.run(cmd.Context()) },
	}
	cmd.Flags().StringSliceVar(&opts.States, "state", nil, "show only regions in this state (repeatable): "+strings.Join(regional.Statuses(), ", "))
	cmd.Flags().StringSliceVar(&opts.Locations, "location", nil, "show only regions in this Azure location (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("state", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return regional.Statuses(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (opts *regionStatusOptions) run(ctx context.Context) error {
	if err := regional.CheckStatusFilters(opts.States); err != nil {
		return usageError(err)
	}
	e, closeFn, err := opts.openRegion(ctx, recordRead)
	defer closeFn()
	if err != nil {
		return err
	}
	rep, err := (&regional.Status{Env: e.env, States: opts.States, Locations: opts.Locations, Record: e.rec}).Run(ctx)
	if err != nil {
		return err
	}
	statePath := ""
	if e.rec != nil {
		statePath = e.store.Location(e.rec.DeploymentID)
	}
	if err := opts.emit(rep, func(w io.Writer, st ui.Style) { renderRegionStatus(w, st, rep, statePath) }); err != nil {
		return err
	}
	if rep.ManagementError != "" || len(rep.Problems()) > 0 {
		if opts.structured() && rep.ManagementError != "" {
			fmt.Fprintf(opts.IO.ErrOut, "Error: %s\n", rep.ManagementError)
		}
		return failed(ExitFailed)
	}
	return nil
}
