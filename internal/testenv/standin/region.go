package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

// regionTrack is what the Region controller remembers of one Region.
type regionTrack struct {
	uid         types.UID // the Region object this is about: a new one starts afresh
	generation  int64     // the generation whose components are installed
	installedAt time.Time // when they were (re)installed
	ready       bool      // marked available for that generation
	retry       regionalBackoff
	// rejected is the generation whose cluster reference was invalid: kcm
	// wrote no status for it and does not look at it again.
	rejected int64
}

func regionReadyStatus(rg *kcmv1.Region) string {
	if c := meta.FindStatusCondition(rg.Status.Conditions, kcmv1.ReadyCondition); c != nil {
		return string(c.Status)
	}
	return ""
}

func (s *Regional) regionTrackOf(rg *kcmv1.Region) *regionTrack {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.regions[rg.Name]
	if !ok || t.uid != rg.UID {
		t = &regionTrack{uid: rg.UID}
		s.regions[rg.Name] = t
	}
	return t
}

func (s *Regional) reconcileRegion(ctx context.Context, rg *kcmv1.Region) {
	t := s.regionTrackOf(rg)
	now := time.Now()
	if !rg.DeletionTimestamp.IsZero() {
		if !t.retry.due(now) {
			return
		}
		// kcm (webhook disabled) keeps the Region, finalizer and status as
		// they are, while ClusterDeployments use it: a warning event and an
		// error, retried with backoff.
		if err := s.regionDeletionAllowed(ctx, rg); err != nil {
			t.retry.failed(now)
			s.logf("Region %s: RegionDeletionFailed: Failed to delete region: %v", rg.Name, err)
			s.mu.Lock()
			s.refusals[rg.Name]++
			s.mu.Unlock()
			return
		}
		if err := s.deleteRegion(ctx, rg); err != nil {
			t.retry.failed(now)
			s.logf("Region %s: deleting: %v", rg.Name, err)
		}
		return
	}
	// Generation changes only (GenerationChangedPredicate), plus requeues.
	if rg.Generation != t.generation {
		if !t.retry.due(now) {
			return
		}
		if t.rejected == rg.Generation {
			return // not requeued: only a spec change brings it back
		}
		// kcm (webhook disabled) checks the cluster reference first; an
		// invalid one gets a warning event, no status, and no requeue, even
		// when the Secret or ClusterDeployment appears later.
		if err := s.regionClusterReference(ctx, rg); err != nil {
			s.mu.Lock()
			t.rejected = rg.Generation
			s.mu.Unlock()
			s.logf("Region %s: RegionConfigurationError: Invalid Region configuration: %v", rg.Name, err)
			return
		}
		if err := s.installRegion(ctx, rg); err != nil {
			t.retry.failed(now)
			s.logf("Region %s: %v", rg.Name, err)
			s.setRegionError(ctx, rg.Name, err)
			return
		}
		t.retry.reset()
		t.generation, t.installedAt, t.ready = rg.Generation, now, false
		s.mu.Lock()
		s.installs[rg.Name]++
		s.mu.Unlock()
		return
	}
	if !t.ready && !now.Before(t.installedAt.Add(s.delayOf(rg.Name))) {
		if err := s.completeRegion(ctx, rg); err != nil {
			s.logf("Region %s: completing: %v", rg.Name, err)
			return
		}
		t.ready = true
	}
}

// regionClusterReference is kcm's validation.RegionClusterReference.
func (s *Regional) regionClusterReference(ctx context.Context, rg *kcmv1.Region) error {
	m := s.opts.Management
	if rg.Spec.KubeConfig != nil {
		key := client.ObjectKey{Namespace: s.opts.SystemNamespace, Name: rg.Spec.KubeConfig.Name}
		sec := &corev1.Secret{}
		if err := m.Get(ctx, key, sec); err != nil {
			return fmt.Errorf("failed to get Secret %s: %w", key, err)
		}
		if _, ok := sec.Data[rg.Spec.KubeConfig.Key]; !ok {
			return fmt.Errorf("kubeConfig Secret does not have %s key defined", rg.Spec.KubeConfig.Key)
		}
	}
	if rg.Spec.ClusterDeployment != nil {
		key := client.ObjectKey{Namespace: rg.Spec.ClusterDeployment.Namespace, Name: rg.Spec.ClusterDeployment.Name}
		if err := m.Get(ctx, key, &kcmv1.ClusterDeployment{}); err != nil {
			return fmt.Errorf("failed to get ClusterDeployment %s: %w", key, err)
		}
	}
	return nil
}

