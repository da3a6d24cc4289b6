package integration

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// The module's chart and Release say 1.5.0-rc1 (see K0RDENT-1.5-FACTS.md);
// the stand-in's controller reports the same version, as the module's
// controller would.
const moduleVersion = "1.5.0-rc1"

func newInstall(kc *kube.Clients, chart string, progress *lines) *k0rdent.Install {
	return &k0rdent.Install{
		Kube:        kc,
		ChartSource: k0rdent.ChartSource{Chart: chart, Version: "1.5.0"},
		Values:      chartValues(),
		Timeout:     testTimeout,
		Interval:    100 * time.Millisecond,
		Progress:    progress.add,
	}
}

// helmRevisions counts the stored revisions of the Helm release kcm.
func helmRevisions(t *testing.T, c client.Client) int {
	t.Helper()
	var list corev1.SecretList
	if err := c.List(t.Context(), &list, client.InNamespace(k0rdent.DefaultNamespace), client.MatchingLabels{"owner": "helm", "name": k0rdent.HelmReleaseName}); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// TestRealCRDsAndApply shows the CRDs are k0rdent's own (the Region CEL rule
// rejects a Region with neither reference) and exercises kube.Apply.
func TestRealCRDsAndApply(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{})
	kc := connect(t, cluster)
	ctx := t.Context()

	bad := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "no-reference"}}
	err := kube.Apply(ctx, kc.Client, bad)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "exactly one of kubeConfig or clusterDeployment must be set") {
		t.Fatalf("a Region with neither reference: err = %v, want the CRD's CEL rule to reject it", err)
	}

	good := &kcmv1.Region{
		ObjectMeta: metav1.ObjectMeta{Name: "regional-useast"},
		Spec:       kcmv1.RegionSpec{KubeConfig: &fluxSecretKeyRef{Name: "external-useast", Key: "value"}},
	}
	if err := kube.Apply(ctx, kc.Client, good); err != nil {
		t.Fatalf("applying a valid Region: %v", err)
	}
	if good.UID == "" || good.Kind != "Region" {
		t.Fatalf("Apply should fill in the object from the answer: %+v", good.TypeMeta)
	}
	var managers []string
	for _, mf := range good.ManagedFields {
		managers = append(managers, mf.Manager)
	}
	if !reflect.DeepEqual(managers, []string{kube.FieldManager}) {
		t.Fatalf("managers %v, want only %s", managers, kube.FieldManager)
	}

	// Another manager takes a field; Apply takes it back (force ownership).
	other := good.DeepCopy()
	other.ManagedFields = nil
	other.Labels = map[string]string{"team": "other"}
	if err := kc.Client.Update(ctx, other, client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}
	again := &kcmv1.Region{
		ObjectMeta: metav1.ObjectMeta{Name: "regional-useast", Labels: map[string]string{"team": "platform"}},
		Spec:       kcmv1.RegionSpec{KubeConfig: &fluxSecretKeyRef{Name: "external-useast", Key: "value"}},
	}
	if err := kube.Apply(ctx, kc.Client, again); err != nil {
		t.Fatalf("re-applying over another manager's field: %v", err)
	}
	if again.Labels["team"] != "platform" {
		t.Fatalf("label team = %q, want platform", again.Labels["team"])
	}
	// Immutability is the CRD's too.
	moved := again.DeepCopy()
	moved.Spec.KubeConfig.Name = "another-secret"
	if err := kube.Apply(ctx, kc.Client, moved); err == nil || !strings.Contains(err.Error(), "kubeConfig is immutable") {
		t.Fatalf("changing spec.kubeConfig: err = %v, want the CRD's immutability rule", err)
	}
}

