package regional

// The shared model of regional clusters: one look at what describes them
// (the configuration, the record and the management cluster's Regions,
// Credentials and ClusterDeployments), used by the phase chain and by every
// day-2 operation, as internal/k0rdent's observe.go is for k0rdent itself.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// RegionState is one look at a Region.
type RegionState struct {
	Exists bool `json:"exists"`
	// Ready, Reason and Message are those of the Ready condition.
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Observed says whether the controller has seen the latest spec
	// (status.observedGeneration and the Ready condition's
	// observedGeneration equal metadata.generation).
	Observed   bool                     `json:"observed"`
	Deleting   bool                     `json:"deleting,omitempty"`
	Components []k0rdent.ComponentState `json:"components,omitempty"`
}

// ObserveRegion summarises a Region (nil: it does not exist).
func ObserveRegion(rg *kcmv1.Region) RegionState {
	if rg == nil {
		return RegionState{}
	}
	s := RegionState{Exists: true, Deleting: !rg.DeletionTimestamp.IsZero(), Observed: rg.Status.ObservedGeneration == rg.Generation}
	if cond := meta.FindStatusCondition(rg.Status.Conditions, kcmv1.ReadyCondition); cond != nil {
		s.Reason, s.Message = cond.Reason, cond.Message
		s.Ready = cond.Status == metav1.ConditionTrue
		if cond.ObservedGeneration != 0 && cond.ObservedGeneration != rg.Generation {
			s.Observed = false
		}
	}
	s.Components = k0rdent.ComponentStates(rg.Status.Components)
	return s
}

// Done says whether the Region is Ready for its latest spec.
func (s RegionState) Done() bool { return s.Exists && s.Ready && s.Observed && !s.Deleting }

// Summary is one line for progress output: "Ready=False
// NotAllComponentsHealthy · 2/4 components healthy · velero: installing".
func (s RegionState) Summary() string {
	if !s.Exists {
		return "does not exist"
	}
	var parts []string
	switch {
	case s.Reason == "":
		parts = append(parts, "Ready condition not set yet")
	case s.Ready:
		parts = append(parts, "Ready=True "+s.Reason)
	default:
		msg := "Ready=False " + s.Reason
		if s.Reason == kcmv1.RegionConfigurationErrorReason && s.Message != "" {
			msg += ": " + s.Message
		}
		parts = append(parts, msg)
	}
	if !s.Observed {
		parts = append(parts, "the controller has not seen the latest spec yet")
	}
	if s.Deleting {
		parts = append(parts, "being deleted")
	}
	parts = append(parts, k0rdent.ComponentsSummary(s.Components)...)
	return strings.Join(parts, " · ")
}

// cdState is one look at a ClusterDeployment.
type cdState struct {
	exists, ready bool
	observed      string
}

func observeClusterDeployment(ctx context.Context, c client.Client, key client.ObjectKey) (cdState, error) {
	cd := &kcmv1.ClusterDeployment{}
	err := c.Get(ctx, key, cd)
	switch {
	case apierrors.IsNotFound(err):
		return cdState{observed: fmt.Sprintf("ClusterDeployment %s does not exist", key)}, nil
	case err != nil:
		return cdState{}, err
	}
	s := cdState{exists: true}
	cond := meta.FindStatusCondition(cd.Status.Conditions, kcmv1.ReadyCondition)
	switch {
	case !cd.DeletionTimestamp.IsZero():
		s.observed = fmt.Sprintf("ClusterDeployment %s is being deleted", key)
	case cond == nil:
		s.observed = fmt.Sprintf("ClusterDeployment %s: no Ready condition yet", key)
	case cond.Status == metav1.ConditionTrue:
		s.ready = true
		s.observed = fmt.Sprintf("ClusterDeployment %s: Ready", key)
	default:
		s.observed = fmt.Sprintf("ClusterDeployment %s: Ready=%s %s: %s", key, cond.Status, cond.Reason, cond.Message)
	}
	return s, nil
}

// observed is one look at everything that describes the regional clusters:
// the configuration, the record and (when loaded) the management cluster's
// Regions, Credentials and ClusterDeployments, each read with one list call.
type observed struct {
	env *Env
	rec *state.Record // may be nil

	loaded     bool
	regions    map[string]*kcmv1.Region
	creds      []kcmv1.Credential
	cds        []kcmv1.ClusterDeployment
	certSecret string // registry certificate Secret, "" when none
	certKnown  bool
	secrets    []corev1.Secret // Secrets k0rdentctl made in the system namespace (cleanup only)
	// invalidRefs says, for the Regions k0rdent never reconciled whose
	// cluster reference is invalid, why (see CheckRegionReference).
	invalidRefs map[string]error
}

