package k0rdent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"helm.sh/helm/v3/pkg/action"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Uninstall removes k0rdent from the management cluster: the Management, then
// the kcm Helm release, whose CRDs go with it.
//
// The chart's CRDs carry no keep policy, so uninstalling deletes every
// ClusterDeployment, Region and Credential with them, and with no controller
// left to clear their finalizers that deletion hangs. So:
//   - while ClusterDeployments, Regions or Credentials exist, Uninstall
//     refuses with *InUseError (exit code 3), listing them;
//   - with Force it deletes them first, in an order that lets the controllers
//     clean up (ClusterDeployments that no Region is built on, then Regions,
//     then the remaining ClusterDeployments, then Credentials), and waits
//     until each group is gone;
//   - it then deletes the Management kcm (the controller removes its
//     components and its finalizer), uninstalls the Helm release and waits
//     until k0rdent's CRDs are gone.
//
// Finalizers: objects are deleted normally and their controllers are given
// Timeout to clean up. If they are still there after it — the controller is
// not running, or fails — Uninstall stops with *StuckError, listing each
// object and its finalizers, and changes nothing more. Force does not remove
// finalizers: that would orphan what the controller was cleaning up (for a
// ClusterDeployment, its Azure VMs). Only RemoveFinalizers, which the operator
// sets explicitly after reading that error, strips finalizers: at once for
// objects that were already being deleted when the run started (an earlier
// run found them stuck), and after Timeout for objects this run deletes;
// they then disappear at once.
//
// The namespace is kept: it may hold Secrets the operator created.
type Uninstall struct {
	Kube      *kube.Clients
	Namespace string
	// Force deletes the ClusterDeployments, Regions and Credentials that
	// would otherwise stop the uninstall.
	Force bool
	// RemoveFinalizers strips the finalizers of objects still being deleted
	// after Timeout, instead of failing with *StuckError.
	RemoveFinalizers bool
	// Timeout bounds each wait for deletions (DefaultTimeout when zero).
	Timeout time.Duration
	// HelmTimeout bounds the Helm uninstall (DefaultHelmTimeout when zero).
	HelmTimeout time.Duration
	// Interval is the polling interval (DefaultInterval when zero).
	Interval time.Duration
	Progress func(string)
	Debug    func(string)
}

// UninstallResult says what Uninstall did.
type UninstallResult struct {
	// NotInstalled is true when there was nothing to uninstall.
	NotInstalled bool `json:"not_installed"`
	// Deleted lists the objects deleted before the chart (with Force).
	Deleted []ObjectRef `json:"deleted,omitempty"`
	// FinalizersRemoved lists the objects whose finalizers were stripped.
	FinalizersRemoved []ObjectRef `json:"finalizers_removed,omitempty"`
	// ManagementDeleted is true when the Management kcm was deleted.
	ManagementDeleted bool `json:"management_deleted"`
	// HelmUninstalled is true when the kcm Helm release was uninstalled.
	HelmUninstalled bool `json:"helm_uninstalled"`
	// Kept lists what was deliberately left.
	Kept []string `json:"kept,omitempty"`
}

type kindList struct {
	kind string
	list client.ObjectList
}

// InUse lists the ClusterDeployments, Regions and Credentials on the
// cluster: the objects that stop an uninstall without Force.
func (u *Uninstall) InUse(ctx context.Context) ([]ObjectRef, error) {
	var out []ObjectRef
	for _, kl := range []kindList{
		{"ClusterDeployment", &kcmv1.ClusterDeploymentList{}},
		{"Region", &kcmv1.RegionList{}},
		{"Credential", &kcmv1.CredentialList{}},
	} {
		refs, err := listRefs(ctx, u.Kube.Client, kl.kind, kl.list)
		if err != nil {
			return nil, err
		}
		out = append(out, refs...)
	}
	return out, nil
}

