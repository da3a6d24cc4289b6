package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// Benchmarks of the regional operations against real API servers; the
// results and the machine they ran on are in docs/benchmarks.md.
//
//	go test -run '^$' -bench 'RegionStatus|RegionalDeploy' -benchtime 3x ./test/integration/

// requestCounter counts the HTTP requests a client sends, by method and
// path (the query left out).
type requestCounter struct {
	mu    sync.Mutex
	total atomic.Int64
	byKey map[string]int
}

func newRequestCounter() *requestCounter { return &requestCounter{byKey: map[string]int{}} }

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.total.Add(1)
		c.mu.Lock()
		c.byKey[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (c *requestCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total.Store(0)
	c.byKey = map[string]int{}
}

func (c *requestCounter) breakdown() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.byKey))
	for k := range c.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %3d %s\n", c.byKey[k], k)
	}
	return b.String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// freshManagement hands out clients built for each call, so that every
// status is measured as a command run measures it: a fresh client with an
// empty discovery cache.
type freshManagement struct {
	cfg *rest.Config
}

func (m freshManagement) Clients(context.Context) (*kube.Clients, error) {
	return kube.FromRESTConfig(m.cfg)
}

func benchMust(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// benchRegionalConfig writes a configuration with n external regions named
// bench-r<i> (Secret external-bench-r<i>), deployed 8 at a time.
func benchRegionalConfig(b testing.TB, path, mgmtKubeconfig string, n int) {
	b.Helper()
	benchRegionalConfigParallel(b, path, mgmtKubeconfig, n, 8)
}

// benchRegionalConfigParallel is benchRegionalConfig with regional.parallel.
func benchRegionalConfigParallel(b testing.TB, path, mgmtKubeconfig string, n, parallel int) {
	b.Helper()
	var clusters []string
	for i := range n {
		clusters = append(clusters, fmt.Sprintf("        - name: bench-r%d\n          location: eastus\n          kubeconfig_secret: external-bench-r%d", i, i))
	}
	rgConfig{Name: "bench", Kubeconfig: mgmtKubeconfig, Parallel: parallel, Clusters: strings.Join(clusters, "\n"),
		Timeouts: map[string]string{"region_ready": "2m"}}.write(b, path)
}

// benchSeedManagement creates what k0rdent and the credential setup leave on
// a management cluster: the kcm controller Deployment running with a
// registry certificate, the Azure identity with its Secret, the management
// Credential.
func benchSeedManagement(b testing.TB, c *testenv.Cluster) {
	b.Helper()
	ctx := context.Background()
	cl := c.Client
	benchMust(b, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rgNamespace}}))
	benchMust(b, cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCertSecret}, Data: map[string][]byte{"ca.crt": []byte(rgCertPEM)}}))
	sel := map[string]string{"control-plane": "kcm-controller-manager"}
	benchMust(b, cl.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: regional.KCMControllerDeployment, Labels: sel},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "manager", Image: "ghcr.io/k0rdent/kcm/controller:1.5.0", Args: []string{"--create-management=true", "--registry-cert-secret-name=" + rgCertSecret},
			}}}}},
	}))
	benchMust(b, cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgIdentitySecret}, Data: map[string][]byte{regional.IdentitySecretKey: []byte(rgClientSecret)}}))
	benchMust(b, cl.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
		"kind":       "AzureClusterIdentity",
		"metadata":   map[string]any{"name": rgIdentity, "namespace": rgNamespace},
		"spec": map[string]any{"type": "ServicePrincipal", "clientID": "11111111-2222-3333-4444-555555555555", "tenantID": "66666666-7777-8888-9999-000000000000",
			"clientSecret": map[string]any{"name": rgIdentitySecret, "namespace": rgNamespace}, "allowedNamespaces": map[string]any{}},
	}}))
	benchMust(b, cl.Create(ctx, &kcmv1.Credential{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential},
		Spec:       kcmv1.CredentialSpec{IdentityRef: &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta1", Kind: "AzureClusterIdentity", Name: rgIdentity, Namespace: rgNamespace}},
	}))
}

