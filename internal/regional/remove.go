package regional

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// Event types of removal and cleanup.
const (
	EventRemoving      = "regional_cluster_removing"
	EventObjectDeleted = "regional_object_deleted"
	EventRemoved       = "regional_cluster_removed"
	EventRemoveFailed  = "regional_cluster_remove_failed"
	EventOrphanRemoved = "regional_orphan_removed"
)

// InUseError is the guard of `region remove`: ClusterDeployments are placed
// in the region (through Credentials with its spec.region) and --force was
// not given. Commands exit with code 3 on it.
type InUseError struct {
	Region string
	// ClusterDeployments are "namespace/name".
	ClusterDeployments []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("regional cluster %s is in use by %s (%s); nothing was removed. Move or delete them first, or delete them with the region: k0rdentctl region remove %s --force",
		e.Region, countNoun(len(e.ClusterDeployments), "ClusterDeployment"), strings.Join(e.ClusterDeployments, ", "), e.Region)
}

// Refused marks the error as a guard (exit code 3).
func (e *InUseError) Refused() bool { return true }

// RegionKeptError is a Region that k0rdent does not delete because
// ClusterDeployments use it (placed in it after the removal looked).
type RegionKeptError struct {
	Region string
	// ClusterDeployments are "namespace/name".
	ClusterDeployments []string
}

func (e *RegionKeptError) Error() string {
	return fmt.Sprintf("k0rdent keeps Region %s (its finalizer %s stays) while %s use it: %s", e.Region, kcmv1.RegionFinalizer,
		countNoun(len(e.ClusterDeployments), "ClusterDeployment"), strings.Join(e.ClusterDeployments, ", "))
}

// RemoveOptions tune PlanRemoval and Remove.
type RemoveOptions struct {
	// Force deletes the ClusterDeployments placed in the region first
	// (without it, a region in use is refused with *InUseError).
	Force bool
	// DeleteCluster also deletes an adopted regional ClusterDeployment (one
	// k0rdentctl created is always deleted).
	DeleteCluster bool
	// Timeout bounds each wait for deleted objects to be gone; 0 means the
	// configuration's timeouts.region_ready.
	Timeout time.Duration
	// Progress receives what is being done and waited for.
	Progress func(string)
}

