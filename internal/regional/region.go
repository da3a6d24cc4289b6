package regional

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Keys of spec.core.kcm.config (the kcm-regional chart's values) that
// k0rdentctl sets.
const (
	ValueCertManager = "cert-manager"
	ValueVelero      = "velero"
)

// regionPhase creates or updates the Region object and waits until k0rdent
// has installed its components in the regional cluster.
type regionPhase struct{ step }

func (p *regionPhase) Title() string {
	return fmt.Sprintf("Create or update Region %s and wait until its components are ready", p.r.rc.Name)
}

func (p *regionPhase) DryRun(context.Context) ([]string, error) {
	rc := p.r.rc
	ref := "spec.kubeConfig: " + KubeconfigSource(p.r.env.Config, rc).String() + " (key value)"
	if rc.Type() == config.RegionalTypeDeployment {
		ref = fmt.Sprintf("spec.clusterDeployment: %s/%s", p.r.cdNamespace(), rc.ClusterDeploymentRef)
	}
	sel := rc.Components.Providers()
	prov := "none"
	switch {
	case sel.IsList():
		prov = strings.Join(sel.Names, ", ")
		if w := AzureProvidersWarning(rc.Name, sel, sel.Names); w != "" {
			prov += " (warning: " + w + ")"
		}
	case sel.All:
		prov = "every provider the management cluster runs (read from Management kcm at run time)"
	}
	return []string{
		fmt.Sprintf("apply Region %s with %s", rc.Name, ref),
		fmt.Sprintf("  spec.core.kcm.config: %s.enabled=%t, %s.enabled=%t", ValueCertManager, rc.Components.CertManagerEnabled(), ValueVelero, rc.Components.VeleroEnabled()),
		"  spec.providers: " + prov,
		fmt.Sprintf("wait up to %s until it is Ready (every component healthy) for its latest spec", p.r.env.regionTimeout()),
	}, nil
}

// desiredProviders resolves capi_providers against the management cluster.
func (p *regionPhase) desiredProviders(ctx context.Context, c client.Client) ([]string, error) {
	sel := p.r.rc.Components.Providers()
	var mgmt *kcmv1.Management
	if sel.All && !sel.IsList() {
		m := &kcmv1.Management{}
		if err := c.Get(ctx, client.ObjectKey{Name: kcmv1.ManagementName}, m); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading Management %s: %w", kcmv1.ManagementName, err)
			}
		} else {
			mgmt = m
		}
	}
	names, err := ResolveProviders(sel, mgmt)
	if err != nil {
		return nil, phase.Permanent(p.fail("providers unknown", err, fixThen("check k0rdent on the management cluster (k0rdentctl k0rdent status), or list the providers in components.capi_providers", p.r.rc.Name)))
	}
	return names, nil
}

// DesiredRegion is the Region k0rdentctl applies for a regional cluster:
// the cluster reference, the component flags in spec.core.kcm.config, the
// providers, and the labels. Only these fields are applied (server-side
// apply), so fields others set are kept.
func DesiredRegion(cfg *config.Config, rc config.RegionalCluster, providers []string, deploymentID string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(kcmv1.GroupVersion.String())
	u.SetKind(kcmv1.RegionKind)
	u.SetName(rc.Name)
	u.SetLabels(Labels(rc.Name, deploymentID))
	spec := map[string]any{}
	if rc.Type() == config.RegionalTypeDeployment {
		ref := KubeconfigSource(cfg, rc)
		spec["clusterDeployment"] = map[string]any{"namespace": ref.Namespace, "name": rc.ClusterDeploymentRef}
	} else {
		ref := KubeconfigSource(cfg, rc)
		spec["kubeConfig"] = map[string]any{"name": ref.Name, "key": ref.Key}
	}
	spec["core"] = map[string]any{"kcm": map[string]any{"config": map[string]any{
		ValueCertManager: map[string]any{"enabled": rc.Components.CertManagerEnabled()},
		ValueVelero:      map[string]any{"enabled": rc.Components.VeleroEnabled()},
	}}}
	if len(providers) > 0 {
		list := make([]any, len(providers))
		for i, p := range providers {
			list[i] = map[string]any{"name": p}
		}
		spec["providers"] = list
	}
	u.Object["spec"] = spec
	return u
}

// referenceOf describes a Region's cluster reference.
func referenceOf(rg *kcmv1.Region) string {
	switch {
	case rg.Spec.ClusterDeployment != nil:
		return fmt.Sprintf("ClusterDeployment %s/%s", rg.Spec.ClusterDeployment.Namespace, rg.Spec.ClusterDeployment.Name)
	case rg.Spec.KubeConfig != nil:
		return fmt.Sprintf("kubeconfig Secret %s (key %s)", rg.Spec.KubeConfig.Name, rg.Spec.KubeConfig.Key)
	}
	return "nothing"
}

