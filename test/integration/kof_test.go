package integration

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// vmWebhook stands in for the VictoriaMetrics operator's admission webhook:
// until it serves, every connection is closed, as a pod that is not ready
// yet behind its Service; then it admits everything.
type vmWebhook struct {
	url, caBundle string
	serving       atomic.Bool
	calls         atomic.Int32
}

type closingListener struct {
	net.Listener
	hook *vmWebhook
}

func (l closingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.hook.serving.Load() {
			return c, err
		}
		_ = c.Close()
	}
}

func newVMWebhook(t *testing.T) *vmWebhook {
	t.Helper()
	h := &vmWebhook{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		var review struct {
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
		}
		_ = json.NewDecoder(r.Body).Decode(&review)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
			"response": map[string]any{"uid": review.Request.UID, "allowed": true}})
	}))
	srv.Listener = closingListener{Listener: srv.Listener, hook: h}
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/validate"
	h.caBundle = base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	return h
}

// startKOFStandIn does, until the test ends, what the kubelet and k0rdent
// do for KOF's objects: Deployments in KOF's and Istio's namespaces become
// available, ServiceTemplates valid, MultiClusterServices' references
// valid. It does nothing more.
func startKOFStandIn(t *testing.T, c client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, ns := range []string{"kof", "istio-system"} {
				var ds appsv1.DeploymentList
				if c.List(ctx, &ds, client.InNamespace(ns)) != nil {
					continue
				}
				for i := range ds.Items {
					d := &ds.Items[i]
					if d.Status.AvailableReplicas == 1 {
						continue
					}
					d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = 1, 1, 1, 1
					d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}
					_ = c.Status().Update(ctx, d)
				}
			}
			var sts kcmv1.ServiceTemplateList
			if c.List(ctx, &sts) == nil {
				for i := range sts.Items {
					if st := &sts.Items[i]; !st.Status.Valid {
						st.Status.Valid = true
						_ = c.Status().Update(ctx, st)
					}
				}
			}
			var mcss kcmv1.MultiClusterServiceList
			if c.List(ctx, &mcss) == nil {
				for i := range mcss.Items {
					m := &mcss.Items[i]
					if meta.IsStatusConditionTrue(m.Status.Conditions, kcmv1.ServicesReferencesValidationCondition) {
						continue
					}
					meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: kcmv1.ServicesReferencesValidationCondition, Status: metav1.ConditionTrue, Reason: "Succeeded"})
					_ = c.Status().Update(ctx, m)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

