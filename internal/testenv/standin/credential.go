package standin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// credTrack is what the Credential controller remembers of one Credential.
type credTrack struct {
	resourceVersion string // last version reconciled
	regionReady     string // its Region's Ready status last seen
	retry           regionalBackoff
	retrying        bool
}

// maybeReconcileCredential reconciles a Credential on any change of the
// object (no generation filter), when its Region's Ready condition changed,
// and on requeue after an error.
func (s *Regional) maybeReconcileCredential(ctx context.Context, cred *kcmv1.Credential, regionReady map[string]string) {
	key := types.NamespacedName{Namespace: cred.Namespace, Name: cred.Name}
	s.mu.Lock()
	t, ok := s.creds[key]
	if !ok {
		t = &credTrack{}
		s.creds[key] = t
	}
	s.mu.Unlock()
	now := time.Now()
	ready := regionReady[cred.Spec.Region]
	trigger := t.resourceVersion != cred.ResourceVersion ||
		(cred.Spec.Region != "" && ready != t.regionReady) ||
		(t.retrying && t.retry.due(now))
	t.regionReady = ready
	if !trigger {
		return
	}
	s.mu.Lock()
	s.credRuns[key]++
	s.mu.Unlock()
	seen := cred.ResourceVersion // reconcileCredential may update cred in place
	rv, err := s.reconcileCredential(ctx, cred)
	if rv != "" {
		t.resourceVersion = rv // its own status update: no new reconcile
	} else {
		t.resourceVersion = seen // its own metadata update triggers the next one
	}
	if err != nil {
		s.logf("Credential %s: %v", key, err)
		t.retrying = true
		t.retry.failed(now)
		return
	}
	t.retrying = false
	t.retry.reset()
}

// reconcileCredential is kcm's CredentialReconciler.update (and delete). It
// returns the Credential's resourceVersion after its own writes.
func (s *Regional) reconcileCredential(ctx context.Context, cred *kcmv1.Credential) (string, error) {
	m := s.opts.Management
	if !cred.DeletionTimestamp.IsZero() {
		return "", s.deleteCredential(ctx, cred)
	}
	if !controllerutil.ContainsFinalizer(cred, kcmv1.CredentialFinalizer) {
		patch := client.MergeFrom(cred.DeepCopy())
		controllerutil.AddFinalizer(cred, kcmv1.CredentialFinalizer)
		if err := m.Patch(ctx, cred, patch); err != nil {
			return "", err
		}
		return "", nil // the update triggers the next reconcile
	}

	var rgnClient client.Client = m
	if cred.Spec.Region != "" {
		rg := &kcmv1.Region{}
		err := m.Get(ctx, client.ObjectKey{Name: cred.Spec.Region}, rg)
		failed := ""
		switch {
		case err != nil:
			failed = fmt.Sprintf("Failed to get Region %s: %v", cred.Spec.Region, err)
		case !rg.DeletionTimestamp.IsZero():
			failed = fmt.Sprintf("Region %s is deleting", rg.Name)
		}
		if failed != "" {
			rv, uerr := s.setCredentialReady(ctx, cred, errors.New(failed))
			if apierrors.IsNotFound(err) {
				return rv, uerr // kcm: IgnoreNotFound, no requeue
			}
			return rv, errors.Join(err, uerr)
		}
		kc, err := s.regionKubeconfig(ctx, rg)
		if err == nil {
			rgnClient, err = s.regionalClient(kc)
		}
		if err != nil {
			rv, uerr := s.setCredentialReady(ctx, cred, err)
			return rv, errors.Join(err, uerr)
		}
		if err := s.copyClusterIdentities(ctx, rgnClient, cred); err != nil {
			rv, uerr := s.setCredentialReady(ctx, cred, err)
			return rv, errors.Join(err, uerr)
		}
	}

	ref := cred.Spec.IdentityRef
	idty := &unstructured.Unstructured{}
	idty.SetAPIVersion(ref.APIVersion)
	idty.SetKind(ref.Kind)
	if err := rgnClient.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, idty); err != nil {
		msg := fmt.Sprintf("Failed to get ClusterIdentity object of Kind=%s %s/%s: %s", ref.Kind, ref.Namespace, ref.Name, err)
		if apierrors.IsNotFound(err) {
			msg = fmt.Sprintf("ClusterIdentity object of Kind=%s %s/%s not found", ref.Kind, ref.Namespace, ref.Name)
		}
		rv, uerr := s.setCredentialReady(ctx, cred, errors.New(msg))
		return rv, errors.Join(err, uerr)
	}
	return s.setCredentialReady(ctx, cred, nil)
}

