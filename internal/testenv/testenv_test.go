package testenv_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime's logger; without one set it
	// prints a warning with a stack trace. Its errors reach the tests anyway.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// The API server itself enforces the Region CRD's CEL rule "exactly one of
// kubeConfig or clusterDeployment": proof that the CRDs are k0rdent's own.
func TestRegionCRDRuleEnforcedByAPIServer(t *testing.T) {
	t.Parallel()
	c := testenv.StartT(t, testenv.Options{})
	ctx := t.Context()

	kubeConfigRef := &fluxmeta.SecretKeyReference{Name: "regional-kubeconfig", Key: "value"}
	cdRef := &kcmv1.ClusterDeploymentRef{Namespace: "kcm-system", Name: "regional-cluster"}

	rejected := map[string]kcmv1.RegionSpec{
		"neither": {},
		"both":    {KubeConfig: kubeConfigRef, ClusterDeployment: cdRef},
	}
	for name, spec := range rejected {
		rgn := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "rgn-" + name}, Spec: spec}
		err := c.Client.Create(ctx, rgn)
		if !apierrors.IsInvalid(err) {
			t.Fatalf("Region with %s reference: want the API server to reject it as Invalid, got %v", name, err)
		}
		if want := "exactly one of kubeConfig or clusterDeployment must be set"; !strings.Contains(err.Error(), want) {
			t.Errorf("Region with %s reference: error %q does not carry the CRD's message %q", name, err, want)
		}
	}

	accepted := map[string]kcmv1.RegionSpec{
		"kubeconfig":        {KubeConfig: kubeConfigRef},
		"clusterdeployment": {ClusterDeployment: cdRef},
	}
	for name, spec := range accepted {
		rgn := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "rgn-" + name}, Spec: spec}
		if err := c.Client.Create(ctx, rgn); err != nil {
			t.Fatalf("Region with only a %s reference: want it accepted, got %v", name, err)
		}
		var got kcmv1.Region
		if err := c.Client.Get(ctx, client.ObjectKey{Name: rgn.Name}, &got); err != nil {
			t.Fatalf("reading back Region %s: %v", rgn.Name, err)
		}
		if got.Namespace != "" {
			t.Errorf("Region %s has namespace %q; the CRD makes Regions cluster-scoped", rgn.Name, got.Namespace)
		}
	}

	// The immutability rule is the CRD's too.
	var rgn kcmv1.Region
	if err := c.Client.Get(ctx, client.ObjectKey{Name: "rgn-kubeconfig"}, &rgn); err != nil {
		t.Fatal(err)
	}
	rgn.Spec.KubeConfig = &fluxmeta.SecretKeyReference{Name: "another-secret", Key: "value"}
	if err := c.Client.Update(ctx, &rgn); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "kubeConfig is immutable") {
		t.Errorf("changing spec.kubeConfig: want Invalid %q, got %v", "kubeConfig is immutable", err)
	}
}

