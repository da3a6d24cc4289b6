package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

// TestDeployWithRegionalThroughTheCLI: `deploy` installs the real kcm chart
// on an empty management cluster and, in its credentials phase, makes the
// Azure Credential from the service principal the configuration names;
// `deploy --with-regional` deploys a regional cluster whose
// ClusterDeployment k0rdentctl creates. The regions are recorded as `region
// deploy` records them (the region's entry, its phases, its events, the
// ClusterDeployment as created, not adopted), the objects carry the
// deployment's label, and `region remove --force` therefore deletes the
// ClusterDeployment it created.
func TestDeployWithRegionalThroughTheCLI(t *testing.T) {
	capz, err := testenv.CAPZCRDDir(t.Context())
	rgMust(t, err)
	// The management cluster starts without the k0rdent CRDs: the chart
	// installs them. The CAPZ CRDs stand for what the Azure provider brings.
	clusters := make(chan *testenv.Cluster, 1)
	go func() { clusters <- testenv.StartT(t, testenv.Options{NoCRDs: true, ExtraCRDDirs: []string{capz}}) }()
	regionals := rgStartClusters(t, 1)
	w := regionalWorldOn(t, <-clusters, regionals)
	w.startStandIns(moduleVersion)

	values, err := json.Marshal(chartValues())
	rgMust(t, err)
	w.k0rdentKeys = fmt.Sprintf("    version: %q\n    chart: %s\n    values: %s\n    credential:\n      client_id: 11111111-2222-3333-4444-555555555555\n",
		moduleVersion, kcmChartDir(t), values)
	t.Setenv("AZURE_TENANT_ID", "66666666-7777-8888-9999-000000000000")
	t.Setenv("AZURE_CLIENT_SECRET", rgClientSecret)
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast`)
	w.standin.SetClusterKubeconfig(rgNamespace, "regional-cluster-useast", regionals[0].Kubeconfig)
	// Two children: one on the management cluster, one in the region.
	w.children = `  - name: child-mgmt
    location: eastus
  - name: child-useast
    location: eastus
    region: regional-useast`
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast`)
	w.standin.SetClusterKubeconfig(rgNamespace, "child-mgmt", w.mgmt.Kubeconfig)
	w.standin.SetClusterKubeconfig(rgNamespace, "child-useast", regionals[0].Kubeconfig)
	flags := []string{"-c", w.cfgPath, "--state-dir", w.stateDir}

	if r := cliRun(t, append([]string{"deploy"}, flags...)...); r.code != 0 {
		t.Fatalf("deploy: exit %d", r.code)
	}
	// The credentials phase made the management Credential, ready, labelled
	// with the deployment.
	mgmtCred := &kcmv1.Credential{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, mgmtCred)
	first := opsRecord(t, w)
	if p := first.Phase("credentials"); p == nil || p.Status != state.PhaseCompleted || !mgmtCred.Status.Ready ||
		mgmtCred.Labels[regional.LabelDeployment] != first.DeploymentID {
		t.Fatalf("after deploy: credentials phase %+v, Credential ready %t, labels %v", p, mgmtCred.Status.Ready, mgmtCred.Labels)
	}
	w.credentialMade = true
	w.seedManagement(false) // the kcm Deployment and the ClusterTemplates

	r := cliRun(t, append([]string{"deploy", "--with-regional", "--with-children"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("deploy --with-regional --with-children: exit %d", r.code)
	}
	// The children: made from the newest valid template, each with its
	// Credential (the region's for the child in the region), Ready, with
	// their phases completed and their kubeconfigs written.
	for name, cred := range map[string]string{"child-mgmt": rgCredential, "child-useast": rgCredential + "-regional-useast"} {
		cd := &kcmv1.ClusterDeployment{}
		rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: name}, cd)
		if cd.Spec.Credential != cred || cd.Spec.Template != rgTemplate {
			t.Errorf("child %s: credential %s, template %s", name, cd.Spec.Credential, cd.Spec.Template)
		}
		if p := opsRecord(t, w).Phase("child/" + name); p == nil || p.Status != state.PhaseCompleted {
			t.Errorf("phase child/%s: %+v", name, p)
		}
		if _, err := os.Stat(filepath.Join(w.stateDir, "kubeconfigs", name+".kubeconfig")); err != nil {
			t.Errorf("kubeconfig of child %s: %v", name, err)
		}
	}
	// A second run changes nothing: every phase is verified.
	r = cliRun(t, append([]string{"deploy", "--with-regional", "--with-children", "-o", "json"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("second deploy --with-regional --with-children: exit %d", r.code)
	}
	redidNothing(t, r, "second deploy --with-regional --with-children")
	rec := opsRecord(t, w)
	id := rec.DeploymentID
	// w.stateDir is the state folder beside the configuration: the default,
	// so the command that resumes needs no --state-dir.
	if want := "k0rdentctl deploy --with-regional --with-children -c " + w.cfgPath; rec.ResumeCommand != want {
		t.Errorf("the command that resumes the run: %q, want %q", rec.ResumeCommand, want)
	}

	// The region's entry, as region deploy writes it.
	c := regionRecord(t, rec, "regional-useast")
	if c.Status != state.RegionalDeployed || !c.Deployed || c.Type != state.RegionalTypeClusterDeployment ||
		!c.ClusterDeploymentOwned || !c.CredentialsPropagated || c.KubeconfigPath == "" {
		t.Errorf("region entry after deploy --with-regional: %+v", c)
	}
	if _, err := os.Stat(c.KubeconfigPath); err != nil {
		t.Errorf("the region's kubeconfig file: %v", err)
	}
	// Its phases, labelled with the region, and its events.
	for _, step := range regional.Steps() {
		p := rec.Phase(regional.PhaseName("regional-useast", step))
		if p == nil || p.Region != "regional-useast" {
			t.Errorf("phase %s of the region: %+v", step, p)
		}
	}
	if types := eventTypes(rec, "regional-useast"); !slices.Contains(types, state.EventPhaseCompleted) || len(types) < len(regional.Steps()) {
		t.Errorf("events of the region: %v", types)
	}
	// The ClusterDeployment is recorded as created, not adopted.
	created := false
	for _, res := range rec.Resources {
		if res.Kind == "ClusterDeployment" && res.Name == "regional-cluster-useast" {
			created = !res.Adopted && res.Region == "regional-useast"
		}
	}
	if !created {
		t.Errorf("the ClusterDeployment is not recorded as created by this deployment: %+v", rec.Resources)
	}

	// The objects carry the deployment's label.
	for _, obj := range []client.Object{&kcmv1.Region{}, &kcmv1.ClusterDeployment{}, &kcmv1.Credential{}} {
		var key client.ObjectKey
		switch obj.(type) {
		case *kcmv1.Region:
			key = client.ObjectKey{Name: "regional-useast"}
		case *kcmv1.ClusterDeployment:
			key = client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}
		case *kcmv1.Credential:
			key = client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-regional-useast"}
		}
		rgGet(t, w.mgmt.Client, key, obj)
		if got := obj.GetLabels()[regional.LabelDeployment]; got != id {
			t.Errorf("%T %s: label %s=%q, want %q", obj, key, regional.LabelDeployment, got, id)
		}
	}

	// region deploy finds the same record: every step is verified, nothing
	// is redone.
	r = cliRun(t, append([]string{"region", "deploy", "-o", "json"}, flags...)...)
	rep := opsJSON[regional.Report](t, r)
	if r.code != 0 || len(rep.Regions) != 1 {
		t.Fatalf("region deploy after deploy --with-regional: exit %d", r.code)
	}
	for _, st := range rep.Regions[0].Steps {
		if st.Step != regional.StepPreflight && st.Status != string(state.PhaseSkipped) && (!st.Verified || st.Status != string(state.PhaseCompleted)) {
			t.Errorf("region deploy redid step %s (%s, verified %t)", st.Step, st.Status, st.Verified)
		}
	}

	if got := opsRecord(t, w).ResumeCommand; !strings.HasPrefix(got, "k0rdentctl region deploy -c ") {
		t.Errorf("after region deploy, the command that resumes it: %q", got)
	}

	// region remove recognises the ClusterDeployment as created here and
	// deletes it.
	r = cliRun(t, append([]string{"region", "remove", "regional-useast", "--force", "-y"}, flags...)...)
	if r.code != 0 || strings.Contains(r.out, "kept") {
		t.Fatalf("region remove --force -y: exit %d", r.code)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}, &kcmv1.ClusterDeployment{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-useast"}, &kcmv1.Region{})
}

// redidNothing checks a deploy -o json that ran after a complete one:
// preflights look again, skipped phases (not wanted) do nothing, every
// other phase is verified, not run. It returns the phases' names.
func redidNothing(t *testing.T, r opsResult, what string) map[string]bool {
	t.Helper()
	var again struct {
		Phases []struct {
			Name, Status string
			Verified     bool
		} `json:"phases"`
	}
	rgMust(t, json.Unmarshal([]byte(r.out), &again))
	seen := map[string]bool{}
	for _, p := range again.Phases {
		seen[p.Name] = true
		if p.Name != "preflight" && !strings.HasSuffix(p.Name, "/"+regional.StepPreflight) && p.Status != "skipped" && (!p.Verified || p.Status != "completed") {
			t.Errorf("%s redid %s (%s, verified %t)", what, p.Name, p.Status, p.Verified)
		}
	}
	return seen
}
