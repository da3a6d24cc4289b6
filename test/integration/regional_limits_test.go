package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// What k0rdent 1.5.0 does not do is reported, not waited for: a region
// without a ProviderInterface for AzureClusterIdentity never gets the
// identity (its Credential never becomes ready), and a registry certificate
// already in a region is never updated.
func TestRegionalDeployReportsWhatK0rdentDoesNotDo(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	ctx := t.Context()
	nopi, stale := w.regionals[0], w.regionals[1]
	for name, kc := range map[string][]byte{"external-nopi": nopi.Kubeconfig, "external-stale": stale.Kubeconfig} {
		rgMust(t, w.mgmt.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: name}, Data: map[string][]byte{"value": kc}}))
	}
	// An older copy of the registry certificate is already in the stale
	// region's cluster.
	rgMust(t, stale.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rgNamespace}}))
	rgMust(t, stale.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCertSecret}, Data: map[string][]byte{"ca.crt": []byte("an older CA")}}))
	w.writeConfig(`        - name: regional-nopi
          location: eastus
          kubeconfig_secret: external-nopi
          components: {capi_providers: [projectsveltos]}
        - name: regional-stale
          location: westeurope
          kubeconfig_secret: external-stale
          credential_propagation: false
          components: {capi_providers: [cluster-api-provider-azure, cluster-api-provider-k0sproject-k0smotron]}`)

	rep, rec, err := w.deploy()
	if err == nil {
		t.Error("deploy succeeded; want both regions to fail")
	}

	r := regionReport(t, rep, "regional-nopi")
	if r.Status != regional.ReportFailed || r.FailedStep != regional.StepCredentials {
		t.Fatalf("regional-nopi: %s at %q, want failed at credentials", r.Status, r.FailedStep)
	}
	for _, want := range []string{"no ProviderInterface for AzureClusterIdentity", "regional cluster regional-nopi", "stays not ready", "ClusterIdentity object of Kind=AzureClusterIdentity kcm-system/azure-cluster-identity not found"} {
		if !strings.Contains(r.Error, want) {
			t.Errorf("regional-nopi: error %q does not say %q", r.Error, want)
		}
	}
	if !strings.Contains(r.Fix, "add cluster-api-provider-azure to components.capi_providers of regional cluster regional-nopi") {
		t.Errorf("regional-nopi: fix %q", r.Fix)
	}
	if s, _ := r.Step(regional.StepCredentials); time.Duration(s.DurationSeconds*float64(time.Second)) > time.Minute {
		t.Errorf("regional-nopi: the credentials step took %.1fs: the missing ProviderInterface must be reported, not waited for until the timeout", s.DurationSeconds)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "will not run Azure child clusters") {
		t.Errorf("regional-nopi: warnings %v, want one about the Azure providers", r.Warnings)
	}
	cred := &kcmv1.Credential{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-regional-nopi"}, cred)
	if cred.Status.Ready {
		t.Error("the Credential of regional-nopi is ready: the stand-in copied an identity without a ProviderInterface")
	}

	r = regionReport(t, rep, "regional-stale")
	if r.Status != regional.ReportFailed || r.FailedStep != regional.StepCertificates {
		t.Fatalf("regional-stale: %s at %q, want failed at certificates", r.Status, r.FailedStep)
	}
	if !strings.Contains(r.Error, "Secret kcm-system/registry-cert in regional cluster regional-stale does not match") || !strings.Contains(r.Error, "never updates it") {
		t.Errorf("regional-stale: error %q", r.Error)
	}
	if !strings.Contains(r.Fix, "k0rdentctl region rotate-certificates regional-stale") {
		t.Errorf("regional-stale: fix %q", r.Fix)
	}
	if s, _ := r.Step(regional.StepCredentials); s.Status != string(state.PhaseSkipped) || !strings.Contains(s.Reason, "credential_propagation is false") {
		t.Errorf("regional-stale: credentials step %s (%s)", s.Status, s.Reason)
	}
	old := &corev1.Secret{}
	rgGet(t, stale.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCertSecret}, old)
	if string(old.Data["ca.crt"]) != "an older CA" {
		t.Error("the stand-in updated an existing certificate copy, which k0rdent 1.5.0 never does")
	}
	if c := regionRecord(t, rec, "regional-stale"); c.Status != state.RegionalFailed || c.CertificatesPropagated || !c.RegionCRDCreated {
		t.Errorf("regional-stale record: %+v", c)
	}
}

