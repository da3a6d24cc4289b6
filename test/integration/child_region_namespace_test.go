package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	helmcontrollerv2 "github.com/fluxcd/helm-controller/api/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
)

// TestChildInARegionFromAnotherNamespace (kcm issue 2152, fixed in 1.6.0):
// a child placed in a ClusterDeployment-backed region from a namespace
// other than the regional ClusterDeployment's needs that cluster's
// kubeconfig Secret in its own namespace. The stand-in, as kcm 1.5.0,
// leaves such a child stuck ("could not get KubeConfig secret"); `child
// create` copies the Secret there first, labelled as k0rdentctl's, says
// so, and the child becomes Ready.
func TestChildInARegionFromAnotherNamespace(t *testing.T) {
	w := newRegionalWorld(t, 2, false)
	opsTwoRegions(t, w)
	c, ctx := w.mgmt.Client, t.Context()
	const ns, region = "team-a", "regional-useast"
	teamNamespace(t, c, ns, region)
	copied := client.ObjectKey{Namespace: ns, Name: "regional-cluster-useast-kubeconfig"}

	// What k0rdent 1.5.0 does with such a child by itself: it stays stuck.
	stuck := &kcmv1.ClusterDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-hand"},
		Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: "team-useast"}}
	rgMust(t, c.Create(ctx, stuck))
	want := "could not get KubeConfig secret '" + copied.String() + "'"
	waitCD(t, c, client.ObjectKeyFromObject(stuck), func(cd *kcmv1.ClusterDeployment) bool {
		cond := meta.FindStatusCondition(cd.Status.Conditions, kcmv1.ReadyCondition)
		return cond != nil && cond.Message == want
	}, want)
	rgMust(t, c.Delete(ctx, stuck))

	// child create copies the Secret, and the child becomes Ready.
	w.standin.SetClusterKubeconfig(ns, "app-eu", w.regionals[0].Kubeconfig)
	r := cliRun(t, "child", "create", "app-eu", "-n", ns, "--region", region, "--credential", "team-useast", "--timeout", "1m", "-c", w.cfgPath)
	if r.code != 0 || !strings.Contains(r.out+r.err, "kcm issue 2152") {
		t.Fatalf("child create in %s placed in %s: exit %d, want 0 and the copy said", ns, region, r.code)
	}
	sec := &corev1.Secret{}
	rgGet(t, c, copied, sec)
	orig := &corev1.Secret{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast-kubeconfig"}, orig)
	if string(sec.Data["value"]) != string(orig.Data["value"]) || !regional.CreatedByUs(sec.Labels) ||
		sec.Annotations[child.AnnotationCopiedFrom] != rgNamespace+"/regional-cluster-useast-kubeconfig" {
		t.Errorf("copied Secret: labels %v, annotations %v, same kubeconfig %t", sec.Labels, sec.Annotations, string(sec.Data["value"]) == string(orig.Data["value"]))
	}
	cd := &kcmv1.ClusterDeployment{}
	rgGet(t, c, client.ObjectKey{Namespace: ns, Name: "app-eu"}, cd)
	if !meta.IsStatusConditionTrue(cd.Status.Conditions, kcmv1.ReadyCondition) {
		t.Errorf("app-eu is not Ready: %+v", cd.Status.Conditions)
	}
}

// teamNamespace makes namespace ns what k0rdent's access management makes
// of a team's namespace: the Azure template (with its schema) and a
// Credential "team-useast" placing clusters in region.
func teamNamespace(t *testing.T, c client.Client, ns, region string) {
	t.Helper()
	ctx := t.Context()
	rgMust(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	schema := &corev1.ConfigMap{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: "schema-ct-" + rgTemplate}, schema)
	rgMust(t, c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: schema.Name}, Data: schema.Data}))
	ct := &kcmv1.ClusterTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rgTemplate},
		Spec:       kcmv1.ClusterTemplateSpec{Helm: kcmv1.HelmSpec{ChartRef: &helmcontrollerv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: rgTemplate, Namespace: rgNamespace}}},
	}
	rgMust(t, c.Create(ctx, ct))
	ct.Status.Valid, ct.Status.ChartVersion, ct.Status.SchemaConfigMapName = true, "1.0.17", schema.Name
	rgMust(t, c.Status().Update(ctx, ct))
	mgmt := &kcmv1.Credential{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, mgmt)
	rgMust(t, c.Create(ctx, &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team-useast"},
		Spec: kcmv1.CredentialSpec{Region: region, IdentityRef: mgmt.Spec.IdentityRef}}))
	waitCredentialReady(t, c, client.ObjectKey{Namespace: ns, Name: "team-useast"})
}

func waitCredentialReady(t *testing.T, c client.Client, key client.ObjectKey) {
	t.Helper()
	err := kube.WaitFor(t.Context(), "Credential "+key.String()+" to be ready", testTimeout, 25*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		cred := &kcmv1.Credential{}
		if err := c.Get(ctx, key, cred); err != nil {
			return false, "", err
		}
		return cred.Status.Ready, fmt.Sprintf("conditions %+v", cred.Status.Conditions), nil
	}, nil)
	rgMust(t, err)
}

func waitCD(t *testing.T, c client.Client, key client.ObjectKey, ok func(*kcmv1.ClusterDeployment) bool, what string) {
	t.Helper()
	err := kube.WaitFor(t.Context(), "ClusterDeployment "+key.String()+": "+what, testTimeout, 25*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		cd := &kcmv1.ClusterDeployment{}
		if err := c.Get(ctx, key, cd); err != nil {
			return false, "", err
		}
		return ok(cd), fmt.Sprintf("conditions %+v", cd.Status.Conditions), nil
	}, nil)
	rgMust(t, err)
}
