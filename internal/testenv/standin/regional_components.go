package standin

import (
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
)

// What k0rdent 1.5.0 installs into a regional cluster, as Deployments: the
// kcm-regional chart (cert-manager 1.19.1, Velero 1.17.0), core Cluster API
// v1.11.2 and the CAPI providers of its Release (CAPZ v1.21.0, k0smotron
// v1.9.0, Sveltos v1.1.1, ...), with the labels their charts and clusterctl
// put on them.

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

func regionalCAPILabels(provider string) map[string]string {
	return map[string]string{"cluster.x-k8s.io/provider": provider, "control-plane": "controller-manager"}
}

// regionalDeployments lists the Deployments of a Region's components.
func regionalDeployments(systemNS string, certManager, velero bool, providers []string) []regionalDeployment {
	var out []regionalDeployment
	kcmRegional := func(name, image string, labels map[string]string) {
		labels["app.kubernetes.io/instance"] = "kcm-regional"
		out = append(out, regionalDeployment{component: componentKCMRegional, chart: componentKCMRegional, namespace: systemNS, name: name, image: image, labels: labels})
	}
	if certManager {
		kcmRegional("kcm-regional-cert-manager", "quay.io/jetstack/cert-manager-controller:v1.19.1",
			map[string]string{"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller", "app.kubernetes.io/version": "v1.19.1"})
		kcmRegional("kcm-regional-cert-manager-webhook", "quay.io/jetstack/cert-manager-webhook:v1.19.1",
			map[string]string{"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook", "app.kubernetes.io/version": "v1.19.1"})
		kcmRegional("kcm-regional-cert-manager-cainjector", "quay.io/jetstack/cert-manager-cainjector:v1.19.1",
			map[string]string{"app.kubernetes.io/name": "cainjector", "app.kubernetes.io/component": "cainjector", "app.kubernetes.io/version": "v1.19.1"})
	}
	if velero {
		kcmRegional("velero", "velero/velero:v1.17.0",
			map[string]string{"app.kubernetes.io/name": "velero", "app.kubernetes.io/component": "velero"})
	}
	out = append(out, regionalDeployment{component: componentCAPI, chart: componentCAPI, namespace: systemNS,
		name: "capi-controller-manager", image: "registry.k8s.io/cluster-api/cluster-api-controller:v1.11.2", labels: regionalCAPILabels("cluster-api")})
	for _, p := range providers {
		add := func(ns, name, image string, labels map[string]string) {
			out = append(out, regionalDeployment{component: p, chart: p, namespace: ns, name: name, image: image, labels: labels})
		}
		switch p {
		case "cluster-api-provider-azure":
			add(systemNS, "capz-controller-manager", "registry.k8s.io/cluster-api-azure/cluster-api-azure-controller:v1.21.0", regionalCAPILabels("infrastructure-azure"))
			add(systemNS, "azureserviceoperator-controller-manager", "mcr.microsoft.com/k8s/azureserviceoperator:v2.11.0", regionalCAPILabels("infrastructure-azure"))
		case "cluster-api-provider-k0sproject-k0smotron":
			for _, kind := range []string{"bootstrap", "control-plane", "infrastructure"} {
				add(systemNS, "k0smotron-controller-manager-"+kind, "quay.io/k0sproject/k0smotron:v1.9.0", regionalCAPILabels(kind+"-k0sproject-k0smotron"))
			}
		case "projectsveltos":
			add("projectsveltos", "addon-controller", "docker.io/projectsveltos/addon-controller:v1.1.1", map[string]string{"control-plane": "addon-controller"})
			add("projectsveltos", "classifier-manager", "docker.io/projectsveltos/classifier:v1.1.1", map[string]string{"control-plane": "classifier"})
		case "cluster-api-provider-aws":
			add(systemNS, "capa-controller-manager", "registry.k8s.io/cluster-api-aws/cluster-api-aws-controller:v2.9.1", regionalCAPILabels("infrastructure-aws"))
		case "cluster-api-provider-gcp":
			add(systemNS, "capg-controller-manager", "registry.k8s.io/cluster-api-gcp/cluster-api-gcp-controller:v1.10.0", regionalCAPILabels("infrastructure-gcp"))
		case "cluster-api-provider-vsphere":
			add(systemNS, "capv-controller-manager", "registry.k8s.io/cluster-api-vsphere/cluster-api-vsphere-controller:v1.14.0", regionalCAPILabels("infrastructure-vsphere"))
		case "cluster-api-provider-openstack":
			add(systemNS, "capo-controller-manager", "registry.k8s.io/capi-openstack/capi-openstack-controller:v0.12.4", regionalCAPILabels("infrastructure-openstack"))
		case "cluster-api-provider-docker":
			add(systemNS, "capd-controller-manager", "gcr.io/k8s-staging-cluster-api/capd-manager:v1.11.2", regionalCAPILabels("infrastructure-docker"))
		default:
			short := strings.TrimPrefix(p, "cluster-api-provider-")
			add(systemNS, short+"-controller-manager", "registry.example.com/"+short+"-controller:v0.0.0", regionalCAPILabels("infrastructure-"+short))
		}
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
