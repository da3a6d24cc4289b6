package regional

import (
	"os"
	"slices"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

func TestPlanCleanupFindsOrphansAndLeavesTheRest(t *testing.T) {
	otherDeployment := Labels("regional-theirs", "k0rdent-zzzz9999")
	env, _ := opsEnv(t, opsTestConfig,
		// Known regions: nothing of theirs is an orphan.
		opsRegion("regional-useast", ourLabels("regional-useast"), true, kcmv1.AllComponentsHealthyReason, &kcmv1.ClusterDeploymentRef{Namespace: "kcm-system", Name: "regional-cluster-useast"}),
		opsCredential("kcm-system", "azure-cluster-credential-regional-useast", "regional-useast", true, ourLabels("regional-useast")),
		opsCD("kcm-system", "regional-cluster-useast", "azure-cluster-credential", ourLabels("regional-useast"), true),
		// An orphan region: Region, Credential, its ClusterDeployment, its kubeconfig.
		opsRegion("regional-old", ourLabels("regional-old"), true, kcmv1.AllComponentsHealthyReason, nil),
		opsCredential("kcm-system", "azure-cluster-credential-regional-old", "regional-old", true, ourLabels("regional-old")),
		opsCD("kcm-system", "regional-cluster-old", "azure-cluster-credential", ourLabels("regional-old"), true),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "external-old", Labels: ourLabels("regional-old")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "external-useast-extra", Labels: ourLabels("regional-useast")}},
		// An orphan region still in use: kept for region remove --force.
		opsRegion("regional-busy", ourLabels("regional-busy"), true, kcmv1.AllComponentsHealthyReason, nil),
		opsCredential("kcm-system", "azure-cluster-credential-regional-busy", "regional-busy", true, ourLabels("regional-busy")),
		opsCD("kcm-system", "child-busy", "azure-cluster-credential-regional-busy", nil, true),
		// Another deployment's, and somebody else's: left.
		opsRegion("regional-theirs", otherDeployment, true, kcmv1.AllComponentsHealthyReason, nil),
		opsRegion("someone-elses", nil, true, kcmv1.AllComponentsHealthyReason, nil),
		// A failed half-created ClusterDeployment of a known region.
		opsCD("kcm-system", "regional-cluster-westeu-broken", "azure-cluster-credential", ourLabels("regional-westeu"), false),
	)
	rec := opsRecord(
		state.RegionalCluster{Name: "regional-useast", Type: state.RegionalTypeClusterDeployment, Status: state.RegionalDeployed},
		state.RegionalCluster{Name: "regional-westeu", Type: state.RegionalTypeExternal, Status: state.RegionalFailed},
		state.RegionalCluster{Name: "regional-gone", Type: state.RegionalTypeExternal, Status: state.RegionalRemoved},
	)
	rec.Phases = append(rec.Phases, state.PhaseRecord{Name: PhaseName("regional-westeu", StepCluster), Status: state.PhaseFailed})
	v := &observed{env: env, rec: rec}
	mc, _ := env.management(t.Context())
	if err := v.load(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
	if err := v.loadSecrets(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
	// Kubeconfig files: a removed region's, an orphan's, a live region's and
	// the management cluster's.
	for _, n := range []string{"regional-gone", "regional-old", "regional-useast", "ops-test"} {
		if err := os.WriteFile(env.Files.KubeconfigPath(n), []byte("kubeconfig"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	plan, err := v.planCleanup()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range plan.Orphans {
		got = append(got, o.Ref())
	}
	want := []string{
		"ClusterDeployment kcm-system/regional-cluster-old",
		"ClusterDeployment kcm-system/regional-cluster-westeu-broken",
		"Credential kcm-system/azure-cluster-credential-regional-old",
		"Region regional-old",
		"Secret kcm-system/external-old",
		"KubeconfigFile " + env.Files.KubeconfigPath("regional-gone"),
		"KubeconfigFile " + env.Files.KubeconfigPath("regional-old"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("orphans, in removal order:\n got %q\nwant %q", got, want)
	}
	var kept []string
	for _, o := range plan.Kept {
		kept = append(kept, o.Ref()+": "+o.Reason)
	}
	keptText := strings.Join(kept, "\n")
	for _, wantKept := range []string{
		"Credential kcm-system/azure-cluster-credential-regional-busy: region regional-busy is no longer configured, but ClusterDeployments use this Credential (kcm-system/child-busy)",
		"Region regional-busy: no longer configured, but ClusterDeployments are placed in it (kcm-system/child-busy); remove it with: k0rdentctl region remove regional-busy --force",
		"Region regional-theirs: created by k0rdentctl for deployment k0rdent-zzzz9999",
	} {
		if !strings.Contains(keptText, wantKept) {
			t.Errorf("kept lacks %q:\n%s", wantKept, keptText)
		}
	}
	if strings.Contains(keptText, "someone-elses") {
		t.Errorf("a Region k0rdentctl did not make is not its business:\n%s", keptText)
	}
	for _, o := range plan.Orphans {
		if o.Reason == "" {
			t.Errorf("%s has no reason", o.Ref())
		}
	}

	// Cleanup of the files only (the objects need the stand-in: see the
	// integration test); a Ready half-created ClusterDeployment is not one.
	files := &CleanupPlan{}
	for _, o := range plan.Orphans {
		if o.Kind == OrphanKubeconfigFile {
			files.Orphans = append(files.Orphans, o)
		}
	}
	rep, err := (&Cleanup{Env: env}).Run(t.Context(), files)
	if err != nil || len(rep.Removed) != 2 || len(rep.Failed) != 0 {
		t.Fatalf("cleanup of files: %v, %+v", err, rep)
	}
	for n, exists := range map[string]bool{"regional-gone": false, "regional-old": false, "regional-useast": true, "ops-test": true} {
		if _, err := os.Stat(env.Files.KubeconfigPath(n)); (err == nil) != exists {
			t.Errorf("kubeconfig of %s: exists %t, want %t", n, err == nil, exists)
		}
	}
}

func TestPlanCleanupKeepsAReadyClusterOfAFailedRegion(t *testing.T) {
	env, _ := opsEnv(t, opsTestConfig, opsCD("kcm-system", "regional-cluster-useast", "azure-cluster-credential", ourLabels("regional-useast"), true))
	rec := opsRecord(state.RegionalCluster{Name: "regional-useast", Type: state.RegionalTypeClusterDeployment, Status: state.RegionalFailed})
	rec.Phases = append(rec.Phases, state.PhaseRecord{Name: PhaseName("regional-useast", StepCluster), Status: state.PhaseFailed})
	v := &observed{env: env, rec: rec}
	mc, _ := env.management(t.Context())
	if err := v.load(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
	plan, err := v.planCleanup()
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Orphans) != 0 {
		t.Errorf("a Ready ClusterDeployment is not half-created: %v", plan.Orphans)
	}
}
