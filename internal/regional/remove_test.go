package regional

import (
	"errors"
	"slices"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPlanRemovalRefusesARegionInUse(t *testing.T) {
	env, _ := statusWorld(t)
	plan, err := (&Remove{Env: env, Name: "regional-useast", RemoveOptions: RemoveOptions{}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.ClusterDeployments, []string{"kcm-system/child-1", "team-a/child-2"}) {
		t.Errorf("in use by %v", plan.ClusterDeployments)
	}
	if !slices.Equal(plan.Credentials, []string{"kcm-system/azure-cluster-credential-regional-useast", "team-a/useast-for-team-a"}) {
		t.Errorf("credentials %v", plan.Credentials)
	}
	err = plan.Refusal()
	var inUse *InUseError
	if !errors.As(err, &inUse) || !inUse.Refused() {
		t.Fatalf("refusal %v, want *InUseError", err)
	}
	for _, want := range []string{"kcm-system/child-1", "team-a/child-2", "nothing was removed", "k0rdentctl region remove regional-useast --force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}

	forced, err := (&Remove{Env: env, Name: "regional-useast", RemoveOptions: RemoveOptions{Force: true}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if forced.Refusal() != nil {
		t.Errorf("with --force: refused: %v", forced.Refusal())
	}
	steps := strings.Join(forced.Steps(), "\n")
	order := []string{"delete the 2 ClusterDeployments placed", "delete Credentials kcm-system/", "delete Region regional-useast", "delete the regional cluster's ClusterDeployment kcm-system/regional-cluster-useast (k0rdentctl created it)", "mark the regional cluster removed"}
	last := -1
	for _, s := range order {
		i := strings.Index(steps, s)
		if i < 0 || i < last {
			t.Errorf("steps out of order or missing %q:\n%s", s, steps)
		}
		last = i
	}
	if len(forced.Warnings) != 1 || !strings.Contains(forced.Warnings[0], "still in software.k0rdent.regional.clusters") {
		t.Errorf("warnings %v", forced.Warnings)
	}
}

func TestPlanRemovalKeepsAnAdoptedCluster(t *testing.T) {
	adopted := opsCD("kcm-system", "regional-cluster-useast", "azure-cluster-credential", nil, true)
	env, _ := opsEnv(t, opsTestConfig, adopted, opsRegion("regional-useast", ourLabels("regional-useast"), true, kcmv1.AllComponentsHealthyReason, &kcmv1.ClusterDeploymentRef{Namespace: "kcm-system", Name: "regional-cluster-useast"}))
	plan, err := (&Remove{Env: env, Name: "regional-useast", RemoveOptions: RemoveOptions{}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Refusal() != nil || plan.DeleteRegionalCluster || !strings.Contains(plan.ClusterDeploymentReason, "adopted") {
		t.Errorf("adopted: delete %t (%s), refusal %v", plan.DeleteRegionalCluster, plan.ClusterDeploymentReason, plan.Refusal())
	}
	plan, err = (&Remove{Env: env, Name: "regional-useast", RemoveOptions: RemoveOptions{DeleteCluster: true}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !plan.DeleteRegionalCluster || !strings.Contains(plan.ClusterDeploymentReason, "--delete-cluster") {
		t.Errorf("--delete-cluster: delete %t (%s)", plan.DeleteRegionalCluster, plan.ClusterDeploymentReason)
	}

	if _, err := (&Remove{Env: env, Name: "nowhere", RemoveOptions: RemoveOptions{}}).Plan(t.Context()); err == nil || !strings.Contains(err.Error(), "regional-useast") {
		t.Errorf("unknown region: err = %v, want the known names", err)
	}
}

func TestPlanRemovalDeletesOnlyTheKubeconfigSecretItMade(t *testing.T) {
	ours := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "external-westeu", Labels: ourLabels("regional-westeu")}}
	env, c := opsEnv(t, opsTestConfig, ours, opsRegion("regional-westeu", ourLabels("regional-westeu"), true, kcmv1.AllComponentsHealthyReason, nil))
	plan, err := (&Remove{Env: env, Name: "regional-westeu", RemoveOptions: RemoveOptions{}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if plan.KubeconfigSecret != "kcm-system/external-westeu" || plan.RegionalClusterDeployment != "" {
		t.Errorf("kubeconfig Secret %q, cluster deployment %q", plan.KubeconfigSecret, plan.RegionalClusterDeployment)
	}
	ours.Labels = nil
	if err := c.Update(t.Context(), ours); err != nil {
		t.Fatal(err)
	}
	plan, err = (&Remove{Env: env, Name: "regional-westeu", RemoveOptions: RemoveOptions{}}).Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if plan.KubeconfigSecret != "" {
		t.Errorf("a Secret the user made must be left: %q", plan.KubeconfigSecret)
	}
	if plan.Empty() {
		t.Error("a Region is left: the plan is not empty")
	}
}
