package kof

import (
	"errors"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

func kofConfig(t *testing.T, istio bool) *config.Config {
	t.Helper()
	cfg := &config.Config{}
	cfg.KOF.Enabled = true
	cfg.KOF.Istio.Enabled = &istio
	cfg.Azure.Location = "eastus"
	cfg.KOF.Mothership.Values = map[string]any{"global": map[string]any{"clusterName": "mgmt"}, "kcm": map[string]any{"kof": map[string]any{"operator": map[string]any{"crossNamespace": true}}}}
	cfg.ApplyDefaults()
	return cfg
}

// The order KOF 1.5 needs, Istio first when on, and the mothership's
// values: installTemplates and the storage class set, the user's merged
// over them key by key.
func TestStepsOrderAndValues(t *testing.T) {
	var names []string
	for _, s := range Steps(kofConfig(t, true), "/cfg", "managed-csi") {
		names = append(names, s.Release)
	}
	if got := strings.Join(names, ","); got != "k0rdent-istio-base,k0rdent-istio,kof-operators,kof-mothership,kof-regional,kof-child" {
		t.Errorf("order %s", got)
	}
	steps := Steps(kofConfig(t, false), "/cfg", "managed-csi")
	if steps[0].Release != ReleaseOperators || len(steps) != 4 {
		t.Fatalf("without Istio: %d steps from %s", len(steps), steps[0].Release)
	}
	m := steps[1]
	kcm := m.Values["kcm"].(map[string]any)
	global := m.Values["global"].(map[string]any)
	if !m.Webhook || kcm["installTemplates"] != true || kcm["kof"] == nil || global["storageClass"] != "managed-csi" || global["clusterName"] != "mgmt" {
		t.Errorf("kof-mothership values %v", m.Values)
	}
	if deps := steps[2].Values["istioMcs"].(map[string]any)["dependsOn"].([]any); len(deps) != 0 {
		t.Errorf("kof-regional without Istio: istioMcs.dependsOn %v, want []", deps)
	}
	if steps[0].Source.Ref() != "oci://ghcr.io/k0rdent/kof/charts/kof-operators:1.5.0" {
		t.Errorf("source %s", steps[0].Source.Ref())
	}
}

func TestLabelsForKOF(t *testing.T) {
	cfg := kofConfig(t, false)
	cfg.KOF.Regional.Domain, cfg.KOF.Regional.AdminEmail = "kof.example.com", "a@example.com"
	r := RegionalLabels(cfg)
	if r[LabelClusterRole] != RoleRegional || r[LabelStorageSecrets] != "true" || r[LabelIstioRole] != "" {
		t.Errorf("regional without Istio: %v", r)
	}
	if a := RegionalAnnotations(cfg); a[AnnotationDomain] != "kof.example.com" || a[AnnotationCertEmail] != "a@example.com" {
		t.Errorf("annotations %v", a)
	}
	c := ChildLabels(cfg, "eastus", "")
	if c[LabelClusterRole] != RoleChild || c[LabelRegionalName] != "kof-regional" {
		t.Errorf("child in the regional's location: %v", c)
	}
	if c := ChildLabels(cfg, "westeurope", ""); c[LabelRegionalName] != "" {
		t.Errorf("child elsewhere names a regional: %v", c)
	}
	istio := kofConfig(t, true)
	istio.KOF.Regional.Region = "regional-useast"
	if r := RegionalLabels(istio); r[LabelIstioRole] != "member" || r[LabelIstioGateway] != "true" || r[LabelIstioMesh] != "regional-useast" || r[LabelStorageSecrets] != "" {
		t.Errorf("regional with Istio in a region: %v", r)
	}
	if RegionalAnnotations(istio) != nil {
		t.Error("with Istio, the endpoints are in the mesh: no domain annotations")
	}
}

func TestRegionalWithoutIstioOnKOF15IsRefused(t *testing.T) {
	var ni *NoIstioError
	if err := CheckRegional(kofConfig(t, false)); !errors.As(err, &ni) || !strings.Contains(err.Error(), "kof.istio.enabled: true") {
		t.Errorf("err = %v", err)
	}
	if err := CheckRegional(kofConfig(t, true)); err != nil {
		t.Errorf("with Istio: %v", err)
	}
	late := kofConfig(t, false)
	late.KOF.Version = "1.8.1"
	if err := CheckRegional(late); err != nil {
		t.Errorf("KOF 1.8.1 without Istio: %v", err)
	}
}
