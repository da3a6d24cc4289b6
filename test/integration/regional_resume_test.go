package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// deployHelperEnv carries the configuration and state folder to the child
// process of TestRegionalResumeAfterKill.
const deployHelperEnv = "K0RDENTCTL_TEST_REGIONAL_DEPLOY"

// TestRegionalDeployHelperProcess is the child process of
// TestRegionalResumeAfterKill, the way os/exec's own tests run helpers: in
// the test binary started with deployHelperEnv set, it deploys the regions
// and is killed by its parent mid-deploy. Run any other way it has nothing to
// do.
func TestRegionalDeployHelperProcess(t *testing.T) {
	spec := os.Getenv(deployHelperEnv)
	if spec == "" {
		return
	}
	var args struct{ Config, State string }
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		os.Exit(2)
	}
	_, _, err := runDeploy(context.Background(), args.Config, args.State, nil, nil)
	// The parent kills this process before the deploy can end.
	fmt.Fprintf(os.Stderr, "helper: the deploy ended (%v) instead of being killed\n", err)
	os.Exit(3)
}

// A deploy killed (SIGKILL) while one region waits for its Region and the
// other is done is resumed by the next run, which redoes nothing that was
// done: finished steps are verified, the ClusterDeployment and the Regions
// are not created or changed again (k0rdent does not reinstall anything),
// and only the interrupted region carries on.
func TestRegionalResumeAfterKill(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	ctx := t.Context()
	useast, westeu := w.regionals[0], w.regionals[1]
	w.standin.SetClusterKubeconfig(rgNamespace, "regional-cluster-useast", useast.Kubeconfig)
	// regional-useast's components take an hour: the child is killed while
	// it waits for them.
	w.standin.SetRegionReadyDelay("regional-useast", time.Hour)
	rgMust(t, w.mgmt.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "external-westeu"}, Data: map[string][]byte{"value": westeu.Kubeconfig}}))
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu`)

	spec, _ := json.Marshal(map[string]string{"Config": w.cfgPath, "State": w.stateDir})
	cmd := exec.Command(os.Args[0], "-test.run=^TestRegionalDeployHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), deployHelperEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	rgMust(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	// Wait until regional-westeu is deployed and regional-useast's region
	// step is running (its Region exists and is not ready).
	store, err := state.NewFileStore(w.stateDir)
	rgMust(t, err)
	regionPhase := regional.PhaseName("regional-useast", regional.StepRegion)
	err = kube.WaitFor(ctx, "the child to be mid-deploy", testTimeout, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		select {
		case err := <-exited:
			return false, "", fmt.Errorf("the child exited early (%v): %s", err, out.String())
		default:
		}
		ids, err := store.List(ctx)
		if err != nil || len(ids) == 0 {
			return false, "no record yet", nil
		}
		rec, err := store.Load(ctx, ids[0])
		if err != nil {
			return false, err.Error(), nil
		}
		p, west := rec.Phase(regionPhase), rec.Phase(regional.PhaseName("regional-westeu", regional.StepComponents))
		rg := &kcmv1.Region{}
		if p == nil || p.Status != state.PhaseInProgress || west == nil || west.Status != state.PhaseCompleted ||
			w.mgmt.Client.Get(ctx, client.ObjectKey{Name: "regional-useast"}, rg) != nil || regional.ObserveRegion(rg).Reason != kcmv1.NotAllComponentsHealthyReason {
			return false, "not yet", nil
		}
		return true, "", nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rgMust(t, cmd.Process.Kill())
	if err := <-exited; err == nil {
		t.Fatalf("the child was not killed: %s", out.String())
	}
	exited <- nil // for the cleanup

	killed, err := store.Load(ctx, mustOnlyID(t, store))
	rgMust(t, err)
	if p := killed.Phase(regionPhase); p.Status != state.PhaseInProgress {
		t.Fatalf("after the kill %s is %s, want in-progress (a killed run records nothing more)", regionPhase, p.Status)
	}
	regionsBefore := regionIdentities(t, w)
	cd := &kcmv1.ClusterDeployment{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}, cd)
	westCred := &kcmv1.Credential{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-regional-westeu"}, westCred)
	credReconciles := w.standin.CredentialReconciles(rgNamespace, westCred.Name)

	// k0rdent finishes installing regional-useast; the next run resumes.
	w.standin.SetRegionReadyDelay("regional-useast", 0)
	rep, rec, err := w.deploy()
	if err != nil {
		t.Fatalf("resumed deploy: %v", err)
	}
	if rep.Counts[regional.ReportDeployed] != 2 {
		t.Fatalf("counts %v, want 2 deployed", rep.Counts)
	}
	for _, o := range rep.Result.Outcomes {
		_, step, _ := regional.ParsePhaseName(o.Name)
		wantVerified := o.Group == "regional-westeu" || step == regional.StepPreflight || step == regional.StepCluster
		if o.Verified != wantVerified || o.Status != state.PhaseCompleted {
			t.Errorf("%s: %s verified=%t (%s), want completed verified=%t", o.Name, o.Status, o.Verified, o.Reason, wantVerified)
		}
	}
	if p := rec.Phase(regionPhase); p.Attempts != 2 {
		t.Errorf("%s ran %d times, want 2 (killed, then resumed)", regionPhase, p.Attempts)
	}

	// Nothing that was done was done again.
	if after := regionIdentities(t, w); after != regionsBefore {
		t.Errorf("the resume changed the Regions or made k0rdent reinstall them:\nbefore %s\nafter  %s", regionsBefore, after)
	}
	cdAfter := &kcmv1.ClusterDeployment{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}, cdAfter)
	if cdAfter.UID != cd.UID || cdAfter.Generation != cd.Generation {
		t.Error("the resume recreated or changed the ClusterDeployment")
	}
	westCredAfter := &kcmv1.Credential{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: westCred.Name}, westCredAfter)
	if westCredAfter.UID != westCred.UID || westCredAfter.Generation != westCred.Generation || len(westCredAfter.Annotations) != len(westCred.Annotations) {
		t.Error("the resume recreated or touched regional-westeu's Credential")
	}
	if n := w.standin.CredentialReconciles(rgNamespace, westCred.Name); n != credReconciles {
		t.Errorf("the resume made k0rdent reconcile regional-westeu's Credential again (%d → %d)", credReconciles, n)
	}
	for _, c := range []struct{ region, typ string }{
		{"regional-useast", regional.EventClusterDeploymentCreate},
		{"regional-useast", regional.EventRegionCreated},
		{"regional-westeu", regional.EventRegionCreated},
		{"regional-westeu", regional.EventCredentialCreated},
		{"regional-westeu", regional.EventDeployed},
	} {
		if n := countEvents(rec, c.region, c.typ); n != 1 {
			t.Errorf("%s: %d %s events, want 1", c.region, n, c.typ)
		}
	}
	if countEvents(rec, "regional-useast", regional.EventDeployed) != 1 || !regionRecord(t, rec, "regional-useast").CredentialsPropagated {
		t.Error("regional-useast did not finish on the resume")
	}
	taken := false
	for _, e := range rec.Events {
		taken = taken || e.Type == state.EventLockTakenOver
	}
	if !taken {
		t.Error("no lock_taken_over event: the killed run's lock was not noticed")
	}
}

func mustOnlyID(t *testing.T, store *state.FileStore) string {
	t.Helper()
	ids, err := store.List(t.Context())
	if err != nil || len(ids) != 1 {
		t.Fatalf("records: %v %v", ids, err)
	}
	return ids[0]
}

// regionIdentities is each Region's uid, generation and how many times the
// stand-in (re)installed it.
func regionIdentities(t *testing.T, w *regionalWorld) string {
	t.Helper()
	regions := &kcmv1.RegionList{}
	rgMust(t, w.mgmt.Client.List(t.Context(), regions))
	var b bytes.Buffer
	for _, r := range regions.Items {
		fmt.Fprintf(&b, "%s uid=%s gen=%d installs=%d; ", r.Name, r.UID, r.Generation, w.standin.RegionInstalls(r.Name))
	}
	return b.String()
}
