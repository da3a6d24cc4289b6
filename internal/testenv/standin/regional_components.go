package standin

// What k0rdent 1.5.0 installs into a regional cluster, derived from the
// charts in the kcm module (templates/provider/*), not from
// internal/regional's own table, so that the stand-in is an oracle for it:
//
//   - kcm-regional (the Region's HelmRelease "<region>-kcm-regional"): its
//     values.yaml merged with the Region's spec.core.kcm.config, as Helm
//     merges them. The subcharts whose Chart.yaml condition holds are
//     installed (cert-manager, velero, cluster-api-operator), and the
//     chart's own templates are rendered with the Helm SDK: the Deployments
//     they produce (the telemetry runner) are installed as they render.
//   - capi and each provider of spec.providers: the chart's appVersion is
//     the version installed, and its rendered *Provider objects (Cluster API
//     operator kinds) give clusterctl's provider labels
//     ("infrastructure-azure", "bootstrap-k0sproject-k0smotron", ...).
//
// What the module does not hold is the subcharts' and clusterctl
// manifests' own Deployments (the dependencies are fetched at build time):
// their names, images and labels are listed below, keyed by subchart or by
// clusterctl provider label, with the versions the charts pin.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

// componentKCMRegional, componentCAPI are Region status.components names.
const (
	componentKCMRegional = kcmv1.CoreKCMRegionalName
	componentCAPI        = kcmv1.CoreCAPIName
)

// regionalDeployment is one Deployment a Region installs.
type regionalDeployment struct {
	component string // Region status.components name
	chart     string // HelmRelease chart: the Flux label is "<region>-<chart>"
	namespace string
	name      string
	image     string
	labels    map[string]string
}

// subchartDeployments are the Deployments of the kcm-regional subcharts
// (release "kcm-regional"), given the version the chart pins.
var subchartDeployments = map[string]func(ns, version string) []regionalDeployment{
	"cert-manager": func(ns, v string) []regionalDeployment {
		v = "v" + strings.TrimPrefix(v, "v")
		mk := func(name, image, appName, comp string) regionalDeployment {
			return regionalDeployment{namespace: ns, name: name, image: image + ":" + v, labels: map[string]string{
				"app.kubernetes.io/name": appName, "app.kubernetes.io/component": comp, "app.kubernetes.io/version": v}}
		}
		return []regionalDeployment{
			mk("kcm-regional-cert-manager", "quay.io/jetstack/cert-manager-controller", "cert-manager", "controller"),
			mk("kcm-regional-cert-manager-webhook", "quay.io/jetstack/cert-manager-webhook", "webhook", "webhook"),
			mk("kcm-regional-cert-manager-cainjector", "quay.io/jetstack/cert-manager-cainjector", "cainjector", "cainjector"),
		}
	},
	// The velero chart 11.0.0 runs Velero 1.17.0; values set
	// fullnameOverride: velero.
	"velero": func(ns, _ string) []regionalDeployment {
		return []regionalDeployment{{namespace: ns, name: "velero", image: "velero/velero:v1.17.0",
			labels: map[string]string{"app.kubernetes.io/name": "velero", "app.kubernetes.io/component": "velero"}}}
	},
	"cluster-api-operator": func(ns, v string) []regionalDeployment {
		return []regionalDeployment{{namespace: ns, name: "capi-operator-cluster-api-operator", image: "registry.k8s.io/capi-operator/cluster-api-operator:v" + strings.TrimPrefix(v, "v"),
			labels: map[string]string{"app.kubernetes.io/name": "cluster-api-operator"}}}
	},
}

// clusterctlDeployment is a Deployment of a provider's clusterctl
// manifests, keyed by clusterctl's provider label; the image is without
// its tag (the chart's appVersion).
type clusterctlDeployment struct{ name, image string }

var clusterctlDeployments = map[string][]clusterctlDeployment{
	"cluster-api":                         {{"capi-controller-manager", "registry.k8s.io/cluster-api/cluster-api-controller"}},
	"infrastructure-azure":                {{"capz-controller-manager", "registry.k8s.io/cluster-api-azure/cluster-api-azure-controller"}},
	"infrastructure-aws":                  {{"capa-controller-manager", "registry.k8s.io/cluster-api-aws/cluster-api-aws-controller"}},
	"infrastructure-gcp":                  {{"capg-controller-manager", "registry.k8s.io/cluster-api-gcp/cluster-api-gcp-controller"}},
	"infrastructure-vsphere":              {{"capv-controller-manager", "registry.k8s.io/cluster-api-vsphere/cluster-api-vsphere-controller"}},
	"infrastructure-openstack":            {{"capo-controller-manager", "registry.k8s.io/capi-openstack/capi-openstack-controller"}},
	"infrastructure-docker":               {{"capd-controller-manager", "gcr.io/k8s-staging-cluster-api/capd-manager"}},
	"infrastructure-k0sproject-k0smotron": {{"k0smotron-controller-manager-infrastructure", "quay.io/k0sproject/k0smotron"}},
	"bootstrap-k0sproject-k0smotron":      {{"k0smotron-controller-manager-bootstrap", "quay.io/k0sproject/k0smotron"}},
	"control-plane-k0sproject-k0smotron":  {{"k0smotron-controller-manager-control-plane", "quay.io/k0sproject/k0smotron"}},
}