// benchAddRegions adds regions from..to-1 to the management cluster and the
// record as a deploy leaves them: a Region (Ready, five components), its
// kubeconfig Secret, its Credential (ready) and two child clusters placed in
// it; and the record's entry.
func benchAddRegions(b testing.TB, c *testenv.Cluster, sess *state.Session, from, to int) {
	b.Helper()
	ctx := context.Background()
	cl := c.Client
	for i := from; i < to; i++ {
		name := fmt.Sprintf("bench-r%d", i)
		labels := regional.Labels(name, sess.ID())
		benchMust(b, cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "external-" + name}, Data: map[string][]byte{"value": c.Kubeconfig}}))
		rg := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: kcmv1.RegionSpec{KubeConfig: &fluxSecretKeyRef{Name: "external-" + name, Key: "value"}}}
		benchMust(b, cl.Create(ctx, rg))
		rg.Status.ObservedGeneration = rg.Generation
		rg.Status.Components = map[string]kcmv1.ComponentStatus{}
		for _, comp := range []string{"kcm-regional", "capi", "cluster-api-provider-azure", "cluster-api-provider-k0sproject-k0smotron", "projectsveltos"} {
			rg.Status.Components[comp] = kcmv1.ComponentStatus{Success: true, Template: comp + "-1-0-0"}
		}
		meta.SetStatusCondition(&rg.Status.Conditions, metav1.Condition{Type: kcmv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: kcmv1.AllComponentsHealthyReason, Message: "All components are successfully installed", ObservedGeneration: rg.Generation})
		benchMust(b, cl.Status().Update(ctx, rg))
		cred := &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCredential + "-" + name, Labels: labels},
			Spec: kcmv1.CredentialSpec{Region: name, IdentityRef: &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta1", Kind: "AzureClusterIdentity", Name: rgIdentity, Namespace: rgNamespace}}}
		benchMust(b, cl.Create(ctx, cred))
		cred.Status.Ready = true
		benchMust(b, cl.Status().Update(ctx, cred))
		for _, child := range []string{"a", "b"} {
			benchMust(b, cl.Create(ctx, &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "child-" + name + "-" + child},
				Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: cred.Name, Config: &apiextv1.JSON{Raw: []byte(`{"location":"eastus"}`)}}}))
		}
	}
	benchMust(b, sess.Update(ctx, func(r *state.Record) error {
		for i := from; i < to; i++ {
			name := fmt.Sprintf("bench-r%d", i)
			r.UpsertRegional(state.RegionalCluster{Name: name, Location: "eastus", Type: state.RegionalTypeExternal, KubeconfigSecret: "external-" + name,
				Status: state.RegionalDeployed, Deployed: true, RegionCRDCreated: true, CredentialsPropagated: true, CertificatesPropagated: true,
				Components: map[string]string{"cert_manager": "v1.19.1", "velero": "v1.17.0", "cluster_api": "v1.11.2"}})
		}
		return nil
	}))
}

// BenchmarkRegionStatus measures `region status` (regional.Status with a
// fresh management client, as each command run makes one, and the record
// read from disk) against a real API server holding 1, 10 and 50 regions,
// each with its Credential and two child clusters, and counts the HTTP
// requests it sends: one list per object kind, whatever the number of
// regions.
func BenchmarkRegionStatus(b *testing.B) {
	ctx := context.Background()
	mgmt, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		b.Fatalf("starting the API server: %v", err)
	}
	b.Cleanup(func() { _ = mgmt.Stop() })
	benchSeedManagement(b, mgmt)
	dir := b.TempDir()
	store, err := state.NewFileStore(filepath.Join(dir, "state"))
	benchMust(b, err)
	sess, err := state.OpenOrCreate(ctx, store, "", "bench")
	benchMust(b, err)
	id := sess.ID()
	counter := newRequestCounter()
	cfgRest := rest.CopyConfig(mgmt.Config)
	cfgRest.Wrap(counter.wrap)
	cfgPath := filepath.Join(dir, "k0rdent.yaml")

	have := 0
	for _, n := range []int{1, 10, 50} {
		if n > have {
			benchAddRegions(b, mgmt, sess, have, n)
			have = n
		}
		benchRegionalConfig(b, cfgPath, mgmt.KubeconfigPath, n)
		cfg, _, diags, err := config.Load(cfgPath)
		benchMust(b, err)
		if diags.HasErrors() {
			b.Fatalf("benchmark configuration: %v", diags.Errors())
		}
		env := &regional.Env{Config: cfg, ConfigPath: cfgPath, Management: freshManagement{cfg: cfgRest}, Files: store}
		b.Run(fmt.Sprintf("regions=%d", n), func(b *testing.B) {
			counter.reset()
			b.ResetTimer()
			for range b.N {
				rec, err := store.Load(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := (&regional.Status{Env: env, Record: rec}).Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Regions) != n || rep.Counts[state.RegionalDeployed] != n || rep.ManagementError != "" || len(rep.Problems()) != 0 {
					b.Fatalf("status: %d regions, counts %v, management error %q, problems %v", len(rep.Regions), rep.Counts, rep.ManagementError, rep.Problems())
				}
				if got := len(rep.Regions[n-1].ClusterDeployments); got != 2 {
					b.Fatalf("region %s: %d child clusters, want 2", rep.Regions[n-1].Name, got)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(counter.total.Load())/float64(b.N), "requests/op")
			if b.N == 1 {
				b.Logf("regions=%d: the requests of one run, by method and path:\n%s", n, counter.breakdown())
			}
		})
	}
	benchMust(b, sess.Close())
}

