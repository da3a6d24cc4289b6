package kof

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
)

// FixedAzureWithoutIstio is the first KOF whose kof-regional chart renders
// for Azure clusters without Istio (KOF-1.5-FACTS.md section 2).
const FixedAzureWithoutIstio = "1.8.1"

// NoIstioError refuses a KOF regional cluster that KOF's chart cannot
// render.
type NoIstioError struct{ Version string }

func (e *NoIstioError) Error() string {
	return fmt.Sprintf("KOF %s's kof-regional chart cannot render for an Azure cluster without Istio (its ingress-nginx values use an undeclared template variable; fixed in KOF %s), so the KOF regional cluster would never get its storage. "+
		"Ways out: set kof.istio.enabled: true; or keep KOF without Istio for the mothership only (k0rdentctl kof install) and make the regional cluster by hand with kof-regional's ingress-nginx.enabled=false and your own ingress-nginx",
		e.Version, FixedAzureWithoutIstio)
}

// Usage says the configuration is to change (exit code 2).
func (e *NoIstioError) Usage() bool { return true }

// CheckRegional refuses, before anything exists, a KOF regional cluster
// that KOF cannot make work.
func CheckRegional(cfg *config.Config) error {
	if cfg.KOF.Istio.IsEnabled() {
		return nil
	}
	v, err := k0rdent.ParseVersion(cfg.KOF.Version)
	if err == nil && !v.AtLeast(FixedAzureWithoutIstio) {
		return &NoIstioError{Version: cfg.KOF.Version}
	}
	return nil
}

// RegionalSpec is the KOF regional cluster as a child cluster spec: its
// labels and cluster annotations added.
func RegionalSpec(cfg *config.Config) child.Spec {
	r := cfg.KOF.Regional
	s := child.Spec{Name: r.Name, Namespace: r.Namespace, Location: r.Location, Template: r.Template, Credential: r.Credential,
		Region: r.Region, ControlPlane: r.ControlPlane, Workers: r.Workers, Labels: RegionalLabels(cfg)}
	if a := RegionalAnnotations(cfg); a != nil {
		s.Values = map[string]any{"clusterAnnotations": a}
	}
	return s
}

// DeployRegional makes the KOF regional cluster (a ClusterDeployment on
// the management cluster, placed in a k0rdent Region by its Credential
// when kof.regional.region is set) and waits until it is Ready and KOF's
// operator has taken it up.
type DeployRegional struct {
	Kube           *kube.Clients
	Config         *config.Config
	SubscriptionID string
	DeploymentID   string
	Timeout        time.Duration
	Interval       time.Duration
	Progress       func(string)
}

// Run checks, creates (or finds) the ClusterDeployment and waits.
func (d *DeployRegional) Run(ctx context.Context) (*RegionalStatus, error) {
	if err := CheckRegional(d.Config); err != nil {
		return nil, err
	}
	create := &child.Create{Client: d.Kube.Client, Spec: RegionalSpec(d.Config), SubscriptionID: d.SubscriptionID, DeploymentID: d.DeploymentID,
		Timeout: d.Timeout, Progress: d.Progress, CopyRegionKubeconfig: d.Config.K0rdentBefore("1.6.0")}
	if _, err := create.Run(ctx); err != nil {
		return nil, err
	}
	key := client.ObjectKey{Namespace: d.Config.KOF.Regional.Namespace, Name: d.Config.KOF.Regional.Name}
	var st *RegionalStatus
	err := kube.WaitFor(ctx, "KOF's operator to take up "+key.String(), d.Timeout, d.Interval, func(ctx context.Context) (bool, string, error) {
		var err error
		if st, err = regionalStatus(ctx, d.Kube.Client, key); err != nil {
			return false, "", err
		}
		return st.Ready, st.Message, nil
	}, d.Progress)
	return st, err
}

// RegionalStatus is one KOF regional cluster.
type RegionalStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Region    string `json:"region,omitempty"`
	Location  string `json:"location,omitempty"`
	// Ready: the ClusterDeployment is Ready and KOF's operator made its
	// ConfigMap (the endpoints children ship to).
	Ready     bool              `json:"ready"`
	Message   string            `json:"message"`
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Children report to it (by their KOF ConfigMap).
	Children []string `json:"children"`
}

// regionalStatus reads the ClusterDeployment and KOF's ConfigMap
// kof-<name> for it.
func regionalStatus(ctx context.Context, c client.Client, key client.ObjectKey) (*RegionalStatus, error) {
	st := &RegionalStatus{Name: key.Name, Namespace: key.Namespace, Children: []string{}}
	cd := &kcmv1.ClusterDeployment{}
	if err := c.Get(ctx, key, cd); err != nil {
		if apierrors.IsNotFound(err) {
			st.Message = "ClusterDeployment " + key.String() + " does not exist"
			return st, nil
		}
		return nil, err
	}
	cred := &kcmv1.Credential{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Credential}, cred); err == nil {
		st.Region = cred.Spec.Region
	}
	cond := meta.FindStatusCondition(cd.Status.Conditions, kcmv1.ReadyCondition)
	if cond == nil || cond.Status != "True" {
		st.Message = "ClusterDeployment is not Ready"
		if cond != nil {
			st.Message += ": " + cond.Message
		}
		return st, nil
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: "kof-" + key.Name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			st.Message = fmt.Sprintf("ClusterDeployment is Ready; waiting for KOF's operator to write ConfigMap %s/kof-%s", key.Namespace, key.Name)
			return st, nil
		}
		return nil, err
	}
	st.Endpoints = map[string]string{}
	for k, v := range cm.Data {
		switch k {
		case "azure_location", "aws_region", "openstack_region", "vsphere_datacenter":
			st.Location = v
		default:
			if len(k) > 9 && k[len(k)-9:] == "_endpoint" {
				st.Endpoints[k] = v
			}
		}
	}
	if waiting, err := storageReady(ctx, c, key); err != nil {
		return nil, err
	} else if waiting != "" {
		st.Message = waiting
		return st, nil
	}
	st.Ready, st.Message = true, "Ready; KOF's operator took it up and its storage runs"
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(key.Namespace)); err != nil {
		return nil, err
	}
	for _, m := range cms.Items {
		if len(m.Name) > len("kof-cluster-config-") && m.Name[:len("kof-cluster-config-")] == "kof-cluster-config-" &&
			m.Data["regional_cluster_name"] == key.Name {
			st.Children = append(st.Children, m.Name[len("kof-cluster-config-"):])
		}
	}
	sort.Strings(st.Children)
	return st, nil
}

