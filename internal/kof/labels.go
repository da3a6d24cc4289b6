package kof

import (
	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Labels and annotations KOF 1.5's operator and MultiClusterServices read
// (KOF-1.5-FACTS.md sections 3 and 4).
const (
	LabelStorageSecrets = "k0rdent.mirantis.com/kof-storage-secrets"
	LabelIstioRole      = "k0rdent.mirantis.com/istio-role"
	LabelIstioGateway   = "k0rdent.mirantis.com/istio-gateway"
	LabelIstioMesh      = "k0rdent.mirantis.com/istio-mesh"
	LabelRegionalName   = "k0rdent.mirantis.com/kof-regional-cluster-name"
	LabelRegionalNS     = "k0rdent.mirantis.com/kof-regional-cluster-namespace"
	AnnotationDomain    = "k0rdent.mirantis.com/kof-regional-domain"
	AnnotationCertEmail = "k0rdent.mirantis.com/kof-cert-email"
	RoleRegional        = "regional"
	RoleChild           = "child"
	istioMember         = "member"
)

// RegionalLabels are the KOF regional cluster's ClusterDeployment labels:
// with Istio, a mesh member with a gateway (and the region's mesh when it
// is placed in one); without, the storage secrets.
func RegionalLabels(cfg *config.Config) map[string]string {
	l := map[string]string{LabelClusterRole: RoleRegional}
	if cfg.KOF.Istio.IsEnabled() {
		l[LabelIstioRole], l[LabelIstioGateway] = istioMember, "true"
		if r := cfg.KOF.Regional.Region; r != "" {
			l[LabelIstioMesh] = r
		}
	} else {
		l[LabelStorageSecrets] = "true"
	}
	return l
}

// RegionalAnnotations go into spec.config.clusterAnnotations (the CAPI
// Cluster, where KOF's MultiClusterServices look): the domain and the
// certificate e-mail; none with Istio, whose endpoints are in the mesh.
func RegionalAnnotations(cfg *config.Config) map[string]any {
	if cfg.KOF.Istio.IsEnabled() {
		return nil
	}
	return map[string]any{AnnotationDomain: cfg.KOF.Regional.Domain, AnnotationCertEmail: cfg.KOF.Regional.AdminEmail}
}

// ChildLabels label a child cluster for KOF: its collectors ship to the
// KOF regional cluster, named when it is in the child's location (as KOF's
// operator would choose it, but stated).
func ChildLabels(cfg *config.Config, location, region string) map[string]string {
	l := map[string]string{LabelClusterRole: RoleChild}
	if cfg.KOF.Istio.IsEnabled() {
		l[LabelIstioRole] = istioMember
		if region != "" {
			l[LabelIstioMesh] = region
		}
	} else {
		l[LabelStorageSecrets] = "true"
	}
	if r := cfg.KOF.Regional; r.Location == location {
		l[LabelRegionalName], l[LabelRegionalNS] = r.Name, r.Namespace
	}
	return l
}

// ChildSpec is a configured child cluster's spec, labelled for KOF when
// it asks for it (kof: true).
func ChildSpec(cfg *config.Config, cc config.ChildCluster) child.Spec {
	s := child.SpecFrom(cc)
	if cc.KOF {
		s.Labels = ChildLabels(cfg, cc.Location, cc.Region)
	}
	return s
}
