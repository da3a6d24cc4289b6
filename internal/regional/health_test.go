package regional

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// unreachableKubeconfig points at a port nothing listens on.
func unreachableKubeconfig(t *testing.T) []byte {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://" + addr, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "x"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHealthUnreachableAndNotDeployed(t *testing.T) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "external-westeu"}, Data: map[string][]byte{"value": unreachableKubeconfig(t)}}
	env, _ := opsEnv(t, opsTestConfig, sec, opsKCMDeployment(""))
	store, err := state.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), store, opsDeploymentID, "ops-test")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Update(t.Context(), func(r *state.Record) error {
		r.UpsertRegional(state.RegionalCluster{Name: "regional-westeu", Type: state.RegionalTypeExternal, KubeconfigSecret: "external-westeu", Status: state.RegionalDeployed, Health: state.HealthHealthy})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	env.Session = sess

	rep, err := (&Health{Env: env, Timeout: 5 * time.Second}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RegionHealth{}
	for _, h := range rep.Regions {
		got[h.Name] = h
	}
	w := got["regional-westeu"]
	if w.Health != state.HealthUnreachable || w.Reachable || !w.Unhealthy() || !strings.Contains(strings.Join(w.Problems, " "), "connection refused") || w.Fix == "" {
		t.Errorf("westeu: %+v", w)
	}
	if w.Kubeconfig != "Secret kcm-system/external-westeu" || w.Previous != state.HealthHealthy {
		t.Errorf("westeu kubeconfig %q previous %q", w.Kubeconfig, w.Previous)
	}
	for _, n := range []string{"regional-useast", "regional-new"} {
		if h := got[n]; h.Skipped != "not deployed yet" || h.Unhealthy() {
			t.Errorf("%s: %+v, want skipped (not deployed yet) and not counted as unhealthy", n, h)
		}
	}
	if u := rep.Unhealthy(); len(u) != 1 || u[0] != "regional-westeu" {
		t.Errorf("unhealthy %v", u)
	}

	// Recorded: health, time, and an event for the change.
	rec := sess.Snapshot()
	c := rec.Regional("regional-westeu")
	if c.Health != state.HealthUnreachable || c.HealthCheckedAt == nil || !c.HealthCheckedAt.Equal(rep.CheckedAt) {
		t.Errorf("record: health %q at %v", c.Health, c.HealthCheckedAt)
	}
	evs := state.FilterEvents(rec.Events, state.EventFilter{Region: "regional-westeu", Type: EventHealthChanged})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "unreachable (was healthy)") {
		t.Errorf("events %+v", evs)
	}
	if rec.Regional("regional-useast") != nil {
		t.Error("a region without a record entry must not get one from a health check")
	}

	// The same health again: no new event.
	if _, err := (&Health{Env: env, Names: []string{"regional-westeu"}, Timeout: 5 * time.Second}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(state.FilterEvents(sess.Snapshot().Events, state.EventFilter{Type: EventHealthChanged})); n != 1 {
		t.Errorf("%d health events after an unchanged check, want 1", n)
	}
	if _, err := (&Health{Env: env, Names: []string{"nowhere"}}).Run(t.Context()); !errors.As(err, new(*UnknownRegionError)) || !strings.HasPrefix(err.Error(), "no regional cluster named") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestReadyTransitionText(t *testing.T) {
	tr := ReadyTransition{Region: "r", From: "True", FromReason: "AllComponentsHealthy", To: "False", ToReason: "NotAllComponentsHealthy", Message: "Components not ready: [velero]"}
	if got := tr.String(); got != "Region r Ready True (AllComponentsHealthy) → False (NotAllComponentsHealthy): Components not ready: [velero]" {
		t.Errorf("got %q", got)
	}
}