func (o RemoveOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// RemovalPlan is what Remove would do, in order; its JSON keys are those of
// `region remove -o json`.
type RemovalPlan struct {
	Region     string `json:"region"`
	Configured bool   `json:"configured"`
	// Status is the region's record status before the removal.
	Status string `json:"status,omitempty"`
	// ClusterDeployments are placed in the region ("namespace/name"):
	// deleted first with Force, refused without it.
	ClusterDeployments []string `json:"cluster_deployments"`
	// Credentials are those with spec.region == Region.
	Credentials []string `json:"credentials"`
	// RegionExists: the Region object is on the management cluster.
	RegionExists bool `json:"region_exists"`
	// RegionalClusterDeployment is the regional cluster's own
	// ClusterDeployment ("" when external); DeleteRegionalCluster says
	// whether it is deleted, and ClusterDeploymentReason why (or why not).
	RegionalClusterDeployment string `json:"regional_cluster_deployment,omitempty"`
	DeleteRegionalCluster     bool   `json:"delete_regional_cluster"`
	ClusterDeploymentReason   string `json:"cluster_deployment_reason,omitempty"`
	// KubeconfigSecret is a kubeconfig Secret k0rdentctl created for an
	// external cluster (from kubeconfig_file), deleted with the region.
	KubeconfigSecret string `json:"kubeconfig_secret,omitempty"`
	// KubeconfigFile is the local kubeconfig file removed at the end ("" when
	// there is none).
	KubeconfigFile string `json:"kubeconfig_file,omitempty"`
	Force          bool   `json:"force"`
	// Warnings, e.g. that the region is still configured.
	Warnings []string `json:"warnings,omitempty"`

	cdKey  client.ObjectKey
	secKey client.ObjectKey
}

// Refusal is the guard's error (*InUseError) when ClusterDeployments use the
// region and Force was not given, nil otherwise.
func (p *RemovalPlan) Refusal() error {
	if len(p.ClusterDeployments) > 0 && !p.Force {
		return &InUseError{Region: p.Region, ClusterDeployments: p.ClusterDeployments}
	}
	return nil
}

// Empty says whether there is nothing left to remove.
func (p *RemovalPlan) Empty() bool {
	return len(p.ClusterDeployments) == 0 && len(p.Credentials) == 0 && !p.RegionExists && !p.DeleteRegionalCluster &&
		p.KubeconfigSecret == "" && p.KubeconfigFile == "" && p.Status == state.RegionalRemoved
}

// Steps describes the plan, one line per step, in order.
func (p *RemovalPlan) Steps() []string {
	var out []string
	if len(p.ClusterDeployments) > 0 {
		out = append(out, fmt.Sprintf("delete the %s placed in the region and wait until gone: %s", countNoun(len(p.ClusterDeployments), "ClusterDeployment"), strings.Join(p.ClusterDeployments, ", ")))
	}
	if len(p.Credentials) > 0 {
		out = append(out, fmt.Sprintf("delete %s %s and wait until gone", nounFor(len(p.Credentials), "Credential"), strings.Join(p.Credentials, ", ")))
	}
	if p.RegionExists {
		out = append(out, fmt.Sprintf("delete Region %s and wait until k0rdent has removed its components and its finalizer", p.Region))
	}
	if p.RegionalClusterDeployment != "" {
		if p.DeleteRegionalCluster {
			out = append(out, fmt.Sprintf("delete the regional cluster's ClusterDeployment %s (%s) and wait until it is gone", p.RegionalClusterDeployment, p.ClusterDeploymentReason))
		} else {
			out = append(out, fmt.Sprintf("keep the regional cluster's ClusterDeployment %s (%s)", p.RegionalClusterDeployment, p.ClusterDeploymentReason))
		}
	}
	if p.KubeconfigSecret != "" {
		out = append(out, "delete the kubeconfig Secret "+p.KubeconfigSecret+" that k0rdentctl created")
	}
	if p.KubeconfigFile != "" {
		out = append(out, "remove the local kubeconfig "+p.KubeconfigFile)
	}
	out = append(out, "mark the regional cluster removed in the record")
	return out
}

// Remove removes one regional cluster (`region remove`): Plan looks, Run
// acts on the plan.
type Remove struct {
	Env *Env
	// Name is the regional cluster to remove.
	Name string
	RemoveOptions
}

// Plan looks at what removing regional cluster name involves. It
// changes nothing. A name that neither the configuration, the record nor the
// management cluster knows is an error.
func (op *Remove) Plan(ctx context.Context) (*RemovalPlan, error) {
	env, name, opts := op.Env, op.Name, op.RemoveOptions
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	v, err := observe(ctx, env, mc)
	if err != nil {
		return nil, err
	}
	return v.planRemoval(ctx, mc, name, opts)
}

func (v *observed) planRemoval(ctx context.Context, mc *kube.Clients, name string, opts RemoveOptions) (*RemovalPlan, error) {
	_, configured := v.configured(name)
	r := v.record(name)
	rg := v.regions[name]
	if !configured && r == nil && rg == nil {
		return nil, &UnknownRegionError{Names: []string{name}, Where: whereKnown, Known: v.names()}
	}
	p := &RemovalPlan{Region: name, Configured: configured, RegionExists: rg != nil, Force: opts.Force,
		ClusterDeployments: v.placed(name), Credentials: []string{}}
	if r != nil {
		p.Status = r.Status
	}
	for _, c := range v.regionalCredentials(name) {
		p.Credentials = append(p.Credentials, c.Namespace+"/"+c.Name)
	}
	if key, ok := v.clusterDeploymentKey(name); ok {
		cd := &kcmv1.ClusterDeployment{}
		err := mc.Client.Get(ctx, key, cd)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading ClusterDeployment %s on the management cluster: %w", key, err)
		default:
			p.cdKey = key
			p.RegionalClusterDeployment = key.String()
			created := (r != nil && r.ClusterDeploymentOwned) || (CreatedByUs(cd.Labels) && cd.Labels[LabelDeployment] == v.deploymentID() && v.deploymentID() != "")
			switch {
			case created:
				p.DeleteRegionalCluster, p.ClusterDeploymentReason = true, "k0rdentctl created it"
			case opts.DeleteCluster:
				p.DeleteRegionalCluster, p.ClusterDeploymentReason = true, "adopted; --delete-cluster given"
			default:
				p.ClusterDeploymentReason = "adopted, not created by k0rdentctl; --delete-cluster deletes it too"
			}
		}
	}
	if ref, ok := v.kubeconfigRef(name); ok {
		if _, isCD := v.clusterDeploymentKey(name); !isCD {
			sec := &corev1.Secret{}
			if err := mc.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec); err == nil && CreatedByUs(sec.Labels) && sec.Labels[LabelRegion] == name {
				p.secKey = client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
				p.KubeconfigSecret = p.secKey.String()
			}
		}
	}
	if path := v.kubeconfigPath(name); existingFile(path) != "" {
		p.KubeconfigFile = path
	}
	if configured {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s is still in software.k0rdent.regional.clusters: the next region deploy creates it again; remove it from the configuration to keep it removed", name))
	}
	return p, nil
}