func (p *regionPhase) wantReference() string {
	rc := p.r.rc
	ref := KubeconfigSource(p.r.env.Config, rc)
	if rc.Type() == config.RegionalTypeDeployment {
		return fmt.Sprintf("ClusterDeployment %s/%s", ref.Namespace, rc.ClusterDeploymentRef)
	}
	return fmt.Sprintf("kubeconfig Secret %s (key %s)", ref.Name, ref.Key)
}

// regionDiff says how an existing Region differs from what is wanted ("" when
// it does not); immutable is true when its cluster reference differs.
func (p *regionPhase) regionDiff(rg *kcmv1.Region, providers []string) (diff string, immutable bool) {
	if got, want := referenceOf(rg), p.wantReference(); got != want {
		return fmt.Sprintf("it references %s, not %s", got, want), true
	}
	var diffs []string
	cfg := map[string]any{}
	if rg.Spec.Core != nil && rg.Spec.Core.KCM.Config != nil {
		_ = json.Unmarshal(rg.Spec.Core.KCM.Config.Raw, &cfg)
	}
	for _, c := range []struct {
		key  string
		want bool
	}{{ValueCertManager, p.r.rc.Components.CertManagerEnabled()}, {ValueVelero, p.r.rc.Components.VeleroEnabled()}} {
		got, ok := nestedBool(cfg, c.key, "enabled")
		if !ok || got != c.want {
			diffs = append(diffs, fmt.Sprintf("%s.enabled is not %t", c.key, c.want))
		}
	}
	var have []string
	for _, pr := range rg.Spec.Providers {
		have = append(have, pr.Name)
	}
	if !sameSet(have, providers) {
		diffs = append(diffs, fmt.Sprintf("providers are [%s], not [%s]", strings.Join(have, ", "), strings.Join(providers, ", ")))
	}
	if CreatedByUs(rg.Labels) && rg.Labels[LabelRegion] != p.r.rc.Name {
		diffs = append(diffs, "label "+LabelRegion+" is not "+p.r.rc.Name)
	}
	return strings.Join(diffs, "; "), false
}

func nestedBool(m map[string]any, keys ...string) (bool, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false, false
		}
		cur, ok = mm[k]
		if !ok {
			return false, false
		}
	}
	b, ok := cur.(bool)
	return b, ok
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func (p *regionPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		mc, err := p.r.env.management(ctx)
		if err != nil {
			return phase.Permanent(err)
		}
		rc, region := p.r.rc, p.r.rc.Name
		providers, err := p.desiredProviders(ctx, mc.Client)
		if err != nil {
			return err
		}
		if w := AzureProvidersWarning(region, rc.Components.Providers(), providers); w != "" {
			prog.Printf("warning: %s", w)
			p.r.warn(w)
			if err := p.r.event(ctx, p.name, EventProvidersWarning, "%s", w); err != nil {
				return err
			}
		}

		cur := &kcmv1.Region{}
		err = mc.Client.Get(ctx, client.ObjectKey{Name: region}, cur)
		exists := err == nil
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("reading Region %s: %w", region, err)
		}
		apply := !exists
		if exists {
			diff, immutable := p.regionDiff(cur, providers)
			if immutable {
				return phase.Permanent(p.fail("Region references another cluster",
					fmt.Errorf("Region %s exists and %s; a Region's cluster reference cannot change", region, diff),
					fixThen(fmt.Sprintf("remove that Region first (k0rdentctl region remove %s) or give this regional cluster another name", region), region)))
			}
			if !cur.DeletionTimestamp.IsZero() {
				return p.fail("Region being deleted", fmt.Errorf("Region %s is being deleted", region),
					fixThen("wait until it is gone (k0rdentctl region status)", region))
			}
			if diff != "" {
				prog.Printf("Region %s differs (%s): updating it", region, diff)
				apply = true
			}
		}
		// A Region someone else made is adopted: its spec is brought in line,
		// but it is not labelled as k0rdentctl's (cleanup must never take it).
		adopted := exists && !CreatedByUs(cur.Labels)
		if apply {
			desired := DesiredRegion(p.r.env.Config, rc, providers, p.r.env.deploymentID())
			switch {
			case adopted:
				desired.SetLabels(nil)
			case exists && cur.Labels[LabelDeployment] != "":
				labels := desired.GetLabels()
				labels[LabelDeployment] = cur.Labels[LabelDeployment] // keep who made it
				desired.SetLabels(labels)
			}
			if err := kube.Apply(ctx, mc.Client, desired); err != nil {
				return p.fail("Region not applied", err, fixThen("check the error above", region))
			}
			typ, verb := EventRegionCreated, "created"
			switch {
			case adopted:
				typ, verb = EventRegionUpdated, "adopted and updated existing"
			case exists:
				typ, verb = EventRegionUpdated, "updated"
			}
			err := p.r.event(ctx, p.name, typ, "%s Region %s (%s; cert-manager %t, velero %t; providers: %s)", verb, region,
				p.wantReference(), rc.Components.CertManagerEnabled(), rc.Components.VeleroEnabled(), orNone(providers))
			if err != nil {
				return err
			}
		} else {
			prog.Printf("Region %s is as configured", region)
		}
		if !exists || adopted {
			if err := p.r.resource(ctx, p.name, state.Resource{Kind: kcmv1.RegionKind, Name: region, Location: rc.Location, Adopted: adopted}); err != nil {
				return err
			}
		}
		if err := p.r.update(ctx, func(c *state.RegionalCluster) { c.RegionCRDCreated = true }); err != nil {
			return err
		}
		st, err := p.wait(ctx, prog, mc.Client)
		if err != nil {
			return err
		}
		return p.r.event(ctx, p.name, EventRegionReady, "Region %s is Ready (%s): %s", region, st.Reason, componentList(st.Components))
	})
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

