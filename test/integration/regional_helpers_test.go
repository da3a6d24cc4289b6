package integration

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	helmcontrollerv2 "github.com/fluxcd/helm-controller/api/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// What the management cluster of the regional tests holds, as k0rdent 1.5.0
// and a Credential made by hand as k0rdent documents leave it.
const (
	rgNamespace      = "kcm-system"
	rgIdentity       = "azure-cluster-identity"
	rgIdentitySecret = "azure-cluster-identity-secret"
	rgCredential     = "azure-cluster-credential"
	rgCertSecret     = "registry-cert"
	rgTemplate       = "azure-standalone-cp-1-0-17"
	rgClientSecret   = "not-a-real-client-secret-7b1d"
	rgCertPEM        = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdCByZWdpc3RyeSBDQSBvZiBrMHJkZW50Y3Rs\n-----END CERTIFICATE-----\n"
)

// regionalWorld is a management cluster with k0rdent's objects, regional API
// servers, and the stand-in for k0rdent's controllers (kcm for the
// Management and Release, regional for Regions, Credentials and
// ClusterDeployments), plus a folder for the configuration and the state.
type regionalWorld struct {
	t         *testing.T
	mgmt      *testenv.Cluster
	regionals []*testenv.Cluster
	mc        *kube.Clients
	standin   *standin.Regional
	dir       string
	cfgPath   string
	stateDir  string
	// children are child_clusters items for writeConfig (indented by two
	// spaces); empty: none.
	children string
	// credentialMade says k0rdentctl made the Azure Credential (its Secret
	// and identity): seedManagement leaves them out.
	credentialMade bool
	// k0rdentKeys are the keys of software.k0rdent other than regional for
	// writeConfig (version, chart, values), indented by four spaces; empty:
	// version 1.5.0.
	k0rdentKeys string
}

// startClusters starts n API servers at once and stops them when the test
// ends.
func rgStartClusters(t *testing.T, n int) []*testenv.Cluster {
	t.Helper()
	out := make([]*testenv.Cluster, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = testenv.Start(t.Context(), testenv.Options{})
		}()
	}
	wg.Wait()
	for _, c := range out {
		if c != nil {
			t.Cleanup(func() {
				if err := c.Stop(); err != nil {
					t.Errorf("stopping a test API server: %v", err)
				}
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting test API servers: %v (the binaries are built by hack/envtest/build.sh)", err)
	}
	return out
}

// newRegionalWorld starts a management cluster and n regional clusters.
// With registryCert the kcm controller runs with
// --registry-cert-secret-name.
func newRegionalWorld(t *testing.T, n int, registryCert bool) *regionalWorld {
	t.Helper()
	clusters := rgStartClusters(t, n+1)
	w := regionalWorldOn(t, clusters[0], clusters[1:])
	w.seedManagement(registryCert)
	w.startStandIns("1.5.0")
	w.waitForK0rdent()
	return w
}

// regionalWorldOn is the world on API servers already started, with nothing
// in them yet and no stand-in running.
func regionalWorldOn(t *testing.T, mgmt *testenv.Cluster, regionals []*testenv.Cluster) *regionalWorld {
	t.Helper()
	w := &regionalWorld{t: t, mgmt: mgmt, regionals: regionals, dir: t.TempDir()}
	w.cfgPath = filepath.Join(w.dir, "k0rdent.yaml")
	w.stateDir = filepath.Join(w.dir, "state")
	w.mc = connect(t, w.mgmt)
	return w
}

// startStandIns runs the stand-in for k0rdent's controllers (kcm at the
// given version, and the regional controllers) until the test ends.
func (w *regionalWorld) startStandIns(kcmVersion string) {
	t := w.t
	kcm := standin.NewKCM(w.mc, kcmVersion)
	fast, err := kube.FromRESTConfig(w.mgmt.Config, kube.WithRateLimit(1000, 2000))
	rgMust(t, err)
	rg, err := standin.NewRegional(standin.RegionalOptions{Management: fast.Client, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	w.standin = rg
	loop := standin.NewLoop(kcm, rg)
	loop.Interval = 25 * time.Millisecond
	stop := loop.Start(context.Background())
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Logf("stand-in errors (informational): %v", err)
		}
	})
}

// waitForK0rdent waits until the kcm stand-in has made the Release and a
// Ready Management: k0rdent is installed before regions are deployed.
func (w *regionalWorld) waitForK0rdent() {
	err := kube.WaitFor(w.t.Context(), "Management kcm to be Ready", testTimeout, 25*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		m := &kcmv1.Management{}
		if err := w.mgmt.Client.Get(ctx, client.ObjectKey{Name: kcmv1.ManagementName}, m); err != nil {
			return false, err.Error(), nil
		}
		ready := meta.IsStatusConditionTrue(m.Status.Conditions, kcmv1.ReadyCondition)
		return ready && m.Status.Release == m.Spec.Release && m.Spec.Release != "", "not yet", nil
	}, nil)
	rgMust(w.t, err)
}

func rgMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seedManagement creates what k0rdent and the credential setup leave on the
// management cluster: the kcm controller Deployment, the Azure identity,
// its Secret and the management Credential, the Azure ClusterTemplates (the
// newest valid one with the real values schema), and the registry
// certificate.
func (w *regionalWorld) seedManagement(registryCert bool) {
	t, c, ctx := w.t, w.mgmt.Client, w.t.Context()
	// The namespace and the kcm Deployment are kept when the kcm chart made
	// them (a test that installs k0rdent with deploy).
	rgMust(t, client.IgnoreAlreadyExists(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rgNamespace}})))

	args := []string{"--create-management=true", "--global-registry="}
	if registryCert {
		args = append(args, "--registry-cert-secret-name="+rgCertSecret)
		rgMust(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCertSecret}, Data: map[string][]byte{"ca.crt": []byte(rgCertPEM)}}))
	}
	sel := map[string]string{"control-plane": "kcm-controller-manager"}
	rgMust(t, client.IgnoreAlreadyExists(c.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "kcm-controller-manager", Labels: sel},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "ghcr.io/k0rdent/kcm/controller:1.5.0", Args: args}}},
			},
		},
	})))

	if !w.credentialMade {
		w.seedCredential()
	}
	w.seedTemplates()
}

// seedCredential makes the Azure Credential by hand, as k0rdent documents.
func (w *regionalWorld) seedCredential() {
	t, c, ctx := w.t, w.mgmt.Client, w.t.Context()
	rgMust(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgIdentitySecret}, Data: map[string][]byte{"clientSecret": []byte(rgClientSecret)}}))
	idty := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
		"kind":       "AzureClusterIdentity",
		"metadata":   map[string]any{"name": rgIdentity, "namespace": rgNamespace},
		"spec": map[string]any{
			"type":              "ServicePrincipal",
			"clientID":          "11111111-2222-3333-4444-555555555555",
			"tenantID":          "66666666-7777-8888-9999-000000000000",
			"clientSecret":      map[string]any{"name": rgIdentitySecret, "namespace": rgNamespace},
			"allowedNamespaces": map[string]any{},
		},
	}}
	rgMust(t, c.Create(ctx, idty))
	// The resource template k0rdent's Azure guide makes beside them (the
	// real one is a Sveltos template; its content does not matter here).
	rgMust(t, c.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgIdentity + "-resource-template",
			Labels: map[string]string{"k0rdent.mirantis.com/component": "kcm"}, Annotations: map[string]string{"projectsveltos.io/template": "true"}},
		Data: map[string]string{"configmap.yaml": "kind: Secret # azure-cloud-provider, rendered by Sveltos"},
	}))
	rgMust(t, c.Create(ctx, &kcmv1.Credential{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential},
		Spec: kcmv1.CredentialSpec{IdentityRef: &corev1.ObjectReference{
			APIVersion: "infrastructure.cluster.x-k8s.io/v1beta1", Kind: "AzureClusterIdentity", Name: rgIdentity, Namespace: rgNamespace,
		}},
	}))
}

