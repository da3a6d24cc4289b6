package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/diskcsi"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// helmRepo serves the chart folder as a Helm repository over HTTP: the
// packaged chart and an index.yaml naming it, as a chart repository does.
func helmRepo(t *testing.T, chartDir string) string {
	t.Helper()
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
	idx, err := repo.IndexDirectory(dir, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

// The Azure disk CSI driver on a real API server, its chart from a Helm
// repository served over HTTP (as the driver's own is): the cloud provider
// Secret holds the management cluster's azure.json (the principal, the VMs
// as plain VMs, their network), the release runs with k0s's kubelet folder
// and waits for its controller and its node pods on both nodes (the
// stand-in playing the workload controllers), and managed-csi is the
// default StorageClass. Run again, nothing changes; with another default
// StorageClass there, that one stays the default. A chart version the
// repository does not have is named with the setting that chose it.
func TestAzureDiskCSIInstall(t *testing.T) {
	env := testenv.StartT(t, testenv.Options{NoCRDs: true})
	c := env.Client
	addNode(t, c, "k0s-controller-1", true, true)
	addNode(t, c, "k0s-worker-1", true, false)
	stop := standin.NewLoop(standin.NewWorkloads(c, diskcsi.Namespace)).Start(context.Background())
	t.Cleanup(func() { _ = stop() })
	kc, err := kube.FromRESTConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseTemplate("production") // VMs over zones 1-3: ZRS disks
	if err != nil {
		t.Fatal(err)
	}
	cfg.Software.K0rdent.Credential.ClientID, cfg.Azure.TenantID = "11111111-2222-3333-4444-555555555555", "tenant-1"
	p, err := credentials.PrincipalFrom(cfg, "", func(k string) string {
		return map[string]string{credentials.EnvClientSecret: "csi-secret-value"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := credentials.ManagementCloudSecret(p, credentials.ManagementCloud{SubscriptionID: "sub-1", Location: "westeurope",
		ResourceGroup: "k0rdent-abcd1234-rg", VNet: "k0rdent-abcd1234-vnet", Subnet: "k0rdent-abcd1234-subnet", SecurityGroup: "k0rdent-abcd1234-nsg"})
	if err != nil {
		t.Fatal(err)
	}
	url := helmRepo(t, filepath.Join("testdata", "azuredisk-charts", "azuredisk-csi-driver"))
	in := &diskcsi.Install{Kube: kc, Secret: secret, DiskSKU: cfg.Software.AzureDiskCSI.DiskSKU, Interval: 20 * time.Millisecond,
		Tags:     map[string]string{"k0rdentctl-deployment": "k0rdent-abcd1234"},
		Chart:    helmrelease.Source{Repo: url, Name: diskcsi.Release, Version: config.DefaultDiskCSIVersion, Field: "software.azure_disk_csi.charts", VersionField: "software.azure_disk_csi.version"},
		Progress: func(s string) { t.Log(s) }}
	res, err := in.Run(context.Background())
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if res.Chart.Action != "installed" || !res.Default {
		t.Errorf("result %+v", res)
	}

	ctx := context.Background()
	var got corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "azure-cloud-provider"}, &got); err != nil {
		t.Fatal(err)
	}
	var az map[string]any
	if err := json.Unmarshal(got.Data["cloud-config"], &az); err != nil {
		t.Fatalf("cloud-config is not JSON: %v", err)
	}
	for k, want := range map[string]any{"aadClientId": p.ClientID, "aadClientSecret": "csi-secret-value", "tenantId": "tenant-1", "subscriptionId": "sub-1",
		"resourceGroup": "k0rdent-abcd1234-rg", "vnetName": "k0rdent-abcd1234-vnet", "subnetName": "k0rdent-abcd1234-subnet",
		"securityGroupName": "k0rdent-abcd1234-nsg", "vmType": "standard", "useInstanceMetadata": true, "location": "westeurope"} {
		if az[k] != want {
			t.Errorf("cloud-config %s = %v, want %v", k, az[k], want)
		}
	}
	var ds appsv1.DaemonSet
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "csi-azuredisk-node"}, &ds); err != nil {
		t.Fatal(err)
	}
	if hp := ds.Spec.Template.Spec.Volumes[0].HostPath; hp == nil || !strings.HasPrefix(hp.Path, diskcsi.KubeletDir+"/") {
		t.Errorf("the node plugin mounts %+v, want k0s's kubelet folder %s", hp, diskcsi.KubeletDir)
	}
	var sc storagev1.StorageClass
	if err := c.Get(ctx, client.ObjectKey{Name: diskcsi.StorageClass}, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Provisioner != diskcsi.Provisioner || sc.Parameters["skuName"] != "StandardSSD_ZRS" || sc.Parameters["tags"] != "k0rdentctl-deployment=k0rdent-abcd1234" || sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
		sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Errorf("StorageClass %+v", sc)
	}
	if ok, why, err := diskcsi.Check(ctx, kc); !ok || err != nil {
		t.Errorf("check after install: %v %s %v", ok, why, err)
	}

	// Again: nothing to do. With another default StorageClass, that one
	// stays the default.
	other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "rancher.io/local-path"}
	if err := c.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	res, err = in.Run(ctx)
	if err != nil || res.Chart.Action != "unchanged" || res.Default || res.OtherDefault != "local-path" {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: diskcsi.StorageClass}, &sc); err != nil || sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
		t.Errorf("managed-csi is still marked default beside local-path: %v", sc.Annotations)
	}

	in.Chart.Version = "v9.9.9"
	if _, err := in.Run(ctx); err == nil || !strings.Contains(err.Error(), "v9.9.9") || !strings.Contains(err.Error(), "software.azure_disk_csi.version") {
		t.Errorf("a version the repository lacks: %v", err)
	}
}
