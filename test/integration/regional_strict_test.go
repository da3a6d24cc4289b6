package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// What k0rdent 1.5.0 refuses or ignores, met through k0rdentctl: the
// stand-in is as strict as kcm (its Region controller with the admission
// webhook disabled), and k0rdentctl says what is going on instead of
// waiting for a timeout.

// rgExternalWesteu configures regional-westeu as an external cluster whose
// kubeconfig Secret k0rdentctl makes from a file.
func rgExternalWesteu(t *testing.T, w *regionalWorld) {
	t.Helper()
	rgMust(t, os.WriteFile(filepath.Join(w.dir, "westeu.kubeconfig"), w.regionals[0].Kubeconfig, 0o600))
	w.writeConfig(`        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu-cluster
          kubeconfig_file: ./westeu.kubeconfig`)
}

// kcm keeps a Region that ClusterDeployments use (RegionDeletionAllowed):
// its finalizer stays. A ClusterDeployment placed in the region after
// `region remove` looked makes the removal stop and name it, instead of
// waiting for the Region until the timeout; --force then removes it.
func TestRegionRemoveNamesTheClusterDeploymentsThatKeepTheRegion(t *testing.T) {
	w := newRegionalWorld(t, 1, false)
	ctx := t.Context()
	rgExternalWesteu(t, w)
	if rep, _, err := w.deploy(); err != nil || rep.Counts[regional.ReportDeployed] != 1 {
		t.Fatalf("deploy: %v", err)
	}

	// While k0rdentctl deletes the Region, somebody places a cluster in
	// the region through a new Credential.
	placeLate := func() {
		mgmtCred := &kcmv1.Credential{}
		rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, mgmtCred)
		late := &kcmv1.Credential{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "late-westeu"}, Spec: *mgmtCred.Spec.DeepCopy()}
		late.Spec.Region = "regional-westeu"
		rgMust(t, w.mgmt.Client.Create(ctx, late))
		opsChild(t, w, "late-child", "late-westeu")
	}
	var rep *regional.RemovalReport
	opsWithEnv(t, w, func(env *regional.Env, _ *state.Session) {
		placed := false
		remove := &regional.Remove{Env: env, Name: "regional-westeu", RemoveOptions: regional.RemoveOptions{
			Timeout: testTimeout,
			Progress: func(s string) {
				t.Log(s)
				if strings.HasPrefix(s, "deleting Region ") && !placed {
					placed = true
					placeLate()
				}
			},
		}}
		plan, err := remove.Plan(ctx)
		rgMust(t, err)
		if plan.Refusal() != nil {
			t.Fatalf("nothing uses the region yet: %v", plan.Refusal())
		}
		rep, err = remove.Run(ctx, plan)
		rgMust(t, err)
	})
	if rep.Status != state.RegionalFailed || !strings.Contains(rep.Error, "kcm-system/late-child") || !strings.Contains(rep.Error, "k0rdent keeps Region regional-westeu") {
		t.Fatalf("removal: status %s, error %q; want it to stop and name kcm-system/late-child", rep.Status, rep.Error)
	}
	if !strings.Contains(rep.Fix, "k0rdentctl region remove regional-westeu --force") {
		t.Errorf("fix %q does not say how to go on", rep.Fix)
	}
	// The stand-in refused, as kcm does: the Region and its finalizer stay.
	err := kube.WaitFor(ctx, "the stand-in to refuse the Region's deletion", testTimeout, 25*time.Millisecond, func(context.Context) (bool, string, error) {
		return w.standin.RegionDeletionsRefused("regional-westeu") > 0, "not refused yet", nil
	}, nil)
	rgMust(t, err)
	rg := &kcmv1.Region{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "regional-westeu"}, rg)
	if rg.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(rg, kcmv1.RegionFinalizer) {
		t.Fatalf("Region regional-westeu: deleting %t, finalizers %v; want it kept with its finalizer", !rg.DeletionTimestamp.IsZero(), rg.Finalizers)
	}

	// `region status` says why the Region stays; --force removes the
	// cluster that keeps it, and then the Region goes.
	r := opsCLI(t, w, "", "region", "remove", "regional-westeu")
	if r.code != cli.ExitRefused || !strings.Contains(r.out, "kcm-system/late-child") {
		t.Errorf("remove without --force: exit %d, want 3 naming kcm-system/late-child\n%s%s", r.code, r.out, r.err)
	}
	r = opsCLI(t, w, "", "region", "remove", "regional-westeu", "--force", "-y")
	if r.code != cli.ExitOK {
		t.Fatalf("remove --force -y: exit %d\n%s%s", r.code, r.out, r.err)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-westeu"}, &kcmv1.Region{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "late-child"}, &kcmv1.ClusterDeployment{})
}

