package regional

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// These unit tests look at the management cluster through controller-
// runtime's fake client: what the operations decide from the objects they
// read. What they do against real API servers, with k0rdent's stand-in, is
// in test/integration/regional_ops_test.go.

const opsTestConfig = `
metadata: {name: ops-test}
management: {mode: existing, kubeconfig: ./mgmt.kubeconfig}
azure: {location: eastus, subscription_id: 00000000-0000-0000-0000-000000000001}
software:
  k0rdent:
    regional:
      enabled: true
      clusters:
        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu
        - name: regional-new
          location: northeurope
          kubeconfig_secret: external-new
          credential_propagation: false
`

const opsDeploymentID = "k0rdent-abcd1234"

type opsFakeManagement struct {
	c   *kube.Clients
	err error
}

func (f opsFakeManagement) Clients(context.Context) (*kube.Clients, error) { return f.c, f.err }

func opsParse(t *testing.T, y string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(y))
	if diags.HasErrors() {
		t.Fatalf("test configuration is invalid: %v", diags)
	}
	return cfg
}

// opsFiles puts kubeconfig files in a folder.
type opsFiles string

func (f opsFiles) KubeconfigPath(name string) string {
	return filepath.Join(string(f), "kubeconfigs", name+".kubeconfig")
}

func opsEnv(t *testing.T, cfgYAML string, objs ...client.Object) (*Env, client.Client) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(kube.NewScheme()).WithObjects(objs...).Build()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubeconfigs"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := &Env{
		Config:       opsParse(t, cfgYAML),
		Management:   opsFakeManagement{c: &kube.Clients{Client: c, Server: "https://mgmt.example:6443"}},
		Files:        opsFiles(dir),
		DeploymentID: opsDeploymentID,
		Now:          func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
		Interval:     10 * time.Millisecond,
	}
	return env, c
}

func ourLabels(region string) map[string]string { return Labels(region, opsDeploymentID) }

func opsRegion(name string, labels map[string]string, ready bool, reason string, cd *kcmv1.ClusterDeploymentRef) *kcmv1.Region {
	rg := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Generation: 1}}
	if cd != nil {
		rg.Spec.ClusterDeployment = cd
	} else {
		rg.Spec.KubeConfig = &fluxmeta.SecretKeyReference{Name: "external-" + strings.TrimPrefix(name, "regional-"), Key: "value"}
	}
	rg.Spec.Core = &kcmv1.Core{KCM: kcmv1.Component{Config: &apiextv1.JSON{Raw: []byte(`{"cert-manager":{"enabled":true},"velero":{"enabled":false}}`)}}}
	rg.Spec.Providers = []kcmv1.Provider{{Name: "cluster-api-provider-azure"}}
	status := metav1.ConditionTrue
	if !ready {
		status = metav1.ConditionFalse
	}
	rg.Status.ObservedGeneration = 1
	rg.Status.Conditions = []metav1.Condition{{Type: kcmv1.ReadyCondition, Status: status, Reason: reason, ObservedGeneration: 1, LastTransitionTime: metav1.Now()}}
	rg.Status.Components = map[string]kcmv1.ComponentStatus{
		"kcm-regional":               {Success: true},
		"capi":                       {Success: true},
		"cluster-api-provider-azure": {Success: ready, Error: map[bool]string{true: "", false: "installing"}[ready]},
	}
	return rg
}

func opsCredential(ns, name, region string, ready bool, labels map[string]string) *kcmv1.Credential {
	c := &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: kcmv1.CredentialSpec{Region: region, IdentityRef: &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta1", Kind: "AzureClusterIdentity", Name: "azure-cluster-identity", Namespace: ns}}}
	c.Status.Ready = ready
	return c
}

func opsCD(ns, name, credential string, labels map[string]string, ready bool) *kcmv1.ClusterDeployment {
	cd := &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: kcmv1.ClusterDeploymentSpec{Template: "azure-standalone-cp-1-0-17", Credential: credential}}
	st := metav1.ConditionFalse
	if ready {
		st = metav1.ConditionTrue
	}
	cd.Status.Conditions = []metav1.Condition{{Type: kcmv1.ReadyCondition, Status: st, Reason: "x", LastTransitionTime: metav1.Now()}}
	return cd
}

func opsKCMDeployment(certSecret string) *appsv1.Deployment {
	args := []string{"--create-management=true"}
	if certSecret != "" {
		args = append(args, "--registry-cert-secret-name="+certSecret)
	}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: KCMControllerDeployment},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Args: args}}}}}}
}

func opsRecord(clusters ...state.RegionalCluster) *state.Record {
	rec := state.New(opsDeploymentID, "ops-test", time.Now())
	rec.K0rdentRegional.Clusters = clusters
	return rec
}

