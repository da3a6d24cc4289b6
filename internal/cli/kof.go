package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newKOFCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kof",
		Short: "KOF, k0rdent's observability stack, on the management cluster: install, check, uninstall",
		Long: `KOF 1.5 on the management cluster, from the kof section: Istio
(k0rdent-istio-base, k0rdent-istio) when kof.istio.enabled, then kof-operators,
kof-mothership, kof-regional and kof-child, each a Helm release, each waited for
until what it made is ready. deploy --with-kof does the same as a phase.

KOF regional and child clusters (ClusterDeployments labelled for KOF) are not
made by this build; kof status lists the ones that exist. KOF regional clusters
are not k0rdent regional clusters (region ...): each can be removed without
touching the other.`,
	}
	cmd.AddCommand(newKOFInstallCommand(o), newKOFStatusCommand(o), newKOFUninstallCommand(o))
	return cmd
}

type kofInstallOptions struct {
	*Options
	Timeout time.Duration
}

func newKOFInstallCommand(o *Options) *cobra.Command {
	ko := &kofInstallOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install or upgrade KOF on the management cluster and wait until it is ready",
		Long: `Install or upgrade KOF on the management cluster, release by release, in the
order KOF 1.5 needs, each from kof.charts (an oci:// repository, or a local
folder for air-gapped use) at kof.version:

  k0rdent-istio-base, k0rdent-istio  (kof.istio.enabled; kof.istio.charts)
  kof-operators                      its CRDs established
  kof-mothership                     kcm.installTemplates: true and
                                     global.storageClass set; its Deployments
                                     available and the ServiceTemplates it adds
                                     validated by k0rdent
  kof-regional, kof-child            their MultiClusterServices' references valid

Before anything is installed, KOF's version is checked against k0rdent's (the
same minor version: KOF 1.5.x with k0rdent 1.5.x) and against a KOF already
there (no downgrade, no KOF <= 1.4 kof-istio release), and a StorageClass for
its storage must exist (kof.storage_class, or the cluster's default): exit 2.

kof-mothership's first install races the admission webhook of the
VictoriaMetrics operator it also installs; that failure, and only it, is
retried as an upgrade of the failed release, a bounded number of times. A
release already deployed with this chart version and these values is left
as it is: running it again changes nothing.`,
		Example: `  k0rdentctl kof install
  k0rdentctl kof install --timeout 45m -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ko.run(cmd.Context()) },
	}
	cmd.Flags().DurationVar(&ko.Timeout, "timeout", 0, "how long the whole install may take (default: timeouts.kof_install)")
	return cmd
}

// kofClients loads the configuration, refuses it without KOF, and connects.
func (o *Options) kofClients(ctx context.Context) (*config.Config, []byte, *kube.Clients, error) {
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	if !cfg.KOF.Enabled {
		return nil, nil, nil, usageError(fmt.Errorf("kof.enabled is false in %s: set it to true (k0rdentctl config init --template regional-with-kof -c - shows an example)", o.ConfigPath))
	}
	env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
	if err := env.CheckKubeconfig(); err != nil {
		return nil, nil, nil, usageError(err)
	}
	kc, err := env.Management.Clients(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, raw, kc, nil
}

func (o *kofInstallOptions) run(ctx context.Context) error {
	cfg, raw, kc, err := o.kofClients(ctx)
	if err != nil {
		return err
	}
	sess, _, err := o.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	res, err := (&kof.Install{Kube: kc, Config: cfg, BaseDir: filepath.Dir(o.ConfigPath), Timeout: o.Timeout, Progress: o.progressFunc()}).Run(ctx)
	ev := state.Event{Timestamp: o.now().UTC(), Type: "kof_installed", Message: fmt.Sprintf("KOF %s installed or upgraded", cfg.KOF.Version)}
	if err != nil {
		ev.Type, ev.Message = "kof_install_failed", fmt.Sprintf("KOF %s: %v", cfg.KOF.Version, err)
	}
	_ = sess.AddEvent(ev)
	if res != nil && (err == nil || o.structured()) {
		if werr := o.emit(res, func(w io.Writer, st ui.Style) { renderKOFInstall(w, st, res) }); werr != nil {
			return werr
		}
	}
	return err
}

func renderKOFInstall(w io.Writer, st ui.Style, r *kof.Result) {
	fmt.Fprintf(w, "KOF %s on k0rdent %s (storage class %s)\n", r.Version, r.K0rdentVersion, r.StorageClass)
	for _, s := range r.Steps {
		extra := ""
		if s.Attempts > 1 {
			extra = fmt.Sprintf(", %d attempts (webhook race)", s.Attempts)
		}
		fmt.Fprintf(w, "  %s %-20s %s %s in %s, revision %d%s\n", st.Green(ui.MarkDone), s.Release, s.Action, s.ChartVersion, s.Namespace, s.Revision, extra)
	}
}

func newKOFStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each KOF release, whether what it made is ready, and the KOF clusters",
		Long: `Show each KOF Helm release of the configuration (chart version, revision,
status), whether what it made is ready, and the ClusterDeployments labelled for
KOF by role. Exit code 1 when a release is missing or not ready. Reads only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, kc, err := o.kofClients(cmd.Context())
			if err != nil {
				return err
			}
			cfg, _, err := o.loadConfig()
			if err != nil {
				return err
			}
			st, err := kof.GetStatus(cmd.Context(), kc, cfg)
			if err != nil {
				return err
			}
			if err := o.emit(st, func(w io.Writer, s ui.Style) { renderKOFStatus(w, s, st) }); err != nil {
				return err
			}
			if !st.Ready() {
				return failed(ExitFailed)
			}
			return nil
		},
	}
}

