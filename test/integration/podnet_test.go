package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/podnet"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// addNode registers a node as its kubelet would, Ready or not, with
// k0s's controller taint when it is a controller that takes no pods.
func addNode(t *testing.T, c client.Client, name string, ready, tainted bool) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if tainted {
		n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule}}
	}
	if err := c.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if err := c.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// The pod network check on a real API server, the stand-in playing the
// kubelets and the network: with a controller (tainted, as k0s taints a
// controller+worker) and two workers, a pod on each node reaches the next
// node's server pod and the check passes, leaving no pod behind; with the
// network cut from one worker to the other, the check fails naming that
// direction only; with one node Ready there is nothing to check between
// nodes, and that is said; nodes that never become Ready end the wait
// saying how many are.
func TestPodNetworkCheck(t *testing.T) {
	env := testenv.StartT(t, testenv.Options{NoCRDs: true})
	c := env.Client
	kubelet := standin.NewKubelet(c)
	t.Cleanup(kubelet.Close)
	stop := standin.NewLoop(kubelet).Start(context.Background())
	t.Cleanup(func() { _ = stop() })
	addNode(t, c, "k0s-controller-1", true, true)
	addNode(t, c, "k0s-worker-1", true, false)
	addNode(t, c, "k0s-worker-2", true, false)
	opts := podnet.Options{Nodes: 3, Interval: 20 * time.Millisecond, Timeout: time.Minute, Progress: func(s string) { t.Log(s) }}

	res, err := podnet.Check(context.Background(), c, opts)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if strings.Join(res.Nodes, ",") != "k0s-controller-1,k0s-worker-1,k0s-worker-2" || len(res.Pairs) != 3 {
		t.Fatalf("result %+v", res)
	}
	for _, p := range res.Pairs {
		if !p.OK {
			t.Errorf("%s → %s failed on a working network", p.From, p.To)
		}
	}
	var pods corev1.PodList
	if err := c.List(context.Background(), &pods, client.InNamespace(podnet.Namespace)); err != nil || len(pods.Items) != 0 {
		t.Fatalf("pods left after the check: %d (%v)", len(pods.Items), err)
	}

	kubelet.Cut("k0s-worker-1", "k0s-worker-2")
	res, err = podnet.Check(context.Background(), c, opts)
	var pe *podnet.Error
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || !strings.Contains(err.Error(), "pods on k0s-worker-1 cannot reach pods on k0s-worker-2") {
		t.Fatalf("check with the network cut: %v", err)
	}
	if res == nil || !res.Pairs[0].OK || res.Pairs[1].OK || !res.Pairs[2].OK {
		t.Errorf("only worker-1 → worker-2 should fail: %+v", res)
	}

	single := testenv.StartT(t, testenv.Options{NoCRDs: true})
	addNode(t, single.Client, "k0s-controller-1", true, true)
	addNode(t, single.Client, "k0s-worker-1", false, false)
	res, err = podnet.Check(context.Background(), single.Client, podnet.Options{Nodes: 1, Interval: 20 * time.Millisecond, Timeout: time.Minute})
	if err != nil || res.Skipped == "" || len(res.Pairs) != 0 {
		t.Fatalf("one node Ready: %+v %v", res, err)
	}
	_, err = podnet.Check(context.Background(), single.Client, podnet.Options{Nodes: 2, Interval: 20 * time.Millisecond, Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 nodes Ready") {
		t.Fatalf("a node never Ready: %v", err)
	}
}