// kofConfig writes a configuration for the world's management cluster
// with a kof section installing from the test charts.
func kofConfig(t *testing.T, w *regionalWorld, version string, istio bool, hook *vmWebhook, attempts int) string {
	t.Helper()
	charts, err := filepath.Abs(filepath.Join("testdata", "kof-charts"))
	rgMust(t, err)
	path := filepath.Join(w.dir, "kof.yaml")
	cfg := fmt.Sprintf(`metadata:
  name: kof-test
management:
  mode: existing
  kubeconfig: %s
azure:
  location: eastus
software:
  k0rdent:
    version: "1.5.0"
kof:
  enabled: true
  version: %q
  charts: %s
  istio:
    enabled: %t
    charts: %s
  mothership:
    install_attempts: %d
    retry_delay: 20ms
    values:
      test:
        webhookURL: %s
        caBundle: %s
  regional:
    domain: kof.example.com
    admin_email: admin@example.com
`, w.mgmt.KubeconfigPath, version, charts, istio, charts, attempts, hook.url, hook.caBundle)
	rgMust(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

func defaultStorageClass(t *testing.T, c client.Client) {
	t.Helper()
	rgMust(t, c.Create(t.Context(), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "disk.csi.azure.com"}))
}

// TestKOFInstallStatusUninstall: kof install puts Istio and KOF's releases
// in order through the Helm SDK, from local charts with KOF's names and
// kinds; kof-mothership's first install meets the VictoriaMetrics webhook
// not serving, and the retry (an upgrade of the failed release) succeeds
// once it serves; installTemplates and the storage class are set; each
// step waited for its objects; a second install changes nothing; status
// reads it; uninstall refuses while a KOF cluster exists, then removes
// every release without touching k0rdent.
func TestKOFInstallStatusUninstall(t *testing.T) {
	w := newRegionalWorld(t, 0, false)
	c, ctx := w.mgmt.Client, t.Context()
	defaultStorageClass(t, c)
	startKOFStandIn(t, c)
	hook := newVMWebhook(t)
	cfg := kofConfig(t, w, "1.5.0", true, hook, 5)
	// The operator starts serving once the first install has failed on it.
	go func() {
		_ = waitUntil(ctx, func() bool {
			var secs corev1.SecretList
			_ = c.List(ctx, &secs, client.InNamespace("kof"), client.MatchingLabels{"name": kof.ReleaseMother, "status": "failed"})
			return len(secs.Items) > 0
		})
		hook.serving.Store(true)
	}()

	r := cliRun(t, "kof", "install", "-c", cfg)
	if r.code != 0 {
		t.Fatalf("kof install: exit %d", r.code)
	}
	if !strings.Contains(r.out+r.err, "kof-mothership: its admission webhook is not serving yet (attempt 1 of 5)") || hook.calls.Load() == 0 {
		t.Errorf("the webhook race was not met and retried (webhook calls %d)", hook.calls.Load())
	}
	ns := &corev1.Namespace{}
	rgGet(t, c, client.ObjectKey{Name: "kof"}, ns)
	if ns.Labels["istio-injection"] != "enabled" {
		t.Errorf("namespace kof labels %v, want istio-injection=enabled", ns.Labels)
	}
	for _, name := range []string{"kof-operators-1-5-0", "kof-collectors-1-5-0", "kof-storage-1-5-0"} {
		rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: name}, &kcmv1.ServiceTemplate{}) // kcm.installTemplates: true
	}
	cm := &corev1.ConfigMap{}
	rgGet(t, c, client.ObjectKey{Namespace: "kof", Name: "kof-mothership-storage"}, cm)
	if cm.Data["storageClass"] != "managed-csi" {
		t.Errorf("global.storageClass %q, want the default StorageClass managed-csi", cm.Data["storageClass"])
	}
	vmc := &unstructured.Unstructured{}
	vmc.SetAPIVersion("operator.victoriametrics.com/v1beta1")
	vmc.SetKind("VMCluster")
	rgGet(t, c, client.ObjectKey{Namespace: "kof", Name: "cluster"}, vmc)
	rgGet(t, c, client.ObjectKey{Name: "kof-child-cluster"}, &kcmv1.MultiClusterService{})
	rgGet(t, c, client.ObjectKey{Namespace: "istio-system", Name: "k0rdent-istio-istiod"}, &appsv1.Deployment{})

	// Again: nothing changes.
	r = cliRun(t, "kof", "install", "-c", cfg, "-o", "json")
	var res kof.Result
	rgMust(t, json.Unmarshal([]byte(r.out), &res))
	if r.code != 0 || len(res.Steps) != 6 {
		t.Fatalf("second kof install: exit %d, %d steps", r.code, len(res.Steps))
	}
	for _, s := range res.Steps {
		if s.Action != "unchanged" {
			t.Errorf("second install: %s %s", s.Release, s.Action)
		}
	}
	r = cliRun(t, "kof", "status", "-c", cfg, "-o", "json")
	var st kof.Status
	rgMust(t, json.Unmarshal([]byte(r.out), &st))
	if r.code != 0 || !st.Ready() || len(st.Releases) != 6 {
		t.Fatalf("kof status: exit %d: %+v", r.code, st)
	}

	// Uninstall: refused while a KOF cluster exists.
	cd := &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "kof-regional-1", Labels: map[string]string{kof.LabelClusterRole: "regional"}},
		Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: rgCredential}}
	rgMust(t, c.Create(ctx, cd))
	if r := cliRun(t, "kof", "uninstall", "-y", "-c", cfg); r.code != cli.ExitRefused || !strings.Contains(r.err, rgNamespace+"/kof-regional-1") {
		t.Fatalf("uninstall with a KOF cluster: exit %d, want 3 naming it", r.code)
	}
	if r := cliRun(t, "kof", "uninstall", "--force", "-c", cfg); r.code != cli.ExitRefused || !strings.Contains(r.err, "-y") {
		t.Fatalf("uninstall without confirmation: exit %d, want 3", r.code)
	}
	if r := cliRun(t, "kof", "uninstall", "--force", "-y", "-c", cfg); r.code != 0 {
		t.Fatalf("uninstall --force -y: exit %d", r.code)
	}
	var secs corev1.SecretList
	rgMust(t, c.List(ctx, &secs, client.MatchingLabels{"owner": "helm"}))
	for _, s := range secs.Items {
		if s.Namespace == "kof" || s.Namespace == "istio-system" {
			t.Errorf("Helm release left: %s/%s", s.Namespace, s.Name)
		}
	}
	rgGet(t, c, client.ObjectKey{Name: "kof"}, ns)
	if ns.DeletionTimestamp.IsZero() {
		t.Error("namespace kof, which k0rdentctl made, was not deleted")
	}
	// k0rdent is untouched.
	rgGet(t, c, client.ObjectKey{Name: "kcm"}, &kcmv1.Management{})
	rgGet(t, c, client.ObjectKeyFromObject(cd), &kcmv1.ClusterDeployment{})
}