// TestKCMChartInstall installs the real kcm chart from the kcm module into
// an API server without CRDs, through Install (the code path of `k0rdentctl
// k0rdent install`), with the stand-in doing what the kcm controller does.
func TestKCMChartInstall(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true})
	kc := connect(t, cluster)
	ctx := t.Context()
	chart := kcmChartDir(t)

	kcm, _ := startKCM(t, kc, moduleVersion, nil)
	// One provider is still installing when the Management appears; it gets
	// healthy once the wait has shown it (event-driven, no sleeps).
	const azure = "cluster-api-provider-azure"
	kcm.SetComponent(azure, kcmv1.ComponentStatus{Success: false, Error: "HelmRelease kcm-system/cluster-api-provider-azure is not ready yet"})
	progress := newLines(t)
	var flipped bool
	progress.on = func(s string) {
		if !flipped && strings.Contains(s, azure+": HelmRelease") {
			flipped = true
			kcm.ClearComponent(azure)
		}
	}

	res, err := newInstall(kc, chart, progress).Run(ctx)
	if err != nil {
		t.Fatalf("first install: %v", err)
	}
	if res.Action != k0rdent.ActionInstall || res.HelmRevision != 1 || !res.Ready {
		t.Fatalf("first install: action %s, revision %d, ready %v", res.Action, res.HelmRevision, res.Ready)
	}
	if res.Version != moduleVersion || res.Release != "kcm-1-5-0-rc1" || res.ChartVersion != moduleVersion {
		t.Fatalf("version %q from Release %q, chart %q; want %s from kcm-1-5-0-rc1", res.Version, res.Release, res.ChartVersion, moduleVersion)
	}
	if !flipped {
		t.Fatalf("the wait never showed the installing component; progress:\n%s", progress.text())
	}
	out := progress.text()
	for _, want := range []string{"NotAllComponentsHealthy", "Ready=True AllComponentsHealthy", "pre-release of 1.5.0", "kcm-regional 1.0.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress does not mention %q:\n%s", want, out)
		}
	}
	rec := res.Record(state.K0rdent{}, time.Now())
	if rec.Version != moduleVersion || rec.Release != "kcm-1-5-0-rc1" || rec.HelmRevision != 1 || !rec.Ready || rec.InstalledAt == nil {
		t.Fatalf("state record %+v", rec)
	}

	// What the chart created.
	var crds apiextv1.CustomResourceDefinitionList
	if err := kc.Client.List(ctx, &crds); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, crd := range crds.Items {
		have[crd.Name] = true
	}
	for _, want := range []string{"regions.k0rdent.mirantis.com", "managements.k0rdent.mirantis.com", "releases.k0rdent.mirantis.com", "clusterdeployments.k0rdent.mirantis.com", "credentials.k0rdent.mirantis.com", "providerinterfaces.k0rdent.mirantis.com"} {
		if !have[want] {
			t.Errorf("CRD %s was not installed", want)
		}
	}
	var dep appsv1.Deployment
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: "kcm-system", Name: "kcm-controller-manager"}, &dep); err != nil {
		t.Fatalf("Deployment kcm-controller-manager: %v", err)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--create-management=true") {
		t.Errorf("controller args %q", args)
	}
	// The Management's kcm config is the Helm values, as the controller sets it.
	var mgmt kcmv1.Management
	if err := kc.Client.Get(ctx, client.ObjectKey{Name: "kcm"}, &mgmt); err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, mgmt.Spec.Core.KCM.Config.Raw, chartValues())

	// A second run with nothing changed: no new Helm revision.
	progress2 := newLines(t)
	res2, err := newInstall(kc, chart, progress2).Run(ctx)
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if res2.Action != k0rdent.ActionUnchanged || res2.HelmRevision != 1 || len(res2.Changes) != 0 || !res2.Ready {
		t.Fatalf("second install: action %s, revision %d, changes %v", res2.Action, res2.HelmRevision, res2.Changes)
	}
	if n := helmRevisions(t, kc.Client); n != 1 {
		t.Fatalf("%d Helm revisions after the second run, want 1", n)
	}
	if !strings.Contains(progress2.text(), "nothing to install") {
		t.Errorf("the second run should say nothing was installed:\n%s", progress2.text())
	}

	// Status.
	st, err := (&k0rdent.Status{Kube: kc}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Installed || st.Version != moduleVersion || st.Release != "kcm-1-5-0-rc1" || !st.ReleaseReady || !st.Ready() {
		t.Fatalf("status %+v", st)
	}
	if !st.RegionCRD || !st.RegionsSupported || st.Helm == nil || st.Helm.Revision != 1 || st.Helm.ChartVersion != moduleVersion || st.Helm.Status != "deployed" {
		t.Fatalf("status regions %v/%v (%s), helm %+v", st.RegionCRD, st.RegionsSupported, st.RegionsReason, st.Helm)
	}
	if len(st.Management.Components) != 5 || !strings.Contains(strings.Join(st.Warnings, " "), "pre-release") {
		t.Fatalf("components %+v, warnings %v", st.Management.Components, st.Warnings)
	}

	// Changed values: an upgrade (revision 2), mirrored into the Management.
	in := newInstall(kc, chart, newLines(t))
	in.Values["controller"] = map[string]any{"logger": map[string]any{"devel": true}}
	res3, err := in.Run(ctx)
	if err != nil {
		t.Fatalf("install with changed values: %v", err)
	}
	if res3.Action != k0rdent.ActionUpgrade || res3.HelmRevision != 2 || helmRevisions(t, kc.Client) != 2 {
		t.Fatalf("changed values: action %s, revision %d", res3.Action, res3.HelmRevision)
	}
	if err := kc.Client.Get(ctx, client.ObjectKey{Name: "kcm"}, &mgmt); err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, mgmt.Spec.Core.KCM.Config.Raw, in.Values)
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: "kcm-system", Name: "kcm-controller-manager"}, &dep); err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--zap-devel=true") {
		t.Errorf("the upgrade did not reach the Deployment: args %q", args)
	}
}

