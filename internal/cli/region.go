package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
	"github.com/k0rdentctl/k0rdentctl/internal/ui/progress"
)

func newRegionCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "region",
		Short: "Deploy and run k0rdent regional management clusters (Region objects)",
		Long: `k0rdent regional management clusters (k0rdent 1.5): each entry of
software.k0rdent.regional.clusters becomes a Region object on the management
cluster. The cluster behind it is either a ClusterDeployment k0rdent manages
(cluster_deployment_ref: adopted if it exists, else created) or an existing
cluster reached through a kubeconfig Secret (kubeconfig_secret). k0rdent then
installs cert-manager, Velero and the CAPI providers into it; k0rdentctl
propagates the Azure credential (a Credential per region) and checks the
registry certificate.

These are not KOF regional clusters (observability storage; see k0rdentctl kof).`,
		Args: noArgs,
	}
	cmd.AddCommand(
		newRegionDeployCommand(o),
		newRegionStatusCommand(o),
		newRegionHealthCommand(o),
		newRegionKubeconfigCommand(o),
		newRegionRemoveCommand(o),
		newRegionRotateCredentialsCommand(o),
		newRegionRotateCertificatesCommand(o),
		newRegionCleanupCommand(o),
	)
	return cmd
}

// regionNames completes the names of the configured regional clusters.
func regionNames(o *Options) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, _, _, err := config.Load(o.ConfigPath)
		if err != nil || cfg == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, rc := range cfg.Software.K0rdent.Regional.Clusters {
			names = append(names, rc.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// regionDeployOptions are the arguments and flags of `region deploy`.
type regionDeployOptions struct {
	*Options
	Names    []string
	Parallel int
}

func newRegionDeployCommand(o *Options) *cobra.Command {
	opts := &regionDeployOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "deploy [NAME...]",
		Short: "Deploy the regional clusters (all, or the named ones), resuming where a previous run stopped",
		Long: `Deploy k0rdent regional clusters: every configured one, or the named ones.
Each region is its own chain of steps (preflight, cluster, region,
credentials, certificates, components); regions deploy at the same time, up
to --parallel (default software.k0rdent.regional.parallel, 4). One region
failing never stops or undoes another; the command exits 1 when any failed.

Every step looks at the world first and changes only what differs, and what
was done is recorded: running it again verifies the finished steps instead
of redoing them and carries on where a failed or interrupted run stopped.`,
		Example: `  k0rdentctl region deploy
  k0rdentctl region deploy regional-useast regional-westeu --parallel 2
  k0rdentctl region deploy -o json`,
		Args:              regionNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return opts.run(cmd.Context())
		},
	}
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 0, "how many regions deploy at the same time (default: software.k0rdent.regional.parallel, else 4)")
	return cmd
}

func (opts *regionDeployOptions) run(ctx context.Context) error {
	if opts.Parallel < 0 || opts.Parallel > config.MaxRegionalParallel {
		return usageError(fmt.Errorf("--parallel %d is out of range: use 1 to %d", opts.Parallel, config.MaxRegionalParallel))
	}
	e, err := opts.loadRegion()
	if err != nil {
		return err
	}
	if !e.cfg.RegionalEnabled() {
		return usageError(fmt.Errorf("k0rdent regional clusters are disabled in %s: set software.k0rdent.regional.enabled: true to deploy them", opts.ConfigPath))
	}
	selected, err := regional.Select(e.cfg, opts.Names)
	if err != nil {
		return usageError(err)
	}
	if len(selected) == 0 {
		return usageError(fmt.Errorf("no regional clusters are configured in %s: add them under software.k0rdent.regional.clusters", opts.ConfigPath))
	}
	if err := e.denv.CheckKubeconfig(); err != nil {
		return usageError(err)
	}
	if _, _, _, err := e.denv.Management.Reachable(ctx); err != nil {
		return err
	}
	closeFn, err := opts.openRecord(ctx, e, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	sess := e.sess
	resume := resumeCommand(opts.Options, append([]string{"region", "deploy"}, opts.Names...)...)
	if err := sess.Update(ctx, func(r *state.Record) error { r.ResumeCommand = resume; return nil }); err != nil {
		return err
	}
	par := regional.Parallel(e.cfg, opts.Parallel)
	out := opts.progressOut() // with -o json|yaml stdout carries the result
	if !opts.structured() {
		fmt.Fprintf(out, "Regions (%d, %d at a time) on the management cluster via %s · deployment %s\n",
			len(selected), min(par, len(selected)), e.denv.ManagementKubeconfig(), sess.ID())
	}
	disp := progress.New(out, progress.Options{Live: opts.IO.OutTerminal && !opts.structured(), Color: opts.style().Color, Now: opts.Now})
	rep, runErr := (&regional.Deploy{Env: e.env, Names: opts.Names, DeployOptions: regional.DeployOptions{Parallel: par, Observer: disp}}).Run(ctx)
	_ = disp.Close()
	if rep == nil {
		return runErr
	}
	view := struct {
		DeploymentID string `json:"deployment_id"`
		State        string `json:"state"`
		*regional.Report
	}{sess.ID(), sess.Location(), rep}
	if err := opts.emit(view, func(w io.Writer, st ui.Style) { renderRegionDeploy(w, st, rep, sess.Location()) }); err != nil {
		return err
	}
	if rep.Interrupted && ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("region deploy was interrupted; the record is resumable, resume with: %s", resume)}
	}
	if len(rep.Failed()) > 0 || runErr != nil {
		return failed(ExitFailed)
	}
	return nil
}