// regionDeletionAllowed is kcm's validation.RegionDeletionAllowed: no
// ClusterDeployment uses a Credential of the region.
func (s *Regional) regionDeletionAllowed(ctx context.Context, rg *kcmv1.Region) error {
	m := s.opts.Management
	creds := &kcmv1.CredentialList{}
	if err := m.List(ctx, creds); err != nil {
		return fmt.Errorf("failed to list Credential for %s region: %w", rg.Name, err)
	}
	for _, cred := range creds.Items {
		if cred.Spec.Region != rg.Name {
			continue
		}
		cds := &kcmv1.ClusterDeploymentList{}
		if err := m.List(ctx, cds, client.InNamespace(cred.Namespace)); err != nil {
			return fmt.Errorf("failed to list ClusterDeployments in %s namespace with %s Credential: %w", cred.Namespace, cred.Name, err)
		}
		for _, cd := range cds.Items {
			if cd.Spec.Credential == cred.Name {
				return errors.New("the Region object can't be removed while any ClusterDeployment objects deployed in that Region still exist")
			}
		}
	}
	return nil
}

// regionKubeconfig reads the regional cluster's kubeconfig the way kcm does,
// copying a ClusterDeployment's kubeconfig Secret into the system namespace
// when it lives in another namespace.
func (s *Regional) regionKubeconfig(ctx context.Context, rg *kcmv1.Region) ([]byte, error) {
	m, sysNS := s.opts.Management, s.opts.SystemNamespace
	var key client.ObjectKey
	dataKey := "value"
	switch {
	case rg.Spec.KubeConfig != nil:
		key = client.ObjectKey{Namespace: sysNS, Name: rg.Spec.KubeConfig.Name}
		dataKey = rg.Spec.KubeConfig.Key
	case rg.Spec.ClusterDeployment != nil:
		ns := rg.Spec.ClusterDeployment.Namespace
		if ns == "" {
			ns = sysNS
		}
		key = client.ObjectKey{Namespace: ns, Name: rg.Spec.ClusterDeployment.Name + "-kubeconfig"}
	default:
		return nil, errors.New("either spec.kubeConfig or spec.clusterDeployment must be set")
	}
	sec := &corev1.Secret{}
	if err := m.Get(ctx, key, sec); err != nil {
		return nil, fmt.Errorf("failed to get clients for the %s region: failed to get kubeconfig secret %s: %w", rg.Name, key, err)
	}
	data := sec.Data[dataKey]
	if len(data) == 0 {
		return nil, fmt.Errorf("failed to get clients for the %s region: kubeconfig secret %s has no key %s", rg.Name, key, dataKey)
	}
	if rg.Spec.ClusterDeployment != nil && key.Namespace != sysNS {
		cp := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: sysNS, Name: key.Namespace + "." + key.Name, Labels: sec.Labels},
			Type:       sec.Type,
			Data:       sec.Data,
		}
		cp.OwnerReferences = []metav1.OwnerReference{{APIVersion: kcmv1.GroupVersion.String(), Kind: kcmv1.RegionKind, Name: rg.Name, UID: rg.UID}}
		if err := m.Create(ctx, cp); client.IgnoreAlreadyExists(err) != nil {
			return nil, fmt.Errorf("failed to copy regional cluster kubeconfig secret to the system namespace: %w", err)
		}
	}
	return data, nil
}

// registryCertSecretName is the kcm controller's --registry-cert-secret-name.
func (s *Regional) registryCertSecretName(ctx context.Context) (string, error) {
	dep := &appsv1.Deployment{}
	err := s.opts.Management.Get(ctx, client.ObjectKey{Namespace: s.opts.SystemNamespace, Name: "kcm-controller-manager"}, dep)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--registry-cert-secret-name="); ok {
				return v, nil
			}
		}
	}
	return "", nil
}