// RegionalStatuses are every KOF regional cluster on the management
// cluster (labelled kof-cluster-role: regional).
func RegionalStatuses(ctx context.Context, c client.Client) ([]RegionalStatus, error) {
	var cds kcmv1.ClusterDeploymentList
	if err := c.List(ctx, &cds, client.MatchingLabels{LabelClusterRole: RoleRegional}); err != nil {
		return nil, fmt.Errorf("listing KOF regional clusters: %w", err)
	}
	out := []RegionalStatus{}
	for _, cd := range cds.Items {
		st, err := regionalStatus(ctx, c, client.ObjectKeyFromObject(&cd))
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	return out, nil
}

// RemoveRegional deletes the KOF regional ClusterDeployment and waits until
// it is gone; k0rdent Regions and their clusters are not touched. One
// k0rdentctl did not make is refused unless force.
func RemoveRegional(ctx context.Context, kc *kube.Clients, cfg *config.Config, force bool, timeout time.Duration, progress func(string)) error {
	key := client.ObjectKey{Namespace: cfg.KOF.Regional.Namespace, Name: cfg.KOF.Regional.Name}
	cd := &kcmv1.ClusterDeployment{}
	if err := kc.Client.Get(ctx, key, cd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if cd.Labels[LabelClusterRole] != RoleRegional {
		return errors.New("ClusterDeployment " + key.String() + " is not labelled as a KOF regional cluster; it was left as it is")
	}
	if !regional.CreatedByUs(cd.Labels) && !force {
		return &NotOursError{Key: key.String()}
	}
	return (&child.Delete{Client: kc.Client, Key: key, Timeout: timeout, Progress: progress}).Run(ctx)
}

// NotOursError refuses to delete a KOF regional cluster k0rdentctl did
// not make.
type NotOursError struct{ Key string }

func (e *NotOursError) Error() string {
	return "ClusterDeployment " + e.Key + " was not made by k0rdentctl; it was left as it is (--force deletes it)"
}

// Refused says this is a guard (exit code 3).
func (e *NotOursError) Refused() bool { return true }

// storageReady looks into the regional cluster: KOF's storage (what the
// kof-regional-cluster MultiClusterService installs into namespace kof)
// has its Deployments and StatefulSets available. It returns what is
// missing, "" when ready.
func storageReady(ctx context.Context, c client.Client, key client.ObjectKey) (string, error) {
	data, err := child.Kubeconfig(ctx, c, key)
	if err != nil {
		return "waiting for the cluster's kubeconfig: " + err.Error(), nil
	}
	rc, err := kube.FromKubeconfig(data)
	if err != nil {
		return "", fmt.Errorf("reading the kubeconfig of %s: %w", key, err)
	}
	var ds appsv1.DeploymentList
	if err := rc.Client.List(ctx, &ds, client.InNamespace(storageNamespace)); err != nil {
		return "cannot list KOF's storage in the regional cluster: " + err.Error(), nil
	}
	var ss appsv1.StatefulSetList
	if err := rc.Client.List(ctx, &ss, client.InNamespace(storageNamespace)); err != nil {
		return "cannot list KOF's storage in the regional cluster: " + err.Error(), nil
	}
	if len(ds.Items)+len(ss.Items) == 0 {
		return "waiting for KOF's storage in the regional cluster (namespace " + storageNamespace + " is empty: k0rdent installs it through MultiClusterService kof-regional-cluster)", nil
	}
	var waiting []string
	for _, d := range ds.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.AvailableReplicas < want {
			waiting = append(waiting, fmt.Sprintf("Deployment %s %d/%d", d.Name, d.Status.AvailableReplicas, want))
		}
	}
	for _, x := range ss.Items {
		want := int32(1)
		if x.Spec.Replicas != nil {
			want = *x.Spec.Replicas
		}
		if x.Status.ReadyReplicas < want {
			waiting = append(waiting, fmt.Sprintf("StatefulSet %s %d/%d", x.Name, x.Status.ReadyReplicas, want))
		}
	}
	if len(waiting) > 0 {
		return "waiting for KOF's storage in the regional cluster: " + strings.Join(waiting, ", "), nil
	}
	return "", nil
}

// storageNamespace is where KOF's storage runs in a regional cluster.
const storageNamespace = "kof"
