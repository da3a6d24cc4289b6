package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// The region operations (status, health, rotation, remove, cleanup) against
// a management and regional API servers with k0rdent's stand-in, mostly
// through the command line, as an operator runs them.

type opsResult struct {
	out, err string
	code     int
}

// opsCLI runs k0rdentctl with the world's configuration and state folder;
// in is standard input (not a terminal).
func opsCLI(t *testing.T, w *regionalWorld, in string, args ...string) opsResult {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "-c", w.cfgPath, "--state-dir", w.stateDir)
	code := cli.Execute(t.Context(), args, cli.IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut}, cli.BuildInfo{Version: "test"})
	t.Logf("k0rdentctl %s → exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	if code == cli.ExitUsage && strings.Contains(errOut.String(), `unknown command "region"`) {
		t.Fatal("k0rdentctl has no region command: NewRootCommand (internal/cli/root.go) must add newRegionCommand(o)")
	}
	return opsResult{out.String(), errOut.String(), code}
}

func opsJSON[T any](t *testing.T, r opsResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("-o json output is not JSON: %v\n%s", err, r.out)
	}
	return v
}

// opsWithEnv opens the world's deployment record and gives fn the
// environment the CLI would build, closing the record afterwards.
func opsWithEnv(t *testing.T, w *regionalWorld, fn func(*regional.Env, *state.Session)) {
	t.Helper()
	ctx := t.Context()
	cfg, raw, diags, err := config.Load(w.cfgPath)
	rgMust(t, err)
	if diags.HasErrors() {
		t.Fatalf("invalid test configuration: %v", diags.Errors())
	}
	store, err := state.NewFileStore(w.stateDir)
	rgMust(t, err)
	id, err := state.FindCurrent(ctx, store, cfg.Metadata.Name)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(ctx, store, id, cfg.Metadata.Name)
	rgMust(t, err)
	defer sess.Close()
	env := &regional.Env{
		Config:         cfg,
		ConfigPath:     w.cfgPath,
		Management:     deploy.NewEnv(w.cfgPath, cfg, raw, "", w.stateDir).Management,
		Session:        sess,
		Files:          store,
		Interval:       50 * time.Millisecond,
		ConnectTimeout: 10 * time.Second,
	}
	fn(env, sess)
}

// opsRecord reads the world's deployment record.
func opsRecord(t *testing.T, w *regionalWorld) *state.Record {
	t.Helper()
	store, err := state.NewFileStore(w.stateDir)
	rgMust(t, err)
	id, err := state.FindCurrent(t.Context(), store, "regional-test")
	rgMust(t, err)
	rec, err := store.Load(t.Context(), id)
	rgMust(t, err)
	return rec
}