func regionalFluxLabels(region, chart, systemNS string, labels map[string]string) map[string]string {
	out := map[string]string{"helm.toolkit.fluxcd.io/name": region + "-" + chart, "helm.toolkit.fluxcd.io/namespace": systemNS}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// installRegion is a reconcile of a new generation: finalizer, kubeconfig,
// certificate, components installed but not yet available.
func (s *Regional) installRegion(ctx context.Context, rg *kcmv1.Region) error {
	m, sysNS := s.opts.Management, s.opts.SystemNamespace
	if !controllerutil.ContainsFinalizer(rg, kcmv1.RegionFinalizer) {
		patch := client.MergeFrom(rg.DeepCopy())
		controllerutil.AddFinalizer(rg, kcmv1.RegionFinalizer)
		if err := m.Patch(ctx, rg, patch); err != nil {
			return fmt.Errorf("adding the finalizer: %w", err)
		}
	}
	kc, err := s.regionKubeconfig(ctx, rg)
	if err != nil {
		return err
	}
	rcl, err := s.regionalClient(kc)
	if err != nil {
		return fmt.Errorf("failed to get clients for the %s region: %w", rg.Name, err)
	}
	if err := regionalEnsureNamespace(ctx, rcl, sysNS); err != nil {
		return fmt.Errorf("failed to get clients for the %s region: %w", rg.Name, err)
	}
	// The kcm-regional chart carries CRDs (ProviderInterface among them).
	if err := s.installRegionalCRDs(ctx, rcl); err != nil {
		return err
	}

	// The registry certificate: created when missing, never updated.
	if name, err := s.registryCertSecretName(ctx); err != nil {
		return err
	} else if name != "" {
		src := &corev1.Secret{}
		if err := m.Get(ctx, client.ObjectKey{Namespace: sysNS, Name: name}, src); err != nil {
			return fmt.Errorf("failed to get Secret %s/%s: %w", sysNS, name, err)
		}
		labels := map[string]string{}
		for k, v := range src.Labels {
			labels[k] = v
		}
		labels[kcmv1.KCMRegionLabelKey] = rg.Name
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sysNS, Name: name, Labels: labels}, Type: src.Type, Data: src.Data}
		if err := rcl.Create(ctx, cp); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("failed to create Secret %s/%s: %w", sysNS, name, err)
		}
	}

	// Components: installed (not available yet); removed ones uninstalled.
	deps, err := s.regionalDeployments(ctx, rg)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, d := range deps {
		keep[d.namespace+"/"+d.name] = true
		if err := regionalEnsureNamespace(ctx, rcl, d.namespace); err != nil {
			return err
		}
		if err := s.ensureDeployment(ctx, rcl, rg.Name, d); err != nil {
			return err
		}
	}
	if err := s.removeDeployments(ctx, rcl, rg.Name, keep); err != nil {
		return err
	}

	comps := map[string]kcmv1.ComponentStatus{componentKCMRegional: {}, componentCAPI: {Error: "Some dependencies are not ready yet. Waiting for " + componentKCMRegional}}
	for _, p := range providerNames(rg) {
		comps[p] = kcmv1.ComponentStatus{Error: "Some dependencies are not ready yet. Waiting for " + componentCAPI}
	}
	return s.updateRegionStatus(ctx, rg.Name, func(cur *kcmv1.Region) {
		cur.Status.Components = comps
		cur.Status.ObservedGeneration = cur.Generation
		setRegionReady(cur, nil)
	})
}

