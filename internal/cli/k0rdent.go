package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
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

// k0rdentInstallOptions are the flags of `k0rdent install` and `k0rdent
// upgrade`.
type k0rdentInstallOptions struct {
	*Options
	Upgrade bool
	Force   bool
	Version string
}

func newK0rdentInstallCommand(o *Options, upgrade bool) *cobra.Command {
	ko := &k0rdentInstallOptions{Options: o, Upgrade: upgrade}
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
		RunE:  func(cmd *cobra.Command, _ []string) error { return ko.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&ko.Force, "force", false, "allow a downgrade")
	if upgrade {
		cmd.Flags().StringVar(&ko.Version, "version", "", "k0rdent version to upgrade to (default: software.k0rdent.version)")
	}
	return cmd
}

func (ko *k0rdentInstallOptions) use() string {
	if ko.Upgrade {
		return "upgrade"
	}
	return "install"
}

// run installs or upgrades k0rdent as the deploy phases do, recorded in the
// deployment record. A cluster that cannot be reached is reported before
// the record is opened.
func (ko *k0rdentInstallOptions) run(ctx context.Context) error {
	cfg, raw, err := ko.loadConfig()
	if err != nil {
		return err
	}
	if ko.Version != "" {
		cfg.Software.K0rdent.Version = ko.Version
	}
	env := deploy.NewEnv(ko.ConfigPath, cfg, raw, ko.Kubeconfig, ko.StateDir)
	env.Force = ko.Force
	if err := env.CheckKubeconfig(); err != nil {
		return usageError(err)
	}
	if _, _, _, err := env.Management.Reachable(ctx); err != nil {
		return err
	}
	sess, _, err := ko.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	env.Session = sess
	phases := deploy.K0rdentPhases(env, ko.Upgrade)
	args := []string{"k0rdent", ko.use()}
	if ko.Version != "" {
		args = append(args, "--version", ko.Version)
	}
	resume := resumeCommand(ko.Options, args...)
	if err := sess.Update(ctx, func(r *state.Record) error { r.ResumeCommand = resume; return nil }); err != nil {
		return err
	}
	if !ko.structured() {
		fmt.Fprintf(ko.IO.Out, "k0rdent %s %s on the management cluster via %s\n", ko.use(), cfg.Software.K0rdent.Version, env.ManagementKubeconfig())
	}
	res, err := ko.runPhases(ctx, sess, "k0rdent "+ko.use(), phases, 1, resume)
	if res == nil {
		return err
	}
	werr := ko.emit(k0rdentRunView(sess, res), func(w io.Writer, _ ui.Style) {
		if err == nil {
			k := sess.Snapshot().K0rdent
			fmt.Fprintf(w, "k0rdent %s is installed (Release %s, Helm revision %d) · next: k0rdentctl k0rdent status%s\n", k.Version, k.Release, k.HelmRevision, configFlag(ko.Options))
		}
	})
	return errors.Join(err, werr)
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
		Long: `Show the installed k0rdent on the management cluster: version, Management
readiness, components, Release, and whether Regions are supported. It reads the
cluster only. With --kubeconfig it needs no configuration file (the namespace is
then kcm-system).`,
		Example: `  k0rdentctl k0rdent status
  k0rdentctl k0rdent status --kubeconfig ./mgmt.kubeconfig -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runK0rdentStatus(cmd.Context(), o) },
	}
}

// runK0rdentStatus reads k0rdent's status from the management cluster. The
// configuration is optional when --kubeconfig names the cluster.
func runK0rdentStatus(ctx context.Context, o *Options) error {
	mgmt, namespace, err := o.k0rdentCluster()
	if err != nil {
		return err
	}
	kc, _, _, err := mgmt.Reachable(ctx)
	if err != nil {
		return err
	}
	rep, err := (&k0rdent.Status{Kube: kc, Namespace: namespace}).Run(ctx)
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
}

// k0rdentCluster is the management cluster and k0rdent's namespace for the
// commands that only read the cluster: from the configuration, or from
// --kubeconfig alone when there is no configuration file.
func (o *Options) k0rdentCluster() (*deploy.Management, string, error) {
	cfg, raw, err := o.optionalConfig()
	if err != nil {
		return nil, "", err
	}
	if cfg == nil {
		if o.Kubeconfig == "" {
			return nil, "", usageError(fmt.Errorf("no configuration at %s and no --kubeconfig: name the management cluster with --kubeconfig FILE, or the configuration with -c FILE", o.ConfigPath))
		}
		cfg = &config.Config{}
		cfg.Management.Mode = config.ModeExisting
	}
	env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
	if err := env.CheckKubeconfig(); err != nil {
		return nil, "", usageError(err)
	}
	ns := cfg.Software.K0rdent.Namespace
	if ns == "" {
		ns = config.DefaultNamespace
	}
	return env.Management, ns, nil
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

// k0rdentUninstallOptions are the flags of `k0rdent uninstall`.
type k0rdentUninstallOptions struct {
	*Options
	Force            bool
	RemoveFinalizers bool
	Timeout          time.Duration
}

func newK0rdentUninstallCommand(o *Options) *cobra.Command {
	u := &k0rdentUninstallOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Uninstall k0rdent from the management cluster",
		Long: `Uninstall k0rdent: the Management, the kcm Helm release and with it the k0rdent CRDs.

The chart's CRDs are not kept on uninstall, so uninstalling deletes every
ClusterDeployment, Region and Credential. It is therefore refused (exit 3) while
any exists, listing them; --force deletes them first (their clusters included)
and waits until they are gone. --remove-finalizers also clears finalizers that no
controller is left to clear. Asks for confirmation unless -y.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return u.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&u.Force, "force", false, "delete ClusterDeployments, Regions and Credentials first instead of refusing")
	cmd.Flags().BoolVar(&u.RemoveFinalizers, "remove-finalizers", false, "with --force: clear finalizers no controller is left to clear")
	cmd.Flags().DurationVar(&u.Timeout, "timeout", 0, "how long to wait for deletions (default 30m)")
	return cmd
}

