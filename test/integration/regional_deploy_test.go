package integration

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// A k0rdent-managed regional cluster (a ClusterDeployment k0rdentctl
// creates) and an external one (a kubeconfig Secret made from
// kubeconfig_file) deploy together, each to its own real API server: the
// Regions, per-region Credentials, identity and certificate copies,
// components with their observed versions, kubeconfig files, state and
// events; a second run verifies everything and changes nothing.
func TestRegionalDeployManagedAndExternalTogether(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	useast, westeu := w.regionals[0], w.regionals[1]
	w.standin.SetClusterKubeconfig(rgNamespace, "regional-cluster-useast", useast.Kubeconfig)
	westeuFile := filepath.Join(w.dir, "westeu.kubeconfig")
	rgMust(t, os.WriteFile(westeuFile, westeu.Kubeconfig, 0o600))
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
          cluster_deployment:
            control_plane: {count: 1, vm_size: Standard_D4s_v5}
            workers: {count: 2, vm_size: Standard_D4s_v5}
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu-cluster
          kubeconfig_file: ./westeu.kubeconfig
          components: {cert_manager: true, velero: true, capi_providers: [cluster-api-provider-azure, cluster-api-provider-k0sproject-k0smotron]}`)

	rep, rec, err := w.deploy()
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if rep.Counts[regional.ReportDeployed] != 2 || len(rep.Failed()) != 0 {
		t.Fatalf("counts %v, want 2 deployed", rep.Counts)
	}
	if rep.K0rdentVersion != "1.5.0" {
		t.Errorf("k0rdent version %q, want the Release's 1.5.0", rep.K0rdentVersion)
	}

	// The ClusterDeployment: created from the newest valid Azure template,
	// with values that passed its schema, labelled for the region.
	cd := &kcmv1.ClusterDeployment{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}, cd)
	if cd.Spec.Template != rgTemplate || cd.Spec.Credential != rgCredential {
		t.Errorf("ClusterDeployment template %q credential %q, want %s (newest valid, not the invalid 1-0-18) and %s", cd.Spec.Template, cd.Spec.Credential, rgTemplate, rgCredential)
	}
	var values map[string]any
	rgMust(t, json.Unmarshal(cd.Spec.Config.Raw, &values))
	if values["location"] != "eastus" || values["subscriptionID"] != "0b1e7c3a-1111-2222-3333-444455556666" || values["workersNumber"] != float64(2) ||
		values["clusterIdentity"].(map[string]any)["name"] != rgIdentity || values["worker"].(map[string]any)["vmSize"] != "Standard_D4s_v5" {
		t.Errorf("ClusterDeployment values %v", values)
	}
	if cd.Labels[regional.LabelRegion] != "regional-useast" || cd.Labels[regional.LabelManagedBy] != "k0rdentctl" || cd.Labels[regional.LabelDeployment] != rec.DeploymentID {
		t.Errorf("ClusterDeployment labels %v", cd.Labels)
	}

	// The external cluster's Secret, made from kubeconfig_file.
	sec := &corev1.Secret{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "external-westeu-cluster"}, sec)
	if string(sec.Data["value"]) != string(westeu.Kubeconfig) || sec.Labels[regional.LabelRegion] != "regional-westeu" {
		t.Errorf("Secret external-westeu-cluster: labels %v, content from the file: %t", sec.Labels, string(sec.Data["value"]) == string(westeu.Kubeconfig))
	}

	// The Regions.
	mgmtProviders := []string{"cluster-api-provider-k0sproject-k0smotron", "cluster-api-provider-azure", "projectsveltos"}
	for _, c := range []struct {
		name      string
		providers []string
		ref       func(*kcmv1.Region) bool
	}{
		{"regional-useast", mgmtProviders, func(r *kcmv1.Region) bool {
			return r.Spec.ClusterDeployment != nil && r.Spec.ClusterDeployment.Name == "regional-cluster-useast" && r.Spec.KubeConfig == nil
		}},
		{"regional-westeu", []string{"cluster-api-provider-azure", "cluster-api-provider-k0sproject-k0smotron"}, func(r *kcmv1.Region) bool {
			return r.Spec.KubeConfig != nil && r.Spec.KubeConfig.Name == "external-westeu-cluster" && r.Spec.KubeConfig.Key == "value"
		}},
	} {
		rg := &kcmv1.Region{}
		rgGet(t, w.mgmt.Client, client.ObjectKey{Name: c.name}, rg)
		var names []string
		for _, p := range rg.Spec.Providers {
			names = append(names, p.Name)
		}
		if !c.ref(rg) || !slices.Equal(names, c.providers) || !regional.ObserveRegion(rg).Done() {
			t.Errorf("Region %s: reference ok %t, providers %v (want %v), %s", c.name, c.ref(rg), names, c.providers, regional.ObserveRegion(rg).Summary())
		}
		if string(rg.Spec.Core.KCM.Config.Raw) != `{"cert-manager":{"enabled":true},"velero":{"enabled":true}}` {
			t.Errorf("Region %s spec.core.kcm.config %s", c.name, rg.Spec.Core.KCM.Config.Raw)
		}
		if rg.Labels[regional.LabelManagedBy] != "k0rdentctl" || rg.Labels[regional.LabelRegion] != c.name {
			t.Errorf("Region %s labels %v", c.name, rg.Labels)
		}
	}

	// Per-region Credentials, and the identity with its Secret in the
	// Credential's namespace of each regional cluster; the registry
	// certificate there too, identical.
	for _, c := range []struct {
		name    string
		cluster client.Client
	}{{"regional-useast", useast.Client}, {"regional-westeu", westeu.Client}} {
		cred := &kcmv1.Credential{}
		rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-" + c.name}, cred)
		if cred.Spec.Region != c.name || cred.Spec.IdentityRef.Name != rgIdentity || !cred.Status.Ready {
			t.Errorf("Credential for %s: region %q identity %v ready %t", c.name, cred.Spec.Region, cred.Spec.IdentityRef, cred.Status.Ready)
		}
		idty := &unstructured.Unstructured{}
		idty.SetAPIVersion("infrastructure.cluster.x-k8s.io/v1beta1")
		idty.SetKind("AzureClusterIdentity")
		rgGet(t, c.cluster, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity}, idty)
		if ns, _, _ := unstructured.NestedString(idty.Object, "spec", "clientSecret", "namespace"); ns != rgNamespace {
			t.Errorf("%s: identity copy's clientSecret.namespace %q", c.name, ns)
		}
		is := &corev1.Secret{}
		rgGet(t, c.cluster, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentitySecret}, is)
		if string(is.Data["clientSecret"]) != rgClientSecret {
			t.Errorf("%s: the identity Secret's copy differs", c.name)
		}
		cert := &corev1.Secret{}
		rgGet(t, c.cluster, client.ObjectKey{Namespace: rgNamespace, Name: rgCertSecret}, cert)
		if string(cert.Data["ca.crt"]) != rgCertPEM || cert.Labels[regional.LabelRegion] != c.name {
			t.Errorf("%s: registry certificate copy: labels %v", c.name, cert.Labels)
		}
	}

	// The record: seed schema, observed versions, kubeconfig files.
	for _, c := range []struct {
		name, typ  string
		kubeconfig []byte
		components map[string]string
	}{
		{"regional-useast", state.RegionalTypeClusterDeployment, useast.Kubeconfig, map[string]string{
			"cert_manager": "v1.19.1", "velero": "v1.17.0", "cluster_api": "v1.11.2",
			"cluster-api-provider-azure": "v1.21.0", "cluster-api-provider-k0sproject-k0smotron": "v1.9.0", "projectsveltos": "v1.1.1"}},
		{"regional-westeu", state.RegionalTypeExternal, westeu.Kubeconfig, map[string]string{
			"cert_manager": "v1.19.1", "velero": "v1.17.0", "cluster_api": "v1.11.2",
			"cluster-api-provider-azure": "v1.21.0", "cluster-api-provider-k0sproject-k0smotron": "v1.9.0"}},
	} {
		r := regionRecord(t, rec, c.name)
		if r.Type != c.typ || r.Status != state.RegionalDeployed || !r.Deployed || !r.RegionCRDCreated || !r.CredentialsPropagated || !r.CertificatesPropagated || r.LastError != "" {
			t.Errorf("record of %s: %+v", c.name, r)
		}
		if !maps.Equal(r.Components, c.components) {
			t.Errorf("components of %s: %v, want %v", c.name, r.Components, c.components)
		}
		fi, err := os.Stat(r.KubeconfigPath)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("kubeconfig file of %s (%s): %v %v", c.name, r.KubeconfigPath, fi, err)
		}
		if data, _ := os.ReadFile(r.KubeconfigPath); string(data) != string(c.kubeconfig) {
			t.Errorf("kubeconfig file of %s is not the regional cluster's", c.name)
		}
		store, _ := state.NewFileStore(w.stateDir)
		if p, err := regional.KubeconfigFile(rec, store, c.name); err != nil || p != r.KubeconfigPath {
			t.Errorf("KubeconfigFile(%s) = %q, %v", c.name, p, err)
		}
	}
	if !regionRecord(t, rec, "regional-useast").ClusterDeploymentOwned {
		t.Error("regional-useast: the record does not say k0rdentctl created the ClusterDeployment")
	}
	if cr := regionReport(t, rep, "regional-useast").ClusterDeploymentCreated; cr == nil || !*cr {
		t.Errorf("report: cluster_deployment_created %v", cr)
	}
	for name, want := range map[string][]string{
		"regional-useast": {regional.EventClusterDeploymentCreate, regional.EventValuesValidated, regional.EventClusterReady, regional.EventKubeconfigWritten,
			regional.EventRegionCreated, regional.EventRegionReady, regional.EventCredentialCreated, regional.EventCredentialsPropagated,
			regional.EventCertificatesPropagated, regional.EventComponentsInstalled, regional.EventDeployed},
		"regional-westeu": {regional.EventKubeconfigSecretCreated, regional.EventExternalVerified, regional.EventKubeconfigWritten, regional.EventRegionCreated,
			regional.EventRegionReady, regional.EventCredentialsPropagated, regional.EventCertificatesPropagated, regional.EventComponentsInstalled, regional.EventDeployed},
	} {
		got := eventTypes(rec, name)
		for _, typ := range want {
			if !slices.Contains(got, typ) {
				t.Errorf("%s: no %s event (events: %v)", name, typ, got)
			}
		}
	}

	// No secret content in the record.
	raw, err := os.ReadFile(filepath.Join(w.stateDir, rec.DeploymentID+".yaml"))
	rgMust(t, err)
	for _, secret := range []string{rgClientSecret, "client-key-data", "BEGIN CERTIFICATE", "MIIBdGVzdCByZWdpc3RyeSBDQSBvZiBrMHJkZW50Y3Rs"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the state record holds secret content (%q)", secret)
		}
	}

	// Deploying again verifies and changes nothing.
	before := snapshotWorld(t, w)
	rep2, rec2, err := w.deploy()
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	for _, o := range rep2.Result.Outcomes {
		if !o.Verified {
			t.Errorf("second deploy: %s was %s (%s), want verified and not run", o.Name, o.Status, o.Reason)
		}
	}
	if after := snapshotWorld(t, w); after != before {
		t.Errorf("second deploy changed the world:\nbefore %s\nafter  %s", before, after)
	}
	if countEvents(rec2, "regional-useast", regional.EventClusterDeploymentCreate) != 1 || countEvents(rec2, "regional-useast", regional.EventRegionCreated) != 1 {
		t.Error("second deploy created things again")
	}
}

// snapshotWorld summarises what a rerun must not change: objects' uids and
// generations, and how often the stand-in reinstalled a Region.
func snapshotWorld(t *testing.T, w *regionalWorld) string {
	t.Helper()
	var b strings.Builder
	regions := &kcmv1.RegionList{}
	rgMust(t, w.mgmt.Client.List(t.Context(), regions))
	for _, r := range regions.Items {
		b.WriteString(r.Name + ":" + string(r.UID) + ":" + itoa(r.Generation) + ":installs=" + itoa(int64(w.standin.RegionInstalls(r.Name))) + " ")
	}
	cds := &kcmv1.ClusterDeploymentList{}
	rgMust(t, w.mgmt.Client.List(t.Context(), cds))
	for _, c := range cds.Items {
		b.WriteString(c.Name + ":" + string(c.UID) + ":" + itoa(c.Generation) + " ")
	}
	creds := &kcmv1.CredentialList{}
	rgMust(t, w.mgmt.Client.List(t.Context(), creds))
	for _, c := range creds.Items {
		b.WriteString(c.Name + ":" + string(c.UID) + ":" + itoa(c.Generation) + ":" + strings.Join(slices.Sorted(maps.Keys(c.Annotations)), ",") + " ")
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