// observe looks at the regional clusters through the management cluster mc,
// with env.Session's record (none without a session).
func observe(ctx context.Context, env *Env, mc *kube.Clients) (*observed, error) {
	v := &observed{env: env}
	if env.Session != nil {
		v.rec = env.Session.Snapshot()
	}
	if err := v.load(ctx, mc); err != nil {
		return nil, err
	}
	return v, nil
}

// load lists the management cluster's objects (one call per kind).
func (v *observed) load(ctx context.Context, mc *kube.Clients) error {
	c := mc.Client
	regions := &kcmv1.RegionList{}
	if err := c.List(ctx, regions); err != nil {
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the management cluster %s does not serve the Region API: k0rdent %s or newer is not installed (k0rdentctl k0rdent status)", mc.Server, config.MinRegionalVersion)
		}
		return fmt.Errorf("listing the Regions on the management cluster %s: %w", mc.Server, err)
	}
	creds := &kcmv1.CredentialList{}
	if err := c.List(ctx, creds); err != nil {
		return fmt.Errorf("listing the Credentials on the management cluster %s: %w", mc.Server, err)
	}
	cds := &kcmv1.ClusterDeploymentList{}
	if err := c.List(ctx, cds); err != nil {
		return fmt.Errorf("listing the ClusterDeployments on the management cluster %s: %w", mc.Server, err)
	}
	name, _, found, err := RegistryCertSecretName(ctx, c, v.env.namespace())
	if err != nil {
		return err
	}
	v.certSecret, v.certKnown = name, found
	v.regions = make(map[string]*kcmv1.Region, len(regions.Items))
	v.invalidRefs = map[string]error{}
	for i := range regions.Items {
		rg := &regions.Items[i]
		v.regions[rg.Name] = rg
		// Normally none: only a Region k0rdent never reconciled costs a read.
		if neverReconciled(rg) {
			if err := CheckRegionReference(ctx, c, v.env.namespace(), rg); err != nil {
				v.invalidRefs[rg.Name] = err
			}
		}
	}
	v.creds, v.cds, v.loaded = creds.Items, cds.Items, true
	return nil
}

// deploymentID is the id of the deployment being looked at: the
// environment's, else the record's.
func (v *observed) deploymentID() string {
	if id := v.env.deploymentID(); id != "" {
		return id
	}
	if v.rec != nil {
		return v.rec.DeploymentID
	}
	return ""
}

// ours says whether this deployment created an object (Owned).
func (v *observed) ours(labels map[string]string) bool {
	owned, _ := Owned(labels, v.deploymentID())
	return owned
}

// names lists the known regions: configured ones in configuration order,
// then those only in the record, then Regions only on the cluster (sorted).
func (v *observed) names() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, rc := range v.env.Config.Software.K0rdent.Regional.Clusters {
		add(rc.Name)
	}
	if v.rec != nil {
		for _, c := range v.rec.K0rdentRegional.Clusters {
			add(c.Name)
		}
	}
	var extra []string
	for n := range v.regions {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		add(n)
	}
	return out
}

func (v *observed) configured(name string) (config.RegionalCluster, bool) {
	rc, ok := v.env.Config.RegionalCluster(name)
	if !ok {
		return config.RegionalCluster{}, false
	}
	return *rc, true
}

func (v *observed) record(name string) *state.RegionalCluster {
	if v.rec == nil {
		return nil
	}
	return v.rec.Regional(name)
}

// known says whether the configuration or the record (other than as
// removed) knows the region.
func (v *observed) known(name string) bool {
	if _, ok := v.configured(name); ok {
		return true
	}
	r := v.record(name)
	return r != nil && r.Status != state.RegionalRemoved
}

// regionalCredentials are the Credentials with spec.region == region.
func (v *observed) regionalCredentials(region string) []*kcmv1.Credential {
	var out []*kcmv1.Credential
	for i := range v.creds {
		if v.creds[i].Spec.Region == region {
			out = append(out, &v.creds[i])
		}
	}
	return out
}

// placed are the ClusterDeployments whose Credential targets region,
// "namespace/name", sorted.
func (v *observed) placed(region string) []string {
	creds := map[client.ObjectKey]bool{}
	for _, c := range v.regionalCredentials(region) {
		creds[client.ObjectKey{Namespace: c.Namespace, Name: c.Name}] = true
	}
	out := []string{}
	if len(creds) == 0 {
		return out
	}
	for i := range v.cds {
		cd := &v.cds[i]
		if creds[client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Credential}] {
			out = append(out, cd.Namespace+"/"+cd.Name)
		}
	}
	sort.Strings(out)
	return out
}