func (s *Regional) setCredentialReady(ctx context.Context, cred *kcmv1.Credential, err error) (string, error) {
	cur := &kcmv1.Credential{}
	if gerr := s.opts.Management.Get(ctx, client.ObjectKeyFromObject(cred), cur); gerr != nil {
		return "", gerr
	}
	before := cur.Status.DeepCopy()
	cond := metav1.Condition{Type: kcmv1.CredentialReadyCondition, ObservedGeneration: cur.Generation, Status: metav1.ConditionTrue, Reason: kcmv1.SucceededReason, Message: "Credential is ready"}
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, kcmv1.FailedReason, err.Error()
	}
	meta.SetStatusCondition(&cur.Status.Conditions, cond)
	cur.Status.Ready = err == nil
	if regionalEqualJSON(before, &cur.Status) {
		return cur.ResourceVersion, nil
	}
	if uerr := s.opts.Management.Status().Update(ctx, cur); uerr != nil {
		return "", uerr
	}
	return cur.ResourceVersion, nil
}

// regionalFindClusterIdentity is kcm's providerinterface.FindClusterIdentity: the
// ProviderInterface entry describing the identity's kind, nil when none.
func regionalFindClusterIdentity(ctx context.Context, rgnClient client.Client, ref schema.GroupVersionKind) (*kcmv1.ClusterIdentity, error) {
	pis := &kcmv1.ProviderInterfaceList{}
	if err := rgnClient.List(ctx, pis); err != nil {
		return nil, err
	}
	for _, pi := range pis.Items {
		for _, ci := range pi.Spec.ClusterIdentities {
			if ci.Group == ref.Group && ci.Version == ref.Version && ci.Kind == ref.Kind {
				return &ci, nil
			}
		}
	}
	return nil, nil
}

func regionalCredentialLabel(cred *kcmv1.Credential) string {
	return strings.Join([]string{kcmv1.CredentialLabelKeyPrefix, cred.Namespace, cred.Name}, ".")
}

// copyClusterIdentities is kcm's credential.CopyClusterIdentities: the
// identity (from the system namespace) and the objects it references go to
// the Credential's namespace of the regional cluster, only when a
// ProviderInterface there describes the identity's kind.
func (s *Regional) copyClusterIdentities(ctx context.Context, rgnClient client.Client, cred *kcmv1.Credential) error {
	ref := cred.Spec.IdentityRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return err
	}
	ci, err := regionalFindClusterIdentity(ctx, rgnClient, gv.WithKind(ref.Kind))
	if err != nil {
		return err
	}
	if ci == nil {
		s.logf("Credential %s/%s: no ProviderInterface has Cluster Identity %s defined; skipping cluster identities distribution", cred.Namespace, cred.Name, ref.Kind)
		return nil
	}
	sysNS := s.opts.SystemNamespace
	src := &unstructured.Unstructured{}
	src.SetAPIVersion(ref.APIVersion)
	src.SetKind(ref.Kind)
	key := client.ObjectKey{Name: ref.Name}
	if ref.Namespace != "" {
		key.Namespace = sysNS
	}
	if err := s.opts.Management.Get(ctx, key, src); err != nil {
		return fmt.Errorf("failed to get ClusterIdentity object of Kind=%s %s: %w", ref.Kind, key, err)
	}
	if src.GetNamespace() != "" {
		src.SetNamespace(cred.Namespace)
	}
	objs := []*unstructured.Unstructured{}
	for _, r := range ci.References {
		name, _, _ := unstructured.NestedString(src.Object, strings.Split(r.NameFieldPath, ".")...)
		srcNS := sysNS
		var nsPath []string
		if r.NamespaceFieldPath != "" {
			nsPath = strings.Split(r.NamespaceFieldPath, ".")
			if ns, _, _ := unstructured.NestedString(src.Object, nsPath...); ns != "" {
				srcNS = ns
			}
		}
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind})
		if err := s.opts.Management.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: name}, obj); err != nil {
			return fmt.Errorf("failed to get ClusterIdentity reference object of Kind=%s %s/%s: %w", r.Kind, srcNS, name, err)
		}
		if nsPath != nil {
			if err := unstructured.SetNestedField(src.Object, cred.Namespace, nsPath...); err != nil {
				return err
			}
			obj.SetNamespace(cred.Namespace)
		}
		objs = append(objs, obj)
	}
	objs = append(objs, src)
	for _, o := range objs {
		if err := s.ensureIdentityObject(ctx, rgnClient, cred, o); err != nil {
			return err
		}
	}
	return nil
}