func (uo *k0rdentUninstallOptions) run(ctx context.Context) error {
	cfg, raw, err := uo.loadConfig()
	if err != nil {
		return err
	}
	env := deploy.NewEnv(uo.ConfigPath, cfg, raw, uo.Kubeconfig, uo.StateDir)
	if err := env.CheckKubeconfig(); err != nil {
		return usageError(err)
	}
	kc, _, _, err := env.Management.Reachable(ctx)
	if err != nil {
		return err
	}
	u := &k0rdent.Uninstall{Kube: kc, Namespace: cfg.Software.K0rdent.Namespace, Force: uo.Force,
		RemoveFinalizers: uo.RemoveFinalizers, Timeout: uo.Timeout,
		Progress: func(s string) { fmt.Fprintf(uo.IO.ErrOut, "%s %s\n", uo.now().UTC().Format(time.RFC3339), s) }}
	inUse, err := u.InUse(ctx)
	if err != nil {
		return err
	}
	if len(inUse) > 0 && !uo.Force {
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
	if err := uo.confirm(q + "?"); err != nil {
		return err
	}
	sess, _, err := uo.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	res, err := u.Run(ctx)
	// What was done is recorded even when ctx was cancelled; a record that
	// cannot be written is an error of its own.
	if rerr := sess.Update(context.WithoutCancel(ctx), func(r *state.Record) error {
		e := state.Event{Timestamp: uo.now().UTC(), Phase: "k0rdent-uninstall"}
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
	}); rerr != nil {
		return errors.Join(err, fmt.Errorf("recording the uninstall in %s: %w", sess.Location(), rerr))
	}
	if err != nil {
		return err
	}
	return uo.emit(res, func(w io.Writer, _ ui.Style) {
		if res.NotInstalled {
			fmt.Fprintln(w, "k0rdent was not installed; nothing was changed.")
			return
		}
		fmt.Fprintf(w, "k0rdent uninstalled from %s.\n", kc.Where())
		for _, k := range res.Kept {
			fmt.Fprintf(w, "  kept: %s\n", k)
		}
	})
}
