package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
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

These are not KOF regional clusters (observability, k0rdentctl kof regional).`,
		Args: noArgs,
	}
	cmd.AddCommand(newRegionDeployCommand(o), newRegionKubeconfigCommand(o))
	cmd.AddCommand(regionOpsCommands(o)...)
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

func newRegionDeployCommand(o *Options) *cobra.Command {
	var parallel int
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
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if parallel < 0 || parallel > config.MaxRegionalParallel {
				return usageError(fmt.Errorf("--parallel %d is out of range: use 1 to %d", parallel, config.MaxRegionalParallel))
			}
			cfg, raw, err := o.loadConfig()
			if err != nil {
				return err
			}
			if !cfg.RegionalEnabled() {
				return usageError(fmt.Errorf("k0rdent regional clusters are disabled in %s: set software.k0rdent.regional.enabled: true to deploy them", o.ConfigPath))
			}
			selected, err := regional.Select(cfg, args)
			if err != nil {
				return usageError(err)
			}
			if len(selected) == 0 {
				return usageError(fmt.Errorf("no regional clusters are configured in %s: add them under software.k0rdent.regional.clusters", o.ConfigPath))
			}
			denv := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
			if err := denv.CheckKubeconfig(); err != nil {
				return usageError(err)
			}
			if _, _, _, err := denv.Management.Reachable(ctx); err != nil {
				return err
			}
			sess, store, err := o.openSession(ctx, cfg, raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			resume := resumeCommand(o, append([]string{"region", "deploy"}, args...)...)
			if err := sess.Update(ctx, func(r *state.Record) error { r.ResumeCommand = resume; return nil }); err != nil {
				return err
			}

			env := &regional.Env{
				Config:     cfg,
				ConfigPath: o.ConfigPath,
				Management: denv.Management,
				Session:    sess,
				Files:      store,
				Now:        o.Now,
			}
			par := regional.Parallel(cfg, parallel)
			out := o.IO.Out
			if o.structured() {
				out = o.IO.ErrOut // stdout carries the JSON or YAML result
			} else {
				fmt.Fprintf(out, "Regions (%d, %d at a time) on the management cluster via %s · deployment %s\n",
					len(selected), min(par, len(selected)), denv.ManagementKubeconfig(), sess.ID())
			}
			disp := progress.New(out, progress.Options{Live: o.IO.OutTerminal && !o.structured(), Color: o.style().Color, Now: o.Now})
			rep, runErr := (&regional.Deploy{Env: env, Names: args, DeployOptions: regional.DeployOptions{Parallel: par, Observer: disp}}).Run(ctx)
			_ = disp.Close()
			if rep == nil {
				return runErr
			}
			if o.structured() {
				view := struct {
					DeploymentID string `json:"deployment_id"`
					State        string `json:"state"`
					*regional.Report
				}{sess.ID(), sess.Location(), rep}
				if err := ui.WriteData(o.IO.Out, o.Output, view); err != nil {
					return err
				}
			} else {
				renderRegionDeploy(o.IO.Out, o.style(), rep, sess.Location())
			}
			if rep.Interrupted && ctx.Err() != nil {
				return &exitError{code: ExitInterrupted, err: fmt.Errorf("region deploy was interrupted; the record is resumable, resume with: %s", resume)}
			}
			if len(rep.Failed()) > 0 || runErr != nil {
				return failed(ExitFailed)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&parallel, "parallel", 0, "how many regions deploy at the same time (default: software.k0rdent.regional.parallel, else 4)")
	return cmd
}

// renderRegionDeploy prints one line per region (what each step did, the
// component versions observed, or what failed and the fix), then the counts.
func renderRegionDeploy(w io.Writer, st ui.Style, rep *regional.Report, statePath string) {
	fmt.Fprintln(w)
	var t ui.Table
	for _, rg := range rep.Regions {
		source := rg.Source
		if rg.ClusterDeploymentCreated != nil {
			if *rg.ClusterDeploymentCreated {
				source += " (created)"
			} else {
				source += " (adopted)"
			}
		}
		t.Row("  "+st.Bold(rg.Name), source, strings.Join(stepMarks(st, rg), "  "))
	}
	_ = t.Write(w)
	for _, rg := range rep.Regions {
		if rg.Fix != "" || len(rg.Warnings) > 0 {
			fmt.Fprintf(w, "  %s:\n", rg.Name)
		}
		for _, warn := range rg.Warnings {
			fmt.Fprintf(w, "      %s %s\n", st.Yellow("warning:"), warn)
		}
		if rg.Fix != "" {
			fmt.Fprintf(w, "      %s %s\n", st.Bold("fix:"), rg.Fix)
		}
	}
	var counts []string
	for _, s := range []string{regional.ReportDeployed, regional.ReportFailed, regional.ReportInterrupted, regional.ReportSkipped} {
		if n := rep.Counts[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	line := strings.Join(counts, ", ")
	if rep.K0rdentVersion != "" {
		line += " · k0rdent " + rep.K0rdentVersion
	}
	line += " · " + ui.Duration(time.Duration(rep.DurationSeconds*float64(time.Second)).Round(100*time.Millisecond))
	line += " · state: " + statePath
	if failedRegions := rep.Failed(); len(failedRegions) > 0 {
		line += " · events: k0rdentctl events --region " + failedRegions[0]
	}
	head := st.Green(line)
	if len(rep.Failed()) > 0 {
		head = st.Red(line)
	}
	fmt.Fprintln(w, head)
}

// stepMarks renders a region's steps: "✓ cluster ready 11m02s", "✓ region
// ready", "✗ unreachable: ...", then the versions of its components.
func stepMarks(st ui.Style, rg regional.RegionReport) []string {
	var marks []string
	for _, s := range rg.Steps {
		label := stepLabel(rg, s)
		switch {
		case s.Status == string(state.PhaseFailed):
			marks = append(marks, st.Red(ui.MarkFailed+" "+rg.Error))
		case s.Status == string(state.PhaseInterrupted):
			marks = append(marks, st.Yellow(ui.MarkInterrupted+" "+label+" interrupted"))
		case s.Status == string(state.PhaseSkipped) && strings.HasPrefix(s.Reason, "requirement "):
			// blocked by the failure shown before it
		case s.Status == string(state.PhaseSkipped):
			if s.Step == regional.StepCredentials || s.Step == regional.StepCertificates {
				marks = append(marks, st.Dim(ui.MarkSkipped+" no "+s.Step))
			}
		case s.Step == regional.StepPreflight && s.Status == string(state.PhaseCompleted):
			// only worth showing when it failed
		case s.Status == string(state.PhasePending):
			marks = append(marks, st.Dim(ui.MarkPending+" "+s.Step+" not reached"))
		case s.Step == regional.StepComponents:
			if v := componentVersions(rg.Components); v != "" {
				label = v
			}
			marks = append(marks, st.Green(ui.MarkDone)+" "+label)
		case s.Verified:
			marks = append(marks, st.Green(ui.MarkDone)+" "+label+st.Dim(" (in place)"))
		default:
			marks = append(marks, st.Green(ui.MarkDone)+" "+label)
		}
	}
	return marks
}

func stepLabel(rg regional.RegionReport, s regional.StepReport) string {
	switch s.Step {
	case regional.StepPreflight:
		return "preflight"
	case regional.StepCluster:
		if rg.Type == config.RegionalTypeExternal {
			return "reachable"
		}
		if s.Verified || s.DurationSeconds == 0 {
			return "cluster ready"
		}
		return "cluster ready " + ui.Duration(time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second))
	case regional.StepRegion:
		return "region ready"
	case regional.StepCredentials:
		return "credentials"
	case regional.StepCertificates:
		return "certificates"
	}
	return s.Step
}

// componentVersions is "cert-manager v1.19.1 velero v1.17.0 capi v1.11.2 capz
// v1.21.0": the chart's components first, then the providers by name.
func componentVersions(m map[string]string) string {
	order := func(k string) int {
		switch k {
		case regional.ComponentCertManager:
			return 0
		case regional.ComponentVelero:
			return 1
		case regional.ComponentClusterAPI:
			return 2
		}
		return 3
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if oi, oj := order(keys[i]), order(keys[j]); oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, regional.ComponentShortName(k)+" "+m[k])
	}
	return strings.Join(parts, " ")
}

func newRegionKubeconfigCommand(o *Options) *cobra.Command {
	var raw bool
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
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("%s takes exactly one regional cluster name, got %d arguments", cmd.CommandPath(), len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			cfg, _, err := o.optionalConfig()
			if err != nil {
				return err
			}
			s, err := o.store()
			if err != nil {
				return err
			}
			rec, err := o.currentRecord(ctx, s, cfg)
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			if err := knownRegion(cfg, rec, name); err != nil {
				return usageError(err)
			}
			files, err := o.files()
			if err != nil {
				return err
			}
			path, err := regional.KubeconfigFile(rec, files, name)
			if err != nil {
				return err
			}
			var data []byte
			if raw {
				if data, err = os.ReadFile(path); err != nil {
					return fmt.Errorf("reading the kubeconfig of regional cluster %s: %w", name, err)
				}
			}
			if o.structured() {
				v := map[string]any{"name": name, "kubeconfig_path": path}
				if raw {
					v["kubeconfig"] = string(data)
				}
				return ui.WriteData(o.IO.Out, o.Output, v)
			}
			if raw {
				_, err := o.IO.Out.Write(data)
				return err
			}
			fmt.Fprintln(o.IO.Out, path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "print the kubeconfig itself (it holds credentials) instead of its path")
	return cmd
}

// knownRegion checks that name is a regional cluster of the configuration or
// of the record.
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
	known := "none"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return fmt.Errorf("%q is not a regional cluster (known: %s)", name, known)
}