// A ClusterDeployment that exists is adopted (not changed, not labelled,
// recorded as adopted); values that break the template's values schema stop
// the creation of another, before anything is created.
func TestRegionalClusterDeploymentAdoptedOrRejected(t *testing.T) {
	w := newRegionalWorld(t, 1, false)
	ctx := t.Context()
	existing := &kcmv1.ClusterDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "existing-cluster"},
		Spec: kcmv1.ClusterDeploymentSpec{Template: "azure-standalone-cp-1-0-8", Credential: rgCredential,
			Config: &apiextv1.JSON{Raw: []byte(`{"location":"eastus","subscriptionID":"x","controlPlane":{"vmSize":"a"},"worker":{"vmSize":"b"}}`)}},
	}
	rgMust(t, w.mgmt.Client.Create(ctx, existing))
	w.standin.SetClusterKubeconfig(rgNamespace, "existing-cluster", w.regionals[0].Kubeconfig)
	w.writeConfig(`        - name: regional-adopted
          location: eastus
          cluster_deployment_ref: existing-cluster
          credential_propagation: false
        - name: regional-rejected
          location: eastus
          cluster_deployment_ref: rejected-cluster
          cluster_deployment:
            values: {controlPlane: {rootVolumeSize: huge}, bastion: {enabled: maybe}}`)

	rep, rec, _ := w.deploy()
	if r := regionReport(t, rep, "regional-adopted"); r.Status != regional.ReportDeployed || r.ClusterDeploymentCreated == nil || *r.ClusterDeploymentCreated {
		t.Errorf("regional-adopted: %s, created %v, want deployed and adopted", r.Status, r.ClusterDeploymentCreated)
	}
	c := regionRecord(t, rec, "regional-adopted")
	if c.ClusterDeploymentOwned || c.Status != state.RegionalDeployed {
		t.Errorf("regional-adopted record: %+v", c)
	}
	out, _ := json.Marshal(c)
	if !strings.Contains(string(out), `"cluster_deployment_created":false`) {
		t.Errorf("the record does not say the ClusterDeployment was adopted: %s", out)
	}
	if countEvents(rec, "regional-adopted", regional.EventClusterDeploymentAdopt) != 1 || countEvents(rec, "regional-adopted", regional.EventClusterDeploymentCreate) != 0 {
		t.Errorf("regional-adopted events: %v", eventTypes(rec, "regional-adopted"))
	}
	after := &kcmv1.ClusterDeployment{}
	rgGet(t, w.mgmt.Client, client.ObjectKeyFromObject(existing), after)
	if after.Generation != 1 || after.Labels[regional.LabelManagedBy] != "" || after.Spec.Template != "azure-standalone-cp-1-0-8" {
		t.Errorf("the adopted ClusterDeployment was changed: generation %d labels %v template %s", after.Generation, after.Labels, after.Spec.Template)
	}
	adopted := false
	for _, res := range rec.Resources {
		adopted = adopted || (res.Kind == "ClusterDeployment" && res.Name == "existing-cluster" && res.Adopted && res.Region == "regional-adopted")
	}
	if !adopted {
		t.Errorf("resources %+v: the adopted ClusterDeployment is not recorded as adopted", rec.Resources)
	}

	r := regionReport(t, rep, "regional-rejected")
	if r.Status != regional.ReportFailed || r.FailedStep != regional.StepCluster {
		t.Fatalf("regional-rejected: %s at %q", r.Status, r.FailedStep)
	}
	for _, want := range []string{"values rejected by the template's schema", "ClusterTemplate " + rgTemplate, "/controlPlane/rootVolumeSize", "/bastion/enabled"} {
		if !strings.Contains(r.Error, want) {
			t.Errorf("regional-rejected: error %q does not say %q", r.Error, want)
		}
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "rejected-cluster"}, &kcmv1.ClusterDeployment{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-rejected"}, &kcmv1.Region{})
}