// regionKubeconfigOptions are the argument and flags of `region kubeconfig`.
type regionKubeconfigOptions struct {
	*Options
	Name string
	Raw  bool
}

func newRegionKubeconfigCommand(o *Options) *cobra.Command {
	opts := &regionKubeconfigOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Print the path of a regional cluster's kubeconfig (--raw: its content)",
		Long: `Print the path of the kubeconfig file of a regional cluster, written (mode
0600) when the region's cluster step succeeded. With --raw the file's content
is printed instead: it holds the cluster's credentials, so only ask for it
where it may be shown.`,
		Example: `  kubectl --kubeconfig "$(k0rdentctl region kubeconfig regional-useast)" get pods -A
  k0rdentctl region kubeconfig regional-useast --raw > useast.kubeconfig`,
		ValidArgsFunction: regionNames(o),
		Args:              oneRegionArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return opts.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "print the kubeconfig itself (it holds credentials) instead of its path")
	return cmd
}

func (opts *regionKubeconfigOptions) run(ctx context.Context) error {
	name := opts.Name
	cfg, _, err := opts.optionalConfig()
	if err != nil {
		return err
	}
	s, err := opts.store()
	if err != nil {
		return err
	}
	rec, err := opts.currentRecord(ctx, s, cfg)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	if err := knownRegion(cfg, rec, name); err != nil {
		return err
	}
	files, err := opts.files()
	if err != nil {
		return err
	}
	path, err := regional.KubeconfigFile(rec, files, name)
	if err != nil {
		return err
	}
	var data []byte
	if opts.Raw {
		if data, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("reading the kubeconfig of regional cluster %s: %w", name, err)
		}
	}
	v := map[string]any{"name": name, "kubeconfig_path": path}
	if opts.Raw {
		v["kubeconfig"] = string(data)
	}
	var werr error
	err = opts.emit(v, func(w io.Writer, _ ui.Style) {
		if opts.Raw {
			_, werr = w.Write(data)
			return
		}
		fmt.Fprintln(w, path)
	})
	return errors.Join(err, werr)
}

// knownRegion checks that name is a regional cluster of the configuration or
// of the record (*regional.UnknownRegionError: exit code 2).
func knownRegion(cfg *config.Config, rec *state.Record, name string) error {
	if _, ok := cfg.RegionalCluster(name); ok {
		return nil
	}
	if rec != nil && rec.Regional(name) != nil {
		return nil
	}
	var names []string
	if cfg != nil {
		for _, rc := range cfg.Software.K0rdent.Regional.Clusters {
			names = append(names, rc.Name)
		}
	}
	if rec != nil {
		for _, rc := range rec.K0rdentRegional.Clusters {
			if !slices.Contains(names, rc.Name) {
				names = append(names, rc.Name)
			}
		}
	}
	return &regional.UnknownRegionError{Names: []string{name}, Where: "in the configuration or the record", Known: names}
}