// BenchmarkRegionalDeploy measures the wall time of deploying 1 and 8
// external regional clusters, each a separate real API server, with the
// stand-in delaying every Region's readiness by the same amount, 3s or 10s
// (the delay lives in the stand-in; k0rdentctl only waits). Regions deploy
// concurrently (regional.parallel: 8), so 8 should cost about as much as 1;
// parallel=1 deploys them one after the other, for comparison. The stand-in handles
// the regions at the same time (standin.Shards, as Flux installs each
// region's releases independently); standin=serial runs the stand-in's
// single Regional, which handles them one after the other. Between runs the regions are
// removed (not timed) so that every run deploys from scratch.
func BenchmarkRegionalDeploy(b *testing.B) {
	const regions = 8
	ctx := context.Background()
	clusters := make([]*testenv.Cluster, regions+1)
	errs := make([]error, regions+1)
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clusters[i], errs[i] = testenv.Start(ctx, testenv.Options{})
		}()
	}
	wg.Wait()
	for _, c := range clusters {
		if c != nil {
			b.Cleanup(func() { _ = c.Stop() })
		}
	}
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("starting the API servers: %v", err)
	}
	mgmt, regionals := clusters[0], clusters[1:]
	benchSeedManagement(b, mgmt)
	var names []string
	for i, rc := range regionals {
		names = append(names, fmt.Sprintf("bench-r%d", i))
		benchMust(b, mgmt.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: fmt.Sprintf("external-bench-r%d", i)}, Data: map[string][]byte{"value": rc.Kubeconfig}}))
	}
	mc, err := kube.Connect(ctx, mgmt.KubeconfigPath)
	benchMust(b, err)
	kcmLoop := standin.NewLoop(standin.NewKCM(mc, "1.5.0"))
	kcmLoop.Interval = 25 * time.Millisecond
	stopKCM := kcmLoop.Start(context.Background())
	b.Cleanup(func() { _ = stopKCM() })
	// k0rdent is up once the Management names a Ready Release.
	err = kube.WaitFor(ctx, "the stand-in's Management kcm and Release", time.Minute, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		m := &kcmv1.Management{}
		if err := mgmt.Client.Get(ctx, client.ObjectKey{Name: kcmv1.ManagementName}, m); err != nil {
			return false, err.Error(), nil
		}
		rel := &kcmv1.Release{}
		if err := mgmt.Client.Get(ctx, client.ObjectKey{Name: m.Spec.Release}, rel); err != nil {
			return false, err.Error(), nil
		}
		return rel.Status.Ready, "Release " + rel.Name, nil
	}, nil)
	benchMust(b, err)

	// startStandin starts the regional stand-in, sharded per region or as
	// one Regional, and returns what stops it.
	startStandin := func(b *testing.B, sharded bool, readyDelay time.Duration) func() {
		opts := standin.RegionalOptions{Management: mgmt.Client, ReadyDelay: readyDelay}
		var r standin.Reconciler
		if sharded {
			shards, err := standin.NewRegionalShards(opts, names)
			benchMust(b, err)
			r = shards
		} else {
			one, err := standin.NewRegional(opts)
			benchMust(b, err)
			r = one
		}
		l := standin.NewLoop(r)
		l.Interval = benchStandinInterval
		stop := l.Start(context.Background())
		return func() { _ = stop() }
	}

	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "k0rdent.yaml")
	for _, c := range []struct {
		name        string
		n, parallel int
		delay       time.Duration
		sharded     bool
	}{
		{"regions=1,delay=3s", 1, 8, 3 * time.Second, true},
		{"regions=8,delay=3s", regions, 8, 3 * time.Second, true},
		{"regions=8,delay=3s,parallel=1", regions, 1, 3 * time.Second, true},
		{"regions=1,delay=10s", 1, 8, 10 * time.Second, true},
		{"regions=8,delay=10s", regions, 8, 10 * time.Second, true},
		{"regions=1,delay=3s,standin=serial", 1, 8, 3 * time.Second, false},
		{"regions=8,delay=3s,standin=serial", regions, 8, 3 * time.Second, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.StopTimer()
			stop := startStandin(b, c.sharded, c.delay)
			defer stop()
			benchRegionalConfigParallel(b, cfgPath, mgmt.KubeconfigPath, c.n, c.parallel)
			var total time.Duration
			for i := range b.N {
				stateDir := filepath.Join(dir, fmt.Sprintf("state-%s-%d-%d", c.name, b.N, i))
				b.StartTimer()
				start := time.Now()
				rep, err := benchDeploy(ctx, cfgPath, stateDir)
				took := time.Since(start)
				b.StopTimer()
				total += took
				if err != nil || rep == nil || rep.Counts[regional.ReportDeployed] != c.n {
					b.Fatalf("deploy of %d regions: %v", c.n, err)
				}
				if i == b.N-1 {
					b.Logf("%s: %s", c.name, benchStepTimes(rep))
				}
				benchRemoveAll(b, cfgPath, stateDir)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/deploy")
			b.ReportMetric(c.delay.Seconds(), "ready-delay-s")
		})
	}
}