// kubeconfigRef is where the management cluster keeps the region's
// kubeconfig: what its Region references (the reference k0rdent itself
// uses), else what the configuration or the record says.
func (v *observed) kubeconfigRef(name string) (KubeconfigRef, bool) {
	ns := v.env.namespace()
	if rg := v.regions[name]; rg != nil {
		switch {
		case rg.Spec.KubeConfig != nil:
			key := rg.Spec.KubeConfig.Key
			if key == "" {
				key = config.KubeconfigSecretDataKey
			}
			return KubeconfigRef{Namespace: ns, Name: rg.Spec.KubeConfig.Name, Key: key}, true
		case rg.Spec.ClusterDeployment != nil:
			cdNS := rg.Spec.ClusterDeployment.Namespace
			if cdNS == "" {
				cdNS = ns
			}
			return KubeconfigRef{Namespace: cdNS, Name: KubeconfigSecretName(rg.Spec.ClusterDeployment.Name), Key: KubeconfigKey}, true
		}
	}
	if rc, ok := v.configured(name); ok {
		return KubeconfigSource(v.env.Config, rc), true
	}
	if r := v.record(name); r != nil {
		switch {
		case r.Type == state.RegionalTypeClusterDeployment && r.ClusterDeploymentRef != "":
			return KubeconfigRef{Namespace: ns, Name: KubeconfigSecretName(r.ClusterDeploymentRef), Key: KubeconfigKey}, true
		case r.KubeconfigSecret != "":
			return KubeconfigRef{Namespace: ns, Name: r.KubeconfigSecret, Key: config.KubeconfigSecretDataKey}, true
		}
	}
	return KubeconfigRef{}, false
}

// clusterDeploymentKey is the regional cluster's own ClusterDeployment, if
// it has one.
func (v *observed) clusterDeploymentKey(name string) (client.ObjectKey, bool) {
	if rg := v.regions[name]; rg != nil && rg.Spec.ClusterDeployment != nil {
		ns := rg.Spec.ClusterDeployment.Namespace
		if ns == "" {
			ns = v.env.namespace()
		}
		return client.ObjectKey{Namespace: ns, Name: rg.Spec.ClusterDeployment.Name}, true
	}
	if rc, ok := v.configured(name); ok && rc.Type() == config.RegionalTypeDeployment {
		ref := KubeconfigSource(v.env.Config, rc)
		return client.ObjectKey{Namespace: ref.Namespace, Name: rc.ClusterDeploymentRef}, true
	}
	if r := v.record(name); r != nil && r.Type == state.RegionalTypeClusterDeployment && r.ClusterDeploymentRef != "" {
		return client.ObjectKey{Namespace: v.env.namespace(), Name: r.ClusterDeploymentRef}, true
	}
	return client.ObjectKey{}, false
}

// kubeconfigPath is the region's local kubeconfig file: the record's, else
// where it would be written.
func (v *observed) kubeconfigPath(name string) string {
	if r := v.record(name); r != nil && r.KubeconfigPath != "" {
		return r.KubeconfigPath
	}
	if v.env.Files != nil {
		return v.env.Files.KubeconfigPath(name)
	}
	return ""
}

// regionalCluster is the region's configuration, or one rebuilt from the
// record or the Region for a region no longer configured (its components
// read from the Region's spec).
func (v *observed) regionalCluster(name string) config.RegionalCluster {
	if rc, ok := v.configured(name); ok {
		return rc
	}
	rc := config.RegionalCluster{Name: name}
	if r := v.record(name); r != nil {
		rc.Location = r.Location
		rc.ClusterDeploymentRef = r.ClusterDeploymentRef
		rc.KubeconfigSecret = r.KubeconfigSecret
	}
	if rg := v.regions[name]; rg != nil {
		switch {
		case rg.Spec.ClusterDeployment != nil:
			rc.ClusterDeploymentRef, rc.KubeconfigSecret = rg.Spec.ClusterDeployment.Name, ""
			rc.ClusterDeployment = &config.ClusterDeploymentSpec{Namespace: rg.Spec.ClusterDeployment.Namespace}
		case rg.Spec.KubeConfig != nil:
			rc.ClusterDeploymentRef, rc.KubeconfigSecret = "", rg.Spec.KubeConfig.Name
		}
		cm, vel := regionFlags(rg)
		rc.Components.CertManager, rc.Components.Velero = &cm, &vel
	}
	return rc
}

