package regional

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Kinds of orphans besides k0rdent's (Region, Credential,
// ClusterDeployment).
const OrphanKubeconfigFile = "KubeconfigFile"

// Orphan is something k0rdentctl made for a regional cluster that nothing
// needs any more.
type Orphan struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Path is the file of a KubeconfigFile orphan.
	Path string `json:"path,omitempty"`
	// Region is the regional cluster it belonged to.
	Region string `json:"region,omitempty"`
	// Reason says why it is an orphan (or, for a kept one, why it is kept).
	Reason string `json:"reason"`
}

// Ref names the orphan: "Region x", "Credential ns/y", "KubeconfigFile p".
func (o Orphan) Ref() string {
	switch {
	case o.Path != "":
		return o.Kind + " " + o.Path
	case o.Namespace != "":
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

// CleanupPlan lists the orphans, in the order they are removed: failed
// half-created regional ClusterDeployments, Credentials, Regions, kubeconfig
// Secrets, then kubeconfig files. Kept lists what looked like an orphan but is left, and
// why. Its JSON keys are those of `region cleanup -o json`.
type CleanupPlan struct {
	Orphans []Orphan `json:"orphans"`
	Kept    []Orphan `json:"kept,omitempty"`
}

// Cleanup removes the orphans of regional clusters (`region cleanup`): Plan
// finds them, Run removes those of a plan.
type Cleanup struct {
	Env *Env
	CleanupOptions
}

// Plan finds the orphans of regional clusters; it changes nothing:
//
//   - Regions and Credentials (with spec.region) that k0rdentctl created for
//     this deployment (labels app.kubernetes.io/managed-by: k0rdentctl and
//     k0rdentctl.io/deployment: <id>) for a region that is neither in the
//     configuration nor in the record (or is recorded as removed);
//   - regional ClusterDeployments k0rdentctl created that belong to such a
//     region and that no Region references, or whose region failed at its
//     cluster step and that are not Ready (half-created: the next region
//     deploy creates them again);
//   - kubeconfig Secrets k0rdentctl made (from kubeconfig_file) for such a
//     region;
//   - kubeconfig files of regional clusters that no longer exist (recorded as
//     removed, or not known any more); other kubeconfig files (the management
//     cluster's, child clusters') are never touched.
//
// Objects of another deployment, and a Region or Credential that
// ClusterDeployments still use, are listed in Kept instead (the latter are
// for `region remove --force`).
func (op *Cleanup) Plan(ctx context.Context) (*CleanupPlan, error) {
	env := op.Env
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	v, err := observe(ctx, env, mc)
	if err != nil {
		return nil, err
	}
	if err := v.loadSecrets(ctx, mc); err != nil {
		return nil, err
	}
	return v.planCleanup()
}

// loadSecrets lists the Secrets k0rdentctl made in the system namespace.
func (v *observed) loadSecrets(ctx context.Context, mc *kube.Clients) error {
	secrets := &corev1.SecretList{}
	if err := mc.Client.List(ctx, secrets, client.InNamespace(v.env.namespace()), client.MatchingLabels{LabelManagedBy: ManagedByValue}); err != nil {
		return fmt.Errorf("listing the Secrets k0rdentctl made in %s on the management cluster: %w", v.env.namespace(), err)
	}
	v.secrets = secrets.Items
	return nil
}

func (v *observed) planCleanup() (*CleanupPlan, error) {
	plan := &CleanupPlan{Orphans: []Orphan{}}
	id := v.deploymentID()
	ours := func(l map[string]string) (bool, string) { return Owned(l, id) }
	keep := func(o Orphan) { plan.Kept = append(plan.Kept, o) }
	inUse := map[string][]string{} // orphan region -> ClusterDeployments placed in it
	orphanRegion := func(name string) bool { return name != "" && !v.known(name) }

	// Credentials first: a region whose Credentials are in use is kept whole.
	var creds []Orphan
	for i := range v.creds {
		c := &v.creds[i]
		region := c.Spec.Region
		if !orphanRegion(region) {
			continue
		}
		o := Orphan{Kind: kcmv1.CredentialKind, Namespace: c.Namespace, Name: c.Name, Region: region}
		ok, other := ours(c.Labels)
		if !ok {
			if other != "" {
				o.Reason = "created by k0rdentctl for deployment " + other + ", not this one"
				keep(o)
			}
			continue
		}
		if placed := v.placed(region); len(placed) > 0 {
			inUse[region] = placed
			o.Reason = fmt.Sprintf("region %s is no longer configured, but ClusterDeployments use this Credential (%s); remove them with: k0rdentctl region remove %s --force", region, strings.Join(placed, ", "), region)
			keep(o)
			continue
		}
		o.Reason = fmt.Sprintf("Credential for region %s, which is neither configured nor recorded", region)
		creds = append(creds, o)
	}

	var regions []Orphan
	regionNames := make([]string, 0, len(v.regions))
	for n := range v.regions {
		regionNames = append(regionNames, n)
	}
	sort.Strings(regionNames)
	for _, n := range regionNames {
		rg := v.regions[n]
		if !orphanRegion(n) {
			continue
		}
		o := Orphan{Kind: kcmv1.RegionKind, Name: n, Region: n}
		ok, other := ours(rg.Labels)
		if !ok {
			if other != "" {
				o.Reason = "created by k0rdentctl for deployment " + other + ", not this one"
				keep(o)
			}
			continue
		}
		if placed := v.placed(n); len(placed) > 0 {
			o.Reason = fmt.Sprintf("no longer configured, but ClusterDeployments are placed in it (%s); remove it with: k0rdentctl region remove %s --force", strings.Join(placed, ", "), n)
			keep(o)
			continue
		}
		o.Reason = "Region k0rdentctl created, neither configured nor recorded any more"
		regions = append(regions, o)
	}

	// Regional ClusterDeployments k0rdentctl created.
	referenced := map[client.ObjectKey]bool{}
	for _, rg := range v.regions {
		if rg.Spec.ClusterDeployment != nil {
			referenced[client.ObjectKey{Namespace: rg.Spec.ClusterDeployment.Namespace, Name: rg.Spec.ClusterDeployment.Name}] = true
		}
	}
	var cds []Orphan
	for i := range v.cds {
		cd := &v.cds[i]
		region := cd.Labels[LabelRegion]
		if region == "" {
			continue
		}
		ok, other := ours(cd.Labels)
		o := Orphan{Kind: kcmv1.ClusterDeploymentKind, Namespace: cd.Namespace, Name: cd.Name, Region: region}
		if !ok {
			if other != "" && orphanRegion(region) {
				o.Reason = "created by k0rdentctl for deployment " + other + ", not this one"
				keep(o)
			}
			continue
		}
		key := client.ObjectKey{Namespace: cd.Namespace, Name: cd.Name}
		byRegion := v.regions[region] != nil && referenced[key]
		switch {
		case orphanRegion(region) && !byRegion:
			o.Reason = fmt.Sprintf("regional ClusterDeployment of region %s, which is neither configured nor recorded, and no Region references it", region)
		case v.failedAtCluster(region) && !byRegion && !cdReady(cd):
			o.Reason = fmt.Sprintf("half-created: region %s failed at its cluster step and this ClusterDeployment is not Ready; k0rdentctl region deploy %s creates it again", region, region)
		default:
			continue
		}
		if _, used := inUse[region]; used {
			o.Reason += "; kept because the region's Credentials are in use"
			keep(o)
			continue
		}
		cds = append(cds, o)
	}

	// Kubeconfig Secrets k0rdentctl made (from kubeconfig_file) for an
	// orphan region: removed after the Region, which needs them to be
	// deleted.
	var secrets []Orphan
	for i := range v.secrets {
		sec := &v.secrets[i]
		region := sec.Labels[LabelRegion]
		if !orphanRegion(region) {
			continue
		}
		if ok, _ := ours(sec.Labels); !ok {
			continue
		}
		o := Orphan{Kind: "Secret", Namespace: sec.Namespace, Name: sec.Name, Region: region,
			Reason: fmt.Sprintf("kubeconfig Secret k0rdentctl made for region %s, which is neither configured nor recorded", region)}
		if _, used := inUse[region]; used || slicesContainsFunc(plan.Kept, func(k Orphan) bool { return k.Kind == kcmv1.RegionKind && k.Name == region }) {
			o.Reason += "; kept with its Region"
			keep(o)
			continue
		}
		secrets = append(secrets, o)
	}

	// Stale kubeconfig files of regional clusters.
	files, err := v.staleKubeconfigs()
	if err != nil {
		return nil, err
	}
	plan.Orphans = append(plan.Orphans, cds...)
	plan.Orphans = append(plan.Orphans, creds...)
	plan.Orphans = append(plan.Orphans, regions...)
	plan.Orphans = append(plan.Orphans, secrets...)
	plan.Orphans = append(plan.Orphans, files...)
	return plan, nil
}

// failedAtCluster says whether the record has region failed at its cluster
// step.
func (v *observed) failedAtCluster(region string) bool {
	r := v.record(region)
	if r == nil || r.Status != state.RegionalFailed || v.rec == nil {
		return false
	}
	p := v.rec.Phase(PhaseName(region, StepCluster))
	return p != nil && (p.Status == state.PhaseFailed || p.Status == state.PhaseInterrupted)
}

func cdReady(cd *kcmv1.ClusterDeployment) bool {
	c := meta.FindStatusCondition(cd.Status.Conditions, kcmv1.ReadyCondition)
	return c != nil && c.Status == metav1.ConditionTrue
}

// staleKubeconfigs lists the kubeconfig files of regional clusters that no
// longer exist: named after a region the record or the management cluster
// knows (so that other clusters' files are never taken), and that is
// neither configured nor recorded (other than as removed), and whose Region
// is gone or is an orphan itself.
func (v *observed) staleKubeconfigs() ([]Orphan, error) {
	if v.env.Files == nil {
		return nil, nil
	}
	dir := filepath.Dir(v.env.Files.KubeconfigPath("x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the kubeconfig files in %s: %w", dir, err)
	}
	regional := map[string]bool{}
	if v.rec != nil {
		for _, c := range v.rec.K0rdentRegional.Clusters {
			regional[c.Name] = true
		}
	}
	for n := range v.regions {
		regional[n] = true
	}
	var out []Orphan
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for n := range regional {
			path := v.env.Files.KubeconfigPath(n)
			if filepath.Base(path) != e.Name() || v.known(n) {
				continue
			}
			if rg := v.regions[n]; rg != nil && !v.ours(rg.Labels) {
				continue // a Region still runs on that cluster
			}
			out = append(out, Orphan{Kind: OrphanKubeconfigFile, Name: e.Name(), Path: path, Region: n,
				Reason: fmt.Sprintf("kubeconfig of regional cluster %s, which is neither configured nor recorded (or recorded as removed)", n)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// CleanupOptions tune Cleanup.
type CleanupOptions struct {
	// Timeout bounds each wait for a deleted object to be gone; 0 means the
	// configuration's timeouts.region_ready.
	Timeout time.Duration
	// Progress receives what is being done and waited for.
	Progress func(string)
}

// CleanupReport is what Cleanup did.
type CleanupReport struct {
	Removed         []Orphan        `json:"removed"`
	Failed          []CleanupFailed `json:"failed,omitempty"`
	DurationSeconds float64         `json:"duration_seconds"`
}

// CleanupFailed is an orphan Cleanup could not remove.
type CleanupFailed struct {
	Orphan
	Error string `json:"error"`
	Fix   string `json:"fix"`
}

// Run removes the orphans of plan in its order, waiting for each deleted
// object to be gone, and records an event for each. An orphan that cannot be
// removed is reported in Failed and the others are still removed. The error
// is for what stops it from starting (the management cluster unreachable).
func (op *Cleanup) Run(ctx context.Context, plan *CleanupPlan) (*CleanupReport, error) {
	env, opts := op.Env, op.CleanupOptions
	start := env.now()
	rep := &CleanupReport{Removed: []Orphan{}}
	if len(plan.Orphans) == 0 {
		return rep, nil
	}
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = env.regionTimeout()
	}
	for _, o := range plan.Orphans {
		if ctx.Err() != nil {
			return rep, fmt.Errorf("cleanup interrupted: %w; run it again for the rest", ctx.Err())
		}
		if opts.Progress != nil {
			opts.Progress("removing " + o.Ref())
		}
		var err error
		fix := "run k0rdentctl region cleanup again"
		switch o.Kind {
		case OrphanKubeconfigFile:
			if err = os.Remove(o.Path); errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
			fix = "remove the file by hand"
		default:
			var obj client.Object
			switch o.Kind {
			case kcmv1.RegionKind:
				obj = &kcmv1.Region{}
				fix = fmt.Sprintf("k0rdent removes Region %s's finalizer once it has removed the components from the regional cluster, which must be reachable; then run k0rdentctl region cleanup again", o.Name)
			case kcmv1.CredentialKind:
				obj = &kcmv1.Credential{}
			case "Secret":
				obj = &corev1.Secret{}
			case kcmv1.ClusterDeploymentKind:
				obj = &kcmv1.ClusterDeployment{}
				fix = fmt.Sprintf("see ClusterDeployment %s/%s's conditions and the kcm controller's log, then run k0rdentctl region cleanup again", o.Namespace, o.Name)
			default:
				err = fmt.Errorf("unknown kind %s", o.Kind)
			}
			if obj != nil {
				key := client.ObjectKey{Namespace: o.Namespace, Name: o.Name}
				obj.SetNamespace(o.Namespace)
				obj.SetName(o.Name)
				err = mc.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
				if apierrors.IsNotFound(err) {
					err = nil
				} else if err == nil {
					err = waitGone(ctx, mc.Client, o.Kind, key, obj, timeout, env.interval(), opts.Progress)
				}
			}
		}
		if err != nil {
			rep.Failed = append(rep.Failed, CleanupFailed{Orphan: o, Error: err.Error(), Fix: fix})
			continue
		}
		rep.Removed = append(rep.Removed, o)
		if err := addEvent(env, state.Event{Region: o.Region, Type: EventOrphanRemoved, Message: fmt.Sprintf("removed orphan %s: %s", o.Ref(), o.Reason)}); err != nil {
			rep.DurationSeconds = env.now().Sub(start).Seconds()
			return rep, recordFailed(err)
		}
	}
	rep.DurationSeconds = env.now().Sub(start).Seconds()
	return rep, nil
}
