package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newChildCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "child",
		Short: "Azure child clusters (ClusterDeployments): create, list, delete, kubeconfig",
		Long: `Child clusters are k0rdent ClusterDeployments made from k0rdent's Azure standalone
ClusterTemplates, on the management cluster or in a k0rdent Region (placed there
by the region's Credential). A child is described by an entry of child_clusters
in the configuration, by flags, or both (flags win). deploy --with-children
creates every configured child as a phase of the deployment.`,
	}
	cmd.AddCommand(newChildCreateCommand(o), newChildListCommand(o), newChildDeleteCommand(o), newChildKubeconfigCommand(o))
	return cmd
}

// childCreateOptions are the options of `child create`.
type childCreateOptions struct {
	*Options
	cc      config.ChildCluster
	labels  []string
	sets    []string
	Timeout time.Duration
}

func newChildCreateCommand(o *Options) *cobra.Command {
	co := &childCreateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a child cluster and wait until it is ready; its kubeconfig goes to the state folder",
		Long: `Create the ClusterDeployment NAME: from the child_clusters entry of that name when
there is one, with the flags over it. The template is the one named, or the
newest valid Azure standalone ClusterTemplate; the Credential is the one named,
or the management Credential, or with --region that region's Credential.

The values (location, subscription, node counts and sizes, --set) are checked
against the template's values schema before anything is created: every
violation is listed with its field (exit 2). Then it waits until the cluster
is Ready and writes its kubeconfig (0600) to the state folder.`,
		Example: `  k0rdentctl child create dev-1 --location westeurope --workers 2
  k0rdentctl child create dev-eu --region regional-westeu --set worker.rootVolumeSize=64
  k0rdentctl child create team-a   # as child_clusters describes it`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
				return usageError(fmt.Errorf("child create takes the cluster's name"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return co.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.StringVarP(&co.cc.Namespace, "namespace", "n", "", "namespace of the ClusterDeployment (default: k0rdent's namespace)")
	f.StringVar(&co.cc.Location, "location", "", "Azure location (default: azure.location)")
	f.StringVar(&co.cc.Template, "template", "", "ClusterTemplate (default: the newest valid Azure standalone one)")
	f.StringVar(&co.cc.Credential, "credential", "", "Credential (default: the management one, or the region's with --region)")
	f.StringVar(&co.cc.Region, "region", "", "place it in this k0rdent regional cluster (software.k0rdent.regional.clusters[].name)")
	f.IntVar(&co.cc.ControlPlane.Count, "control-planes", 0, "control-plane nodes (default 1)")
	f.StringVar(&co.cc.ControlPlane.VMSize, "control-plane-size", "", "control-plane VM size (default "+config.DefaultVMSize+")")
	f.IntVar(&co.cc.Workers.Count, "workers", 0, "worker nodes (default 1)")
	f.StringVar(&co.cc.Workers.VMSize, "worker-size", "", "worker VM size (default "+config.DefaultVMSize+")")
	f.StringArrayVar(&co.labels, "label", nil, "label KEY=VALUE on the ClusterDeployment (repeatable)")
	f.BoolVar(&co.cc.KOF, "kof", false, "label it for KOF: its collectors ship to the KOF regional cluster (as kof: true in child_clusters)")
	f.StringArrayVar(&co.sets, "set", nil, "template value PATH=VALUE, VALUE read as YAML (repeatable), e.g. worker.rootVolumeSize=64")
	f.DurationVar(&co.Timeout, "timeout", 0, "how long to wait for Ready (default: timeouts.child_cluster)")
	return cmd
}

func (o *childCreateOptions) run(cmd *cobra.Command, name string) error {
	ctx := cmd.Context()
	cfg, _, err := o.loadConfig()
	if err != nil {
		return err
	}
	spec, err := o.spec(cfg, name, cmd)
	if err != nil {
		return err
	}
	sub, timeout, err := clusterSettings(cfg, "the child's", o.Timeout)
	if err != nil {
		return err
	}
	kc, err := o.managementClients(ctx)
	if err != nil {
		return err
	}
	store, err := o.store()
	if err != nil {
		return err
	}
	sess, warn, err := o.existingSession(ctx, store, cfg)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintf(o.IO.ErrOut, "Warning: %s\n", warn)
	}
	id := ""
	if sess != nil {
		defer sess.Close()
		id = sess.ID()
	}
	create := &child.Create{Client: kc.Client, Spec: spec, SubscriptionID: sub, DeploymentID: id, CopyRegionKubeconfig: cfg.K0rdentBefore("1.6.0"), Timeout: timeout, Progress: o.progressFunc()}
	cd, err := create.Run(ctx)
	var ie *child.InvalidError
	if errors.As(err, &ie) {
		return usageError(err)
	}
	path := ""
	if err == nil {
		path, err = o.writeChildKubeconfig(ctx, kc.Client, client.ObjectKeyFromObject(cd))
	}
	if sess != nil && cd != nil {
		ev := state.Event{Timestamp: o.now().UTC(), Type: "child_created", Message: "ClusterDeployment " + spec.Namespace + "/" + spec.Name + " ready"}
		if err != nil {
			ev.Type, ev.Message = "child_create_failed", "ClusterDeployment "+spec.Namespace+"/"+spec.Name+": "+err.Error()
		}
		if uerr := sess.Update(ctx, func(r *state.Record) error { r.Events = append(r.Events, ev); return nil }); uerr != nil {
			err = errors.Join(err, fmt.Errorf("recording the child cluster: %w", uerr))
		}
	}
	if err != nil {
		return err
	}
	return o.emit(map[string]any{"namespace": cd.Namespace, "name": cd.Name, "template": cd.Spec.Template, "credential": cd.Spec.Credential,
		"region": spec.Region, "ready": true, "kubeconfig_path": path}, func(w io.Writer, _ ui.Style) {
		fmt.Fprintf(w, "Child cluster %s/%s is ready (template %s, credential %s).\nKubeconfig: %s\n", cd.Namespace, cd.Name, cd.Spec.Template, cd.Spec.Credential, path)
	})
}

// spec is the child: the configured entry of that name, flags over it,
// defaults applied as for child_clusters.
func (o *childCreateOptions) spec(cfg *config.Config, name string, cmd *cobra.Command) (child.Spec, error) {
	cc := config.ChildCluster{Name: name}
	for _, c := range cfg.ChildClusters {
		if c.Name == name {
			cc = c
		}
	}
	f := cmd.Flags()
	set := func(flag string, dst *string, v string) {
		if f.Changed(flag) {
			*dst = v
		}
	}
	set("namespace", &cc.Namespace, o.cc.Namespace)
	set("location", &cc.Location, o.cc.Location)
	set("template", &cc.Template, o.cc.Template)
	set("credential", &cc.Credential, o.cc.Credential)
	if f.Changed("region") {
		if cc.Region != o.cc.Region && !f.Changed("credential") {
			cc.Credential = "" // the region's, from the defaults
		}
		cc.Region = o.cc.Region
	}
	set("control-plane-size", &cc.ControlPlane.VMSize, o.cc.ControlPlane.VMSize)
	set("worker-size", &cc.Workers.VMSize, o.cc.Workers.VMSize)
	if f.Changed("control-planes") {
		cc.ControlPlane.Count = o.cc.ControlPlane.Count
	}
	if f.Changed("workers") {
		cc.Workers.Count = o.cc.Workers.Count
	}
	if f.Changed("kof") {
		cc.KOF = o.cc.KOF
	}
	if cc.KOF && !cfg.KOF.Enabled {
		return child.Spec{}, usageError(fmt.Errorf("--kof labels the cluster for KOF, but kof.enabled is false in %s", o.ConfigPath))
	}
	if cc.ControlPlane.Count < 0 || cc.Workers.Count < 0 {
		return child.Spec{}, usageError(fmt.Errorf("node counts must be 1 or more"))
	}
	if _, ok := cfg.RegionalCluster(cc.Region); cc.Region != "" && !ok {
		return child.Spec{}, usageError(fmt.Errorf("--region %q is not a regional cluster of the configuration (software.k0rdent.regional.clusters)", cc.Region))
	}
	values, err := parseSets(o.sets)
	if err != nil {
		return child.Spec{}, usageError(err)
	}
	for k, v := range values {
		if cc.Values == nil {
			cc.Values = map[string]any{}
		}
		cc.Values[k] = v
	}
	// The configuration's defaults for a child (namespace, location,
	// credential, node pools).
	tmp := *cfg
	tmp.ChildClusters = []config.ChildCluster{cc}
	tmp.ApplyDefaults()
	spec := kof.ChildSpec(&tmp, tmp.ChildClusters[0])
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	for _, l := range o.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return child.Spec{}, usageError(fmt.Errorf("--label %q: give KEY=VALUE", l))
		}
		spec.Labels[k] = v
	}
	return spec, nil
}