// listRefs lists objects of one kind; a kind that is not served has none.
func listRefs(ctx context.Context, c client.Client, kind string, list client.ObjectList) ([]ObjectRef, error) {
	if err := c.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %ss: %w", kind, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	var out []ObjectRef
	for _, it := range items {
		obj, ok := it.(client.Object)
		if !ok {
			continue
		}
		out = append(out, refOf(kind, obj))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func refOf(kind string, obj client.Object) ObjectRef {
	return ObjectRef{
		Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(),
		Finalizers: obj.GetFinalizers(), Deleting: obj.GetDeletionTimestamp() != nil,
		apiVersion: kcmv1.GroupVersion.String(),
	}
}

func (u *Uninstall) progress(format string, args ...any) {
	if u.Progress != nil {
		u.Progress(fmt.Sprintf(format, args...))
	}
}

func (u *Uninstall) namespace() string {
	if u.Namespace == "" {
		return DefaultNamespace
	}
	return u.Namespace
}

func (u *Uninstall) timeout() time.Duration {
	if u.Timeout <= 0 {
		return DefaultTimeout
	}
	return u.Timeout
}

// Run uninstalls k0rdent.
func (u *Uninstall) Run(ctx context.Context) (*UninstallResult, error) {
	if u.Kube == nil {
		return nil, errors.New("k0rdent uninstall: no cluster given")
	}
	ns := u.namespace()
	res := &UninstallResult{}
	cfg, err := helmConfig(u.Kube, ns, u.Debug)
	if err != nil {
		return nil, err
	}
	rel, err := lastRelease(cfg)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", u.Kube.Where(), err)
	}
	crds, err := u.k0rdentCRDs(ctx)
	if err != nil {
		return nil, err
	}
	if rel == nil && len(crds) == 0 {
		res.NotInstalled = true
		u.progress("k0rdent is not installed on %s: nothing to uninstall", u.Kube.Where())
		return res, nil
	}

	inUse, err := u.InUse(ctx)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", u.Kube.Where(), err)
	}
	if len(inUse) > 0 && !u.Force {
		return nil, &InUseError{Objects: inUse}
	}
	if len(inUse) > 0 {
		if err := u.deleteInUse(ctx, res); err != nil {
			return res, err
		}
	}

	// The Management: its controller removes the components and then its
	// finalizer.
	mgmt := &kcmv1.Management{}
	err = u.Kube.Client.Get(ctx, client.ObjectKey{Name: ManagementName}, mgmt)
	switch {
	case err == nil:
		if err := u.deleteAndWait(ctx, "Management "+ManagementName, []client.Object{mgmt}, res); err != nil {
			return res, err
		}
		res.ManagementDeleted = true
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
	default:
		return res, fmt.Errorf("reading Management %s: %w", ManagementName, err)
	}

	if rel != nil {
		u.progress("uninstalling the Helm release %s/%s", ns, HelmReleaseName)
		act := action.NewUninstall(cfg)
		act.Timeout = u.HelmTimeout
		if act.Timeout <= 0 {
			act.Timeout = DefaultHelmTimeout
		}
		act.DeletionPropagation = "background"
		act.Description = "uninstalled by k0rdentctl"
		if _, err := act.Run(HelmReleaseName); err != nil {
			return res, fmt.Errorf("uninstalling the Helm release %s/%s on %s: %w", ns, HelmReleaseName, u.Kube.Where(), err)
		}
		res.HelmUninstalled = true
	}
	if err := u.waitCRDsGone(ctx, res); err != nil {
		return res, err
	}
	res.Kept = append(res.Kept, fmt.Sprintf("namespace %s (it may hold Secrets you created; delete it yourself when it is empty)", ns))
	u.progress("k0rdent uninstalled from %s", u.Kube.Where())
	return res, nil
}

// deleteInUse deletes ClusterDeployments, Regions and Credentials in an order
// that lets their controllers clean up, waiting for each group.
func (u *Uninstall) deleteInUse(ctx context.Context, res *UninstallResult) error {
	cds := &kcmv1.ClusterDeploymentList{}
	if err := u.Kube.Client.List(ctx, cds); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("listing ClusterDeployments: %w", err)
	}
	regions := &kcmv1.RegionList{}
	if err := u.Kube.Client.List(ctx, regions); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("listing Regions: %w", err)
	}
	creds := &kcmv1.CredentialList{}
	if err := u.Kube.Client.List(ctx, creds); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("listing Credentials: %w", err)
	}
	backing := map[string]bool{}
	for _, r := range regions.Items {
		if ref := r.Spec.ClusterDeployment; ref != nil {
			backing[ref.Namespace+"/"+ref.Name] = true
		}
	}
	var children, regional, regionObjs, credObjs []client.Object
	for i := range cds.Items {
		cd := &cds.Items[i]
		if backing[cd.Namespace+"/"+cd.Name] {
			regional = append(regional, cd)
		} else {
			children = append(children, cd)
		}
	}
	for i := range regions.Items {
		regionObjs = append(regionObjs, &regions.Items[i])
	}
	for i := range creds.Items {
		credObjs = append(credObjs, &creds.Items[i])
	}
	for _, step := range []struct {
		what string
		objs []client.Object
	}{
		{"ClusterDeployments", children},
		{"Regions", regionObjs},
		{"ClusterDeployments of Regions", regional},
		{"Credentials", credObjs},
	} {
		if len(step.objs) == 0 {
			continue
		}
		if err := u.deleteAndWait(ctx, step.what, step.objs, res); err != nil {
			return err
		}
	}
	return nil
}

