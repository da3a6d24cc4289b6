package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newK0rdentCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k0rdent",
		Short: "Install, upgrade, inspect or uninstall k0rdent on the management cluster",
		Long: `Install, upgrade, inspect or uninstall k0rdent (the kcm Helm chart) on the
management cluster: the one k0rdentctl bootstrapped, the one management.kubeconfig
names (management.mode existing), or the one --kubeconfig names.

The chart comes from software.k0rdent.chart (default oci://ghcr.io/k0rdent/kcm/charts/kcm;
a local chart directory or .tgz works for air-gapped sites), at software.k0rdent.version,
with software.k0rdent.values. The installed version is read from the Release that the
Management object names.`,
	}
	cmd.AddCommand(newK0rdentInstallCommand(o, false), newK0rdentInstallCommand(o, true),
		newK0rdentStatusCommand(o), newK0rdentUninstallCommand(o))
	return cmd
}

func newK0rdentInstallCommand(o *Options, upgrade bool) *cobra.Command {
	var force bool
	var version string
	use, short := "install", "Install k0rdent, or bring it to the configured version and values"
	long := `Install the kcm chart into software.k0rdent.namespace (default kcm-system) as Helm
release kcm, then wait until the Management kcm is Ready, showing each component.
Nothing changes when the release already has this chart version and these values
(no new Helm revision). A downgrade is refused unless --force.`
	if upgrade {
		use, short = "upgrade", "Upgrade an installed k0rdent to the configured (or --version) version"
		long = `Upgrade the installed k0rdent: the kcm chart at software.k0rdent.version (or
--version), then point the Management at the new Release and wait until it is Ready.
Refused when k0rdent is not installed (use install), and for a downgrade unless
--force. An upgrade from before 1.5.0 is reported as the breaking change it is,
with the steps to take; a cluster running KOF with Istio is warned that KOF must
move to 1.5 together.`
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, raw, err := o.loadConfig()
			if err != nil {
				return err
			}
			if version != "" {
				cfg.Software.K0rdent.Version = version
			}
			env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
			env.Force = force
			sess, _, err := o.openSession(ctx, cfg, raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			env.Session = sess
			phases := deploy.K0rdentPhases(env, upgrade)
			what := "k0rdent " + use
			if !o.structured() {
				fmt.Fprintf(o.IO.Out, "k0rdent %s %s on the management cluster via %s\n", use, cfg.Software.K0rdent.Version, env.ManagementKubeconfig())
			}
			res, err := o.runPhases(ctx, sess, what, phases, 1)
			if res == nil {
				return err
			}
			if werr := o.emit(k0rdentRunView(sess, res), func(w io.Writer, _ ui.Style) {
				if err == nil {
					k := sess.Snapshot().K0rdent
					fmt.Fprintf(w, "k0rdent %s is installed (Release %s, Helm revision %d) · next: k0rdentctl k0rdent status%s\n", k.Version, k.Release, k.HelmRevision, configFlag(o))
				}
			}); werr != nil {
				return werr
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "allow a downgrade")
	if upgrade {
		cmd.Flags().StringVar(&version, "version", "", "k0rdent version to upgrade to (default: software.k0rdent.version)")
	}
	return cmd
}

func k0rdentRunView(sess *state.Session, res *phase.Result) map[string]any {
	v := runView(sess.ID(), res)
	v["k0rdent"] = sess.Snapshot().K0rdent
	return v
}

func newK0rdentStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the installed k0rdent: version, Management readiness, components, Release, Regions support",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, raw, err := o.loadConfig()
			if err != nil {
				return err
			}
			env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
			kc, err := env.Management.Clients(ctx)
			if err != nil {
				return err
			}
			rep, err := (&k0rdent.Status{Kube: kc, Namespace: cfg.Software.K0rdent.Namespace}).Run(ctx)
			if err != nil {
				return err
			}
			if err := o.emit(rep, func(io.Writer, ui.Style) { renderK0rdentStatus(o, kc.Where(), rep) }); err != nil {
				return err
			}
			if !rep.Installed || !rep.Ready() {
				return failed(ExitFailed)
			}
			return nil
		},
	}
}

