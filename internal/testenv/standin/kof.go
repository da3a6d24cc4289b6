package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KOFOperator stands in for KOF 1.5's kof-operator
// (kof-operator/internal/controller, KOF-1.5-FACTS.md sections 3 and 4):
// for a Ready ClusterDeployment labelled kof-cluster-role: regional it
// writes ConfigMap kof-<name> (cloud from the template's prefix, location,
// endpoints: https://vmauth.<domain>/… and https://jaeger.<domain>/… from
// the kof-regional-domain cluster annotation, or in-mesh addresses with
// istio-role); with neither it writes nothing (the operator logs "neither
// endpoint nor regional domain is set"). For a child (kof-cluster-role:
// child) it picks the regional named by kof-regional-cluster-name, else
// the first Ready regional of its namespace in the same cloud and
// location, and writes kof-cluster-config-<child>. It does nothing else:
// no storage in the regional cluster, no certificates.
type KOFOperator struct {
	Client client.Client
}

func (k *KOFOperator) Name() string { return "kof-operator" }

const (
	kofRole        = "k0rdent.mirantis.com/kof-cluster-role"
	kofIstioRole   = "k0rdent.mirantis.com/istio-role"
	kofRegionalKey = "k0rdent.mirantis.com/kof-regional-cluster-name"
	kofDomain      = "k0rdent.mirantis.com/kof-regional-domain"
)

// Reconcile makes the ConfigMaps of every labelled ClusterDeployment.
func (k *KOFOperator) Reconcile(ctx context.Context) error {
	var cds kcmv1.ClusterDeploymentList
	if err := k.Client.List(ctx, &cds, client.HasLabels{kofRole}); err != nil {
		return err
	}
	type regional struct {
		cd       kcmv1.ClusterDeployment
		location string
		cloud    string
	}
	var regionals []regional
	for _, cd := range cds.Items {
		if cd.Labels[kofRole] != "regional" || !meta.IsStatusConditionTrue(cd.Status.Conditions, kcmv1.ReadyCondition) {
			continue
		}
		cfg := clusterConfig(&cd)
		loc, _ := cfg["location"].(string)
		cloud, _, _ := strings.Cut(cd.Spec.Template, "-")
		data := map[string]string{"regional_cluster_name": cd.Name, "regional_cluster_namespace": cd.Namespace, "cloud": cloud, cloud + "_location": loc}
		ann, _ := cfg["clusterAnnotations"].(map[string]any)
		domain, _ := ann[kofDomain].(string)
		switch {
		case cd.Labels[kofIstioRole] != "":
			base := "http://" + cd.Name + "-vmauth:8427"
			data["read_metrics_endpoint"] = base + "/vm/select/0/prometheus"
			data["write_metrics_endpoint"] = base + "/vm/insert/0/prometheus/api/v1/write"
			data["write_logs_endpoint"] = base + "/vli/insert/opentelemetry/v1/logs"
			data["write_traces_endpoint"] = "http://" + cd.Name + "-jaeger-collector:4318"
		case domain != "":
			data["read_metrics_endpoint"] = "https://vmauth." + domain + "/vm/select/0/prometheus"
			data["write_metrics_endpoint"] = "https://vmauth." + domain + "/vm/insert/0/prometheus/api/v1/write"
			data["write_logs_endpoint"] = "https://vmauth." + domain + "/vli/insert/opentelemetry/v1/logs"
			data["write_traces_endpoint"] = "https://jaeger." + domain + "/collector"
		default:
			continue // neither endpoint nor regional domain is set
		}
		if err := k.write(ctx, cd.Namespace, "kof-"+cd.Name, data); err != nil {
			return err
		}
		regionals = append(regionals, regional{cd: cd, location: loc, cloud: cloud})
	}
	for _, cd := range cds.Items {
		if cd.Labels[kofRole] != "child" {
			continue
		}
		loc, _ := clusterConfig(&cd)["location"].(string)
		cloud, _, _ := strings.Cut(cd.Spec.Template, "-")
		var pick *regional
		for i := range regionals {
			r := &regionals[i]
			if name := cd.Labels[kofRegionalKey]; name != "" {
				if r.cd.Name == name {
					pick = r
				}
				continue
			}
			if pick == nil && r.cd.Namespace == cd.Namespace && r.cloud == cloud && r.location == loc {
				pick = r
			}
		}
		if pick == nil {
			continue
		}
		if err := k.write(ctx, cd.Namespace, "kof-cluster-config-"+cd.Name, map[string]string{
			"regional_cluster_name": pick.cd.Name, "regional_cluster_namespace": pick.cd.Namespace}); err != nil {
			return err
		}
	}
	return nil
}

