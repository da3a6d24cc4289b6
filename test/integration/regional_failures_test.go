package integration

import (
	"slices"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// External regional clusters whose kubeconfig points nowhere, is refused,
// does not parse or is missing fail alone, at the cluster step, with an error
// naming the Secret and the cause and no Region created for them, while a
// good one deploys.
func TestRegionalUnreachableExternalFailsAlone(t *testing.T) {
	w := newRegionalWorld(t, 1, false)
	ctx := t.Context()
	good := w.regionals[0]
	secrets := map[string][]byte{
		"external-ok":      good.Kubeconfig,
		"external-dead":    kubeconfigWith(t, good.Kubeconfig, "https://"+closedAddress(t), ""),
		"external-refused": kubeconfigWith(t, good.Kubeconfig, "", "not-a-token-this-cluster-knows"),
		"external-garbage": []byte("apiVersion: v1\nkind: Config\nclusters: [not, a, kubeconfig\n"),
	}
	for name, data := range secrets {
		rgMust(t, w.mgmt.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: rgNamespace, Name: name}, Data: map[string][]byte{"value": data}}))
	}
	var clusters []string
	for _, n := range []string{"ok", "dead", "refused", "garbage", "missing"} {
		clusters = append(clusters, "        - name: regional-"+n+"\n          location: northeurope\n          kubeconfig_secret: external-"+n)
	}
	w.writeConfig(strings.Join(clusters, "\n"))

	start := time.Now()
	rep, rec, err := w.deploy()
	if err == nil {
		t.Error("deploy succeeded; want an error because regions failed")
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("deploy took %s: failures should be reported, not waited for", took)
	}
	if rep.Counts[regional.ReportDeployed] != 1 || rep.Counts[regional.ReportFailed] != 4 {
		t.Errorf("counts %v, want 1 deployed and 4 failed", rep.Counts)
	}
	if r := regionReport(t, rep, "regional-ok"); r.Status != regional.ReportDeployed {
		t.Errorf("regional-ok: %s (%s)", r.Status, r.Error)
	}
	for name, want := range map[string][]string{
		"regional-dead":    {"unreachable", "Secret kcm-system/external-dead", "connection refused"},
		"regional-refused": {"refused", "Secret kcm-system/external-refused"},
		"regional-garbage": {"invalid", "Secret kcm-system/external-garbage", "not usable"},
		"regional-missing": {"kubeconfig Secret missing", "Secret kcm-system/external-missing does not exist"},
	} {
		r := regionReport(t, rep, name)
		if r.Status != regional.ReportFailed || r.FailedStep != regional.StepCluster {
			t.Errorf("%s: %s at step %q, want failed at %s", name, r.Status, r.FailedStep, regional.StepCluster)
		}
		for _, s := range want {
			if !strings.Contains(r.Error, s) {
				t.Errorf("%s: error %q does not say %q", name, r.Error, s)
			}
		}
		if !strings.Contains(r.Fix, "external-"+strings.TrimPrefix(name, "regional-")) || !strings.HasSuffix(r.Fix, "k0rdentctl region deploy "+name) {
			t.Errorf("%s: fix %q should name the Secret and how to retry", name, r.Fix)
		}
		for _, s := range r.Steps {
			if s.Step != regional.StepPreflight && s.Step != regional.StepCluster && (s.Status != string(state.PhaseSkipped) || !strings.Contains(s.Reason, "failed")) {
				t.Errorf("%s: step %s is %s (%s), want skipped because the cluster step failed", name, s.Step, s.Status, s.Reason)
			}
		}
		rgNotFound(t, w.mgmt.Client, client.ObjectKey{Name: name}, &kcmv1.Region{})
		rgNotFound(t, w.mgmt.Client, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential + "-" + name}, &kcmv1.Credential{})
		c := regionRecord(t, rec, name)
		if c.Status != state.RegionalFailed || c.Deployed || !strings.Contains(c.LastError, "external-") || c.RegionCRDCreated {
			t.Errorf("%s record: %+v", name, c)
		}
		if !slices.Contains(eventTypes(rec, name), regional.EventFailed) {
			t.Errorf("%s: no %s event", name, regional.EventFailed)
		}
		if strings.Contains(c.LastError, "not-a-token-this-cluster-knows") {
			t.Errorf("%s: the error carries the kubeconfig's token", name)
		}
	}
	if c := regionRecord(t, rec, "regional-ok"); c.Status != state.RegionalDeployed || !c.Deployed {
		t.Errorf("regional-ok record: %+v", c)
	}

	// A rerun of the failed ones leaves the good one alone: it is verified,
	// not run again.
	rep, _, _ = w.deploy("regional-ok", "regional-dead")
	for _, s := range regionReport(t, rep, "regional-ok").Steps {
		if !s.Verified && s.Status != string(state.PhaseSkipped) { // certificates: none configured
			t.Errorf("regional-ok: step %s ran again (%s)", s.Step, s.Status)
		}
	}
	if r := regionReport(t, rep, "regional-dead"); r.Status != regional.ReportFailed || r.FailedStep != regional.StepCluster {
		t.Errorf("regional-dead on the rerun: %s at %q", r.Status, r.FailedStep)
	}
}