// RemovalReport is what Remove did.
type RemovalReport struct {
	Region string `json:"region"`
	// Status is removed, or failed with Error and Fix.
	Status          string        `json:"status"`
	Steps           []RemovalStep `json:"steps"`
	Error           string        `json:"error,omitempty"`
	Fix             string        `json:"fix,omitempty"`
	DurationSeconds float64       `json:"duration_seconds"`
}

// RemovalStep is one object Remove dealt with.
type RemovalStep struct {
	Kind   string `json:"kind"`
	Object string `json:"object"`
	// Action is deleted, kept, absent (already gone) or failed.
	Action          string  `json:"action"`
	Detail          string  `json:"detail,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Run removes a regional cluster as planned, in this order: the
// ClusterDeployments placed in it (only with Force; without it a region in
// use is refused with *InUseError and nothing is touched), the per-region
// Credentials, the Region (waiting until k0rdent removed its finalizer), the
// regional cluster's own ClusterDeployment when k0rdentctl created it (an
// adopted one only with DeleteCluster), a kubeconfig Secret k0rdentctl made,
// and the local kubeconfig file. Each deletion is waited for. The region's
// record moves to removing and then removed, with events. A failed step
// stops the removal (record status stays removing, with the error); running
// it again continues.
func (op *Remove) Run(ctx context.Context, plan *RemovalPlan) (*RemovalReport, error) {
	env, opts := op.Env, op.RemoveOptions
	start := env.now()
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	name := plan.Region
	rep := &RemovalReport{Region: name, Steps: []RemovalStep{}}
	// Look again: ClusterDeployments may have been placed since the plan.
	v, err := observe(ctx, env, mc)
	if err != nil {
		return nil, err
	}
	now, err := v.planRemoval(ctx, mc, name, RemoveOptions{Force: plan.Force, DeleteCluster: opts.DeleteCluster || plan.DeleteRegionalCluster})
	if err != nil {
		return nil, err
	}
	if err := now.Refusal(); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = env.regionTimeout()
	}
	// A record that cannot be written stops the removal: what was done so
	// far is in the report, the rest is left for the next run.
	ev := func(typ, format string, args ...any) error {
		if err := addEvent(env, state.Event{Region: name, Type: typ, Message: fmt.Sprintf(format, args...)}); err != nil {
			return recordFailed(err)
		}
		return nil
	}
	setRecord := func(fn func(*state.RegionalCluster)) error {
		if env.Session == nil {
			return nil
		}
		return env.Session.Update(ctx, func(rec *state.Record) error {
			if c := rec.Regional(name); c != nil {
				fn(c)
			}
			return nil
		})
	}
	if err := setRecord(func(c *state.RegionalCluster) { c.Status = state.RegionalRemoving }); err != nil {
		return nil, recordFailed(err)
	}
	if err := ev(EventRemoving, "removing regional cluster %s: %s", name, strings.Join(now.Steps(), "; ")); err != nil {
		return nil, err
	}

	failed := func(step RemovalStep, err error, fix string) (*RemovalReport, error) {
		if re := new(RecordError); errors.As(err, &re) {
			// The step was done; its record was not: stop here.
			rep.Steps = append(rep.Steps, step)
			rep.Status, rep.Error = state.RegionalFailed, err.Error()
			rep.DurationSeconds = env.now().Sub(start).Seconds()
			return rep, err
		}
		step.Action, step.Detail = "failed", err.Error()
		rep.Steps = append(rep.Steps, step)
		rep.Status, rep.Error, rep.Fix = state.RegionalFailed, err.Error(), fix
		rep.DurationSeconds = env.now().Sub(start).Seconds()
		msg := err.Error()
		if rerr := setRecord(func(c *state.RegionalCluster) { c.LastError = "removal: " + msg + "; fix: " + fix }); rerr != nil {
			return rep, recordFailed(rerr)
		}
		return rep, ev(EventRemoveFailed, "removing regional cluster %s failed at %s %s: %s; fix: %s", name, step.Kind, step.Object, msg, fix)
	}
	again := "k0rdentctl region remove " + name
	if plan.Force {
		again += " --force"
	}
	del := func(kind string, key client.ObjectKey, obj client.Object) (RemovalStep, error) {
		t := time.Now()
		step := RemovalStep{Kind: kind, Object: objName(key)}
		obj.SetName(key.Name)
		obj.SetNamespace(key.Namespace)
		opts.progress("deleting %s %s", kind, step.Object)
		err := mc.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if apierrors.IsNotFound(err) {
			step.Action, step.Detail = "absent", "already gone"
			step.DurationSeconds = time.Since(t).Seconds()
			return step, nil
		}
		if err != nil {
			return step, fmt.Errorf("deleting %s %s: %w", kind, step.Object, err)
		}
		// kcm 1.5.0 keeps a Region, finalizer and all, while
		// ClusterDeployments use it (RegionDeletionAllowed): say which,
		// instead of waiting for the timeout.
		var kept func(context.Context) error
		if kind == kcmv1.RegionKind {
			kept = func(ctx context.Context) error {
				cds, err := placedNow(ctx, mc.Client, name)
				if err != nil || len(cds) == 0 {
					return nil // a failed look is looked at again
				}
				return &RegionKeptError{Region: name, ClusterDeployments: cds}
			}
		}
		if err := waitGoneUnless(ctx, mc.Client, kind, key, obj, timeout, env.interval(), opts.Progress, kept); err != nil {
			return step, err
		}
		step.Action = "deleted"
		step.DurationSeconds = time.Since(t).Seconds()
		return step, ev(EventObjectDeleted, "deleted %s %s (regional cluster %s)", kind, step.Object, name)
	}

	// 1. The ClusterDeployments placed in the region (Force only).
	for _, s := range now.ClusterDeployments {
		key := splitKey(s)
		step, err := del(kcmv1.ClusterDeploymentKind, key, &kcmv1.ClusterDeployment{})
		if err != nil {
			return failed(step, err, fmt.Sprintf("see ClusterDeployment %s's conditions and the kcm controller's log, then: %s", s, again))
		}
		rep.Steps = append(rep.Steps, step)
	}
	// 2. The per-region Credentials.
	for _, s := range now.Credentials {
		step, err := del(kcmv1.CredentialKind, splitKey(s), &kcmv1.Credential{})
		if err != nil {
			return failed(step, err, fmt.Sprintf("see Credential %s and the kcm controller's log, then: %s", s, again))
		}
		rep.Steps = append(rep.Steps, step)
	}
	// 3. The Region: k0rdent uninstalls its components from the regional
	// cluster, then removes the finalizer.
	if now.RegionExists {
		step, err := del(kcmv1.RegionKind, client.ObjectKey{Name: name}, &kcmv1.Region{})
		if kept := new(RegionKeptError); errors.As(err, &kept) {
			return failed(step, kept, fmt.Sprintf("delete or move those ClusterDeployments, or delete them with the region: k0rdentctl region remove %s --force", name))
		}
		if err != nil {
			return failed(step, err, fmt.Sprintf("k0rdent removes Region %s's finalizer %s once it has removed the components from the regional cluster, so that cluster must be reachable (k0rdentctl region health %s) and the kcm controller running; then: %s",
				name, kcmv1.RegionFinalizer, name, again))
		}
		rep.Steps = append(rep.Steps, step)
	}
	// 4. The regional cluster's own ClusterDeployment.
	if now.RegionalClusterDeployment != "" {
		if now.DeleteRegionalCluster {
			step, err := del(kcmv1.ClusterDeploymentKind, now.cdKey, &kcmv1.ClusterDeployment{})
			if err != nil {
				return failed(step, err, fmt.Sprintf("see ClusterDeployment %s's conditions and the kcm controller's log, then: %s", now.RegionalClusterDeployment, again))
			}
			step.Detail = now.ClusterDeploymentReason
			rep.Steps = append(rep.Steps, step)
		} else {
			rep.Steps = append(rep.Steps, RemovalStep{Kind: kcmv1.ClusterDeploymentKind, Object: now.RegionalClusterDeployment, Action: "kept", Detail: now.ClusterDeploymentReason})
		}
	}
	// 5. A kubeconfig Secret k0rdentctl made.
	if now.KubeconfigSecret != "" {
		step, err := del("Secret", now.secKey, &corev1.Secret{})
		if err != nil {
			return failed(step, err, again)
		}
		rep.Steps = append(rep.Steps, step)
	}
	// 6. The local kubeconfig.
	if now.KubeconfigFile != "" {
		step := RemovalStep{Kind: "KubeconfigFile", Object: now.KubeconfigFile, Action: "deleted"}
		if err := os.Remove(now.KubeconfigFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return failed(step, fmt.Errorf("removing %s: %w", now.KubeconfigFile, err), "remove it by hand, then: "+again)
		}
		rep.Steps = append(rep.Steps, step)
	}

	// The record.
	deleted := map[string]bool{}
	for _, s := range rep.Steps {
		if s.Action == "deleted" || s.Action == "absent" {
			deleted[s.Kind+" "+s.Object] = true
		}
	}
	if env.Session != nil {
		err := env.Session.Update(ctx, func(rec *state.Record) error {
			if c := rec.Regional(name); c != nil {
				c.Status = state.RegionalRemoved
				c.Deployed, c.RegionCRDCreated, c.CredentialsPropagated, c.CertificatesPropagated = false, false, false, false
				c.KubeconfigPath, c.Components, c.Health, c.HealthCheckedAt, c.LastError = "", nil, "", nil, ""
			}
			kept := rec.Resources[:0]
			for _, res := range rec.Resources {
				obj := res.Name
				if res.Namespace != "" {
					obj = res.Namespace + "/" + res.Name
				}
				if !deleted[res.Kind+" "+obj] {
					kept = append(kept, res)
				}
			}
			rec.Resources = kept
			return nil
		})
		if err != nil {
			return nil, recordFailed(err)
		}
	}
	rep.Status = state.RegionalRemoved
	rep.DurationSeconds = env.now().Sub(start).Seconds()
	return rep, ev(EventRemoved, "regional cluster %s removed (%s)", name, removalSummary(rep))
}

func removalSummary(rep *RemovalReport) string {
	var parts []string
	for _, s := range rep.Steps {
		parts = append(parts, fmt.Sprintf("%s %s %s", s.Action, s.Kind, s.Object))
	}
	if len(parts) == 0 {
		return "nothing was left"
	}
	return strings.Join(parts, ", ")
}

func splitKey(s string) client.ObjectKey {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return client.ObjectKey{Namespace: ns, Name: name}
	}
	return client.ObjectKey{Name: s}
}

// waitGone waits until the object is gone, saying what is left (its
// finalizers).
func waitGone(ctx context.Context, c client.Client, kind string, key client.ObjectKey, obj client.Object, timeout, interval time.Duration, progress func(string)) error {
	return waitGoneUnless(ctx, c, kind, key, obj, timeout, interval, progress, nil)
}

// waitGoneUnless is waitGone that stops as soon as kept (when not nil)
// says why the object will not go.
func waitGoneUnless(ctx context.Context, c client.Client, kind string, key client.ObjectKey, obj client.Object, timeout, interval time.Duration, progress func(string), kept func(context.Context) error) error {
	what := kind + " " + objName(key)
	check := func(ctx context.Context) (bool, string, error) {
		err := c.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			return true, what + " is gone", nil
		case err != nil:
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot read " + what + ": " + err.Error(), nil
		}
		if kept != nil {
			if err := kept(ctx); err != nil {
				return false, "", err
			}
		}
		if f := obj.GetFinalizers(); len(f) > 0 {
			return false, fmt.Sprintf("%s is being deleted; finalizers left: %s", what, strings.Join(f, ", ")), nil
		}
		return false, what + " is being deleted", nil
	}
	return kube.WaitFor(ctx, what+" to be gone", timeout, interval, check, progress)
}

// objName is "namespace/name", or "name" for a cluster-scoped object.
func objName(key client.ObjectKey) string {
	if key.Namespace == "" {
		return key.Name
	}
	return key.Namespace + "/" + key.Name
}

// countNoun is "1 ClusterDeployment", "2 ClusterDeployments".
func countNoun(n int, noun string) string { return fmt.Sprintf("%d %s", n, nounFor(n, noun)) }

func nounFor(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
