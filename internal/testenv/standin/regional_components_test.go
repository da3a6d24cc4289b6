package standin

import (
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The components come from the kcm module's charts: the kcm-regional
// subcharts that the Region's values enable, the chart's own rendered
// Deployments, and the versions the provider charts pin.
func TestRegionalDeploymentsComeFromTheCharts(t *testing.T) {
	s := &Regional{opts: RegionalOptions{SystemNamespace: "kcm-system"}}
	rg := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	rg.Spec.Core = &kcmv1.Core{KCM: kcmv1.Component{Config: &apiextv1.JSON{Raw: []byte(`{"velero":{"enabled":false}}`)}}}
	rg.Spec.Providers = []kcmv1.Provider{{Name: "cluster-api-provider-azure"}, {Name: "cluster-api-provider-k0sproject-k0smotron"}}
	deps, err := s.regionalDeployments(t.Context(), rg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]regionalDeployment{}
	for _, d := range deps {
		got[d.name] = d
	}
	for name, image := range map[string]string{
		"kcm-regional-cert-manager":                   "quay.io/jetstack/cert-manager-controller:v1.19.1",
		"capi-controller-manager":                     "registry.k8s.io/cluster-api/cluster-api-controller:v1.11.2",
		"capz-controller-manager":                     "registry.k8s.io/cluster-api-azure/cluster-api-azure-controller:v1.21.0",
		"k0smotron-controller-manager-bootstrap":      "quay.io/k0sproject/k0smotron:v1.9.0",
		"k0smotron-controller-manager-control-plane":  "quay.io/k0sproject/k0smotron:v1.9.0",
		"k0smotron-controller-manager-infrastructure": "quay.io/k0sproject/k0smotron:v1.9.0",
	} {
		if d, ok := got[name]; !ok || d.image != image {
			t.Errorf("Deployment %s: %+v, want image %s", name, d, image)
		}
	}
	if _, ok := got["velero"]; ok {
		t.Error("velero is installed although the Region disables it")
	}
	if _, ok := got["capi-operator-cluster-api-operator"]; ok {
		t.Error("cluster-api-operator is installed although the chart's values disable it")
	}
	// The chart's own template: the telemetry runner (telemetry.mode online).
	tel, ok := got["kcm-regional-telemetry"]
	if !ok || tel.component != componentKCMRegional || tel.image == "" {
		t.Errorf("the kcm-regional chart's telemetry Deployment: %+v (found %t)", tel, ok)
	}

	rg.Spec.Core.KCM.Config.Raw = []byte(`{"cert-manager":{"enabled":false},"telemetry":{"mode":"disabled"}}`)
	rg.Spec.Providers = nil
	deps, err = s.regionalDeployments(t.Context(), rg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range deps {
		names = append(names, d.name)
	}
	if len(names) != 2 || names[0] != "velero" || names[1] != "capi-controller-manager" {
		t.Errorf("cert-manager and telemetry off, no providers: %v, want [velero capi-controller-manager]", names)
	}
}