// regionFlags reads cert-manager.enabled and velero.enabled from a Region's
// spec.core.kcm.config (the kcm-regional chart defaults: true).
func regionFlags(rg *kcmv1.Region) (certManager, velero bool) {
	certManager, velero = true, true
	if rg.Spec.Core == nil || rg.Spec.Core.KCM.Config == nil {
		return
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(rg.Spec.Core.KCM.Config.Raw, &cfg); err != nil {
		return
	}
	if b, ok := nestedBool(cfg, ValueCertManager, "enabled"); ok {
		certManager = b
	}
	if b, ok := nestedBool(cfg, ValueVelero, "enabled"); ok {
		velero = b
	}
	return
}

// regionProviders lists a Region's providers.
func regionProviders(rg *kcmv1.Region) []string {
	var out []string
	if rg == nil {
		return nil
	}
	for _, p := range rg.Spec.Providers {
		out = append(out, p.Name)
	}
	return out
}

// opsEach calls fn for 0..n-1, at most parallel at a time (all at once when
// parallel <= 0), and waits for every call.
func opsEach(n, parallel int, fn func(i int)) {
	if parallel <= 0 || parallel > n {
		parallel = n
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// existingFile returns path when a file is there, "" otherwise.
func existingFile(path string) string {
	if path == "" {
		return ""
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
	}
	return path
}

// neverReconciled says whether k0rdent has not reconciled a Region yet: its
// first reconcile adds the finalizer, and every later one writes status.
func neverReconciled(rg *kcmv1.Region) bool {
	return rg.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(rg, kcmv1.RegionFinalizer) &&
		rg.Status.ObservedGeneration == 0 && meta.FindStatusCondition(rg.Status.Conditions, kcmv1.ReadyCondition) == nil
}

// CheckRegionReference checks a Region's cluster reference as kcm 1.5.0 does
// before it reconciles a Region (its validation.RegionClusterReference): the
// kubeconfig Secret exists in k0rdent's namespace and holds the key, or the
// ClusterDeployment exists. kcm writes no status for a Region that fails the
// check and does not look at it again until the Region's spec changes.
func CheckRegionReference(ctx context.Context, c client.Client, systemNamespace string, rg *kcmv1.Region) error {
	switch {
	case rg.Spec.KubeConfig != nil:
		key := client.ObjectKey{Namespace: systemNamespace, Name: rg.Spec.KubeConfig.Name}
		sec := &corev1.Secret{}
		if err := c.Get(ctx, key, sec); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("its kubeconfig Secret %s does not exist", key)
			}
			return fmt.Errorf("reading its kubeconfig Secret %s: %w", key, err)
		}
		if _, ok := sec.Data[rg.Spec.KubeConfig.Key]; !ok {
			return fmt.Errorf("its kubeconfig Secret %s has no key %q", key, rg.Spec.KubeConfig.Key)
		}
	case rg.Spec.ClusterDeployment != nil:
		key := client.ObjectKey{Namespace: rg.Spec.ClusterDeployment.Namespace, Name: rg.Spec.ClusterDeployment.Name}
		if err := c.Get(ctx, key, &kcmv1.ClusterDeployment{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("its ClusterDeployment %s does not exist", key)
			}
			return fmt.Errorf("reading its ClusterDeployment %s: %w", key, err)
		}
	}
	return nil
}

// referenceProblem says why k0rdent does not reconcile a Region whose
// cluster reference is invalid, and what to do.
func referenceProblem(region string, err error) (problem, fix string) {
	return fmt.Sprintf("k0rdent does not reconcile Region %s: its cluster reference is invalid (%v), and kcm does not look at it again until the Region's spec changes", region, err),
		fmt.Sprintf("make the reference valid, remove the Region (k0rdentctl region remove %s), then: %s", region, rerun(region))
}

// placedNow lists the ClusterDeployments that use region now (through a
// Credential with its spec.region), "namespace/name", sorted: what makes
// kcm 1.5.0 keep a Region that is being deleted (RegionDeletionAllowed).
func placedNow(ctx context.Context, c client.Client, region string) ([]string, error) {
	creds := &kcmv1.CredentialList{}
	if err := c.List(ctx, creds); err != nil {
		return nil, fmt.Errorf("listing Credentials: %w", err)
	}
	cds := &kcmv1.ClusterDeploymentList{}
	if err := c.List(ctx, cds); err != nil {
		return nil, fmt.Errorf("listing ClusterDeployments: %w", err)
	}
	v := &observed{creds: creds.Items, cds: cds.Items}
	return v.placed(region), nil
}