// TestKOFWebhookRaceThatNeverResolves: when the webhook never serves, the
// retries stop at their bound with an error that names the webhook and
// what to check (exit 1).
func TestKOFWebhookRaceThatNeverResolves(t *testing.T) {
	w := newRegionalWorld(t, 0, false)
	defaultStorageClass(t, w.mgmt.Client)
	startKOFStandIn(t, w.mgmt.Client)
	cfg := kofConfig(t, w, "1.5.0", false, newVMWebhook(t), 3)
	r := cliRun(t, "kof", "install", "-c", cfg)
	if r.code != cli.ExitFailed || !strings.Contains(r.err, "still not serving after 3 attempts") || !strings.Contains(r.err, "kubectl -n kof get pods") {
		t.Fatalf("kof install with a webhook that never serves: exit %d, want 1 and the bounded retries named", r.code)
	}
	if n := strings.Count(r.out+r.err, "its admission webhook is not serving yet"); n != 2 {
		t.Errorf("%d retries announced, want 2 (3 attempts)", n)
	}
}

// TestKOFVersionGuard: a KOF that does not go with the installed k0rdent,
// or no StorageClass for its storage, is refused (exit 2) before anything
// is installed.
func TestKOFVersionGuard(t *testing.T) {
	w := newRegionalWorld(t, 0, false)
	c := w.mgmt.Client
	hook := newVMWebhook(t)
	for _, tc := range []struct {
		version string
		sc      bool
		want    string
	}{
		{"1.6.0", true, "KOF 1.6.0 does not go with k0rdent 1.5.0"},
		{"1.5.0", false, "no default StorageClass"},
	} {
		if tc.sc {
			defaultStorageClass(t, c)
		}
		cfg := kofConfig(t, w, tc.version, false, hook, 3)
		r := cliRun(t, "kof", "install", "-c", cfg)
		if r.code != cli.ExitUsage || !strings.Contains(r.err, tc.want) {
			t.Errorf("kof %s (storage class %t): exit %d, want 2 and %q", tc.version, tc.sc, r.code, tc.want)
		}
		if tc.sc {
			rgMust(t, c.Delete(t.Context(), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "managed-csi"}}))
		}
	}
	rgNotFound(t, c, client.ObjectKey{Name: "kof"}, &corev1.Namespace{})

	// KOF 1.5's kof-regional cannot render for Azure without Istio: the
	// regional cluster is refused up front, saying why and the ways out.
	cfg := kofConfig(t, w, "1.5.0", false, hook, 3)
	r := cliRun(t, "kof", "regional", "deploy", "-c", cfg)
	if r.code != cli.ExitUsage || !strings.Contains(r.err, "fixed in KOF 1.8.1") || !strings.Contains(r.err, "kof.istio.enabled: true") {
		t.Errorf("kof regional deploy without Istio on KOF 1.5.0: exit %d, want 2 with the reason and ways out", r.code)
	}
	if r := cliRun(t, "deploy", "--with-kof", "-c", cfg); r.code != cli.ExitUsage || !strings.Contains(r.err, "kof.istio.enabled") {
		t.Errorf("deploy --with-kof without Istio on KOF 1.5.0: exit %d, want 2 before anything", r.code)
	}
	rgNotFound(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "kof-regional"}, &kcmv1.ClusterDeployment{})
}