// asoImage is the Azure Service Operator the CAPZ chart patches in (its
// provider.yaml's $asoVersion).
const asoImage = "mcr.microsoft.com/k8s/azureserviceoperator:v2.11.0"

// Sveltos is not a Cluster API provider: its chart is two subcharts, whose
// Deployments carry these control-plane labels.
var sveltosDeployments = []struct{ name, image, controlPlane string }{
	{"addon-controller", "docker.io/projectsveltos/addon-controller", "addon-controller"},
	{"classifier-manager", "docker.io/projectsveltos/classifier", "classifier"},
}

// regionalCharts are the kcm module's provider charts, loaded once.
type regionalCharts struct {
	dir    string // templates/provider
	charts map[string]*chart.Chart
}

func (s *Regional) charts(ctx context.Context) (*regionalCharts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chartCache != nil {
		return s.chartCache, nil
	}
	kcmCRDs, err := testenv.KCMCRDDir(ctx)
	if err != nil {
		return nil, err
	}
	// .../templates/provider/kcm/templates/crds -> .../templates/provider
	s.chartCache = &regionalCharts{dir: filepath.Dir(filepath.Dir(filepath.Dir(kcmCRDs))), charts: map[string]*chart.Chart{}}
	return s.chartCache, nil
}

func (c *regionalCharts) load(name string) (*chart.Chart, error) {
	if ch, ok := c.charts[name]; ok {
		return ch, nil
	}
	dir := filepath.Join(c.dir, name)
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return nil, fmt.Errorf("no chart %s in the kcm module (%s)", name, c.dir)
	}
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", dir, err)
	}
	c.charts[name] = ch
	return ch, nil
}

// render renders a chart's own templates with values (the release is named
// after the chart, in namespace ns) and returns the objects.
func render(ch *chart.Chart, values map[string]any, ns string) (chartutil.Values, []*unstructured.Unstructured, error) {
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{Name: ch.Name(), Namespace: ns, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, nil, fmt.Errorf("values of chart %s: %w", ch.Name(), err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, nil, fmt.Errorf("rendering chart %s: %w", ch.Name(), err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") || strings.Contains(n, "/crds/") {
			continue
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(files[n])), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, nil, fmt.Errorf("rendered %s: %w", n, err)
			}
			if u.GetKind() != "" {
				objs = append(objs, u)
			}
		}
	}
	return vals, objs, nil
}

// regionConfig is a Region's spec.core.kcm.config: the kcm-regional values.
func regionConfig(rg *kcmv1.Region) (map[string]any, error) {
	cfg := map[string]any{}
	if rg.Spec.Core != nil && rg.Spec.Core.KCM.Config != nil {
		if err := json.Unmarshal(rg.Spec.Core.KCM.Config.Raw, &cfg); err != nil {
			return nil, fmt.Errorf("spec.core.kcm.config: %w", err)
		}
	}
	return cfg, nil
}

// regionalDeployments lists the Deployments a Region installs, from the
// charts.
func (s *Regional) regionalDeployments(ctx context.Context, rg *kcmv1.Region) ([]regionalDeployment, error) {
	charts, err := s.charts(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock() // the chart cache is shared by the loop's passes
	defer s.mu.Unlock()
	ns := s.opts.SystemNamespace
	var out []regionalDeployment

	// kcm-regional: the enabled subcharts and the chart's own Deployments.
	ch, err := charts.load(componentKCMRegional)
	if err != nil {
		return nil, err
	}
	cfg, err := regionConfig(rg)
	if err != nil {
		return nil, err
	}
	vals, objs, err := render(ch, cfg, ns)
	if err != nil {
		return nil, err
	}
	values, _ := vals["Values"].(chartutil.Values)
	add := func(component string, ds ...regionalDeployment) {
		for _, d := range ds {
			d.component, d.chart = component, component
			if d.labels == nil {
				d.labels = map[string]string{}
			}
			out = append(out, d)
		}
	}
	for _, dep := range ch.Metadata.Dependencies {
		enabled := true // Helm: a condition that is not set leaves the subchart on
		if dep.Condition != "" {
			if v, err := values.PathValue(dep.Condition); err == nil {
				b, ok := v.(bool)
				enabled = !ok || b
			}
		}
		if !enabled {
			continue
		}
		mk, ok := subchartDeployments[dep.Name]
		if !ok {
			return nil, fmt.Errorf("kcm-regional subchart %s: the stand-in does not know its Deployments", dep.Name)
		}
		ds := mk(ns, dep.Version)
		for i := range ds {
			ds[i].labels["app.kubernetes.io/instance"] = componentKCMRegional
		}
		add(componentKCMRegional, ds...)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
			return nil, fmt.Errorf("rendered Deployment %s: %w", o.GetName(), err)
		}
		rd := regionalDeployment{namespace: ns, name: d.Name, labels: d.Labels}
		if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
			rd.image = cs[0].Image
		}
		add(componentKCMRegional, rd)
	}

	// capi and the providers.
	for _, p := range append([]string{"cluster-api"}, providerNames(rg)...) {
		component := p
		if p == "cluster-api" {
			component = componentCAPI
		}
		pch, err := charts.load(p)
		if err != nil {
			return nil, err
		}
		version := pch.Metadata.AppVersion
		if p == "projectsveltos" {
			for _, d := range sveltosDeployments {
				add(component, regionalDeployment{namespace: "projectsveltos", name: d.name, image: d.image + ":" + version,
					labels: map[string]string{"control-plane": d.controlPlane}})
			}
			continue
		}
		_, pobjs, err := render(pch, nil, ns)
		if err != nil {
			return nil, err
		}
		found := false
		for _, o := range pobjs {
			label, ok := clusterctlLabel(o)
			if !ok {
				continue
			}
			found = true
			ds, ok := clusterctlDeployments[label]
			if !ok {
				return nil, fmt.Errorf("chart %s installs provider %s: the stand-in does not know its Deployments", p, label)
			}
			for _, d := range ds {
				add(component, regionalDeployment{namespace: ns, name: d.name, image: d.image + ":" + version,
					labels: map[string]string{"cluster.x-k8s.io/provider": label, "control-plane": "controller-manager"}})
			}
			if label == "infrastructure-azure" {
				add(component, regionalDeployment{namespace: ns, name: "azureserviceoperator-controller-manager", image: asoImage,
					labels: map[string]string{"cluster.x-k8s.io/provider": label, "control-plane": "controller-manager"}})
			}
		}
		if !found {
			return nil, fmt.Errorf("chart %s renders no Cluster API provider", p)
		}
	}
	return out, nil
}