func renderK0rdentStatus(o *Options, where string, r *k0rdent.StatusReport) {
	st := o.style()
	w := o.IO.Out
	if !r.Installed {
		fmt.Fprintf(w, "k0rdent is not installed on %s (namespace %s)\n  next: k0rdentctl k0rdent install%s\n", where, r.Namespace, configFlag(o))
		return
	}
	ready := st.Red(ui.MarkFailed + " not ready")
	if r.Ready() {
		ready = st.Green(ui.MarkDone + " ready")
	}
	fmt.Fprintf(w, "k0rdent %s  %s  on %s\n", st.Bold(dash(r.Version)), ready, where)
	fmt.Fprintf(w, "  Release     %s (ready: %t)\n", dash(r.Release), r.ReleaseReady)
	fmt.Fprintf(w, "  Management  %s\n", r.Management.Summary())
	if r.Helm != nil {
		fmt.Fprintf(w, "  Helm        %s\n", helmLine(r.Helm))
	}
	regions := st.Green("yes")
	if !r.RegionsSupported {
		regions = st.Yellow("no") + ": " + r.RegionsReason
	}
	fmt.Fprintf(w, "  Regions     %s\n", regions)
	if len(r.Management.Components) > 0 {
		fmt.Fprintln(w, "\nComponents")
		var t ui.Table
		for _, c := range r.Management.Components {
			mark, note := st.Green(ui.MarkDone), "healthy"
			if !c.Success {
				mark, note = st.Yellow(ui.MarkRunning), "installing"
				if c.Error != "" {
					mark, note = st.Red(ui.MarkFailed), firstLine(c.Error)
				}
			}
			t.Row("  "+mark, c.Name, dash(c.Template), note)
		}
		_ = t.Write(w)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "%s %s\n", st.Yellow("warning:"), warn)
	}
}

func helmLine(h *k0rdent.HelmInfo) string {
	return fmt.Sprintf("release %s/%s revision %d, chart %s %s, %s", h.Namespace, h.Name, h.Revision, h.Chart, h.ChartVersion, h.Status)
}

func newK0rdentUninstallCommand(o *Options) *cobra.Command {
	var force, removeFinalizers bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Uninstall k0rdent from the management cluster",
		Long: `Uninstall k0rdent: the Management, the kcm Helm release and with it the k0rdent CRDs.

The chart's CRDs are not kept on uninstall, so uninstalling deletes every
ClusterDeployment, Region and Credential. It is therefore refused (exit 3) while
any exists, listing them; --force deletes them first (their clusters included)
and waits until they are gone. --remove-finalizers also clears finalizers that no
controller is left to clear. Asks for confirmation unless -y.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, raw, err := o.loadConfig()
			if err != nil {
				return err
			}
			env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
			kc, err := env.Management.Clients(ctx)
			if err != nil {
				return err
			}
			u := &k0rdent.Uninstall{Kube: kc, Namespace: cfg.Software.K0rdent.Namespace, Force: force,
				RemoveFinalizers: removeFinalizers, Timeout: timeout,
				Progress: func(s string) { fmt.Fprintf(o.IO.ErrOut, "%s %s\n", o.now().UTC().Format(time.RFC3339), s) }}
			inUse, err := u.InUse(ctx)
			if err != nil {
				return err
			}
			if len(inUse) > 0 && !force {
				return &k0rdent.InUseError{Objects: inUse}
			}
			q := fmt.Sprintf("Uninstall k0rdent from %s", kc.Where())
			if len(inUse) > 0 {
				names := make([]string, 0, len(inUse))
				for _, r := range inUse {
					names = append(names, r.String())
				}
				q += fmt.Sprintf(", deleting %d objects first (%s)", len(inUse), strings.Join(names, ", "))
			}
			if err := o.confirm(q + "?"); err != nil {
				return err
			}
			sess, _, err := o.openSession(ctx, cfg, raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			res, err := u.Run(ctx)
			_ = sess.Update(ctx, func(r *state.Record) error {
				e := state.Event{Timestamp: o.now().UTC(), Phase: "k0rdent-uninstall"}
				switch {
				case err != nil:
					e.Type, e.Message = "k0rdent_uninstall_failed", fmt.Sprintf("uninstalling k0rdent from %s failed: %v", kc.Where(), err)
				case res.NotInstalled:
					r.K0rdent = state.K0rdent{}
					e.Type, e.Message = "k0rdent_not_installed", fmt.Sprintf("k0rdent was not installed on %s", kc.Where())
				default:
					r.K0rdent = state.K0rdent{}
					e.Type, e.Message = "k0rdent_uninstalled", fmt.Sprintf("k0rdent uninstalled from %s (%d objects deleted first)", kc.Where(), len(res.Deleted))
				}
				r.Events = append(r.Events, e)
				return nil
			})
			if err != nil {
				return err
			}
			return o.emit(res, func(w io.Writer, _ ui.Style) {
				if res.NotInstalled {
					fmt.Fprintln(w, "k0rdent was not installed; nothing was changed.")
					return
				}
				fmt.Fprintf(w, "k0rdent uninstalled from %s.\n", kc.Where())
				for _, k := range res.Kept {
					fmt.Fprintf(w, "  kept: %s\n", k)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete ClusterDeployments, Regions and Credentials first instead of refusing")
	cmd.Flags().BoolVar(&removeFinalizers, "remove-finalizers", false, "with --force: clear finalizers no controller is left to clear")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for deletions (default 30m)")
	return cmd
}