// waitUntil polls f until it is true or ctx ends.
func waitUntil(ctx context.Context, f func() bool) error {
	for !f() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// kofReady makes c's cluster ready for KOF as the tests need it: a
// default StorageClass, the stand-ins for KOF's operator and services, and
// a serving webhook for the mothership.
func kofReady(t *testing.T, c client.Client) *vmWebhook {
	t.Helper()
	defaultStorageClass(t, c)
	startKOFStandIn(t, c)
	op := standin.NewLoop(&standin.KOFOperator{Client: c}, &standin.KOFServices{Management: c})
	stop := op.Start(t.Context())
	t.Cleanup(func() { _ = stop() })
	hook := newVMWebhook(t)
	hook.serving.Store(true)
	return hook
}

// TestKOFRegionalAndK0rdentRegionsStandApart: with two k0rdent regions,
// KOF installed, the KOF regional cluster placed in regional-useast (its
// Credential the region's, labelled as an Istio mesh member with a
// gateway in that region's mesh) becomes ready once the stand-in of KOF's
// operator writes its endpoints; a child made with --kof in that region is
// labelled for it and reports to it. Removing a k0rdent region leaves KOF
// alone, and removing the KOF regional cluster leaves every Region,
// regional ClusterDeployment and regional Credential alone, object by
// object.
func TestKOFRegionalAndK0rdentRegionsStandApart(t *testing.T) {
	w := newRegionalWorld(t, 2, false)
	opsTwoRegions(t, w)
	c, ctx := w.mgmt.Client, t.Context()
	hook := kofReady(t, c)
	charts, err := filepath.Abs(filepath.Join("testdata", "kof-charts"))
	rgMust(t, err)
	raw, err := os.ReadFile(w.cfgPath)
	rgMust(t, err)
	rgMust(t, os.WriteFile(w.cfgPath, append(raw, []byte(fmt.Sprintf(`kof:
  enabled: true
  version: "1.5.0"
  charts: %s
  istio:
    charts: %s
  mothership:
    values:
      test: {webhookURL: %s, caBundle: %s}
  regional:
    name: kof-regional-useast
    domain: kof.example.com
    admin_email: admin@example.com
    location: eastus
    region: regional-useast
`, charts, charts, hook.url, hook.caBundle))...), 0o600))
	flags := []string{"-c", w.cfgPath, "--state-dir", w.stateDir}
	run := func(args ...string) opsResult { return cliRun(t, append(args, flags...)...) }

	if r := run("kof", "install"); r.code != 0 {
		t.Fatalf("kof install: exit %d", r.code)
	}
	w.standin.SetClusterKubeconfig(rgNamespace, "kof-regional-useast", w.regionals[0].Kubeconfig)
	if r := run("kof", "regional", "deploy", "--timeout", "1m"); r.code != 0 || !strings.Contains(r.out, "vmauth") || !strings.Contains(r.out, "region regional-useast") ||
		!strings.Contains(r.out, "its storage runs") {
		t.Fatalf("kof regional deploy: exit %d, want 0, its endpoints and its storage running", r.code)
	}
	// What the KOF MultiClusterService put into the regional cluster.
	rgGet(t, w.regionals[0].Client, client.ObjectKey{Namespace: "kof", Name: "kof-storage-victoria-metrics"}, &appsv1.Deployment{})
	kcd := &kcmv1.ClusterDeployment{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "kof-regional-useast"}, kcd)
	want := map[string]string{kof.LabelClusterRole: "regional", kof.LabelIstioRole: "member", kof.LabelIstioGateway: "true", kof.LabelIstioMesh: "regional-useast"}
	for k, v := range want {
		if kcd.Labels[k] != v {
			t.Errorf("KOF regional label %s=%q, want %q", k, kcd.Labels[k], v)
		}
	}
	if kcd.Spec.Credential != rgCredential+"-regional-useast" || kcd.Labels[kof.LabelStorageSecrets] != "" {
		t.Errorf("KOF regional: credential %s, labels %v", kcd.Spec.Credential, kcd.Labels)
	}

	w.standin.SetClusterKubeconfig(rgNamespace, "shop", w.regionals[0].Kubeconfig)
	if r := run("child", "create", "shop", "--region", "regional-useast", "--location", "eastus", "--kof", "--timeout", "1m"); r.code != 0 {
		t.Fatalf("child create --kof: exit %d", r.code)
	}
	shop := &kcmv1.ClusterDeployment{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "shop"}, shop)
	if shop.Labels[kof.LabelClusterRole] != "child" || shop.Labels[kof.LabelRegionalName] != "kof-regional-useast" || shop.Labels[kof.LabelIstioMesh] != "regional-useast" {
		t.Errorf("child labels %v: want a KOF child of kof-regional-useast in the region's mesh", shop.Labels)
	}
	var st kof.Status
	err = waitUntil(ctx, func() bool {
		r := run("kof", "status", "-o", "json")
		st = kof.Status{}
		_ = json.Unmarshal([]byte(r.out), &st)
		return len(st.Regional) == 1 && len(st.Regional[0].Children) == 1
	})
	if err != nil || st.Regional[0].Children[0] != "shop" || st.Regional[0].Region != "regional-useast" || !st.Regional[0].Ready {
		t.Fatalf("kof status: %+v (%v)", st.Regional, err)
	}

	// status (the record) shows KOF's releases and the regional cluster.
	if r := run("status"); !strings.Contains(r.out, "KOF       1.5.0: k0rdent-istio-base 0.1.0") ||
		!strings.Contains(r.out, "KOF regional kcm-system/kof-regional-useast (region regional-useast, eastus): ready, metrics http://kof-regional-useast-vmauth:8427") {
		t.Errorf("status does not show KOF:\n%s", r.out)
	}

	// A k0rdent region goes: KOF stays.
	if r := run("region", "remove", "regional-westeu", "-y"); r.code != 0 {
		t.Fatalf("region remove regional-westeu: exit %d", r.code)
	}
	rgNotFound(t, c, client.ObjectKey{Name: "regional-westeu"}, &kcmv1.Region{})
	rgGet(t, c, client.ObjectKeyFromObject(kcd), &kcmv1.ClusterDeployment{})
	rgGet(t, c, client.ObjectKey{Name: "kof-regional-cluster"}, &kcmv1.MultiClusterService{})
	if r := run("kof", "status"); r.code != 0 {
		t.Errorf("kof status after a region went: exit %d", r.code)
	}

	// The KOF regional cluster goes: k0rdent's region stays, object by object.
	before := map[string]string{}
	objs := map[string]client.Object{
		"Region regional-useast":            &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "regional-useast"}},
		"ClusterDeployment regional-useast": &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "regional-cluster-useast"}},
		"Credential regional-useast":        &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential + "-regional-useast"}},
		"Credential management":             &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential}},
		"child shop":                        shop,
	}
	for name, o := range objs {
		rgGet(t, c, client.ObjectKeyFromObject(o), o)
		before[name] = string(o.GetUID()) + "/" + fmt.Sprint(o.GetGeneration())
	}
	if r := run("kof", "regional", "remove", "-y", "--timeout", "1m"); r.code != 0 {
		t.Fatalf("kof regional remove: exit %d", r.code)
	}
	rgNotFound(t, c, client.ObjectKeyFromObject(kcd), &kcmv1.ClusterDeployment{})
	for name, o := range objs {
		rgGet(t, c, client.ObjectKeyFromObject(o), o)
		if now := string(o.GetUID()) + "/" + fmt.Sprint(o.GetGeneration()); now != before[name] || !o.GetDeletionTimestamp().IsZero() {
			t.Errorf("%s changed when the KOF regional cluster was removed (%s → %s)", name, before[name], now)
		}
	}
}