func renderKOFStatus(w io.Writer, st ui.Style, s *kof.Status) {
	fmt.Fprintf(w, "KOF %s\n", s.Version)
	for _, r := range s.Releases {
		mark, detail := st.Green(ui.MarkDone), "ready"
		if !r.Ready {
			mark, detail = st.Red(ui.MarkFailed), r.Waiting
		}
		ver := "-"
		if r.Helm != nil {
			ver = fmt.Sprintf("%s rev %d %s", r.Helm.ChartVersion, r.Helm.Revision, r.Helm.Status)
		}
		fmt.Fprintf(w, "  %s %-20s %-12s %-28s %s\n", mark, r.Release, r.Namespace, ver, detail)
	}
	for _, role := range []string{"regional", "child"} {
		if cds := s.Clusters[role]; len(cds) > 0 {
			fmt.Fprintf(w, "KOF %s clusters: %s\n", role, strings.Join(cds, ", "))
		}
	}
}

type kofUninstallOptions struct {
	*Options
	Force bool
}

func newKOFUninstallCommand(o *Options) *cobra.Command {
	uo := &kofUninstallOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Uninstall KOF from the management cluster, in reverse order",
		Long: `Uninstall KOF's Helm releases in reverse order (kof-child, kof-regional,
kof-mothership, kof-operators, then k0rdent-istio and k0rdent-istio-base) and
delete the namespaces k0rdentctl made for them. k0rdent, its Regions and their
clusters are not touched.

Refused (exit 3) while ClusterDeployments labelled for KOF exist: their
collectors and storage would lose the mothership; --force goes on. Asks for
confirmation unless -y.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return uo.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&uo.Force, "force", false, "uninstall even while KOF clusters exist")
	return cmd
}

func (o *kofUninstallOptions) run(ctx context.Context) error {
	cfg, raw, kc, err := o.kofClients(ctx)
	if err != nil {
		return err
	}
	u := &kof.Uninstall{Kube: kc, Config: cfg, Force: o.Force, Progress: o.progressFunc()}
	releases, inUse, err := u.Plan(ctx)
	if err != nil {
		return err
	}
	if len(inUse) > 0 && !o.Force {
		return &kof.InUseError{Clusters: inUse}
	}
	if len(releases) == 0 {
		return o.emit(map[string]any{"uninstalled": []string{}}, func(w io.Writer, _ ui.Style) { fmt.Fprintln(w, "KOF is not installed: nothing to uninstall.") })
	}
	if err := o.confirm(fmt.Sprintf("Uninstall KOF from %s (%s)?", kc.Where(), strings.Join(releases, ", "))); err != nil {
		return err
	}
	sess, _, err := o.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	done, err := u.Run(ctx)
	_ = sess.AddEvent(state.Event{Timestamp: o.now().UTC(), Type: "kof_uninstalled", Message: "uninstalled " + strings.Join(done, ", ")})
	if err != nil {
		return err
	}
	return o.emit(map[string]any{"uninstalled": done}, func(w io.Writer, st ui.Style) {
		for _, r := range done {
			fmt.Fprintf(w, "%s uninstalled %s\n", st.Green(ui.MarkDone), r)
		}
	})
}