// TestMissingSubchartsAreNamed: with only the values that skip Flux and
// rbac-manager, the module's chart still needs the regional subchart's
// cert-manager and velero, which it does not carry: the install fails
// before touching the cluster, naming them, instead of installing without
// them as Helm's SDK alone would.
func TestMissingSubchartsAreNamed(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true})
	kc := connect(t, cluster)
	in := newInstall(kc, kcmChartDir(t), newLines(t))
	in.Values = map[string]any{
		"flux2":        map[string]any{"enabled": false},
		"rbac-manager": map[string]any{"enabled": false},
		"regional":     map[string]any{"enabled": false},
	}
	_, err := in.Run(t.Context())
	var md *k0rdent.MissingDependencyError
	if !errors.As(err, &md) {
		t.Fatalf("err = %v, want a MissingDependencyError", err)
	}
	for _, want := range []string{"regional.cert-manager", "regional.velero", "regional.cert-manager.enabled=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if n := helmRevisions(t, kc.Client); n != 0 {
		t.Fatalf("%d Helm revisions: nothing should have been installed", n)
	}
}

// TestManagementWaitAndVersionFromRelease runs against the real CRDs without
// the chart: the stand-in plays a k0rdent 1.4.0 controller.
func TestManagementWaitAndVersionFromRelease(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{})
	kc := connect(t, cluster)
	ctx := t.Context()
	if err := kube.Apply(ctx, kc.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kcm-system"}}); err != nil {
		t.Fatal(err)
	}
	kcm, _ := startKCM(t, kc, "1.4.0", func(k *standin.KCM) { k.IgnoreDeployment = true })
	kcm.SetComponent("capi", kcmv1.ComponentStatus{Error: "cluster-api is installing"})

	// Let the stand-in create the Management and report the component
	// first, so that the short wait below times out on it (and not on a
	// slow start).
	if err := kube.WaitFor(ctx, "the stand-in's Management", testTimeout, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		var m kcmv1.Management
		if err := kc.Client.Get(ctx, client.ObjectKey{Name: "kcm"}, &m); err != nil {
			return false, err.Error(), nil
		}
		c, ok := m.Status.Components["capi"]
		return ok && c.Error != "", "", nil
	}, nil); err != nil {
		t.Fatal(err)
	}

	// A wait that times out says what it waited for and what it saw last.
	short := &k0rdent.WaitReady{Kube: kc, Timeout: 1500 * time.Millisecond, Interval: 100 * time.Millisecond}
	_, err := short.Run(ctx)
	var te *kube.WaitTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "Management kcm to be Ready") || !strings.Contains(err.Error(), "capi: cluster-api is installing") {
		t.Fatalf("short wait: err = %v, want a timeout naming the Management and the failing component", err)
	}

	// The wait shows the component, which then gets healthy.
	progress := newLines(t)
	var flipped bool
	progress.on = func(s string) {
		if !flipped && strings.Contains(s, "capi: cluster-api is installing") {
			flipped = true
			kcm.ClearComponent("capi")
		}
	}
	w := &k0rdent.WaitReady{Kube: kc, Timeout: testTimeout, Interval: 100 * time.Millisecond, Progress: progress.add}
	st, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ready() || st.Version != "1.4.0" || st.Release != "kcm-1-4-0" {
		t.Fatalf("after the wait: %+v", st)
	}

	// The Region CRD is there, but the version says 1.4.0: no regions.
	status, err := (&k0rdent.Status{Kube: kc}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !status.RegionCRD || status.RegionsSupported || status.Version != "1.4.0" || !strings.Contains(status.RegionsReason, "older than 1.5.0") {
		t.Fatalf("status: region CRD %v, supported %v, version %s, reason %q", status.RegionCRD, status.RegionsSupported, status.Version, status.RegionsReason)
	}
	if status.Installed && status.Helm != nil {
		t.Fatalf("no Helm release here, got %+v", status.Helm)
	}

	// Upgrading from 1.4.0 is the breaking change, and KOF with Istio is
	// reported. (Check only: this API server's CRDs were not installed by the
	// chart, so Helm could not adopt them.)
	helmSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Namespace: "kof", Name: "sh.helm.release.v1.kof-istio.v1",
		Labels: map[string]string{"owner": "helm", "name": "kof-istio", "status": "deployed", "version": "1"},
	}, Type: "helm.sh/release.v1"}
	if err := kube.Apply(ctx, kc.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kof"}}); err != nil {
		t.Fatal(err)
	}
	if err := kc.Client.Create(ctx, helmSecret); err != nil {
		t.Fatal(err)
	}
	plan, err := newInstall(kc, kcmChartDir(t), newLines(t)).Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Refusal != nil || plan.Current == nil || plan.Current.Version != "1.4.0" || plan.Current.VersionSource != "Release kcm-1-4-0" {
		t.Fatalf("plan %+v (refusal %v)", plan, plan.Refusal)
	}
	if !strings.Contains(plan.BreakingChange, "from 1.4.0 to 1.5.0-rc1") || !strings.Contains(plan.BreakingChange, "Steps:") {
		t.Fatalf("breaking change %q", plan.BreakingChange)
	}
	if plan.SwitchRelease != "kcm-1-5-0-rc1" {
		t.Fatalf("switch to %q, want kcm-1-5-0-rc1", plan.SwitchRelease)
	}
	if w := strings.Join(plan.Warnings, "\n"); !strings.Contains(w, "kof/kof-istio") || !strings.Contains(w, "KOF must move to 1.5.0") {
		t.Fatalf("warnings %q should say KOF with Istio must move together", w)
	}
}