// TestRegionalWithKOFExample deploys the regional-with-kof example (on the
// test's management cluster instead of Azure VMs, KOF's charts from the
// test folder) with deploy --with-regional --with-kof --with-children in
// one run: both k0rdent regions, KOF with Istio, the KOF regional cluster
// in regional-westeu, the two children. Then it removes the KOF regional
// cluster (every Region, regional ClusterDeployment and Credential
// unchanged) and a k0rdent region (every KOF release and
// MultiClusterService unchanged).
func TestRegionalWithKOFExample(t *testing.T) {
	capz, err := testenv.CAPZCRDDir(t.Context())
	rgMust(t, err)
	// The management cluster starts without k0rdent: deploy installs it.
	clusters := make(chan *testenv.Cluster, 1)
	go func() { clusters <- testenv.StartT(t, testenv.Options{NoCRDs: true, ExtraCRDDirs: []string{capz}}) }()
	regionals := rgStartClusters(t, 2)
	w := regionalWorldOn(t, <-clusters, regionals)
	w.startStandIns(moduleVersion)
	c, ctx := w.mgmt.Client, t.Context()
	hook := kofReady(t, c)

	data, err := config.TemplateContent("regional-with-kof")
	rgMust(t, err)
	var doc map[string]any
	rgMust(t, yaml.Unmarshal(data, &doc))
	charts, err := filepath.Abs(filepath.Join("testdata", "kof-charts"))
	rgMust(t, err)
	doc["management"] = map[string]any{"mode": "existing", "kubeconfig": w.mgmt.KubeconfigPath}
	delete(doc, "cluster")
	delete(doc, "vm_sizing")
	doc["azure"].(map[string]any)["subscription_id"] = "0b1e7c3a-1111-2222-3333-444455556666"
	k0 := doc["software"].(map[string]any)["k0rdent"].(map[string]any)
	k0["version"], k0["chart"], k0["values"] = moduleVersion, kcmChartDir(t), chartValues()
	k := doc["kof"].(map[string]any)
	k["charts"] = charts
	k["istio"].(map[string]any)["charts"] = charts
	k["mothership"].(map[string]any)["values"] = map[string]any{"test": map[string]any{"webhookURL": hook.url, "caBundle": hook.caBundle}}
	doc["timeouts"] = map[string]any{"k0rdent_install": "2m", "regional_cluster": "2m", "region_ready": "2m", "child_cluster": "2m", "kof_install": "3m"}
	out, err := yaml.Marshal(doc)
	rgMust(t, err)
	cfgPath := filepath.Join(w.dir, "k0rdent.yaml")
	rgMust(t, os.WriteFile(cfgPath, out, 0o600))
	for name, kc := range map[string][]byte{"regional-cluster-westeu": w.regionals[0].Kubeconfig, "regional-cluster-useast": w.regionals[1].Kubeconfig,
		"kof-regional-westeu": w.regionals[0].Kubeconfig, "shop-westeu": w.regionals[0].Kubeconfig, "shop-useast": w.regionals[1].Kubeconfig} {
		w.standin.SetClusterKubeconfig(rgNamespace, name, kc)
	}

	// k0rdent first; then what k0rdent's chart brings that the stand-in
	// does not make (the ClusterTemplates) and the Credential the example
	// expects to exist; then everything else in one run.
	if r := cliRun(t, "deploy", "-c", cfgPath); r.code != 0 {
		t.Fatalf("deploy: exit %d", r.code)
	}
	w.seedManagement(false)
	r := cliRun(t, "deploy", "--with-regional", "--with-kof", "--with-children", "-c", cfgPath)
	if r.code != 0 {
		t.Fatalf("deploy --with-regional --with-kof --with-children of the example: exit %d", r.code)
	}
	kcd := &kcmv1.ClusterDeployment{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "kof-regional-westeu"}, kcd)
	if kcd.Spec.Credential != rgCredential+"-regional-westeu" || kcd.Labels[kof.LabelIstioMesh] != "regional-westeu" {
		t.Errorf("KOF regional: credential %s, labels %v", kcd.Spec.Credential, kcd.Labels)
	}
	for _, n := range []string{"shop-westeu", "shop-useast"} {
		rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: n}, &kcmv1.ClusterDeployment{})
	}
	// Again: every phase verified, nothing redone (the KOF ones included).
	r = cliRun(t, "deploy", "--with-regional", "--with-kof", "--with-children", "-c", cfgPath, "-o", "json")
	if r.code != 0 {
		t.Fatalf("second deploy: exit %d", r.code)
	}
	seen := redidNothing(t, r, "second deploy")
	if !seen["kof"] || !seen["kof-regional"] {
		t.Errorf("phases %v: want kof and kof-regional", seen)
	}

	snapshot := func(objs map[string]client.Object) map[string]string {
		out := map[string]string{}
		for name, o := range objs {
			rgGet(t, c, client.ObjectKeyFromObject(o), o)
			out[name] = string(o.GetUID()) + "/" + fmt.Sprint(o.GetGeneration()) + "/" + fmt.Sprint(o.GetDeletionTimestamp() != nil)
		}
		return out
	}
	k0rdentObjs := map[string]client.Object{}
	for _, rg := range []string{"regional-westeu", "regional-useast"} {
		k0rdentObjs["Region "+rg] = &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: rg}}
		k0rdentObjs["Credential "+rg] = &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential + "-" + rg}}
		k0rdentObjs["ClusterDeployment "+rg] = &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: strings.Replace(rg, "regional-", "regional-cluster-", 1)}}
	}
	before := snapshot(k0rdentObjs)
	if r := cliRun(t, "kof", "regional", "remove", "-y", "--timeout", "1m", "-c", cfgPath); r.code != 0 {
		t.Fatalf("kof regional remove: exit %d", r.code)
	}
	rgNotFound(t, c, client.ObjectKeyFromObject(kcd), &kcmv1.ClusterDeployment{})
	if after := snapshot(k0rdentObjs); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("removing the KOF regional cluster touched k0rdent's regions:\nbefore %v\nafter  %v", before, after)
	}

	kofObjs := map[string]client.Object{}
	for _, m := range []string{"kof-regional-cluster", "kof-istio-regional-cluster", "kof-child-cluster", "kof-istio-child-cluster"} {
		kofObjs["MultiClusterService "+m] = &kcmv1.MultiClusterService{ObjectMeta: metav1.ObjectMeta{Name: m}}
	}
	var secs corev1.SecretList
	rgMust(t, c.List(ctx, &secs, client.MatchingLabels{"owner": "helm"}))
	for i := range secs.Items {
		if s := &secs.Items[i]; s.Namespace == "kof" || s.Namespace == "istio-system" {
			kofObjs["Helm "+s.Name] = s
		}
	}
	before = snapshot(kofObjs)
	if r := cliRun(t, "region", "remove", "regional-useast", "--force", "-y", "-c", cfgPath); r.code != 0 {
		t.Fatalf("region remove regional-useast: exit %d", r.code)
	}
	rgNotFound(t, c, client.ObjectKey{Name: "regional-useast"}, &kcmv1.Region{})
	if after := snapshot(kofObjs); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("removing a k0rdent region touched KOF:\nbefore %v\nafter  %v", before, after)
	}
	if r := cliRun(t, "kof", "status", "-c", cfgPath); r.code != 0 {
		t.Errorf("kof status after the region went: exit %d", r.code)
	}
}