func clusterConfig(cd *kcmv1.ClusterDeployment) map[string]any {
	out := map[string]any{}
	if cd.Spec.Config != nil {
		_ = json.Unmarshal(cd.Spec.Config.Raw, &out)
	}
	return out
}

func (k *KOFOperator) write(ctx context.Context, ns, name string, data map[string]string) error {
	cm := &corev1.ConfigMap{}
	err := k.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
		return k.Client.Create(ctx, cm)
	case err != nil:
		return fmt.Errorf("reading ConfigMap %s/%s: %w", ns, name, err)
	}
	if maps.Equal(cm.Data, data) {
		return nil
	}
	cm.Data = data
	return k.Client.Update(ctx, cm)
}

// KOFServices stands in for k0rdent's MultiClusterService controller with
// Sveltos as far as KOF's regional clusters go: to a Ready ClusterDeployment
// that a MultiClusterService named kof-*regional-cluster selects, once
// that service's references are valid, it "installs" KOF's storage: in the
// cluster behind the ClusterDeployment's kubeconfig Secret, namespace kof
// and a Deployment kof-storage-victoria-metrics, made available as the
// kubelet would. Nothing for a cluster no such service selects.
type KOFServices struct {
	Management client.Client

	mu      sync.Mutex
	clients map[string]client.Client
}

func (k *KOFServices) Name() string { return "kof-services" }

// Reconcile installs the storage where it is due.
func (k *KOFServices) Reconcile(ctx context.Context) error {
	var mcss kcmv1.MultiClusterServiceList
	if err := k.Management.List(ctx, &mcss); err != nil {
		return err
	}
	var sels []labels.Selector
	for _, m := range mcss.Items {
		if !strings.HasSuffix(m.Name, "regional-cluster") || !meta.IsStatusConditionTrue(m.Status.Conditions, kcmv1.ServicesReferencesValidationCondition) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&m.Spec.ClusterSelector)
		if err != nil {
			return err
		}
		sels = append(sels, sel)
	}
	var cds kcmv1.ClusterDeploymentList
	if err := k.Management.List(ctx, &cds, client.HasLabels{kofRole}); err != nil {
		return err
	}
	for _, cd := range cds.Items {
		if !meta.IsStatusConditionTrue(cd.Status.Conditions, kcmv1.ReadyCondition) {
			continue
		}
		selected := false
		for _, s := range sels {
			selected = selected || s.Matches(labels.Set(cd.Labels))
		}
		if !selected {
			continue
		}
		rc, err := k.cluster(ctx, cd.Namespace, cd.Name)
		if err != nil || rc == nil {
			continue // no kubeconfig yet
		}
		if err := installStorage(ctx, rc); err != nil {
			return fmt.Errorf("KOF storage in %s/%s: %w", cd.Namespace, cd.Name, err)
		}
	}
	return nil
}

func (k *KOFServices) cluster(ctx context.Context, ns, name string) (client.Client, error) {
	sec := &corev1.Secret{}
	if err := k.Management.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-kubeconfig"}, sec); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	data := sec.Data["value"]
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.clients == nil {
		k.clients = map[string]client.Client{}
	}
	if c, ok := k.clients[string(data)]; ok {
		return c, nil
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, err
	}
	k.clients[string(data)] = c
	return c, nil
}

func installStorage(ctx context.Context, c client.Client) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kof"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	sel := map[string]string{"app.kubernetes.io/name": "victoria-metrics"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kof", Name: "kof-storage-victoria-metrics"}}
	err := c.Get(ctx, client.ObjectKeyFromObject(d), d)
	if apierrors.IsNotFound(err) {
		d.Spec = appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vm", Image: "registry.invalid/victoria-metrics:1.5.0"}}}}}
		if err := c.Create(ctx, d); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if d.Status.AvailableReplicas >= 1 {
		return nil
	}
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1, 1
	return c.Status().Update(ctx, d)
}