// kcm writes no status for a Region whose cluster reference is invalid and
// does not look at it again until its spec changes, even once the Secret
// exists. `region status` says the reference is invalid; `region deploy`
// makes the Secret, and then says that k0rdent ignores the Region instead
// of waiting for it until the timeout.
func TestRegionWithAnInvalidReferenceIsReportedNotWaitedFor(t *testing.T) {
	w := newRegionalWorld(t, 1, false)
	ctx := t.Context()
	rgExternalWesteu(t, w)

	// Somebody made the Region, exactly as k0rdentctl would, before its
	// kubeconfig Secret existed.
	cfg, _, diags, err := config.Load(w.cfgPath)
	rgMust(t, err)
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	rc, _ := cfg.RegionalCluster("regional-westeu")
	mgmt := &kcmv1.Management{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: kcmv1.ManagementName}, mgmt)
	providers, err := regional.ResolveProviders(rc.Components.Providers(), mgmt)
	rgMust(t, err)
	desired := regional.DesiredRegion(cfg, *rc, providers, "")
	desired.SetLabels(nil)
	rgMust(t, w.mgmt.Client.Create(ctx, desired))
	err = kube.WaitFor(ctx, "the stand-in to look at the Region", testTimeout, 25*time.Millisecond, func(context.Context) (bool, string, error) {
		return w.standin.RegionRejected("regional-westeu"), "not looked at yet", nil
	}, nil)
	rgMust(t, err)
	rg := &kcmv1.Region{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "regional-westeu"}, rg)
	if len(rg.Status.Conditions) != 0 || rg.Status.ObservedGeneration != 0 || len(rg.Finalizers) != 0 {
		t.Fatalf("the stand-in wrote to a Region with an invalid reference: status %+v, finalizers %v", rg.Status, rg.Finalizers)
	}

	r := opsCLI(t, w, "", "region", "status", "-o", "json")
	row := opsRow(t, opsJSON[regional.StatusReport](t, r), "regional-westeu")
	if r.code != cli.ExitFailed || !strings.Contains(row.Problem, "cluster reference is invalid") || !strings.Contains(row.Problem, "Secret kcm-system/external-westeu-cluster does not exist") {
		t.Errorf("region status: exit %d, problem %q; want the invalid reference named", r.code, row.Problem)
	}

	// Deploy: the cluster step makes the Secret, the Region already has the
	// spec k0rdentctl wants, and kcm does not look at it again.
	var rep *regional.Report
	opsWithEnv(t, w, func(env *regional.Env, _ *state.Session) {
		env.ReconcileGrace = time.Second
		rep, err = (&regional.Deploy{Env: env}).Run(ctx)
	})
	if rep == nil {
		t.Fatalf("deploy did not run: %v", err)
	}
	got := regionReport(t, rep, "regional-westeu")
	if got.Status != regional.ReportFailed || got.FailedStep != regional.StepRegion || !strings.Contains(got.Error, "k0rdent has not reconciled Region regional-westeu") ||
		!strings.Contains(got.Fix, "k0rdentctl region remove regional-westeu") {
		t.Fatalf("deploy: %s at %q: %s (fix: %s); want the region step to say that k0rdent ignores the Region", got.Status, got.FailedStep, got.Error, got.Fix)
	}
	if w.standin.RegionInstalls("regional-westeu") != 0 {
		t.Error("the stand-in reconciled a Region it had rejected, without a spec change")
	}

	// The fix works: remove the Region, deploy again.
	if r := opsCLI(t, w, "", "region", "remove", "regional-westeu", "-y"); r.code != cli.ExitOK {
		t.Fatalf("remove: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if rep, _, err := w.deploy(); err != nil || rep.Counts[regional.ReportDeployed] != 1 {
		t.Fatalf("deploy after removing the Region: %v", err)
	}
}