// deleteAndWait deletes objs and waits until they are gone; see Uninstall
// for what happens when finalizers hold them.
func (u *Uninstall) deleteAndWait(ctx context.Context, what string, objs []client.Object, res *UninstallResult) error {
	c := u.Kube.Client
	if u.RemoveFinalizers {
		// Objects already being deleted when this run started were left by
		// an earlier run that found them stuck: do not make the operator
		// wait for them again.
		var stuck []ObjectRef
		for _, obj := range objs {
			if obj.GetDeletionTimestamp() != nil && len(obj.GetFinalizers()) > 0 {
				stuck = append(stuck, refOf(kindOf(c, obj), obj))
			}
		}
		if len(stuck) > 0 {
			if _, err := u.removeFinalizers(ctx, stuck, res); err != nil {
				return err
			}
		}
	}
	for _, obj := range objs {
		kind := kindOf(c, obj)
		u.progress("deleting %s", refOf(kind, obj))
		if err := c.Delete(ctx, obj, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s: %w", refOf(kind, obj), err)
		}
		res.Deleted = append(res.Deleted, refOf(kind, obj))
	}
	remaining, err := u.waitGone(ctx, what, objs)
	if err == nil {
		return nil
	}
	var te *kube.WaitTimeoutError
	if !errors.As(err, &te) || len(remaining) == 0 {
		return err
	}
	if !u.RemoveFinalizers {
		return &StuckError{Objects: remaining, Timeout: u.timeout().String()}
	}
	return u.stripFinalizers(ctx, what, remaining, res)
}

// waitGone waits until every object of objs is gone, and returns those still
// there when it stops.
func (u *Uninstall) waitGone(ctx context.Context, what string, objs []client.Object) ([]ObjectRef, error) {
	c := u.Kube.Client
	var remaining []ObjectRef
	err := kube.WaitFor(ctx, what+" to be deleted", u.timeout(), u.Interval, func(ctx context.Context) (bool, string, error) {
		// remaining keeps the last complete observation.
		var now []ObjectRef
		for _, obj := range objs {
			probe, ok := obj.DeepCopyObject().(client.Object)
			if !ok {
				continue
			}
			err := c.Get(ctx, client.ObjectKeyFromObject(obj), probe)
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				continue
			}
			if err != nil {
				if kube.Interrupted(ctx, err) {
					return false, "", context.DeadlineExceeded
				}
				return false, "cannot check deletion: " + err.Error(), nil
			}
			now = append(now, refOf(kindOf(c, obj), probe))
		}
		remaining = now
		if len(remaining) == 0 {
			return true, what + ": deleted", nil
		}
		return false, fmt.Sprintf("%d still there:%s", len(remaining), listObjects(remaining, 5, true)), nil
	}, u.Progress)
	return remaining, err
}

// stripFinalizers removes the finalizers of objects that are stuck, then
// waits for them to go.
func (u *Uninstall) stripFinalizers(ctx context.Context, what string, stuck []ObjectRef, res *UninstallResult) error {
	objs, err := u.removeFinalizers(ctx, stuck, res)
	if err != nil {
		return err
	}
	remaining, err := u.waitGone(ctx, what, objs)
	if err != nil && len(remaining) > 0 {
		return &StuckError{Objects: remaining, Timeout: u.timeout().String()}
	}
	return err
}

