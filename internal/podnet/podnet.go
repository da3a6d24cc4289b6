// Package podnet proves a new cluster's pod network before anything is
// installed on it: every Ready node runs a small HTTP server pod (the pods
// name their node and tolerate every taint, so controllers that also run
// workloads take part),
// and a pod on each node fetches a page from the server pod on the next node
// (a ring), so that every node both sends to and receives from another node
// over the pod network. A node pair that cannot talk is named.
package podnet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

const (
	// Namespace holds the check's pods (deleted after each check; the
	// namespace stays, empty).
	Namespace = "k0rdentctl-podnet"
	// DefaultImage runs the server (httpd) and the client (wget).
	DefaultImage = "busybox:1.36"
	// Port is the servers' port.
	Port = 8080

	appLabel  = "app.kubernetes.io/name"
	appName   = "k0rdentctl-podnet"
	roleLabel = "k0rdentctl.io/podnet-role"
	nodeAnno  = "k0rdentctl.io/podnet-target-node"
)

// Options of a check.
type Options struct {
	// Nodes is how many nodes must be Ready first (the VMs).
	Nodes int
	// Image is the busybox image (DefaultImage when empty).
	Image string
	// Timeout bounds the whole check (nodes Ready, pods running, fetches).
	Timeout time.Duration
	// Interval between looks (default 2s).
	Interval time.Duration
	Progress func(string)

	deadline time.Time
}

// left is what remains of the timeout for the next wait (0: none).
func (o *Options) left() time.Duration {
	if o.deadline.IsZero() {
		return 0
	}
	return max(time.Until(o.deadline), time.Millisecond)
}

// Result is what the check found.
type Result struct {
	// Nodes are the Ready nodes the check ran on.
	Nodes []string `json:"nodes"`
	Pairs []Pair   `json:"pairs"`
	// Skipped says why no cross-node path was checked.
	Skipped string `json:"skipped,omitempty"`
}

// Pair is one fetch from a pod on From to the server pod on To.
type Pair struct {
	From string `json:"from"`
	To   string `json:"to"`
	OK   bool   `json:"ok"`
}

// Error names the node pairs whose pods could not reach each other.
type Error struct{ Failed []Pair }

func (e *Error) Error() string {
	var s []string
	for _, p := range e.Failed {
		s = append(s, fmt.Sprintf("pods on %s cannot reach pods on %s", p.From, p.To))
	}
	return strings.Join(s, "; ") + ": the pod network does not carry traffic between those nodes; look at the CNI pods (kubectl -n kube-system get pods -o wide) and at traffic between the VMs' private addresses"
}

func (o *Options) say(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Check runs the check with c (cluster-admin) and removes its pods after.
func Check(ctx context.Context, c client.Client, o Options) (*Result, error) {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Timeout > 0 {
		o.deadline = time.Now().Add(o.Timeout)
	}
	nodes, err := readyNodes(ctx, c, o)
	if err != nil {
		return nil, err
	}
	res := &Result{Nodes: nodes}
	if len(nodes) < 2 {
		res.Skipped = fmt.Sprintf("only %d node is Ready: there is no path between nodes to check", len(nodes))
		o.say("%s", res.Skipped)
		return res, nil
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Labels: map[string]string{appLabel: appName}}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", Namespace, err)
	}
	if err := removePods(ctx, c); err != nil {
		return nil, err
	}
	defer func() {
		// Also after a cancelled check: a fresh context, bounded.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = removePods(cctx, c)
	}()

	for i, n := range nodes {
		if err := c.Create(ctx, serverPod(i, n, o.Image)); err != nil {
			return nil, fmt.Errorf("creating the server pod on %s: %w", n, err)
		}
	}
	ips := make([]string, len(nodes))
	err = kube.WaitFor(ctx, "the pod network check's server pods to run", o.left(), o.Interval, func(ctx context.Context) (bool, string, error) {
		running := 0
		for i := range nodes {
			var p corev1.Pod
			if err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: serverName(i)}, &p); err != nil {
				return false, "", err
			}
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				ips[i] = p.Status.PodIP
				running++
			}
		}
		return running == len(nodes), fmt.Sprintf("%d of %d server pods running", running, len(nodes)), nil
	}, o.Progress)
	if err != nil {
		return nil, err
	}

	for i, n := range nodes {
		j := (i + 1) % len(nodes)
		if err := c.Create(ctx, clientPod(i, n, nodes[j], ips[j], o.Image)); err != nil {
			return nil, fmt.Errorf("creating the client pod on %s: %w", n, err)
		}
	}
	res.Pairs = make([]Pair, len(nodes))
	err = kube.WaitFor(ctx, "the pod network check's fetches", o.left(), o.Interval, func(ctx context.Context) (bool, string, error) {
		done := 0
		for i, n := range nodes {
			var p corev1.Pod
			if err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: clientName(i)}, &p); err != nil {
				return false, "", err
			}
			res.Pairs[i] = Pair{From: n, To: nodes[(i+1)%len(nodes)], OK: p.Status.Phase == corev1.PodSucceeded}
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				done++
			}
		}
		return done == len(nodes), fmt.Sprintf("%d of %d fetches done", done, len(nodes)), nil
	}, o.Progress)
	if err != nil {
		return nil, err
	}
	var failed []Pair
	for _, p := range res.Pairs {
		if !p.OK {
			failed = append(failed, p)
		} else {
			o.say("a pod on %s reached a pod on %s", p.From, p.To)
		}
	}
	if len(failed) > 0 {
		return res, &Error{Failed: failed}
	}
	return res, nil
}