func rowOf(t *testing.T, rep *StatusReport, name string) RegionStatus {
	t.Helper()
	for _, r := range rep.Regions {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %s in %v", name, rep.Regions)
	return RegionStatus{}
}

// The world of the status tests: useast deployed and Ready with two child
// clusters placed in it; westeu failed and its Region not Ready; regional-new
// configured only; a Region k0rdentctl made that nothing knows any more
// (orphaned) and one somebody else made (unmanaged).
func statusWorld(t *testing.T) (*Env, *state.Record) {
	env, _ := opsEnv(t, opsTestConfig,
		opsKCMDeployment("registry-cert"),
		opsRegion("regional-useast", ourLabels("regional-useast"), true, kcmv1.AllComponentsHealthyReason, &kcmv1.ClusterDeploymentRef{Namespace: "kcm-system", Name: "regional-cluster-useast"}),
		opsRegion("regional-westeu", ourLabels("regional-westeu"), false, kcmv1.NotAllComponentsHealthyReason, nil),
		opsRegion("regional-old", ourLabels("regional-old"), true, kcmv1.AllComponentsHealthyReason, nil),
		opsRegion("someone-elses", nil, true, kcmv1.AllComponentsHealthyReason, nil),
		opsCredential("kcm-system", "azure-cluster-credential", "", true, nil),
		opsCredential("kcm-system", "azure-cluster-credential-regional-useast", "regional-useast", true, ourLabels("regional-useast")),
		opsCredential("kcm-system", "azure-cluster-credential-regional-westeu", "regional-westeu", false, ourLabels("regional-westeu")),
		opsCredential("team-a", "useast-for-team-a", "regional-useast", true, nil),
		opsCD("kcm-system", "regional-cluster-useast", "azure-cluster-credential", ourLabels("regional-useast"), true),
		opsCD("kcm-system", "child-1", "azure-cluster-credential-regional-useast", nil, true),
		opsCD("team-a", "child-2", "useast-for-team-a", nil, false),
		opsCD("team-a", "child-3", "azure-cluster-credential-regional-useast", nil, true), // another namespace's Credential: not placed
	)
	rec := opsRecord(
		state.RegionalCluster{Name: "regional-useast", Location: "eastus", Type: state.RegionalTypeClusterDeployment, ClusterDeploymentRef: "regional-cluster-useast", ClusterDeploymentOwned: true,
			Status: state.RegionalDeployed, Deployed: true, CredentialsPropagated: true, CertificatesPropagated: true, KubeconfigPath: "/tmp/state/kubeconfigs/regional-useast.kubeconfig",
			Components: map[string]string{"cert_manager": "v1.19.1"}, Health: state.HealthHealthy},
		state.RegionalCluster{Name: "regional-westeu", Location: "westeurope", Type: state.RegionalTypeExternal, KubeconfigSecret: "external-westeu", Status: state.RegionalFailed, LastError: "Region not ready: timed out"},
	)
	return env, rec
}

func TestStatusDescribesEveryRegion(t *testing.T) {
	env, rec := statusWorld(t)
	rep, err := (&Status{Env: env, Record: rec}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ManagementError != "" || rep.Management != "https://mgmt.example:6443" || rep.RegistryCertSecret != "registry-cert" {
		t.Fatalf("management %q (error %q), cert %q", rep.Management, rep.ManagementError, rep.RegistryCertSecret)
	}
	var names []string
	for _, r := range rep.Regions {
		names = append(names, r.Name+"="+r.Status)
	}
	want := []string{"regional-useast=deployed", "regional-westeu=failed", "regional-new=pending", "regional-old=orphaned", "someone-elses=unmanaged"}
	if !slices.Equal(names, want) {
		t.Fatalf("rows %v, want %v (configuration order, then the record, then the cluster)", names, want)
	}
	if rep.Total != 5 || rep.Counts[state.RegionalDeployed] != 1 || rep.Counts[StatusOrphaned] != 1 || rep.Counts[StatusUnmanaged] != 1 {
		t.Errorf("total %d counts %v", rep.Total, rep.Counts)
	}

	useast := rowOf(t, rep, "regional-useast")
	if useast.Ready == nil || !*useast.Ready || useast.Region.Reason != kcmv1.AllComponentsHealthyReason || useast.ComponentsHealthy != 3 || useast.ComponentsTotal != 3 {
		t.Errorf("useast Region: ready %v %+v, components %d/%d", useast.Ready, useast.Region, useast.ComponentsHealthy, useast.ComponentsTotal)
	}
	if useast.Credentials != CredentialsPropagated || useast.Credential == nil || useast.Credential.Name != "azure-cluster-credential-regional-useast" {
		t.Errorf("useast credentials %q %+v", useast.Credentials, useast.Credential)
	}
	if useast.Certificates != CertificatesPropagated {
		t.Errorf("useast certificates %q", useast.Certificates)
	}
	if !slices.Equal(useast.ClusterDeployments, []string{"kcm-system/child-1", "team-a/child-2"}) {
		t.Errorf("useast placed %v, want child-1 (its Credential) and child-2 (a team's Credential for the same region), not child-3 nor the regional cluster itself", useast.ClusterDeployments)
	}
	if useast.Source != "ClusterDeployment kcm-system/regional-cluster-useast" || useast.ClusterDeploymentCreated == nil || !*useast.ClusterDeploymentCreated {
		t.Errorf("useast source %q created %v", useast.Source, useast.ClusterDeploymentCreated)
	}
	if useast.KubeconfigPath != "/tmp/state/kubeconfigs/regional-useast.kubeconfig" || useast.Problem != "" || useast.Health != state.HealthHealthy {
		t.Errorf("useast kubeconfig %q problem %q health %q", useast.KubeconfigPath, useast.Problem, useast.Health)
	}

	westeu := rowOf(t, rep, "regional-westeu")
	if westeu.Ready == nil || *westeu.Ready || westeu.Credentials != CredentialsNotReady || westeu.Certificates != CertificatesNotPropagated {
		t.Errorf("westeu ready %v credentials %q certificates %q", westeu.Ready, westeu.Credentials, westeu.Certificates)
	}
	if !strings.Contains(westeu.Problem, "failed: Region not ready") || westeu.Source != "kubeconfig Secret kcm-system/external-westeu" {
		t.Errorf("westeu problem %q source %q", westeu.Problem, westeu.Source)
	}
	fresh := rowOf(t, rep, "regional-new")
	if fresh.Ready != nil || fresh.Credentials != CredentialsDisabled || fresh.Problem != "" || fresh.KubeconfigPath != "" {
		t.Errorf("regional-new ready %v credentials %q problem %q kubeconfig %q", fresh.Ready, fresh.Credentials, fresh.Problem, fresh.KubeconfigPath)
	}
	if got := len(rep.Problems()); got != 1 {
		t.Errorf("%d problems, want only westeu's", got)
	}

	// JSON: snake_case keys as the record's, every table field and more.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"regions"`, `"counts"`, `"status":"deployed"`, `"ready":true`, `"kubeconfig_path"`, `"cluster_deployments"`, `"credentials":"propagated"`, `"components_healthy":3`, `"cluster_deployment_created":true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}

func TestStatusFilters(t *testing.T) {
	env, rec := statusWorld(t)
	rep, err := (&Status{Env: env, Record: rec, States: []string{state.RegionalFailed, StatusOrphaned}}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Regions) != 2 || rep.Total != 5 || rep.Counts[state.RegionalFailed] != 1 || rep.Counts[StatusOrphaned] != 1 {
		t.Errorf("--state failed,orphaned: %d rows of %d, counts %v", len(rep.Regions), rep.Total, rep.Counts)
	}
	rep, err = (&Status{Env: env, Record: rec, Locations: []string{"EastUS"}}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Regions) != 1 || rep.Regions[0].Name != "regional-useast" {
		t.Errorf("--location EastUS: %v", rep.Regions)
	}
	if _, err := (&Status{Env: env, States: []string{"broken"}}).Run(t.Context()); err == nil || !strings.Contains(err.Error(), "deployed") {
		t.Errorf("an unknown --state: err = %v, want the list of statuses", err)
	}
}

func TestStatusWithoutTheManagementCluster(t *testing.T) {
	env, rec := statusWorld(t)
	env.Management = opsFakeManagement{err: errors.New("management cluster: kubeconfig ./mgmt.kubeconfig does not exist")}
	rep, err := (&Status{Env: env, Record: rec}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.ManagementError, "does not exist") || len(rep.Regions) != 3 {
		t.Fatalf("management error %q, %d rows (want the 3 configured ones)", rep.ManagementError, len(rep.Regions))
	}
	r := rowOf(t, rep, "regional-useast")
	if r.Ready != nil || r.Credentials != CredentialsUnknown || r.Certificates != CertificatesUnknown || r.Status != state.RegionalDeployed {
		t.Errorf("unknown fields should say unknown: ready %v credentials %q certificates %q status %q", r.Ready, r.Credentials, r.Certificates, r.Status)
	}
}

func TestStatusCertificatesNotConfigured(t *testing.T) {
	env, _ := opsEnv(t, opsTestConfig, opsKCMDeployment(""))
	rec := opsRecord(state.RegionalCluster{Name: "regional-westeu", Type: state.RegionalTypeExternal, Status: state.RegionalDeployed})
	rep, err := (&Status{Env: env, Record: rec}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if r := rowOf(t, rep, "regional-westeu"); r.Certificates != CertificatesNotConfigured || !strings.Contains(r.Problem, "does not exist on the management cluster") {
		t.Errorf("certificates %q problem %q", r.Certificates, r.Problem)
	}
}