// opsTwoRegions deploys a k0rdent-managed regional cluster (regional-useast,
// a ClusterDeployment k0rdentctl creates) and an external one
// (regional-westeu, from a kubeconfig file).
func opsTwoRegions(t *testing.T, w *regionalWorld) {
	t.Helper()
	useast, westeu := w.regionals[0], w.regionals[1]
	w.standin.SetClusterKubeconfig(rgNamespace, "regional-cluster-useast", useast.Kubeconfig)
	rgMust(t, os.WriteFile(filepath.Join(w.dir, "westeu.kubeconfig"), westeu.Kubeconfig, 0o600))
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu-cluster
          kubeconfig_file: ./westeu.kubeconfig`)
	rep, _, err := w.deploy()
	if err != nil || rep.Counts[regional.ReportDeployed] != 2 {
		t.Fatalf("deploying the two regions: %v (counts %v)", err, rep.Counts)
	}
	// kcm issue 2836: k0rdent 1.5.0 (and so the stand-in) copies the
	// identity into a region but not its resource-template ConfigMap;
	// k0rdentctl puts it there.
	for i, rc := range w.regionals[:2] {
		cm := &corev1.ConfigMap{}
		rgGet(t, rc.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity + "-resource-template"}, cm)
		if cm.Annotations["projectsveltos.io/template"] != "true" || cm.Labels[regional.LabelDeployment] == "" || !strings.Contains(cm.Data["configmap.yaml"], "azure-cloud-provider") {
			t.Errorf("regional cluster %d: resource template %+v, want the management cluster's, labelled as k0rdentctl's", i, cm.ObjectMeta)
		}
	}
}

// opsChild creates a child ClusterDeployment using credential.
func opsChild(t *testing.T, w *regionalWorld, name, credential string) {
	t.Helper()
	rgMust(t, w.mgmt.Client.Create(t.Context(), &kcmv1.ClusterDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: name},
		Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: credential,
			Config: &apiextv1.JSON{Raw: []byte(`{"location":"eastus","subscriptionID":"x","controlPlane":{"vmSize":"a"},"worker":{"vmSize":"b"}}`)}},
	}))
}

func opsRow(t *testing.T, rep regional.StatusReport, name string) regional.RegionStatus {
	t.Helper()
	for _, r := range rep.Regions {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no region %s in %+v", name, rep.Regions)
	return regional.RegionStatus{}
}

func opsHealthOf(t *testing.T, rep regional.HealthReport, name string) regional.RegionHealth {
	t.Helper()
	for _, h := range rep.Regions {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no region %s in the health report", name)
	return regional.RegionHealth{}
}

// TestRegionOpsStatusAndHealth: `region status` and `region health` on two
// deployed regions (one with a child cluster placed in it), with filters and
// JSON; a Region Ready transition seen by the health watch; then a component
// going unavailable (degraded) and a regional API server going away
// (unreachable), each flagged, recorded and failing the command.
func TestRegionOpsStatusAndHealth(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	opsTwoRegions(t, w)
	opsChild(t, w, "child-1", rgCredential+"-regional-useast")
	ctx := t.Context()

	// status -o json
	r := opsCLI(t, w, "", "region", "status", "-o", "json")
	if r.code != 0 {
		t.Fatalf("region status: exit %d", r.code)
	}
	st := opsJSON[regional.StatusReport](t, r)
	if len(st.Regions) != 2 || st.Counts[state.RegionalDeployed] != 2 || st.ManagementError != "" || st.RegistryCertSecret != rgCertSecret {
		t.Fatalf("status: %d regions, counts %v, management error %q, cert %q", len(st.Regions), st.Counts, st.ManagementError, st.RegistryCertSecret)
	}
	useast := opsRow(t, st, "regional-useast")
	if useast.Type != state.RegionalTypeClusterDeployment || useast.Location != "eastus" || useast.Source != "ClusterDeployment kcm-system/regional-cluster-useast" ||
		useast.ClusterDeploymentCreated == nil || !*useast.ClusterDeploymentCreated {
		t.Errorf("useast: type %q location %q source %q created %v", useast.Type, useast.Location, useast.Source, useast.ClusterDeploymentCreated)
	}
	if useast.Ready == nil || !*useast.Ready || useast.Region.Reason != kcmv1.AllComponentsHealthyReason || useast.ComponentsTotal == 0 || useast.ComponentsHealthy != useast.ComponentsTotal {
		t.Errorf("useast Region: ready %v reason %q components %d/%d", useast.Ready, useast.Region.Reason, useast.ComponentsHealthy, useast.ComponentsTotal)
	}
	if useast.Credentials != regional.CredentialsPropagated || useast.Certificates != regional.CertificatesPropagated {
		t.Errorf("useast credentials %q certificates %q", useast.Credentials, useast.Certificates)
	}
	if !slices.Equal(useast.ClusterDeployments, []string{"kcm-system/child-1"}) {
		t.Errorf("useast placed clusters %v, want kcm-system/child-1", useast.ClusterDeployments)
	}
	if fi, err := os.Stat(useast.KubeconfigPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("useast kubeconfig %q: %v", useast.KubeconfigPath, err)
	}
	westeu := opsRow(t, st, "regional-westeu")
	if westeu.Type != state.RegionalTypeExternal || westeu.Source != "kubeconfig Secret kcm-system/external-westeu-cluster" || len(westeu.ClusterDeployments) != 0 || westeu.ClusterDeploymentCreated != nil {
		t.Errorf("westeu: %+v", westeu)
	}
	if len(useast.Components) == 0 || useast.Components[regional.ComponentCertManager] != "v1.19.1" {
		t.Errorf("useast components (versions observed at deploy) %v", useast.Components)
	}

	// status as a table: fits 120 columns, says what it should.
	r = opsCLI(t, w, "", "region", "status")
	if r.code != 0 {
		t.Fatalf("region status: exit %d", r.code)
	}
	for _, line := range strings.Split(strings.TrimRight(r.out, "\n"), "\n") {
		if strings.HasPrefix(line, "kubeconfigs: ") || strings.HasPrefix(line, "state: ") {
			continue // a path, as long as the test's temporary folder makes it
		}
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{"NAME", "READY", "COMPONENTS", "CREDENTIALS", "CERTS", "CLUSTERS", "regional-useast", "cluster_deployment", "propagated", "2 regions: 2 deployed", "kubeconfigs: "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status table lacks %q", want)
		}
	}
	r = opsCLI(t, w, "", "region", "status", "--location", "westeurope", "-o", "json")
	if st := opsJSON[regional.StatusReport](t, r); r.code != 0 || len(st.Regions) != 1 || st.Regions[0].Name != "regional-westeu" || st.Total != 2 {
		t.Errorf("--location westeurope: exit %d, %d regions of %d", r.code, len(st.Regions), st.Total)
	}
	if r = opsCLI(t, w, "", "region", "status", "--state", "failed"); r.code != 0 || !strings.Contains(r.out, "No regional clusters match the filters (2 known)") {
		t.Errorf("--state failed: exit %d", r.code)
	}
	if r = opsCLI(t, w, "", "region", "status", "--state", "fine"); r.code != cli.ExitUsage {
		t.Errorf("--state fine: exit %d, want %d", r.code, cli.ExitUsage)
	}

	// health: both healthy, recorded.
	r = opsCLI(t, w, "", "region", "health", "-o", "json")
	if r.code != 0 {
		t.Fatalf("region health: exit %d", r.code)
	}
	hr := opsJSON[regional.HealthReport](t, r)
	for _, n := range []string{"regional-useast", "regional-westeu"} {
		h := opsHealthOf(t, hr, n)
		if h.Health != state.HealthHealthy || !h.Reachable || h.ComponentsTotal == 0 || h.ComponentsAvailable != h.ComponentsTotal || h.User == "" || h.Ready == nil || !*h.Ready {
			t.Errorf("%s: %+v", n, h)
		}
	}
	rec := opsRecord(t, w)
	for _, n := range []string{"regional-useast", "regional-westeu"} {
		c := regionRecord(t, rec, n)
		if c.Health != state.HealthHealthy || c.HealthCheckedAt == nil || countEvents(rec, n, regional.EventHealthChanged) != 1 {
			t.Errorf("%s record: health %q at %v, %d health events", n, c.Health, c.HealthCheckedAt, countEvents(rec, n, regional.EventHealthChanged))
		}
	}

	// health --watch: a Region goes not Ready (k0rdent reinstalls its
	// components after a spec change) and Ready again; both transitions are
	// seen and recorded as events.
	opsWithEnv(t, w, func(env *regional.Env, sess *state.Session) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen := make(chan []regional.ReadyTransition, 64)
		done := make(chan error, 1)
		go func() {
			done <- (&regional.WatchHealth{
				Interval: 50 * time.Millisecond,
				Health:   regional.Health{Env: env, Names: []string{"regional-useast"}, Timeout: 10 * time.Second},
				OnCheck: func(_ *regional.HealthReport, tr []regional.ReadyTransition) {
					select {
					case seen <- tr:
					default: // the test is not reading: drop (only transitions matter)
					}
				},
			}).Run(wctx)
		}()
		waitTransition := func(to string) regional.ReadyTransition {
			t.Helper()
			deadline := time.NewTimer(testTimeout)
			defer deadline.Stop()
			for {
				select {
				case trs := <-seen:
					for _, tr := range trs {
						if tr.Region == "regional-useast" && tr.To == to {
							return tr
						}
					}
				case <-deadline.C:
					t.Fatalf("no Ready transition to %s seen within %s", to, testTimeout)
				}
			}
		}
		<-seen // the first check
		w.standin.SetRegionReadyDelay("regional-useast", time.Hour)
		patch := []byte(`{"spec":{"core":{"kcm":{"config":{"telemetry":{"mode":"disabled"}}}}}}`)
		rg := &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: "regional-useast"}}
		rgMust(t, w.mgmt.Client.Patch(ctx, rg, client.RawPatch(types.MergePatchType, patch)))
		down := waitTransition("False")
		if down.From != "True" || down.ToReason != kcmv1.NotAllComponentsHealthyReason {
			t.Errorf("transition %s", down)
		}
		w.standin.SetRegionReadyDelay("regional-useast", 0)
		up := waitTransition("True")
		if up.From != "False" || up.ToReason != kcmv1.AllComponentsHealthyReason {
			t.Errorf("transition %s", up)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
		evs := state.FilterEvents(sess.Snapshot().Events, state.EventFilter{Region: "regional-useast", Type: regional.EventReadyChanged})
		if len(evs) != 2 || !strings.Contains(evs[0].Message, "True (AllComponentsHealthy) → False (NotAllComponentsHealthy)") || !strings.Contains(evs[1].Message, "→ True (AllComponentsHealthy)") {
			t.Errorf("Ready transition events %+v", evs)
		}
	})

	// A component of useast stops being available: degraded, exit 1.
	velero := &appsv1.Deployment{}
	rgGet(t, w.regionals[0].Client, client.ObjectKey{Namespace: rgNamespace, Name: "velero"}, velero)
	velero.Status.AvailableReplicas, velero.Status.ReadyReplicas = 0, 0
	for i := range velero.Status.Conditions {
		if velero.Status.Conditions[i].Type == appsv1.DeploymentAvailable {
			velero.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	rgMust(t, w.regionals[0].Client.Status().Update(ctx, velero))
	r = opsCLI(t, w, "", "region", "health", "regional-useast")
	if r.code != cli.ExitFailed || !strings.Contains(r.out, "degraded") || !strings.Contains(r.out, "velero: Deployment kcm-system/velero is not available") || !strings.Contains(r.out, "fix:") {
		t.Errorf("a degraded region: exit %d", r.code)
	}

	// westeu's API server goes away: unreachable, exit 1, recorded.
	rgMust(t, w.regionals[1].Stop())
	r = opsCLI(t, w, "", "region", "health", "-o", "json")
	if r.code != cli.ExitFailed {
		t.Errorf("an unreachable region: exit %d, want 1", r.code)
	}
	hr = opsJSON[regional.HealthReport](t, r)
	if h := opsHealthOf(t, hr, "regional-westeu"); h.Health != state.HealthUnreachable || h.Reachable || !strings.Contains(strings.Join(h.Problems, " "), "unreachable") || h.Fix == "" {
		t.Errorf("westeu: %+v", h)
	}
	if h := opsHealthOf(t, hr, "regional-useast"); h.Health != state.HealthDegraded {
		t.Errorf("useast: %s", h.Health)
	}
	rec = opsRecord(t, w)
	if c := regionRecord(t, rec, "regional-westeu"); c.Health != state.HealthUnreachable {
		t.Errorf("westeu recorded health %q", c.Health)
	}
	evs := state.FilterEvents(rec.Events, state.EventFilter{Region: "regional-westeu", Type: regional.EventHealthChanged})
	if len(evs) != 2 || !strings.Contains(evs[1].Message, "unreachable (was healthy)") {
		t.Errorf("westeu health events %+v", evs)
	}
	// status reads the management cluster only: still 0.
	if r = opsCLI(t, w, "", "region", "status"); r.code != 0 {
		t.Errorf("status after a regional API server went away: exit %d", r.code)
	}
}

// TestRegionOpsRotation: a new client secret reaches every region (k0rdent
// re-copies it when its Credential is updated), never shown or recorded; a
// copy k0rdent will not update is reported; the registry certificate, which
// k0rdent 1.5.0 never updates in a region, is written into every region and
// verified.
func TestRegionOpsRotation(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	opsTwoRegions(t, w)
	ctx := t.Context()
	regions := map[string]client.Client{"regional-useast": w.regionals[0].Client, "regional-westeu": w.regionals[1].Client}
	copyKey := client.ObjectKey{Namespace: rgNamespace, Name: rgIdentitySecret}
	before := map[string]int{}
	for n := range regions {
		before[n] = w.standin.CredentialReconciles(rgNamespace, rgCredential+"-"+n)
	}

	// 1. From a file.
	first := "rotated-client-secret-4f9c-first"
	secretFile := filepath.Join(w.dir, "new-secret.txt")
	rgMust(t, os.WriteFile(secretFile, []byte(first+"\n"), 0o600))
	r := opsCLI(t, w, "", "region", "rotate-credentials", "--secret-file", secretFile)
	if r.code != 0 || !strings.Contains(r.out, "2 verified") {
		t.Fatalf("rotate-credentials: exit %d", r.code)
	}
	if strings.Contains(r.out+r.err, first) {
		t.Error("the output shows the secret")
	}
	sec := &corev1.Secret{}
	rgGet(t, w.mgmt.Client, copyKey, sec)
	if string(sec.Data[regional.IdentitySecretKey]) != first {
		t.Error("the management cluster's identity Secret does not hold the new secret")
	}
	for n, c := range regions {
		cp := &corev1.Secret{}
		rgGet(t, c, copyKey, cp)
		if string(cp.Data[regional.IdentitySecretKey]) != first {
			t.Errorf("%s: the identity Secret copy does not hold the new secret", n)
		}
		if after := w.standin.CredentialReconciles(rgNamespace, rgCredential+"-"+n); after <= before[n] {
			t.Errorf("%s: Credential reconciled %d times before and %d after: it was not asked to copy again", n, before[n], after)
		}
	}
	rec := opsRecord(t, w)
	for n := range regions {
		if countEvents(rec, n, regional.EventCredentialRotationVerified) != 1 {
			t.Errorf("%s events %v", n, eventTypes(rec, n))
		}
	}
	if len(state.FilterEvents(rec.Events, state.EventFilter{Type: regional.EventCredentialsRotated})) != 1 {
		t.Error("no credentials_rotated event")
	}

	// 2. From standard input, with westeu's copy no longer labelled as
	// k0rdent's: k0rdent never updates it, and the rotation says so.
	cp := &corev1.Secret{}
	rgGet(t, regions["regional-westeu"], copyKey, cp)
	delete(cp.Labels, kcmv1.KCMManagedLabelKey)
	rgMust(t, regions["regional-westeu"].Update(ctx, cp))
	second := "rotated-client-secret-0a7e-second"
	r = opsCLI(t, w, second+"\n", "region", "rotate-credentials", "-o", "json")
	if r.code != cli.ExitFailed {
		t.Errorf("rotate-credentials with a copy k0rdent will not update: exit %d, want 1", r.code)
	}
	rr := opsJSON[regional.RotationReport](t, r)
	got := map[string]regional.RegionRotation{}
	for _, x := range rr.Regions {
		got[x.Name] = x
	}
	if x := got["regional-useast"]; x.Status != regional.RotationVerified || !x.Matches {
		t.Errorf("useast: %+v", x)
	}
	if x := got["regional-westeu"]; x.Status != regional.RotationFailed || !strings.Contains(x.Error, "lacks the label k0rdent.mirantis.com/managed=true") || !strings.Contains(x.Fix, "delete Secret kcm-system/"+rgIdentitySecret) {
		t.Errorf("westeu: %+v", x)
	}
	if !rr.Changed {
		t.Error("the management Secret was not reported changed")
	}
	raw, err := os.ReadFile(filepath.Join(w.stateDir, opsRecord(t, w).DeploymentID+".yaml"))
	rgMust(t, err)
	for _, s := range []string{first, second} {
		if strings.Contains(r.out+r.err, s) || bytes.Contains(raw, []byte(s)) {
			t.Errorf("secret %q appears in the output or the record", s)
		}
	}

	// 3. The registry certificate is renewed on the management cluster: the
	// regions keep the old copy (k0rdent 1.5.0 never updates it) until
	// rotate-certificates writes it.
	newPEM := "-----BEGIN CERTIFICATE-----\nMIIBcm90YXRlZCByZWdpc3RyeSBDQSBvZiBrMHJkZW50Y3Rs\n-----END CERTIFICATE-----\n"
	cert := &corev1.Secret{}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCertSecret}, cert)
	cert.Data["ca.crt"] = []byte(newPEM)
	rgMust(t, w.mgmt.Client.Update(ctx, cert))
	for n, c := range regions {
		chk, err := regional.CheckCertificate(ctx, w.mgmt.Client, c, rgNamespace, rgCertSecret)
		rgMust(t, err)
		if !chk.Present || chk.Identical {
			t.Errorf("%s: before rotation: %+v, want the old copy", n, chk)
		}
	}
	r = opsCLI(t, w, "", "region", "rotate-certificates", "-o", "json")
	if r.code != 0 {
		t.Fatalf("rotate-certificates: exit %d", r.code)
	}
	rr = opsJSON[regional.RotationReport](t, r)
	if rr.Secret != rgNamespace+"/"+rgCertSecret || rr.Counts[regional.RotationVerified] != 2 {
		t.Errorf("report %+v", rr)
	}
	for _, x := range rr.Regions {
		if x.Action != "updated" || !x.Matches {
			t.Errorf("%s: %+v", x.Name, x)
		}
	}
	for n, c := range regions {
		chk, err := regional.CheckCertificate(ctx, w.mgmt.Client, c, rgNamespace, rgCertSecret)
		rgMust(t, err)
		if !chk.Identical {
			t.Errorf("%s: after rotation: %+v", n, chk)
		}
		got := &corev1.Secret{}
		rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgCertSecret}, got)
		if got.Labels[regional.LabelRegion] != n {
			t.Errorf("%s: the copy's labels %v lack the region", n, got.Labels)
		}
	}
	// Again: nothing to change. A region that lost its copy gets it back.
	rgMust(t, regions["regional-westeu"].Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: rgCertSecret}}))
	r = opsCLI(t, w, "", "region", "rotate-certificates", "-o", "json")
	rr = opsJSON[regional.RotationReport](t, r)
	actions := map[string]string{}
	for _, x := range rr.Regions {
		actions[x.Name] = x.Action
	}
	if r.code != 0 || actions["regional-useast"] != "unchanged" || actions["regional-westeu"] != "created" {
		t.Errorf("second rotation: exit %d, actions %v", r.code, actions)
	}
	rec = opsRecord(t, w)
	for n := range regions {
		if c := regionRecord(t, rec, n); !c.CertificatesPropagated || countEvents(rec, n, regional.EventCertificateRotationVerified) != 2 {
			t.Errorf("%s: certificates_propagated %t, events %v", n, c.CertificatesPropagated, eventTypes(rec, n))
		}
	}
}

// deletedInOrder lists the objects of a region's regional_object_deleted
// events, oldest first.
func deletedInOrder(rec *state.Record, region string) []string {
	var out []string
	for _, e := range state.FilterEvents(rec.Events, state.EventFilter{Region: region, Type: regional.EventObjectDeleted}) {
		msg := strings.TrimPrefix(e.Message, "deleted ")
		if i := strings.Index(msg, " (regional cluster"); i >= 0 {
			msg = msg[:i]
		}
		out = append(out, msg)
	}
	return out
}

// TestRegionOpsRemove: removal is refused (exit 3, the ClusterDeployments
// listed) while a child cluster uses the region, needs confirmation, and
// with --force deletes the child, the Credentials, the Region (after k0rdent
// uninstalled its components) and the ClusterDeployment k0rdentctl created,
// in that order; an adopted ClusterDeployment is kept unless
// --delete-cluster.
func TestRegionOpsRemove(t *testing.T) {
	w := newRegionalWorld(t, 2, false)
	ctx := t.Context()
	useast, westeu := w.regionals[0], w.regionals[1]
	w.standin.SetClusterKubeconfig(rgNamespace, "regional-cluster-useast", useast.Kubeconfig)
	adopted := &kcmv1.ClusterDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: "existing-westeu"},
		Spec: kcmv1.ClusterDeploymentSpec{Template: rgTemplate, Credential: rgCredential,
			Config: &apiextv1.JSON{Raw: []byte(`{"location":"westeurope","subscriptionID":"x","controlPlane":{"vmSize":"a"},"worker":{"vmSize":"b"}}`)}},
	}
	rgMust(t, w.mgmt.Client.Create(ctx, adopted))
	w.standin.SetClusterKubeconfig(rgNamespace, "existing-westeu", westeu.Kubeconfig)
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
        - name: regional-westeu
          location: westeurope
          cluster_deployment_ref: existing-westeu`)
	if rep, _, err := w.deploy(); err != nil || rep.Counts[regional.ReportDeployed] != 2 {
		t.Fatalf("deploy: %v", err)
	}
	opsChild(t, w, "child-a", rgCredential+"-regional-useast")
	kubeconfigFile := regionRecord(t, opsRecord(t, w), "regional-useast").KubeconfigPath
	if _, err := os.Stat(kubeconfigFile); err != nil {
		t.Fatalf("kubeconfig file: %v", err)
	}

	// Refused while child-a uses the region.
	r := opsCLI(t, w, "", "region", "remove", "regional-useast")
	if r.code != cli.ExitRefused || !strings.Contains(r.out, "kcm-system/child-a") || !strings.Contains(r.err, "--force") {
		t.Errorf("remove of a region in use: exit %d, want 3 and the ClusterDeployments listed", r.code)
	}
	// Confirmation needed: no terminal, no -y.
	r = opsCLI(t, w, "", "region", "remove", "regional-useast", "--force")
	if r.code != cli.ExitRefused || !strings.Contains(r.err, "-y") {
		t.Errorf("remove without confirmation: exit %d, want 3", r.code)
	}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "regional-useast"}, &kcmv1.Region{})
	rgGet(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "child-a"}, &kcmv1.ClusterDeployment{})

	// --force -y: everything goes, in order.
	r = opsCLI(t, w, "", "region", "remove", "regional-useast", "--force", "-y")
	if r.code != 0 || !strings.Contains(r.out, "regional cluster regional-useast removed") {
		t.Fatalf("remove --force -y: exit %d", r.code)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "child-a"}, &kcmv1.ClusterDeployment{})
	// kcm issue 2056: k0rdent leaves a removed region's Credentials valid; remove deletes them.
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-regional-useast"}, &kcmv1.Credential{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-useast"}, &kcmv1.Region{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-useast"}, &kcmv1.ClusterDeployment{})
	if _, err := os.Stat(kubeconfigFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kubeconfig file %s: %v, want it removed", kubeconfigFile, err)
	}
	// The Region was waited for until k0rdent had uninstalled its components.
	deps := &appsv1.DeploymentList{}
	rgMust(t, useast.Client.List(ctx, deps))
	for _, d := range deps.Items {
		if strings.HasPrefix(d.Labels[regional.LabelFluxHelmRelease], "regional-useast-") {
			t.Errorf("component Deployment %s/%s is still in the regional cluster", d.Namespace, d.Name)
		}
	}
	rec := opsRecord(t, w)
	wantOrder := []string{
		"ClusterDeployment kcm-system/child-a",
		"Credential kcm-system/" + rgCredential + "-regional-useast",
		"Region regional-useast",
		"ClusterDeployment kcm-system/regional-cluster-useast",
	}
	if got := deletedInOrder(rec, "regional-useast"); !slices.Equal(got, wantOrder) {
		t.Errorf("deleted in this order:\n %q\nwant\n %q", got, wantOrder)
	}
	c := regionRecord(t, rec, "regional-useast")
	if c.Status != state.RegionalRemoved || c.Deployed || c.KubeconfigPath != "" || c.CredentialsPropagated {
		t.Errorf("record after removal: %+v", c)
	}
	if countEvents(rec, "regional-useast", regional.EventRemoved) != 1 {
		t.Errorf("events %v", eventTypes(rec, "regional-useast"))
	}
	for _, res := range rec.Resources {
		if res.Region == "regional-useast" && (res.Kind == "Region" || res.Kind == "Credential") {
			t.Errorf("resource %s %s still recorded", res.Kind, res.Name)
		}
	}

	// The adopted cluster is kept, and deleted only with --delete-cluster.
	r = opsCLI(t, w, "", "region", "remove", "regional-westeu", "-y")
	if r.code != 0 || !strings.Contains(r.out, "kept") {
		t.Fatalf("remove regional-westeu: exit %d", r.code)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-westeu"}, &kcmv1.Region{})
	rgGet(t, w.mgmt.Client, client.ObjectKeyFromObject(adopted), &kcmv1.ClusterDeployment{})
	r = opsCLI(t, w, "", "region", "remove", "regional-westeu", "--delete-cluster", "-y", "-o", "json")
	if r.code != 0 {
		t.Fatalf("remove --delete-cluster: exit %d", r.code)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKeyFromObject(adopted), &kcmv1.ClusterDeployment{})
	if got := deletedInOrder(opsRecord(t, w), "regional-westeu"); !slices.Equal(got, []string{"Credential kcm-system/" + rgCredential + "-regional-westeu", "Region regional-westeu", "ClusterDeployment kcm-system/existing-westeu"}) {
		t.Errorf("westeu deleted %q", got)
	}
	// Removing it again finds nothing left and asks nothing.
	if r = opsCLI(t, w, "", "region", "remove", "regional-useast"); r.code != 0 || !strings.Contains(r.out, "removed already") {
		t.Errorf("removing a removed region: exit %d", r.code)
	}
	// status now says removed for both, with nothing failing.
	r = opsCLI(t, w, "", "region", "status", "-o", "json")
	if st := opsJSON[regional.StatusReport](t, r); r.code != 0 || st.Counts[state.RegionalRemoved] != 2 {
		t.Errorf("status after removal: exit %d counts %v", r.code, st.Counts)
	}
}

// opsWriteConfig is writeConfig with a short regional_cluster timeout, so
// that a ClusterDeployment that never gets ready fails the region quickly.
func opsWriteConfig(t *testing.T, w *regionalWorld, clusters string) {
	t.Helper()
	rgConfig{Name: "regional-test", Kubeconfig: w.mgmt.KubeconfigPath, Clusters: clusters,
		Timeouts: map[string]string{"regional_cluster": "3s", "region_ready": "2m"}}.write(t, w.cfgPath)
}

// TestRegionOpsCleanup: a region that neither the configuration nor the
// record knows any more (its Region, Credential, kubeconfig Secret and
// file), and the ClusterDeployment a failed deploy left half-created, are
// found, refused without confirmation, and removed with -y; another
// deployment's Region and somebody else's are left.
func TestRegionOpsCleanup(t *testing.T) {
	w := newRegionalWorld(t, 1, false)
	ctx := t.Context()
	rgMust(t, os.WriteFile(filepath.Join(w.dir, "old.kubeconfig"), w.regionals[0].Kubeconfig, 0o600))
	oldRegion := `        - name: regional-old
          location: northeurope
          kubeconfig_secret: external-old
          kubeconfig_file: ./old.kubeconfig`
	broken := `        - name: regional-broken
          location: eastus
          cluster_deployment_ref: regional-cluster-broken`
	opsWriteConfig(t, w, oldRegion+"\n"+broken)
	rep, _, err := w.deploy()
	if err == nil || regionReport(t, rep, "regional-old").Status != regional.ReportDeployed || regionReport(t, rep, "regional-broken").FailedStep != regional.StepCluster {
		t.Fatalf("deploy: %v; want regional-old deployed and regional-broken failed at its cluster step", err)
	}
	oldKubeconfig := regionRecord(t, opsRecord(t, w), "regional-old").KubeconfigPath

	// regional-old is forgotten: gone from the configuration, and from the
	// record (as when a record exported before it was added is imported).
	opsWriteConfig(t, w, broken)
	opsWithEnv(t, w, func(_ *regional.Env, sess *state.Session) {
		rgMust(t, sess.Update(ctx, func(r *state.Record) error {
			r.RemoveRegional("regional-old")
			return nil
		}))
	})
	// Another deployment's Region, and somebody else's.
	for name, labels := range map[string]map[string]string{
		"regional-theirs": regional.Labels("regional-theirs", "k0rdent-other123"),
		"someone-elses":   nil,
	} {
		rgMust(t, w.mgmt.Client.Create(ctx, &kcmv1.Region{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: kcmv1.RegionSpec{KubeConfig: &fluxSecretKeyRef{Name: "external-" + name, Key: "value"}}}))
	}

	r := opsCLI(t, w, "", "region", "status", "-o", "json")
	st := opsJSON[regional.StatusReport](t, r)
	if opsRow(t, st, "regional-old").Status != regional.StatusOrphaned || opsRow(t, st, "regional-theirs").Status != regional.StatusUnmanaged ||
		opsRow(t, st, "someone-elses").Status != regional.StatusUnmanaged || opsRow(t, st, "regional-broken").Status != state.RegionalFailed {
		t.Errorf("status before cleanup: %+v", st.Regions)
	}

	wantOrphans := []string{
		"ClusterDeployment kcm-system/regional-cluster-broken",
		"Credential kcm-system/" + rgCredential + "-regional-old",
		"Region regional-old",
		"Secret kcm-system/external-old",
		"KubeconfigFile " + oldKubeconfig,
	}
	// Without -y and without a terminal: refused, nothing removed.
	r = opsCLI(t, w, "", "region", "cleanup")
	if r.code != cli.ExitRefused {
		t.Errorf("cleanup without confirmation: exit %d, want 3", r.code)
	}
	listed := r.out + r.err
	last := -1
	for _, o := range wantOrphans {
		i := strings.Index(listed, o)
		if i < 0 || i < last {
			t.Errorf("orphan %q not listed in removal order", o)
		}
		last = i
	}
	if !strings.Contains(listed, "left: Region regional-theirs: created by k0rdentctl for deployment k0rdent-other123") || strings.Contains(listed, "someone-elses") {
		t.Error("another deployment's Region should be listed as left, somebody else's not at all")
	}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "regional-old"}, &kcmv1.Region{})

	r = opsCLI(t, w, "", "region", "cleanup", "-y", "-o", "json")
	if r.code != 0 {
		t.Fatalf("cleanup -y: exit %d", r.code)
	}
	var out struct {
		Result regional.CleanupReport `json:"result"`
	}
	rgMust(t, json.Unmarshal([]byte(r.out), &out))
	var removed []string
	for _, o := range out.Result.Removed {
		removed = append(removed, o.Ref())
	}
	if !slices.Equal(removed, wantOrphans) || len(out.Result.Failed) != 0 {
		t.Errorf("removed %q, failed %+v", removed, out.Result.Failed)
	}
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "regional-cluster-broken"}, &kcmv1.ClusterDeployment{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-regional-old"}, &kcmv1.Credential{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: "regional-old"}, &kcmv1.Region{})
	rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: "external-old"}, &corev1.Secret{})
	if _, err := os.Stat(oldKubeconfig); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kubeconfig %s: %v", oldKubeconfig, err)
	}
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "regional-theirs"}, &kcmv1.Region{})
	rgGet(t, w.mgmt.Client, client.ObjectKey{Name: "someone-elses"}, &kcmv1.Region{})
	// k0rdent cleaned the regional cluster up before the Region went.
	deps := &appsv1.DeploymentList{}
	rgMust(t, w.regionals[0].Client.List(ctx, deps))
	for _, d := range deps.Items {
		if strings.HasPrefix(d.Labels[regional.LabelFluxHelmRelease], "regional-old-") {
			t.Errorf("component Deployment %s/%s is still in the regional cluster", d.Namespace, d.Name)
		}
	}
	if n := len(state.FilterEvents(opsRecord(t, w).Events, state.EventFilter{Type: regional.EventOrphanRemoved})); n != len(wantOrphans) {
		t.Errorf("%d orphan events, want %d", n, len(wantOrphans))
	}

	// Nothing left.
	if r = opsCLI(t, w, "", "region", "cleanup"); r.code != 0 || !strings.Contains(r.out, "No orphans found") {
		t.Errorf("second cleanup: exit %d", r.code)
	}
}