// A management cluster and regional clusters run at once, each its own API
// server with its own storage; NoCRDs gives one without any CRD.
func TestSeveralClustersAtOnce(t *testing.T) {
	t.Parallel()
	opts := map[string]testenv.Options{
		"management": {},
		"regional":   {},
		"bare":       {NoCRDs: true},
	}
	clusters := make(map[string]*testenv.Cluster, len(opts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, o := range opts {
		wg.Go(func() {
			c, err := testenv.Start(t.Context(), o)
			if err != nil {
				t.Errorf("starting the %s cluster: %v", name, err)
				return
			}
			t.Cleanup(func() {
				if err := c.Stop(); err != nil {
					t.Errorf("stopping the %s cluster: %v", name, err)
				}
			})
			mu.Lock()
			clusters[name] = c
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	ctx := t.Context()
	hosts := map[string]string{}
	for name, c := range clusters {
		if other, dup := hosts[c.Config.Host]; dup {
			t.Fatalf("clusters %s and %s share the API server %s", name, other, c.Config.Host)
		}
		hosts[c.Config.Host] = name
	}

	mgmt, regional, bare := clusters["management"], clusters["regional"], clusters["bare"]
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kcm-system"}}
	if err := mgmt.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace in the management cluster: %v", err)
	}
	for name, c := range map[string]*testenv.Cluster{"regional": regional, "bare": bare} {
		err := c.Client.Get(ctx, client.ObjectKey{Name: "kcm-system"}, &corev1.Namespace{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("namespace created in the management cluster, read from the %s cluster: want NotFound, got %v", name, err)
		}
	}

	rgn := &kcmv1.Region{
		ObjectMeta: metav1.ObjectMeta{Name: "regional-useast"},
		Spec:       kcmv1.RegionSpec{KubeConfig: &fluxmeta.SecretKeyReference{Name: "useast-kubeconfig", Key: "value"}},
	}
	if err := mgmt.Client.Create(ctx, rgn); err != nil {
		t.Fatalf("creating a Region in the management cluster: %v", err)
	}
	var regions kcmv1.RegionList
	if err := regional.Client.List(ctx, &regions); err != nil {
		t.Fatalf("listing Regions in the regional cluster: %v", err)
	}
	if len(regions.Items) != 0 {
		t.Errorf("regional cluster lists %d Regions; the Region was created in the management cluster only", len(regions.Items))
	}
	if err := bare.Client.List(ctx, &kcmv1.RegionList{}); !meta.IsNoMatchError(err) {
		t.Errorf("listing Regions in the cluster started with NoCRDs: want no such kind, got %v", err)
	}
}

// CAPZ's CRDs are installed: an AzureClusterIdentity can be stored and read.
func TestAzureClusterIdentityServed(t *testing.T) {
	t.Parallel()
	c := testenv.StartT(t, testenv.Options{})
	ctx := t.Context()

	gvk := schema.GroupVersionKind{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta1", Kind: "AzureClusterIdentity"}
	mapping, err := c.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("AzureClusterIdentity is not served: %v", err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		t.Errorf("AzureClusterIdentity scope = %s, want namespaced", mapping.Scope.Name())
	}

	id := &unstructured.Unstructured{}
	id.SetGroupVersionKind(gvk)
	id.SetNamespace("default")
	id.SetName("azure-cluster-identity")
	id.Object["spec"] = map[string]any{
		"type":         "ServicePrincipal",
		"clientID":     "00000000-0000-0000-0000-000000000001",
		"tenantID":     "00000000-0000-0000-0000-000000000002",
		"clientSecret": map[string]any{"name": "azure-cluster-identity-secret", "namespace": "default"},
	}
	if err := c.Client.Create(ctx, id); err != nil {
		t.Fatalf("creating an AzureClusterIdentity: %v", err)
	}

	// The CRD's schema is enforced: clientID is required.
	bad := &unstructured.Unstructured{}
	bad.SetGroupVersionKind(gvk)
	bad.SetNamespace("default")
	bad.SetName("missing-client-id")
	bad.Object["spec"] = map[string]any{"type": "ServicePrincipal", "tenantID": "t"}
	if err := c.Client.Create(ctx, bad); !apierrors.IsInvalid(err) {
		t.Errorf("AzureClusterIdentity without clientID: want Invalid, got %v", err)
	}
}

// The admin kubeconfig is a private file that works as a user's kubeconfig
// does; a user added without rights is refused.
func TestKubeconfigAndUsers(t *testing.T) {
	t.Parallel()
	c := testenv.StartT(t, testenv.Options{NoCRDs: true})
	ctx := t.Context()

	fi, err := os.Stat(c.KubeconfigPath)
	if err != nil {
		t.Fatalf("admin kubeconfig: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("admin kubeconfig %s has mode %o, want 600", c.KubeconfigPath, mode)
	}
	onDisk, err := os.ReadFile(c.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(c.Kubeconfig) {
		t.Errorf("Cluster.Kubeconfig differs from the content of %s", c.KubeconfigPath)
	}

	admin := clientFromKubeconfigFile(t, c, c.KubeconfigPath)
	review := &authenticationv1.SelfSubjectReview{}
	if err := admin.Create(ctx, review); err != nil {
		t.Fatalf("asking the API server who the kubeconfig's user is: %v", err)
	}
	if u := review.Status.UserInfo; u.Username != testenv.AdminUser || !slices.Contains(u.Groups, "system:masters") {
		t.Errorf("kubeconfig user = %q in groups %v, want %q in system:masters", u.Username, u.Groups, testenv.AdminUser)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubeconfig"},
		StringData: map[string]string{"value": "not a real kubeconfig"},
	}
	if err := admin.Create(ctx, secret); err != nil {
		t.Fatalf("creating a Secret as the admin user: %v", err)
	}

	nobody := clientForNewUser(t, c, "nobody", nil)
	err = nobody.List(ctx, &corev1.SecretList{}, client.InNamespace("default"))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets as a user without rights: want 403 Forbidden, got %v", err)
	}

	// Groups given to AddUser count for RBAC.
	if err := c.Client.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "secret-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "secret-readers"}},
	}); err != nil {
		t.Fatal(err)
	}
	reader := clientForNewUser(t, c, "reader", []string{"secret-readers"})
	var secrets corev1.SecretList
	if err := reader.List(ctx, &secrets, client.InNamespace("default")); err != nil {
		t.Fatalf("listing Secrets as a member of a group bound to a role that allows it: %v", err)
	}
	if len(secrets.Items) != 1 || secrets.Items[0].Name != "kubeconfig" {
		t.Errorf("reader lists Secrets %v, want the one created", secrets.Items)
	}
	if err := reader.Delete(ctx, secret); !apierrors.IsForbidden(err) {
		t.Errorf("deleting a Secret as a user allowed only to list: want 403 Forbidden, got %v", err)
	}
}

func clientFromKubeconfigFile(t *testing.T, c *testenv.Cluster, path string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading kubeconfig %s: %v", path, err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatalf("client from kubeconfig %s: %v", path, err)
	}
	return cl
}

func clientForNewUser(t *testing.T, c *testenv.Cluster, name string, groups []string) client.Client {
	t.Helper()
	kc, err := c.AddUser(name, groups)
	if err != nil {
		t.Fatalf("adding user %s: %v", name, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatalf("kubeconfig of user %s: %v", name, err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatalf("client for user %s: %v", name, err)
	}
	return cl
}