// completeRegion marks the components available: Deployments, the
// providers' ProviderInterfaces, Ready=True.
func (s *Regional) completeRegion(ctx context.Context, rg *kcmv1.Region) error {
	kc, err := s.regionKubeconfig(ctx, rg)
	if err != nil {
		return err
	}
	rcl, err := s.regionalClient(kc)
	if err != nil {
		return err
	}
	deps, err := s.regionalDeployments(ctx, rg)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if err := regionalMarkAvailable(ctx, rcl, d.namespace, d.name); err != nil {
			return err
		}
	}
	for _, p := range providerNames(rg) {
		if pi := regionalProviderInterface(p); pi != nil {
			if err := rcl.Create(ctx, pi); client.IgnoreAlreadyExists(err) != nil {
				return fmt.Errorf("creating ProviderInterface %s: %w", p, err)
			}
		}
	}
	release := &kcmv1.Release{}
	mgmt := &kcmv1.Management{}
	if err := s.opts.Management.Get(ctx, client.ObjectKey{Name: kcmv1.ManagementName}, mgmt); err == nil {
		_ = s.opts.Management.Get(ctx, client.ObjectKey{Name: mgmt.Spec.Release}, release)
	}
	comps := map[string]kcmv1.ComponentStatus{
		componentKCMRegional: {Success: true, Template: release.Spec.Regional.Template},
		componentCAPI:        {Success: true, Template: release.Spec.CAPI.Template},
	}
	for _, p := range providerNames(rg) {
		comps[p] = kcmv1.ComponentStatus{Success: true, Template: release.ProviderTemplate(p)}
	}
	return s.updateRegionStatus(ctx, rg.Name, func(cur *kcmv1.Region) {
		if cur.Generation != rg.Generation {
			return // a newer spec: its own install comes first
		}
		cur.Status.Components = comps
		cur.Status.ObservedGeneration = cur.Generation
		setRegionReady(cur, nil)
	})
}

// setRegionReady sets the Ready condition as kcm's setReadyCondition does.
func setRegionReady(rg *kcmv1.Region, err error) {
	cond := metav1.Condition{Type: kcmv1.ReadyCondition, ObservedGeneration: rg.Generation, Status: metav1.ConditionTrue,
		Reason: kcmv1.AllComponentsHealthyReason, Message: "All components are successfully installed"}
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, kcmv1.RegionConfigurationErrorReason, err.Error()
		meta.SetStatusCondition(&rg.Status.Conditions, cond)
		return
	}
	var failing []string
	for name, c := range rg.Status.Components {
		if !c.Success {
			failing = append(failing, name)
		}
	}
	sort.Strings(failing)
	if len(failing) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, kcmv1.NotAllComponentsHealthyReason
		cond.Message = fmt.Sprintf("Components not ready: %v", failing)
	}
	meta.SetStatusCondition(&rg.Status.Conditions, cond)
}

func (s *Regional) setRegionError(ctx context.Context, name string, err error) {
	_ = s.updateRegionStatus(ctx, name, func(cur *kcmv1.Region) { setRegionReady(cur, err) })
}

func (s *Regional) updateRegionStatus(ctx context.Context, name string, fn func(*kcmv1.Region)) error {
	cur := &kcmv1.Region{}
	if err := s.opts.Management.Get(ctx, client.ObjectKey{Name: name}, cur); err != nil {
		return err
	}
	before := cur.Status.DeepCopy()
	fn(cur)
	if regionalEqualJSON(before, &cur.Status) {
		return nil
	}
	return s.opts.Management.Status().Update(ctx, cur)
}

func regionalEqualJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func regionalEnsureNamespace(ctx context.Context, c client.Client, ns string) error {
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}

// ensureDeployment creates a component's Deployment, or updates its image
// (an upgrade: not available until the rollout).
func (s *Regional) ensureDeployment(ctx context.Context, c client.Client, region string, d regionalDeployment) error {
	labels := regionalFluxLabels(region, d.chart, s.opts.SystemNamespace, d.labels)
	selector := map[string]string{"app.kubernetes.io/name": d.name}
	cur := &appsv1.Deployment{}
	err := c.Get(ctx, client.ObjectKey{Namespace: d.namespace, Name: d.name}, cur)
	switch {
	case apierrors.IsNotFound(err):
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.namespace, Name: d.name, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: selector},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: d.image}}},
				},
			},
		}
		if err := c.Create(ctx, dep); err != nil {
			return fmt.Errorf("installing Deployment %s/%s: %w", d.namespace, d.name, err)
		}
		return nil
	case err != nil:
		return err
	}
	if len(cur.Spec.Template.Spec.Containers) > 0 && cur.Spec.Template.Spec.Containers[0].Image == d.image {
		return nil
	}
	cur.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: d.image}}
	return c.Update(ctx, cur)
}