func regionalIdentityCopy(cred *kcmv1.Credential, src *unstructured.Unstructured) *unstructured.Unstructured {
	out := src.DeepCopy()
	out.SetCreationTimestamp(metav1.Time{})
	out.SetFinalizers(nil)
	out.SetManagedFields(nil)
	out.SetOwnerReferences(nil)
	out.SetResourceVersion("")
	out.SetUID("")
	out.SetLabels(map[string]string{kcmv1.KCMManagedLabelKey: kcmv1.KCMManagedLabelValue, regionalCredentialLabel(cred): "true"})
	return out
}

// ensureIdentityObject creates a copy, or updates one labelled managed
// (an unlabelled one is left alone).
func (s *Regional) ensureIdentityObject(ctx context.Context, rgnClient client.Client, cred *kcmv1.Credential, obj *unstructured.Unstructured) error {
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(obj.GroupVersionKind())
	err := rgnClient.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	switch {
	case apierrors.IsNotFound(err):
		if ns := obj.GetNamespace(); ns != "" {
			if err := regionalEnsureNamespace(ctx, rgnClient, ns); err != nil {
				return err
			}
		}
		if err := rgnClient.Create(ctx, regionalIdentityCopy(cred, obj)); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("failed to create Cluster Identity object %s %s: %w", obj.GetKind(), client.ObjectKeyFromObject(obj), err)
		}
		return nil
	case err != nil:
		return err
	}
	if cur.GetLabels()[kcmv1.KCMManagedLabelKey] != kcmv1.KCMManagedLabelValue {
		return nil // not managed by KCM: never updated
	}
	cp := regionalIdentityCopy(cred, obj)
	cp.SetResourceVersion(cur.GetResourceVersion())
	labels := cur.GetLabels()
	labels[regionalCredentialLabel(cred)] = "true"
	cp.SetLabels(labels)
	return rgnClient.Update(ctx, cp)
}

// deleteCredential is kcm's Credential deletion: the identity copies it
// alone holds are deleted from the region (when reachable), then the
// finalizer goes.
func (s *Regional) deleteCredential(ctx context.Context, cred *kcmv1.Credential) error {
	if !controllerutil.ContainsFinalizer(cred, kcmv1.CredentialFinalizer) {
		return nil
	}
	if cred.Spec.Region != "" {
		if rgnClient, err := s.credentialRegionClient(ctx, cred.Spec.Region); err == nil {
			if err := s.releaseClusterIdentities(ctx, rgnClient, cred); err != nil {
				return err
			}
		} else {
			s.logf("Credential %s/%s: region %s unreachable, removing the finalizer anyway: %v", cred.Namespace, cred.Name, cred.Spec.Region, err)
		}
	}
	patch := client.MergeFrom(cred.DeepCopy())
	controllerutil.RemoveFinalizer(cred, kcmv1.CredentialFinalizer)
	if err := s.opts.Management.Patch(ctx, cred, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	s.mu.Lock()
	delete(s.creds, types.NamespacedName{Namespace: cred.Namespace, Name: cred.Name})
	s.mu.Unlock()
	return nil
}

func (s *Regional) credentialRegionClient(ctx context.Context, region string) (client.Client, error) {
	rg := &kcmv1.Region{}
	if err := s.opts.Management.Get(ctx, client.ObjectKey{Name: region}, rg); err != nil {
		return nil, err
	}
	kc, err := s.regionKubeconfig(ctx, rg)
	if err != nil {
		return nil, err
	}
	return s.regionalClient(kc)
}

// releaseClusterIdentities deletes the managed copies labelled for this
// Credential when no other Credential's label remains on them, else drops
// this Credential's label.
func (s *Regional) releaseClusterIdentities(ctx context.Context, rgnClient client.Client, cred *kcmv1.Credential) error {
	ref := cred.Spec.IdentityRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return err
	}
	ci, err := regionalFindClusterIdentity(ctx, rgnClient, gv.WithKind(ref.Kind))
	if err != nil || ci == nil {
		return err
	}
	gvks := []schema.GroupVersionKind{gv.WithKind(ref.Kind)}
	for _, r := range ci.References {
		gvks = append(gvks, schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind})
	}
	mine := regionalCredentialLabel(cred)
	for _, gvk := range gvks {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := rgnClient.List(ctx, list, client.MatchingLabels{kcmv1.KCMManagedLabelKey: kcmv1.KCMManagedLabelValue, mine: "true"}); err != nil {
			return err
		}
		for i := range list.Items {
			o := &list.Items[i]
			labels := o.GetLabels()
			delete(labels, mine)
			others := false
			for k := range labels {
				if strings.HasPrefix(k, kcmv1.CredentialLabelKeyPrefix) {
					others = true
				}
			}
			if !others {
				if err := rgnClient.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
					return err
				}
				continue
			}
			o.SetLabels(labels)
			if err := rgnClient.Update(ctx, o); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return nil
}