// clusterctlLabel is clusterctl's cluster.x-k8s.io/provider value for a
// Cluster API operator provider object.
func clusterctlLabel(o *unstructured.Unstructured) (string, bool) {
	if !strings.HasPrefix(o.GetAPIVersion(), "operator.cluster.x-k8s.io/") {
		return "", false
	}
	switch o.GetKind() {
	case "CoreProvider":
		return o.GetName(), true
	case "InfrastructureProvider":
		return "infrastructure-" + o.GetName(), true
	case "BootstrapProvider":
		return "bootstrap-" + o.GetName(), true
	case "ControlPlaneProvider":
		return "control-plane-" + o.GetName(), true
	case "IPAMProvider":
		return "ipam-" + o.GetName(), true
	case "AddonProvider":
		return "addon-" + o.GetName(), true
	}
	return "", false
}

func providerNames(rg *kcmv1.Region) []string {
	var out []string
	for _, p := range rg.Spec.Providers {
		out = append(out, p.Name)
	}
	return out
}

// providerInterface is the ProviderInterface a provider's chart installs
// (k0rdent 1.5.0's templates/provider/*/templates/interface.yaml).
func regionalProviderInterface(provider string) *kcmv1.ProviderInterface {
	pi := &kcmv1.ProviderInterface{}
	pi.Name = provider
	pi.Annotations = map[string]string{"helm.sh/resource-policy": "keep"}
	switch provider {
	case "cluster-api-provider-azure":
		pi.Spec = kcmv1.ProviderInterfaceSpec{
			Description: "Azure infrastructure provider for Cluster API",
			ClusterGVKs: []kcmv1.GroupVersionKind{
				{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Kind: "AzureCluster"},
				{Group: "infrastructure.cluster.x-k8s.io", Version: "v1alpha1", Kind: "AzureASOManagedCluster"},
			},
			ClusterIdentities: []kcmv1.ClusterIdentity{
				{
					GroupVersionKind: kcmv1.GroupVersionKind{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Kind: "AzureClusterIdentity"},
					References: []kcmv1.ClusterIdentityReference{{
						GroupVersionKind:   kcmv1.GroupVersionKind{Group: "", Version: "v1", Kind: "Secret"},
						NameFieldPath:      "spec.clientSecret.name",
						NamespaceFieldPath: "spec.clientSecret.namespace",
					}},
				},
				{GroupVersionKind: kcmv1.GroupVersionKind{Group: "", Version: "v1", Kind: "Secret"}},
			},
		}
	case "cluster-api-provider-k0sproject-k0smotron":
		pi.Spec = kcmv1.ProviderInterfaceSpec{
			Description:       "K0smotron providers for Cluster API",
			ClusterGVKs:       []kcmv1.GroupVersionKind{{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Kind: "RemoteCluster"}},
			ClusterIdentities: []kcmv1.ClusterIdentity{{GroupVersionKind: kcmv1.GroupVersionKind{Group: "", Version: "v1", Kind: "Secret"}}},
		}
	case "projectsveltos":
		return nil // a services provider: its chart has no ProviderInterface
	default:
		pi.Spec = kcmv1.ProviderInterfaceSpec{Description: provider}
	}
	return pi
}