// seedTemplates makes the Azure ClusterTemplates (the newest valid one with
// the real values schema) and what else k0rdent leaves.
func (w *regionalWorld) seedTemplates() {
	t, c, ctx := w.t, w.mgmt.Client, w.t.Context()
	// The Azure template's real values schema, from the kcm module.
	crds, err := testenv.KCMCRDDir(ctx)
	rgMust(t, err)
	root := strings.TrimSuffix(filepath.ToSlash(crds), "/templates/provider/kcm/templates/crds")
	schema, err := os.ReadFile(filepath.Join(filepath.FromSlash(root), "templates", "cluster", "azure-standalone-cp", "values.schema.json"))
	rgMust(t, err)
	rgMust(t, c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "schema-ct-" + rgTemplate}, Data: map[string]string{"schema": string(schema)}}))
	for _, tm := range []struct {
		name, version string
		valid         bool
		schema        string
	}{
		{"azure-standalone-cp-1-0-8", "1.0.8", true, ""},
		{rgTemplate, "1.0.17", true, "schema-ct-" + rgTemplate},
		{"azure-standalone-cp-1-0-18", "1.0.18", false, ""}, // newer, but not valid
		{"aws-standalone-cp-1-0-20", "1.0.20", true, ""},    // not Azure
	} {
		ct := &kcmv1.ClusterTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: tm.name},
			Spec:       kcmv1.ClusterTemplateSpec{Helm: kcmv1.HelmSpec{ChartRef: &helmcontrollerv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: tm.name, Namespace: rgNamespace}}},
		}
		rgMust(t, c.Create(ctx, ct))
		ct.Status.Valid = tm.valid
		ct.Status.ChartVersion = tm.version
		ct.Status.SchemaConfigMapName = tm.schema
		if !tm.valid {
			ct.Status.ValidationError = "the chart is not ready"
		}
		rgMust(t, c.Status().Update(ctx, ct))
	}
}

// rgConfig is the configuration that the regional tests and benchmarks
// write: an existing management cluster, regional clusters enabled.
type rgConfig struct {
	Name       string
	Kubeconfig string // the management cluster's
	// K0rdent are the software.k0rdent keys before "regional:" (indented 4
	// spaces); empty: version 1.5.0.
	K0rdent  string
	Parallel int    // software.k0rdent.regional.parallel; 0: not set
	Clusters string // YAML list items, indented for regional.clusters
	Children string // YAML list items of child_clusters, indented by two spaces; empty: none
	Timeouts map[string]string
}