// How often the deploy benchmark's k0rdentctl waits look again (the
// command's default is 2s, which would round every step up to it) and how
// often the stand-in looks at the world. Both poll real API servers: on two
// cores, tighter polling by 8 regions would measure the polling rather than
// the deploy.
const (
	benchInterval        = 250 * time.Millisecond
	benchStandinInterval = 50 * time.Millisecond
)

// benchDeploy runs `region deploy` for every configured region.
func benchDeploy(ctx context.Context, cfgPath, stateDir string) (*regional.Report, error) {
	env, sess, err := benchEnv(ctx, cfgPath, stateDir)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	return (&regional.Deploy{Env: env}).Run(ctx)
}

func benchEnv(ctx context.Context, cfgPath, stateDir string) (*regional.Env, *state.Session, error) {
	return openRegionalEnv(ctx, cfgPath, stateDir, benchInterval)
}

// benchRemoveAll removes every configured region (region remove --force).
func benchRemoveAll(b *testing.B, cfgPath, stateDir string) {
	b.Helper()
	ctx := context.Background()
	env, sess, err := benchEnv(ctx, cfgPath, stateDir)
	benchMust(b, err)
	defer sess.Close()
	for _, rc := range env.Config.Software.K0rdent.Regional.Clusters {
		opts := regional.RemoveOptions{Force: true, Timeout: time.Minute}
		plan, err := (&regional.Remove{Env: env, Name: rc.Name, RemoveOptions: opts}).Plan(ctx)
		benchMust(b, err)
		rep, err := (&regional.Remove{Env: env, Name: rc.Name, RemoveOptions: opts}).Run(ctx, plan)
		benchMust(b, err)
		if rep.Status != state.RegionalRemoved {
			b.Fatalf("removing %s between runs: %s (%s)", rc.Name, rep.Error, rep.Fix)
		}
	}
}

// benchStepTimes says how long each step took, slowest region first:
// "preflight 0.1s–0.3s, cluster ...".
func benchStepTimes(rep *regional.Report) string {
	lo, hi := map[string]float64{}, map[string]float64{}
	for _, rg := range rep.Regions {
		for _, st := range rg.Steps {
			d := st.DurationSeconds
			if v, ok := lo[st.Step]; !ok || d < v {
				lo[st.Step] = d
			}
			hi[st.Step] = max(hi[st.Step], d)
		}
	}
	var parts []string
	for _, step := range regional.Steps() {
		if _, ok := hi[step]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2fs–%.2fs", step, lo[step], hi[step]))
		}
	}
	return "step durations (fastest–slowest region): " + strings.Join(parts, ", ")
}