// removeFinalizers clears the finalizers of the objects named.
func (u *Uninstall) removeFinalizers(ctx context.Context, refs []ObjectRef, res *UninstallResult) ([]client.Object, error) {
	var objs []client.Object
	for _, ref := range refs {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion(ref.apiVersion)
		obj.SetKind(ref.Kind)
		obj.SetNamespace(ref.Namespace)
		obj.SetName(ref.Name)
		u.progress("removing the finalizers of %s (%s): what they guard is left behind", ref, strings.Join(ref.Finalizers, ", "))
		patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
		if err := u.Kube.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("removing the finalizers of %s: %w", ref, err)
		}
		res.FinalizersRemoved = append(res.FinalizersRemoved, ref)
		objs = append(objs, obj)
	}
	return objs, nil
}

func kindOf(c client.Client, obj client.Object) string {
	if gvk, err := c.GroupVersionKindFor(obj); err == nil {
		return gvk.Kind
	}
	return obj.GetObjectKind().GroupVersionKind().Kind
}

// k0rdentCRDs lists the CRDs of k0rdent's API group.
func (u *Uninstall) k0rdentCRDs(ctx context.Context) ([]apiextv1.CustomResourceDefinition, error) {
	list := &apiextv1.CustomResourceDefinitionList{}
	if err := u.Kube.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing CRDs on %s: %w", u.Kube.Where(), err)
	}
	var out []apiextv1.CustomResourceDefinition
	for _, crd := range list.Items {
		if crd.Spec.Group == kcmv1.GroupVersion.Group {
			out = append(out, crd)
		}
	}
	return out, nil
}

// waitCRDsGone waits until the k0rdent CRDs are deleted. A CRD goes only
// when all its objects are gone, so objects held by finalizers hold it: those
// are reported (or stripped, with RemoveFinalizers).
func (u *Uninstall) waitCRDsGone(ctx context.Context, res *UninstallResult) error {
	var held []ObjectRef
	err := kube.WaitFor(ctx, "k0rdent's CRDs to be deleted", u.timeout(), u.Interval, func(ctx context.Context) (bool, string, error) {
		crds, err := u.k0rdentCRDs(ctx)
		if err != nil {
			if kube.Interrupted(ctx, err) {
				return false, "", context.DeadlineExceeded
			}
			return false, err.Error(), nil
		}
		if len(crds) == 0 {
			return true, "k0rdent CRDs deleted", nil
		}
		// held keeps the last complete observation.
		var now []ObjectRef
		for _, crd := range crds {
			refs, err := u.objectsOf(ctx, crd)
			if err != nil {
				if kube.Interrupted(ctx, err) {
					return false, "", context.DeadlineExceeded
				}
				return false, err.Error(), nil
			}
			now = append(now, refs...)
		}
		held = now
		if len(held) == 0 {
			return false, fmt.Sprintf("%d k0rdent CRDs still being deleted", len(crds)), nil
		}
		return false, fmt.Sprintf("%d k0rdent CRDs still being deleted, held by %d objects:%s", len(crds), len(held), listObjects(held, 5, true)), nil
	}, u.Progress)
	if err == nil {
		return nil
	}
	var te *kube.WaitTimeoutError
	if !errors.As(err, &te) || len(held) == 0 {
		return err
	}
	stuck := append([]ObjectRef(nil), held...)
	if !u.RemoveFinalizers {
		return &StuckError{Objects: stuck, Timeout: u.timeout().String()}
	}
	if _, err := u.removeFinalizers(ctx, stuck, res); err != nil {
		return err
	}
	return kube.WaitFor(ctx, "k0rdent's CRDs to be deleted", u.timeout(), u.Interval, func(ctx context.Context) (bool, string, error) {
		crds, err := u.k0rdentCRDs(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(crds) == 0, fmt.Sprintf("%d k0rdent CRDs still there", len(crds)), nil
	}, u.Progress)
}

// objectsOf lists the objects of a CRD (its storage version) as references.
func (u *Uninstall) objectsOf(ctx context.Context, crd apiextv1.CustomResourceDefinition) ([]ObjectRef, error) {
	version := ""
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			version = v.Name
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.ListKind})
	if err := u.Kube.Client.List(ctx, list); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %s: %w", crd.Name, err)
	}
	var out []ObjectRef
	for i := range list.Items {
		r := refOf(crd.Spec.Names.Kind, &list.Items[i])
		r.apiVersion = crd.Spec.Group + "/" + version
		out = append(out, r)
	}
	return out, nil
}
