package standin

import (
	"context"
	"fmt"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// cdTrack is what the ClusterDeployment controller remembers of one.
type cdTrack struct {
	kubeconfigAt time.Time // when the test's kubeconfig was first seen
}

// reconcileClusterDeployment provisions a ClusterDeployment: once its
// template is valid, its Credential ready and the test has said which API
// server the cluster is, it writes the "<name>-kubeconfig" Secret and sets
// Ready (after ClusterReadyDelay).
func (s *Regional) reconcileClusterDeployment(ctx context.Context, cd *kcmv1.ClusterDeployment) {
	m := s.opts.Management
	key := types.NamespacedName{Namespace: cd.Namespace, Name: cd.Name}
	if !cd.DeletionTimestamp.IsZero() {
		if err := s.deleteClusterDeployment(ctx, cd); err != nil {
			s.logf("ClusterDeployment %s: deleting: %v", key, err)
		}
		return
	}
	if !controllerutil.ContainsFinalizer(cd, kcmv1.ClusterDeploymentFinalizer) {
		patch := client.MergeFrom(cd.DeepCopy())
		controllerutil.AddFinalizer(cd, kcmv1.ClusterDeploymentFinalizer)
		if err := m.Patch(ctx, cd, patch); err != nil {
			s.logf("ClusterDeployment %s: adding the finalizer: %v", key, err)
		}
		return
	}
	s.mu.Lock()
	t, ok := s.cds[key]
	if !ok {
		t = &cdTrack{}
		s.cds[key] = t
	}
	s.mu.Unlock()

	cond := metav1.Condition{Type: kcmv1.ReadyCondition, Status: metav1.ConditionFalse, ObservedGeneration: cd.Generation}
	tmpl := &kcmv1.ClusterTemplate{}
	cred := &kcmv1.Credential{}
	kubeconfig, haveKubeconfig := s.kubeconfigOf(key)
	switch err := m.Get(ctx, client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Template}, tmpl); {
	case err != nil:
		cond.Reason, cond.Message = kcmv1.FailedReason, fmt.Sprintf("failed to get ClusterTemplate %s/%s: %v", cd.Namespace, cd.Spec.Template, err)
	case !tmpl.Status.Valid:
		cond.Reason, cond.Message = kcmv1.FailedReason, fmt.Sprintf("ClusterTemplate %s/%s is not marked as valid", cd.Namespace, cd.Spec.Template)
	default:
		switch err := m.Get(ctx, client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Credential}, cred); {
		case err != nil:
			cond.Reason, cond.Message = kcmv1.FailedReason, fmt.Sprintf("failed to get Credential %s/%s: %v", cd.Namespace, cd.Spec.Credential, err)
		case !cred.Status.Ready:
			cond.Reason, cond.Message = kcmv1.FailedReason, fmt.Sprintf("the Credential %s/%s is not Ready", cd.Namespace, cd.Spec.Credential)
		case cred.Spec.Region != "" && s.regionKubeconfigMissing(ctx, cd.Namespace, cred.Spec.Region) != "":
			// kcm 1.5.0 (issue 2152, fixed in 1.6.0) reads a
			// ClusterDeployment-backed region's kubeconfig Secret in the
			// child's own namespace, and copies it nowhere.
			cond.Reason, cond.Message = kcmv1.FailedReason, fmt.Sprintf("could not get KubeConfig secret '%s'", s.regionKubeconfigMissing(ctx, cd.Namespace, cred.Spec.Region))
		case !haveKubeconfig:
			cond.Reason, cond.Message = kcmv1.ProgressingReason, "Waiting for the control plane to be initialized"
		default:
			if t.kubeconfigAt.IsZero() {
				t.kubeconfigAt = time.Now()
			}
			if time.Since(t.kubeconfigAt) < s.opts.ClusterReadyDelay {
				cond.Reason, cond.Message = kcmv1.ProgressingReason, "Waiting for the control plane to be initialized"
				break
			}
			if err := s.writeClusterKubeconfig(ctx, cd, kubeconfig); err != nil {
				s.logf("ClusterDeployment %s: %v", key, err)
				return
			}
			cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, kcmv1.SucceededReason, "Object is ready"
		}
	}
	cur := cd.DeepCopy()
	before := cur.Status.DeepCopy()
	meta.SetStatusCondition(&cur.Status.Conditions, cond)
	cur.Status.ObservedGeneration = cur.Generation
	if regionalEqualJSON(before, &cur.Status) {
		return
	}
	if err := m.Status().Update(ctx, cur); err != nil && !apierrors.IsConflict(err) {
		s.logf("ClusterDeployment %s: status: %v", key, err)
	}
}

// writeClusterKubeconfig writes the cluster's "<name>-kubeconfig" Secret as
// Cluster API does.
func (s *Regional) writeClusterKubeconfig(ctx context.Context, cd *kcmv1.ClusterDeployment, kubeconfig []byte) error {
	m := s.opts.Management
	sec := &corev1.Secret{}
	key := client.ObjectKey{Namespace: cd.Namespace, Name: cd.Name + "-kubeconfig"}
	err := m.Get(ctx, key, sec)
	switch {
	case apierrors.IsNotFound(err):
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{"cluster.x-k8s.io/cluster-name": cd.Name}},
			Type:       "cluster.x-k8s.io/secret",
			Data:       map[string][]byte{"value": kubeconfig},
		}
		return m.Create(ctx, sec)
	case err != nil:
		return err
	case string(sec.Data["value"]) == string(kubeconfig):
		return nil
	}
	sec.Data = map[string][]byte{"value": kubeconfig}
	return m.Update(ctx, sec)
}

// deleteClusterDeployment: the cluster (and its kubeconfig Secret) goes, then
// the finalizer.
func (s *Regional) deleteClusterDeployment(ctx context.Context, cd *kcmv1.ClusterDeployment) error {
	if !controllerutil.ContainsFinalizer(cd, kcmv1.ClusterDeploymentFinalizer) {
		return nil
	}
	m := s.opts.Management
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cd.Namespace, Name: cd.Name + "-kubeconfig"}}
	if err := m.Delete(ctx, sec); client.IgnoreNotFound(err) != nil {
		return err
	}
	patch := client.MergeFrom(cd.DeepCopy())
	controllerutil.RemoveFinalizer(cd, kcmv1.ClusterDeploymentFinalizer)
	if err := m.Patch(ctx, cd, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cds, types.NamespacedName{Namespace: cd.Namespace, Name: cd.Name})
	s.mu.Unlock()
	return nil
}

// regionKubeconfigMissing is "<namespace>/<name>" of the kubeconfig Secret
// of region's ClusterDeployment that kcm 1.5.0 looks for in namespace, when
// it is not there; "" when it is, or the region is not a
// ClusterDeployment's.
func (s *Regional) regionKubeconfigMissing(ctx context.Context, namespace, region string) string {
	rg := &kcmv1.Region{}
	if err := s.opts.Management.Get(ctx, client.ObjectKey{Name: region}, rg); err != nil || rg.Spec.ClusterDeployment == nil {
		return ""
	}
	key := client.ObjectKey{Namespace: namespace, Name: rg.Spec.ClusterDeployment.Name + "-kubeconfig"}
	if err := s.opts.Management.Get(ctx, key, &corev1.Secret{}); apierrors.IsNotFound(err) {
		return key.String()
	}
	return ""
}