// removeDeployments uninstalls the region's Deployments that are no longer
// wanted (a component disabled, a provider removed).
func (s *Regional) removeDeployments(ctx context.Context, c client.Client, region string, keep map[string]bool) error {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list); err != nil {
		return err
	}
	for i := range list.Items {
		d := &list.Items[i]
		if !strings.HasPrefix(d.Labels["helm.toolkit.fluxcd.io/name"], region+"-") || keep[d.Namespace+"/"+d.Name] {
			continue
		}
		if err := c.Delete(ctx, d); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// regionalMarkAvailable writes the status a Deployment controller and kubelet would
// write once its pods run.
func regionalMarkAvailable(ctx context.Context, c client.Client, ns, name string) error {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		return err
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", Message: "ReplicaSet has successfully progressed.", LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	return c.Status().Update(ctx, d)
}

// deleteRegion is kcm's Region deletion: the components are uninstalled,
// the Secrets labelled with the region are deleted from the regional
// cluster, then the finalizer goes. Like kcm, it needs the regional cluster:
// an unreachable one keeps the Region (and its finalizer).
func (s *Regional) deleteRegion(ctx context.Context, rg *kcmv1.Region) error {
	if !controllerutil.ContainsFinalizer(rg, kcmv1.RegionFinalizer) {
		return nil
	}
	kc, err := s.regionKubeconfig(ctx, rg)
	if err != nil {
		return err
	}
	rcl, err := s.regionalClient(kc)
	if err != nil {
		return err
	}
	if err := s.removeDeployments(ctx, rcl, rg.Name, nil); err != nil {
		return err
	}
	if err := rcl.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(s.opts.SystemNamespace), client.MatchingLabels{kcmv1.KCMRegionLabelKey: rg.Name}); err != nil {
		return err
	}
	// The kubeconfig copy is owned by the Region: garbage collection (which
	// no controller runs here) would delete it.
	if rg.Spec.ClusterDeployment != nil && rg.Spec.ClusterDeployment.Namespace != s.opts.SystemNamespace {
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.opts.SystemNamespace, Name: rg.Spec.ClusterDeployment.Namespace + "." + rg.Spec.ClusterDeployment.Name + "-kubeconfig"}}
		if err := s.opts.Management.Delete(ctx, cp); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	patch := client.MergeFrom(rg.DeepCopy())
	controllerutil.RemoveFinalizer(rg, kcmv1.RegionFinalizer)
	if err := s.opts.Management.Patch(ctx, rg, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	s.mu.Lock()
	delete(s.regions, rg.Name)
	s.mu.Unlock()
	return nil
}

// installRegionalCRDs creates the CRDs of the kcm-regional chart (from the
// kcm module, templates/provider/kcm-regional/templates/crds) in a regional
// cluster, as installing that chart does.
func (s *Regional) installRegionalCRDs(ctx context.Context, c client.Client) error {
	crds, err := s.regionalCRDs(ctx)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if err := c.Create(ctx, crd.DeepCopy()); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
	}
	return nil
}

func (s *Regional) regionalCRDs(ctx context.Context) ([]*apiextv1.CustomResourceDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crds != nil {
		return s.crds, nil
	}
	kcmCRDs, err := testenv.KCMCRDDir(ctx)
	if err != nil {
		return nil, err
	}
	// .../templates/provider/kcm/templates/crds -> .../templates/provider/kcm-regional/templates/crds
	dir := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(kcmCRDs))), "kcm-regional", "templates", "crds")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no kcm-regional CRDs in %s: %v", dir, err)
	}
	var out []*apiextv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		crd := &apiextv1.CustomResourceDefinition{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(crd); err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		out = append(out, crd)
	}
	s.crds = out
	return out, nil
}