// parseSets reads --set PATH=VALUE into nested values; VALUE is YAML.
func parseSets(sets []string) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range sets {
		path, raw, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--set %q: give PATH=VALUE, such as worker.rootVolumeSize=64", s)
		}
		var v any
		if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("--set %s: the value is not YAML: %w", path, err)
		}
		config.SetIn(out, path, v)
	}
	return out, nil
}

// writeChildKubeconfig writes a child's kubeconfig (0600) to the state
// folder and returns where.
func (o *Options) writeChildKubeconfig(ctx context.Context, c client.Client, key client.ObjectKey) (string, error) {
	data, err := child.Kubeconfig(ctx, c, key)
	if err != nil {
		return "", err
	}
	files, err := o.files()
	if err != nil {
		return "", err
	}
	path := files.KubeconfigPath(key.Name)
	if err := state.WriteFileAtomic(ctx, path, data); err != nil {
		return "", err
	}
	return path, nil
}

func newChildListCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every ClusterDeployment: template, credential, region, Ready, message, age",
		RunE: func(cmd *cobra.Command, _ []string) error {
			kc, err := o.managementClients(cmd.Context())
			if err != nil {
				return err
			}
			rows, err := child.List(cmd.Context(), kc.Client)
			if err != nil {
				return err
			}
			var werr error
			err = o.emit(map[string]any{"clusters": rows}, func(w io.Writer, st ui.Style) {
				if len(rows) == 0 {
					fmt.Fprintln(w, "No ClusterDeployments.")
					return
				}
				var t ui.Table
				t.Row("NAMESPACE", "NAME", "TEMPLATE", "CREDENTIAL", "REGION", "READY", "AGE", "MESSAGE")
				for _, r := range rows {
					ready := st.Red("no")
					if r.Ready {
						ready = st.Green("yes")
					}
					t.Row(r.Namespace, r.Name, r.Template, r.Credential, dash(r.Region), ready, ui.Duration(o.now().Sub(r.Created).Round(time.Second)), r.Message)
				}
				werr = t.Write(w)
			})
			return errors.Join(err, werr)
		},
	}
}

