package standin

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Workloads stands in for the Deployment and DaemonSet controllers and the
// kubelets running their pods, in one namespace: a Deployment gets its
// replicas available, a DaemonSet a ready pod on every node there is (none
// without nodes), each with the generation observed, as when every image
// pulls and every pod starts. It does not model a pod that fails.
type Workloads struct {
	c         client.Client
	namespace string
}

// NewWorkloads stands in for the workload controllers in namespace.
func NewWorkloads(c client.Client, namespace string) *Workloads {
	return &Workloads{c: c, namespace: namespace}
}

func (w *Workloads) Name() string { return "workloads" }

func (w *Workloads) Reconcile(ctx context.Context) error {
	var nodes corev1.NodeList
	if err := w.c.List(ctx, &nodes); err != nil {
		return err
	}
	var errs []error
	var deps appsv1.DeploymentList
	if err := w.c.List(ctx, &deps, client.InNamespace(w.namespace)); err != nil {
		return err
	}
	for i := range deps.Items {
		d := &deps.Items[i]
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == want {
			continue
		}
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = want, want, want, want
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}
		errs = append(errs, w.c.Status().Update(ctx, d))
	}
	var dss appsv1.DaemonSetList
	if err := w.c.List(ctx, &dss, client.InNamespace(w.namespace)); err != nil {
		return err
	}
	n := int32(len(nodes.Items))
	for i := range dss.Items {
		ds := &dss.Items[i]
		if ds.Status.ObservedGeneration == ds.Generation && ds.Status.NumberReady == n && ds.Status.DesiredNumberScheduled == n {
			continue
		}
		ds.Status.ObservedGeneration = ds.Generation
		ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, ds.Status.NumberReady, ds.Status.NumberAvailable, ds.Status.UpdatedNumberScheduled = n, n, n, n, n
		errs = append(errs, w.c.Status().Update(ctx, ds))
	}
	return errors.Join(errs...)
}
