package standin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kubelet stands in for the nodes' kubelets, container runtime and pod
// network, for the only pods it understands: busybox `httpd -p PORT`
// (given an address of its own on loopback, 127.0.10.x, and a real HTTP
// server there that serves "ok" at /ok) and `wget ... URL` (which really
// fetches URL and ends Succeeded or Failed, as the container would exit).
// Any other pod stays Pending, as it would on a node whose runtime cannot
// pull its image. Cut makes the network drop traffic from one node's pods
// to another's: the fetch then fails, as it does when a CNI does not route
// between nodes.
type Kubelet struct {
	c client.Client

	mu      sync.Mutex
	next    int
	cut     map[[2]string]bool
	servers map[types.UID]*http.Server
	ipNode  map[string]string
}

// NewKubelet stands in for the kubelets of the cluster c reaches.
func NewKubelet(c client.Client) *Kubelet {
	return &Kubelet{c: c, cut: map[[2]string]bool{}, servers: map[types.UID]*http.Server{}, ipNode: map[string]string{}}
}

func (k *Kubelet) Name() string { return "kubelet" }

// Cut drops traffic from pods on node from to pods on node to.
func (k *Kubelet) Cut(from, to string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut[[2]string{from, to}] = true
}

// Close stops the pods' servers.
func (k *Kubelet) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for uid, s := range k.servers {
		_ = s.Close()
		delete(k.servers, uid)
	}
}

func (k *Kubelet) Reconcile(ctx context.Context) error {
	var pods corev1.PodList
	if err := k.c.List(ctx, &pods); err != nil {
		return err
	}
	alive := map[types.UID]bool{}
	var errs []error
	for i := range pods.Items {
		p := &pods.Items[i]
		alive[p.UID] = true
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil || len(p.Spec.Containers) == 0 ||
			(p.Status.Phase != "" && p.Status.Phase != corev1.PodPending) {
			continue
		}
		cmd := p.Spec.Containers[0].Command
		var err error
		switch {
		case strings.Contains(strings.Join(cmd, " "), "httpd "):
			err = k.startServer(ctx, p, strings.Join(cmd, " "))
		case len(cmd) > 1 && cmd[0] == "wget":
			err = k.fetch(ctx, p, cmd[len(cmd)-1])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	k.mu.Lock()
	for uid, s := range k.servers {
		if !alive[uid] {
			_ = s.Close()
			delete(k.servers, uid)
		}
	}
	k.mu.Unlock()
	return errors.Join(errs...)
}

func (k *Kubelet) startServer(ctx context.Context, p *corev1.Pod, cmd string) error {
	port := "80"
	if f := strings.Fields(cmd[strings.Index(cmd, "httpd "):]); len(f) > 0 {
		for j := range f[:len(f)-1] {
			if f[j] == "-p" {
				port = f[j+1]
			}
		}
	}
	k.mu.Lock()
	ip := fmt.Sprintf("127.0.10.%d", 1+k.next%250)
	k.next++
	k.mu.Unlock()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	k.mu.Lock()
	k.servers[p.UID], k.ipNode[ip] = srv, p.Spec.NodeName
	k.mu.Unlock()
	now := metav1.Now()
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
	return k.c.Status().Update(ctx, p)
}

func (k *Kubelet) fetch(ctx context.Context, p *corev1.Pod, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	k.mu.Lock()
	cut := k.cut[[2]string{p.Spec.NodeName, k.ipNode[u.Hostname()]}]
	k.mu.Unlock()
	code := int32(1)
	if !cut {
		hc := &http.Client{Timeout: 5 * time.Second}
		if resp, err := hc.Get(target); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				code = 0
			}
		}
	}
	now := metav1.Now()
	phase := corev1.PodSucceeded
	if code != 0 {
		phase = corev1.PodFailed
	}
	p.Status = corev1.PodStatus{Phase: phase, StartTime: &now, PodIP: "127.0.11.1",
		ContainerStatuses: []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: now}}}}}
	return k.c.Status().Update(ctx, p)
}
