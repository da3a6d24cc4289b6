package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
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

kof regional deploy makes the KOF regional cluster (kof.regional), and child
create --kof (or kof: true in child_clusters) labels a child for KOF. KOF
regional clusters are not k0rdent regional clusters (region ...): each can be
removed without touching the other.`,
	}
	cmd.AddCommand(newKOFInstallCommand(o), newKOFStatusCommand(o), newKOFUninstallCommand(o), newKOFRegionalCommand(o))
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
	if uerr := sess.Update(ctx, func(r *state.Record) error {
		if err == nil && res != nil {
			kof.RecordInstall(r, res, o.now())
		}
		r.Events = append(r.Events, ev)
		return nil
	}); uerr != nil && err == nil {
		err = fmt.Errorf("recording the KOF install: %w", uerr)
	}
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
			cfg, _, kc, err := o.kofClients(cmd.Context())
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
	renderKOFRegional(w, st, s.Regional)
	if cds := s.Clusters["child"]; len(cds) > 0 {
		fmt.Fprintf(w, "KOF child clusters: %s\n", strings.Join(cds, ", "))
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
	_ = sess.Update(ctx, func(r *state.Record) error {
		if err == nil && r.KOF != nil {
			r.KOF.Releases, r.KOF.InstalledAt = nil, nil
		}
		r.Events = append(r.Events, state.Event{Timestamp: o.now().UTC(), Type: "kof_uninstalled", Message: "uninstalled " + strings.Join(done, ", ")})
		return nil
	})
	if err != nil {
		return err
	}
	return o.emit(map[string]any{"uninstalled": done}, func(w io.Writer, st ui.Style) {
		for _, r := range done {
			fmt.Fprintf(w, "%s uninstalled %s\n", st.Green(ui.MarkDone), r)
		}
	})
}

func newKOFRegionalCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "regional",
		Short: "The KOF regional cluster (kof.regional): deploy, status, remove",
		Long: `The KOF regional cluster stores metrics, logs and traces: a ClusterDeployment
on the management cluster labelled for KOF (with Istio a mesh member with a
gateway; without, the storage secrets, domain and certificate e-mail as
cluster annotations), placed in a k0rdent Region when kof.regional.region is
set (its Credential is then the region's). It is not a k0rdent regional
cluster: removing it leaves Regions alone, and region remove leaves it alone
unless it sits in that region.`,
	}
	cmd.AddCommand(newKOFRegionalDeployCommand(o), newKOFRegionalStatusCommand(o), newKOFRegionalRemoveCommand(o))
	return cmd
}

type kofRegionalOptions struct {
	*Options
	Timeout time.Duration
	Force   bool
}

func newKOFRegionalDeployCommand(o *Options) *cobra.Command {
	ro := &kofRegionalOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create the KOF regional cluster and wait until KOF's operator has taken it up",
		Long: `Create the KOF regional cluster from kof.regional (template named or the newest
valid Azure standalone one, values checked against its schema first), wait
until it is Ready and KOF's operator has written its ConfigMap (kof-NAME: the
endpoints children ship to). KOF 1.5's kof-regional chart cannot render for
Azure clusters without Istio (fixed in KOF 1.8.1): without kof.istio this is
refused (exit 2) with the ways out. Running it again changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ro.deploy(cmd.Context()) },
	}
	cmd.Flags().DurationVar(&ro.Timeout, "timeout", 0, "how long to wait (default: timeouts.child_cluster)")
	return cmd
}

func (o *kofRegionalOptions) deploy(ctx context.Context) error {
	cfg, raw, kc, err := o.kofClients(ctx)
	if err != nil {
		return err
	}
	if err := kof.CheckRegional(cfg); err != nil {
		return err
	}
	sub, timeout, err := clusterSettings(cfg, "the cluster's", o.Timeout)
	if err != nil {
		return err
	}
	sess, _, err := o.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	st, err := (&kof.DeployRegional{Kube: kc, Config: cfg, SubscriptionID: sub, DeploymentID: sess.ID(), Timeout: timeout, Progress: o.progressFunc()}).Run(ctx)
	if err != nil {
		return err
	}
	if err := sess.Update(ctx, func(r *state.Record) error {
		kof.RecordRegional(r, st.Namespace, st.Name, st)
		r.Events = append(r.Events, state.Event{Timestamp: o.now().UTC(), Type: "kof_regional_deployed", Message: fmt.Sprintf("KOF regional cluster %s/%s ready", st.Namespace, st.Name)})
		return nil
	}); err != nil {
		return fmt.Errorf("recording the KOF regional cluster: %w", err)
	}
	return o.emit(st, func(w io.Writer, s ui.Style) { renderKOFRegional(w, s, []kof.RegionalStatus{*st}) })
}