func (c rgConfig) write(t testing.TB, path string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `metadata:
  name: %s
management:
  mode: existing
  kubeconfig: %s
azure:
  location: eastus
  subscription_id: 0b1e7c3a-1111-2222-3333-444455556666
software:
  k0rdent:
%s    regional:
      enabled: true
`, c.Name, c.Kubeconfig, cmp.Or(c.K0rdent, "    version: \"1.5.0\"\n"))
	if c.Parallel > 0 {
		fmt.Fprintf(&b, "      parallel: %d\n", c.Parallel)
	}
	fmt.Fprintf(&b, "      clusters:\n%s\n", c.Clusters)
	if c.Children != "" {
		fmt.Fprintf(&b, "child_clusters:\n%s\n", c.Children)
	}
	if len(c.Timeouts) > 0 {
		b.WriteString("timeouts:\n")
		for _, k := range slices.Sorted(maps.Keys(c.Timeouts)) {
			fmt.Fprintf(&b, "  %s: %s\n", k, c.Timeouts[k])
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeConfig writes the configuration with the given regional clusters
// (YAML list items, indented for software.k0rdent.regional.clusters).
func (w *regionalWorld) writeConfig(clusters string) {
	w.t.Helper()
	rgConfig{Name: "regional-test", Kubeconfig: w.mgmt.KubeconfigPath, K0rdent: w.k0rdentKeys, Parallel: 4, Clusters: clusters, Children: w.children,
		Timeouts: map[string]string{"k0rdent_install": "2m", "regional_cluster": "2m", "region_ready": "2m", "child_cluster": "2m"}}.write(w.t, w.cfgPath)
}

// openRegionalEnv opens the deployment record and the regional environment
// as `k0rdentctl region ...` does: it loads the configuration and opens (or
// creates) the record. interval is how often waits look again. The caller
// closes the session.
func openRegionalEnv(ctx context.Context, cfgPath, stateDir string, interval time.Duration) (*regional.Env, *state.Session, error) {
	cfg, raw, diags, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	if diags.HasErrors() {
		return nil, nil, fmt.Errorf("invalid test configuration: %v", diags.Errors())
	}
	store, err := state.NewFileStore(stateDir)
	if err != nil {
		return nil, nil, err
	}
	id, err := state.FindCurrent(ctx, store, cfg.Metadata.Name)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return nil, nil, err
	}
	sess, err := state.OpenOrCreate(ctx, store, id, cfg.Metadata.Name)
	if err != nil {
		return nil, nil, err
	}
	return &regional.Env{
		Config:         cfg,
		ConfigPath:     cfgPath,
		Management:     deploy.NewEnv(cfgPath, cfg, raw, "", stateDir).Management,
		Session:        sess,
		Files:          store,
		Interval:       interval,
		ConnectTimeout: 10 * time.Second,
	}, sess, nil
}

// runDeploy deploys regions as `k0rdentctl region deploy` does. It returns
// the report, the record after the run and the run's error.
func runDeploy(ctx context.Context, cfgPath, stateDir string, names []string, obs phase.Observer) (*regional.Report, *state.Record, error) {
	env, sess, err := openRegionalEnv(ctx, cfgPath, stateDir, 50*time.Millisecond)
	if err != nil {
		return nil, nil, err
	}
	defer sess.Close()
	rep, err := (&regional.Deploy{Env: env, Names: names, DeployOptions: regional.DeployOptions{Observer: obs}}).Run(ctx)
	return rep, sess.Snapshot(), err
}

func (w *regionalWorld) deploy(names ...string) (*regional.Report, *state.Record, error) {
	w.t.Helper()
	rep, rec, err := runDeploy(w.t.Context(), w.cfgPath, w.stateDir, names, testObserver{w.t})
	if rep == nil {
		w.t.Fatalf("deploy did not run: %v", err)
	}
	for _, r := range rep.Regions {
		w.t.Logf("region %s: %s (failed step %q: %s; fix: %s)", r.Name, r.Status, r.FailedStep, r.Error, r.Fix)
	}
	return rep, rec, err
}

// testObserver logs a run's transitions and progress.
type testObserver struct{ t *testing.T }

func (o testObserver) Transition(tr state.PhaseTransition) {
	msg := fmt.Sprintf("%s → %s", tr.Name, tr.Status)
	if tr.Reason != "" {
		msg += " (" + tr.Reason + ")"
	}
	if tr.Err != nil {
		msg += ": " + tr.Err.Error()
	}
	o.t.Log(msg)
}

func (o testObserver) Progress(name, message string) { o.t.Logf("%s: %s", name, message) }

func regionReport(t *testing.T, rep *regional.Report, name string) regional.RegionReport {
	t.Helper()
	for _, r := range rep.Regions {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no region %s in the report", name)
	return regional.RegionReport{}
}

func regionRecord(t *testing.T, rec *state.Record, name string) state.RegionalCluster {
	t.Helper()
	c := rec.Regional(name)
	if c == nil {
		t.Fatalf("no regional cluster %s in the record", name)
	}
	return *c
}

// eventTypes lists the types of a region's events.
func eventTypes(rec *state.Record, region string) []string {
	var out []string
	for _, e := range rec.RegionEvents(region) {
		out = append(out, e.Type)
	}
	return out
}

func countEvents(rec *state.Record, region, typ string) int {
	n := 0
	for _, e := range rec.RegionEvents(region) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// kubeconfigWith returns a cluster's kubeconfig with its server replaced, or
// its user's credentials replaced by a bearer token.
func kubeconfigWith(t *testing.T, kc []byte, server, token string) []byte {
	t.Helper()
	cfg, err := clientcmd.Load(kc)
	rgMust(t, err)
	for _, c := range cfg.Clusters {
		if server != "" {
			c.Server = server
		}
	}
	for _, a := range cfg.AuthInfos {
		if token != "" {
			a.ClientCertificateData, a.ClientKeyData, a.Token = nil, nil, token
		}
	}
	out, err := clientcmd.Write(*cfg)
	rgMust(t, err)
	return out
}

// closedAddress is an address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	rgMust(t, err)
	addr := l.Addr().String()
	rgMust(t, l.Close())
	return addr
}

func rgGet(t *testing.T, c client.Client, key client.ObjectKey, obj client.Object) {
	t.Helper()
	if err := c.Get(t.Context(), key, obj); err != nil {
		t.Fatalf("reading %T %s: %v", obj, key, err)
	}
}

func rgNotFound(t *testing.T, c client.Client, key client.ObjectKey, obj client.Object) {
	t.Helper()
	err := c.Get(t.Context(), key, obj)
	if !apierrors.IsNotFound(err) {
		t.Errorf("%T %s: want it not to exist, got %v", obj, key, err)
	}
}