// TestDowngradeRefused: the installed version comes from the Release the
// Management names; an older chart is refused unless forced.
func TestDowngradeRefused(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true})
	kc := connect(t, cluster)
	ctx := t.Context()
	chart := kcmChartDir(t)
	kcm, _ := startKCM(t, kc, moduleVersion, nil)
	if _, err := newInstall(kc, chart, newLines(t)).Run(ctx); err != nil {
		t.Fatalf("install: %v", err)
	}

	// Later k0rdent 1.6.0 runs here: its controller made Release kcm-1-6-0
	// and the Management was pointed at it.
	kcm.SetVersion("1.6.0")
	if err := kube.WaitFor(ctx, "Release kcm-1-6-0", testTimeout, 50*time.Millisecond, func(ctx2 context.Context) (bool, string, error) {
		err := kc.Client.Get(ctx2, client.ObjectKey{Name: "kcm-1-6-0"}, &kcmv1.Release{})
		return err == nil, "", client.IgnoreNotFound(err)
	}, nil); err != nil {
		t.Fatal(err)
	}
	var mgmt kcmv1.Management
	if err := kc.Client.Get(ctx, client.ObjectKey{Name: "kcm"}, &mgmt); err != nil {
		t.Fatal(err)
	}
	orig := mgmt.DeepCopy()
	mgmt.Spec.Release = "kcm-1-6-0"
	if err := kc.Client.Patch(ctx, &mgmt, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	st, err := (&k0rdent.WaitReady{Kube: kc, Timeout: testTimeout, Interval: 50 * time.Millisecond}).Run(ctx)
	if err != nil || st.Version != "1.6.0" {
		t.Fatalf("1.6.0 ready: %v, %+v", err, st)
	}

	// The module's chart (1.5.0-rc1) is older: refused, nothing changed.
	_, err = newInstall(kc, chart, newLines(t)).Run(ctx)
	var de *k0rdent.DowngradeError
	if !errors.As(err, &de) || de.Installed != "1.6.0" || de.Wanted != moduleVersion {
		t.Fatalf("err = %v, want a DowngradeError from 1.6.0", err)
	}
	var refusal interface{ Refused() bool }
	if !errors.As(err, &refusal) || !refusal.Refused() || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a downgrade must be a refusal (exit 3) that mentions --force: %v", err)
	}
	if n := helmRevisions(t, kc.Client); n != 1 {
		t.Fatalf("%d Helm revisions after a refused downgrade, want 1", n)
	}
	if err := kc.Client.Get(ctx, client.ObjectKey{Name: "kcm"}, &mgmt); err != nil || mgmt.Spec.Release != "kcm-1-6-0" {
		t.Fatalf("Management release %q after a refused downgrade (%v)", mgmt.Spec.Release, err)
	}

	// Forced: the Management goes back to the chart's Release.
	kcm.SetVersion(moduleVersion)
	in := newInstall(kc, chart, newLines(t))
	in.Force = true
	res, err := in.Run(ctx)
	if err != nil {
		t.Fatalf("forced downgrade: %v", err)
	}
	if res.Version != moduleVersion || res.PreviousVersion != "1.6.0" || !res.Ready || res.HelmRevision != 1 {
		t.Fatalf("forced downgrade: %+v", res)
	}
	if !strings.Contains(strings.Join(res.Changes, "\n"), "spec.release kcm-1-6-0 -> kcm-1-5-0-rc1") || !strings.Contains(strings.Join(res.Warnings, "\n"), "--force") {
		t.Fatalf("changes %v, warnings %v", res.Changes, res.Warnings)
	}
}