func renderKOFRegional(w io.Writer, st ui.Style, rs []kof.RegionalStatus) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "No KOF regional cluster.")
		return
	}
	for _, r := range rs {
		mark := st.Green(ui.MarkDone)
		if !r.Ready {
			mark = st.Red(ui.MarkFailed)
		}
		where := "management cluster"
		if r.Region != "" {
			where = "region " + r.Region
		}
		fmt.Fprintf(w, "%s KOF regional %s/%s (%s, %s): %s\n", mark, r.Namespace, r.Name, where, dash(r.Location), r.Message)
		keys := make([]string, 0, len(r.Endpoints))
		for k := range r.Endpoints {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    %-28s %s\n", k, r.Endpoints[k])
		}
		if len(r.Children) > 0 {
			fmt.Fprintf(w, "    children reporting: %s\n", strings.Join(r.Children, ", "))
		}
	}
}

func newKOFRegionalStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show every KOF regional cluster: Ready, endpoints, the children reporting to it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, kc, err := o.kofClients(cmd.Context())
			if err != nil {
				return err
			}
			rs, err := kof.RegionalStatuses(cmd.Context(), kc.Client)
			if err != nil {
				return err
			}
			if err := o.emit(map[string]any{"regional": rs}, func(w io.Writer, s ui.Style) { renderKOFRegional(w, s, rs) }); err != nil {
				return err
			}
			for _, r := range rs {
				if !r.Ready {
					return failed(ExitFailed)
				}
			}
			return nil
		},
	}
}

func newKOFRegionalRemoveCommand(o *Options) *cobra.Command {
	ro := &kofRegionalOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "Delete the KOF regional cluster and wait until it is gone; Regions are not touched",
		Long: `Delete the ClusterDeployment of kof.regional and wait until k0rdent has removed
the cluster and its Azure resources. k0rdent Regions, their clusters and
Credentials are not touched. One k0rdentctl did not make is refused (exit 3)
unless --force. Asks first unless -y.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, _, kc, err := ro.kofClients(ctx)
			if err != nil {
				return err
			}
			r := cfg.KOF.Regional
			if err := ro.confirm(fmt.Sprintf("Delete the KOF regional cluster %s/%s and its Azure resources?", r.Namespace, r.Name)); err != nil {
				return err
			}
			timeout := ro.Timeout
			if timeout <= 0 {
				timeout = time.Duration(cfg.Timeouts.ChildCluster)
			}
			if err := kof.RemoveRegional(ctx, kc, cfg, ro.Force, timeout, ro.progressFunc()); err != nil {
				return err
			}
			if store, err := ro.store(); err == nil {
				if sess, _, err := ro.existingSession(ctx, store, cfg); err == nil && sess != nil {
					_ = sess.Update(ctx, func(rec *state.Record) error {
						kof.RecordRegional(rec, r.Namespace, r.Name, nil)
						rec.Events = append(rec.Events, state.Event{Timestamp: ro.now().UTC(), Type: "kof_regional_removed", Message: fmt.Sprintf("KOF regional cluster %s/%s removed", r.Namespace, r.Name)})
						return nil
					})
					_ = sess.Close()
				}
			}
			return ro.emit(map[string]any{"removed": r.Namespace + "/" + r.Name}, func(w io.Writer, s ui.Style) {
				fmt.Fprintf(w, "%s KOF regional cluster %s/%s is gone\n", s.Green(ui.MarkDone), r.Namespace, r.Name)
			})
		},
	}
	cmd.Flags().DurationVar(&ro.Timeout, "timeout", 0, "how long to wait (default: timeouts.child_cluster)")
	cmd.Flags().BoolVar(&ro.Force, "force", false, "delete it even when k0rdentctl did not make it")
	return cmd
}