// readyNodes waits until at least o.Nodes nodes are Ready and returns
// them, sorted.
func readyNodes(ctx context.Context, c client.Client, o Options) ([]string, error) {
	var out []string
	err := kube.WaitFor(ctx, fmt.Sprintf("%d nodes to be Ready", o.Nodes), o.left(), o.Interval, func(ctx context.Context) (bool, string, error) {
		var list corev1.NodeList
		if err := c.List(ctx, &list); err != nil {
			return false, "", err
		}
		ready := 0
		out = out[:0]
		for _, n := range list.Items {
			if !nodeReady(&n) {
				continue
			}
			ready++
			out = append(out, n.Name)
		}
		return ready >= o.Nodes, fmt.Sprintf("%d of %d nodes Ready", ready, o.Nodes), nil
	}, o.Progress)
	sort.Strings(out)
	return out, err
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func serverName(i int) string { return fmt.Sprintf("server-%d", i) }
func clientName(i int) string { return fmt.Sprintf("client-%d", i) }

func podMeta(name, role string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{appLabel: appName, roleLabel: role}}
}

// anyTaint: the pods go where they are sent (nodeName), controllers that
// run workloads included, and are not evicted by a NoExecute taint.
var anyTaint = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}

// serverPod serves /ok on Port from node.
func serverPod(i int, node, image string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: podMeta(serverName(i), "server"), Spec: corev1.PodSpec{
		NodeName:      node,
		Tolerations:   anyTaint,
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "httpd", Image: image,
			Command: []string{"sh", "-c", fmt.Sprintf("mkdir -p /www && echo ok > /www/ok && exec httpd -f -p %d -h /www", Port)},
			Ports:   []corev1.ContainerPort{{ContainerPort: Port}}}},
	}}
}

// clientPod fetches /ok from the server pod at ip on target, from node.
func clientPod(i int, node, target, ip, image string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: podMeta(clientName(i), "client"), Spec: corev1.PodSpec{
		NodeName:      node,
		Tolerations:   anyTaint,
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "wget", Image: image,
			Command: []string{"wget", "-q", "-T", "5", "-O", "-", fmt.Sprintf("http://%s:%d/ok", ip, Port)}}},
	}}
	p.Annotations = map[string]string{nodeAnno: target}
	return p
}

// removePods deletes the check's pods at once (no grace: they hold
// nothing).
func removePods(ctx context.Context, c client.Client) error {
	var list corev1.PodList
	if err := c.List(ctx, &list, client.InNamespace(Namespace), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(labels.Set{appLabel: appName})}); err != nil {
		return fmt.Errorf("listing the pod network check's pods: %w", err)
	}
	var errs []error
	for i := range list.Items {
		if err := c.Delete(ctx, &list.Items[i], client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