func newChildDeleteCommand(o *Options) *cobra.Command {
	var namespace string
	var force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a child cluster and wait until it and its Azure resources are gone",
		Long: `Delete the ClusterDeployment NAME and wait until k0rdent has removed the cluster
and its Azure resources. Asks first (-y answers). A ClusterDeployment that
k0rdentctl did not make is refused unless --force.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("child delete takes the cluster's name"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, _, err := o.optionalConfig()
			if err != nil {
				return err
			}
			if namespace == "" {
				namespace = config.DefaultNamespace
				if cfg != nil && cfg.Software.K0rdent.Namespace != "" {
					namespace = cfg.Software.K0rdent.Namespace
				}
			}
			if timeout <= 0 {
				timeout = 45 * time.Minute
				if cfg != nil {
					timeout = time.Duration(cfg.Timeouts.ChildCluster)
				}
			}
			kc, err := o.managementClients(ctx)
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: namespace, Name: args[0]}
			rows, err := child.List(ctx, kc.Client)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if r.Namespace == key.Namespace && r.Name == key.Name && !r.Ours && !force {
					return refusedError(fmt.Errorf("ClusterDeployment %s was not made by k0rdentctl; it was left as it is (--force deletes it anyway)", key))
				}
			}
			if err := o.confirm(fmt.Sprintf("Delete child cluster %s and its Azure resources?", key)); err != nil {
				return err
			}
			d := &child.Delete{Client: kc.Client, Key: key, Timeout: timeout, Progress: o.progressFunc()}
			if err := d.Run(ctx); err != nil {
				var ie *child.InvalidError
				if errors.As(err, &ie) {
					return usageError(err)
				}
				return err
			}
			fmt.Fprintf(o.IO.Out, "Deleted child cluster %s.\n", key)
			return nil
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the ClusterDeployment (default: k0rdent's namespace)")
	cmd.Flags().BoolVar(&force, "force", false, "delete a ClusterDeployment that k0rdentctl did not make")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait until it is gone (default: timeouts.child_cluster)")
	return cmd
}

func newChildKubeconfigCommand(o *Options) *cobra.Command {
	var namespace string
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Write a child cluster's kubeconfig (0600) to the state folder and print its path",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("child kubeconfig takes the cluster's name"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := o.optionalConfig()
			if err != nil {
				return err
			}
			if namespace == "" {
				namespace = config.DefaultNamespace
				if cfg != nil && cfg.Software.K0rdent.Namespace != "" {
					namespace = cfg.Software.K0rdent.Namespace
				}
			}
			kc, err := o.managementClients(cmd.Context())
			if err != nil {
				return err
			}
			path, err := o.writeChildKubeconfig(cmd.Context(), kc.Client, client.ObjectKey{Namespace: namespace, Name: args[0]})
			if err != nil {
				return err
			}
			return o.emit(map[string]any{"kubeconfig_path": path}, func(w io.Writer, _ ui.Style) { fmt.Fprintln(w, path) })
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the ClusterDeployment (default: k0rdent's namespace)")
	return cmd
}

// clusterSettings are what creating a ClusterDeployment needs from the
// configuration: the subscription for its values (azure.subscription_id,
// else AZURE_SUBSCRIPTION_ID) and how long to wait (the flag, else
// timeouts.child_cluster).
func clusterSettings(cfg *config.Config, what string, flag time.Duration) (string, time.Duration, error) {
	sub := cfg.Azure.SubscriptionID
	if sub == "" {
		sub = os.Getenv(credentials.EnvSubscriptionID)
	}
	if sub == "" {
		return "", 0, usageError(fmt.Errorf("no Azure subscription for %s values: set azure.subscription_id or %s", what, credentials.EnvSubscriptionID))
	}
	if flag <= 0 {
		flag = time.Duration(cfg.Timeouts.ChildCluster)
	}
	return sub, flag, nil
}