func componentList(cs []k0rdent.ComponentState) string {
	if len(cs) == 0 {
		return "no components reported"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ") + " healthy"
}

// wait waits until the Region is Ready for its latest spec, streaming its
// component states.
func (p *regionPhase) wait(ctx context.Context, prog phase.Progress, c client.Client) (RegionState, error) {
	region := p.r.rc.Name
	var last RegionState
	start := p.r.env.now()
	check := func(ctx context.Context) (bool, string, error) {
		rg := &kcmv1.Region{}
		if err := c.Get(ctx, client.ObjectKey{Name: region}, rg); err != nil {
			if apierrors.IsNotFound(err) {
				return false, "", p.fail("Region gone", fmt.Errorf("Region %s was deleted while waiting for it", region), fixThen("find out who deleted it", region))
			}
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot read Region: " + err.Error(), nil
		}
		last = ObserveRegion(rg)
		if neverReconciled(rg) {
			// kcm 1.5.0 writes no status for a Region whose cluster
			// reference is invalid, and does not look again until its spec
			// changes: waiting would never end.
			if err := CheckRegionReference(ctx, c, p.r.env.namespace(), rg); err != nil && !kube.IsTransient(err) && ctx.Err() == nil {
				problem, fix := referenceProblem(region, err)
				return false, "", phase.Permanent(p.fail("Region reference invalid", errors.New(problem), fix))
			}
			if waited := p.r.env.now().Sub(start); waited >= p.r.env.reconcileGrace() {
				return false, "", phase.Permanent(p.fail("Region not reconciled",
					fmt.Errorf("k0rdent has not reconciled Region %s in %s (no finalizer, no status) although its cluster reference (%s) is valid now: kcm 1.5.0 ignores a Region whose reference was invalid when it looked, and looks again only when the Region's spec changes",
						region, waited.Round(time.Second), referenceOf(rg)),
					fmt.Sprintf("restart the kcm controller (kubectl -n %s rollout restart deployment/%s), or remove the Region (k0rdentctl region remove %s); then: %s",
						p.r.env.namespace(), KCMControllerDeployment, region, rerun(region))))
			}
			return false, fmt.Sprintf("Region %s: not reconciled by k0rdent yet (no finalizer, no status)", region), nil
		}
		return last.Done(), "Region " + region + ": " + last.Summary(), nil
	}
	err := kube.WaitFor(ctx, fmt.Sprintf("Region %s to be Ready", region), p.r.env.regionTimeout(), p.r.env.interval(), check, func(s string) { prog.Printf("%s", s) })
	if err != nil {
		var wt *kube.WaitTimeoutError
		if errors.As(err, &wt) {
			return last, p.fail("Region not ready", err,
				fixThen(fmt.Sprintf("see Region %s's conditions and components (kubectl get region %s -o yaml) and the kcm controller's log in %s; raise timeouts.region_ready if it is only slow", region, region, p.r.env.namespace()), region))
		}
		return last, err
	}
	return last, nil
}

func (p *regionPhase) Verify(ctx context.Context) (bool, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return false, "", err
	}
	region := p.r.rc.Name
	rg := &kcmv1.Region{}
	if err := mc.Client.Get(ctx, client.ObjectKey{Name: region}, rg); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("Region %s does not exist", region), nil
		}
		return false, "", fmt.Errorf("reading Region %s: %w", region, err)
	}
	providers, err := p.desiredProviders(ctx, mc.Client)
	if err != nil {
		return false, "", err
	}
	if diff, _ := p.regionDiff(rg, providers); diff != "" {
		return false, fmt.Sprintf("Region %s differs from the configuration: %s", region, diff), nil
	}
	if st := ObserveRegion(rg); !st.Done() {
		return false, fmt.Sprintf("Region %s: %s", region, st.Summary()), nil
	}
	return true, "", nil
}