// TestUninstall: refused while k0rdent objects exist; with Force they are
// deleted first; objects held by a finalizer nobody clears stop it until
// RemoveFinalizers.
func TestUninstall(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true})
	kc := connect(t, cluster)
	ctx := t.Context()
	startKCM(t, kc, moduleVersion, nil)
	if _, err := newInstall(kc, kcmChartDir(t), newLines(t)).Run(ctx); err != nil {
		t.Fatalf("install: %v", err)
	}

	objs := []client.Object{
		&kcmv1.Credential{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "azure-cluster-credential"},
			Spec:       kcmv1.CredentialSpec{IdentityRef: &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta1", Kind: "AzureClusterIdentity", Name: "azure-cluster-identity", Namespace: "kcm-system"}},
		},
		&kcmv1.Region{
			ObjectMeta: metav1.ObjectMeta{Name: "regional-westeu"},
			Spec:       kcmv1.RegionSpec{KubeConfig: &fluxSecretKeyRef{Name: "external-westeu", Key: "value"}},
		},
		&kcmv1.ClusterDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "child-1"},
			Spec:       kcmv1.ClusterDeploymentSpec{Template: "azure-standalone-cp-1-0-17", Credential: "azure-cluster-credential"},
		},
	}
	for _, o := range objs {
		if err := kube.Apply(ctx, kc.Client, o); err != nil {
			t.Fatalf("creating %T: %v", o, err)
		}
	}

	// Refused, listing them; nothing deleted.
	_, err := (&k0rdent.Uninstall{Kube: kc, Timeout: testTimeout, Interval: 100 * time.Millisecond}).Run(ctx)
	var inUse *k0rdent.InUseError
	if !errors.As(err, &inUse) || len(inUse.Objects) != 3 || !inUse.Refused() {
		t.Fatalf("err = %v, want an InUseError with 3 objects", err)
	}
	for _, want := range []string{"ClusterDeployment kcm-system/child-1", "Region regional-westeu", "Credential kcm-system/azure-cluster-credential", "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not list %s", err, want)
		}
	}
	for _, o := range objs {
		if err := kc.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatalf("%s was touched by a refused uninstall: %v", o.GetName(), err)
		}
	}

	// A finalizer that no controller will clear (none runs for Credentials
	// here): Force deletes what it can, then stops and reports it.
	cred := objs[0].(*kcmv1.Credential)
	cred.Finalizers = []string{"k0rdent.mirantis.com/credential"}
	if err := kc.Client.Update(ctx, cred); err != nil {
		t.Fatal(err)
	}
	progress := newLines(t)
	_, err = (&k0rdent.Uninstall{Kube: kc, Force: true, Timeout: 1500 * time.Millisecond, Interval: 100 * time.Millisecond, Progress: progress.add}).Run(ctx)
	var stuck *k0rdent.StuckError
	if !errors.As(err, &stuck) || len(stuck.Objects) != 1 || stuck.Objects[0].Name != "azure-cluster-credential" || !strings.Contains(err.Error(), "--remove-finalizers") {
		t.Fatalf("err = %v, want a StuckError for the Credential", err)
	}
	for _, o := range objs[1:] {
		if err := kc.Client.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
			t.Fatalf("%s should be gone: %v", o.GetName(), err)
		}
	}
	if n := helmRevisions(t, kc.Client); n != 1 {
		t.Fatal("the chart must stay while objects are stuck")
	}

	// RemoveFinalizers: done.
	res, err := (&k0rdent.Uninstall{Kube: kc, Force: true, RemoveFinalizers: true, Timeout: testTimeout, Interval: 100 * time.Millisecond, Progress: progress.add}).Run(ctx)
	if err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if !res.ManagementDeleted || !res.HelmUninstalled || len(res.FinalizersRemoved) != 1 {
		t.Fatalf("result %+v", res)
	}
	var crds apiextv1.CustomResourceDefinitionList
	if err := kc.Client.List(ctx, &crds); err != nil {
		t.Fatal(err)
	}
	for _, crd := range crds.Items {
		if crd.Spec.Group == kcmv1.GroupVersion.Group {
			t.Errorf("CRD %s is still there", crd.Name)
		}
	}
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: "kcm-system", Name: "kcm-controller-manager"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the controller Deployment should be gone: %v", err)
	}
	if n := helmRevisions(t, kc.Client); n != 0 {
		t.Fatalf("%d Helm release Secrets left", n)
	}

	// Again: nothing to do.
	res, err = (&k0rdent.Uninstall{Kube: kc, Timeout: testTimeout}).Run(ctx)
	if err != nil || !res.NotInstalled {
		t.Fatalf("second uninstall: %+v, %v", res, err)
	}
}

func assertJSONEqual(t *testing.T, raw []byte, want map[string]any) {
	t.Helper()
	var got any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	wantRaw, _ := json.Marshal(want)
	var w any
	_ = json.Unmarshal(wantRaw, &w)
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("got %s, want %s", raw, wantRaw)
	}
}
