package regional

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// credentialsPhase creates the region's Credential, which makes k0rdent copy
// the Azure cluster identity and its Secret into the regional cluster, and
// checks that the copies arrived with the management cluster's content.
type credentialsPhase struct{ step }

func (p *credentialsPhase) Wanted() (bool, string) {
	if ok, why := p.step.Wanted(); !ok {
		return ok, why
	}
	if !p.r.rc.PropagatesCredentials() {
		return false, "credential_propagation is false for this regional cluster"
	}
	return true, ""
}

func (p *credentialsPhase) credKey() client.ObjectKey {
	return client.ObjectKey{Namespace: p.r.env.credentialNamespace(), Name: p.r.env.Config.RegionalCredentialName(p.r.rc.Name)}
}

func (p *credentialsPhase) mgmtKey() client.ObjectKey {
	return client.ObjectKey{Namespace: p.r.env.credentialNamespace(), Name: p.r.env.Config.RegionalCredentialName("")}
}

func (p *credentialsPhase) Title() string {
	return fmt.Sprintf("Propagate the Azure credential to region %s (Credential %s)", p.r.rc.Name, p.credKey())
}

func (p *credentialsPhase) DryRun(context.Context) ([]string, error) {
	key := p.credKey()
	return []string{
		fmt.Sprintf("apply Credential %s with spec.region %s and the identity of the management Credential %s", key, p.r.rc.Name, p.mgmtKey()),
		fmt.Sprintf("wait up to %s until it is ready and the identity and its Secret arrived in namespace %s of the regional cluster with the management cluster's content", p.r.env.regionTimeout(), key.Namespace),
	}, nil
}

// DesiredCredential is the per-region Credential: spec.region and the
// management Credential's identityRef.
func DesiredCredential(key client.ObjectKey, region string, identity *corev1.ObjectReference, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(kcmv1.GroupVersion.String())
	u.SetKind(kcmv1.CredentialKind)
	u.SetNamespace(key.Namespace)
	u.SetName(key.Name)
	if len(labels) > 0 {
		u.SetLabels(labels)
	}
	ref := map[string]any{"apiVersion": identity.APIVersion, "kind": identity.Kind, "name": identity.Name}
	if identity.Namespace != "" {
		ref["namespace"] = identity.Namespace
	}
	u.Object["spec"] = map[string]any{
		"identityRef": ref,
		"region":      region,
		"description": fmt.Sprintf("Azure credential for k0rdent region %s (managed by k0rdentctl)", region),
	}
	return u
}

func sameIdentity(a, b *corev1.ObjectReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.Namespace == b.Namespace
}

// managementIdentity reads the management Credential's identity reference.
func (p *credentialsPhase) managementIdentity(ctx context.Context, c client.Client) (*corev1.ObjectReference, error) {
	key, region := p.mgmtKey(), p.r.rc.Name
	cred := &kcmv1.Credential{}
	if err := c.Get(ctx, key, cred); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, phase.Permanent(p.fail("management Credential missing",
				fmt.Errorf("Credential %s, whose identity the region's Credential shares, does not exist", key),
				fixThen("create it: "+CreateCredentialHint, region)))
		}
		return nil, fmt.Errorf("reading Credential %s: %w", key, err)
	}
	if cred.Spec.IdentityRef == nil || cred.Spec.IdentityRef.Name == "" {
		return nil, phase.Permanent(p.fail("management Credential has no identity",
			fmt.Errorf("Credential %s has no spec.identityRef", key), fixThen("recreate it: "+CreateCredentialHint, region)))
	}
	return cred.Spec.IdentityRef, nil
}

func (p *credentialsPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		mc, err := p.r.env.management(ctx)
		if err != nil {
			return phase.Permanent(err)
		}
		key, region := p.credKey(), p.r.rc.Name
		identity, err := p.managementIdentity(ctx, mc.Client)
		if err != nil {
			return err
		}
		cur := &kcmv1.Credential{}
		err = mc.Client.Get(ctx, key, cur)
		exists := err == nil
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading Credential %s: %w", key, err)
		}
		if exists && cur.Spec.Region != region {
			return phase.Permanent(p.fail("Credential belongs to another region",
				fmt.Errorf("Credential %s exists with spec.region %q, not %q, and spec.region cannot change", key, cur.Spec.Region, region),
				fixThen(fmt.Sprintf("delete Credential %s (after moving the ClusterDeployments that use it) or rename software.k0rdent.credential.name", key), region)))
		}
		adopted := exists && !CreatedByUs(cur.Labels)
		if !exists || !sameIdentity(cur.Spec.IdentityRef, identity) {
			var labels map[string]string
			switch {
			case !exists:
				labels = Labels(region, p.r.env.deploymentID())
			case !adopted:
				labels = Labels(region, cur.Labels[LabelDeployment])
			}
			if err := kube.Apply(ctx, mc.Client, DesiredCredential(key, region, identity, labels)); err != nil {
				return p.fail("Credential not applied", err, fixThen("check the error above", region))
			}
			verb := "created"
			if exists {
				verb = "updated the identity of"
			}
			if err := p.r.event(ctx, p.name, EventCredentialCreated, "%s Credential %s for region %s (identity %s %s/%s)", verb, key, region, identity.Kind, identity.Namespace, identity.Name); err != nil {
				return err
			}
		} else {
			prog.Printf("Credential %s is as configured", key)
		}
		if !exists || adopted {
			if err := p.r.resource(ctx, p.name, state.Resource{Kind: kcmv1.CredentialKind, Namespace: key.Namespace, Name: key.Name, Adopted: adopted}); err != nil {
				return err
			}
		}
		chk, err := p.wait(ctx, prog, mc)
		if err != nil {
			return err
		}
		if err := p.copyResourceTemplate(ctx, prog, mc, identity); err != nil {
			return err
		}
		if err := p.r.update(ctx, func(c *state.RegionalCluster) { c.CredentialsPropagated = true }); err != nil {
			return err
		}
		return p.r.event(ctx, p.name, EventCredentialsPropagated, "Credential %s is ready; %s arrived in regional cluster %s with the management cluster's content",
			key, chk.Objects.String(), region)
	})
}

// wait waits until the Credential is ready and the copies are in place. It
// stops at once, saying why, when the regional cluster has no
// ProviderInterface for the identity's kind (k0rdent then never copies it)
// or when a copy differs that k0rdent will never update.
func (p *credentialsPhase) wait(ctx context.Context, prog phase.Progress, mc *kube.Clients) (*IdentityCheck, error) {
	key, region := p.credKey(), p.r.rc.Name
	var chk *IdentityCheck
	nudged := false
	check := func(ctx context.Context) (bool, string, error) {
		cred := &kcmv1.Credential{}
		if err := mc.Client.Get(ctx, key, cred); err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot read Credential: " + err.Error(), nil
		}
		rcl, err := p.r.regional(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot reach the regional cluster: " + err.Error(), nil
		}
		c, err := CheckIdentityCopies(ctx, mc.Client, rcl.Client, p.r.env.namespace(), cred)
		if err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot check the identity copies: " + err.Error(), nil
		}
		chk = c
		if c.ProviderInterface == "" {
			if ready, err := p.regionReady(ctx, mc.Client); err != nil || !ready {
				return false, fmt.Sprintf("Region %s is not Ready: its providers (and their ProviderInterfaces) may still be on their way", region), nil
			}
			if meta.FindStatusCondition(cred.Status.Conditions, kcmv1.CredentialReadyCondition) == nil {
				return false, fmt.Sprintf("waiting for k0rdent to reconcile Credential %s", key), nil
			}
			// k0rdent has reconciled it and skipped the copy: it never will.
			return false, "", phase.Permanent(p.noProviderInterface(cred, c))
		}
		if !cred.Status.Ready {
			return false, fmt.Sprintf("Credential %s is not ready: %s", key, credentialCondition(cred)), nil
		}
		if c.Done() {
			return true, fmt.Sprintf("Credential %s is ready and %s arrived", key, c.Objects.String()), nil
		}
		if u := c.Objects.unmanagedStale(); len(u) > 0 {
			return false, "", phase.Permanent(p.fail("identity copy k0rdent will not update",
				fmt.Errorf("%s in regional cluster %s differ from the management cluster's and lack the label %s=%s, so k0rdent never updates them", strings.Join(u, ", "), region, kcmv1.KCMManagedLabelKey, kcmv1.KCMManagedLabelValue),
				fixThen("delete them in the regional cluster (k0rdent then copies them again)", region)))
		}
		if c.Objects.stale() && !nudged {
			if err := RequestCredentialReconcile(ctx, mc.Client, key, p.r.env.now()); err != nil {
				return false, "cannot ask k0rdent to refresh the copies: " + err.Error(), nil
			}
			nudged = true
			return false, fmt.Sprintf("%s differ from the management cluster's: asked k0rdent to refresh them (Credential %s annotated)", strings.Join(c.Objects.staleNames(), ", "), key), nil
		}
		return false, "waiting for " + c.Objects.pendingString() + " in regional cluster " + region, nil
	}
	err := kube.WaitFor(ctx, fmt.Sprintf("the identity of Credential %s to reach region %s", key, region), p.r.env.regionTimeout(), p.r.env.interval(), check, func(s string) { prog.Printf("%s", s) })
	if err != nil {
		var wt *kube.WaitTimeoutError
		if errors.As(err, &wt) {
			return nil, p.fail("credential not propagated", err,
				fixThen(fmt.Sprintf("see Credential %s's conditions (kubectl -n %s get credential %s -o yaml) and the kcm controller's log", key, key.Namespace, key.Name), region))
		}
		return nil, err
	}
	return chk, nil
}

func (p *credentialsPhase) regionReady(ctx context.Context, c client.Client) (bool, error) {
	rg := &kcmv1.Region{}
	if err := c.Get(ctx, client.ObjectKey{Name: p.r.rc.Name}, rg); err != nil {
		return false, err
	}
	return ObserveRegion(rg).Done(), nil
}

// noProviderInterface is the error for a region whose cluster has no
// ProviderInterface describing the identity's kind.
func (p *credentialsPhase) noProviderInterface(cred *kcmv1.Credential, c *IdentityCheck) error {
	ref := cred.Spec.IdentityRef
	region := p.r.rc.Name
	have := "there are none"
	if len(c.ProviderInterfaces) > 0 {
		have = "it has: " + strings.Join(c.ProviderInterfaces, ", ")
	}
	sel := p.r.rc.Components.Providers()
	fix := fmt.Sprintf("add cluster-api-provider-azure to components.capi_providers of regional cluster %s", region)
	if sel.All {
		fix = "add cluster-api-provider-azure to the management cluster's providers (capi_providers: true gives a region every provider the management cluster runs)"
	}
	return p.fail(fmt.Sprintf("no ProviderInterface for %s in the regional cluster", ref.Kind),
		fmt.Errorf("k0rdent 1.5.0 copies a Credential's identity into a region only when a ProviderInterface there describes its kind (%s %s), and no ProviderInterface in regional cluster %s does (%s): Credential %s/%s stays not ready (%s)",
			ref.APIVersion, ref.Kind, region, have, cred.Namespace, cred.Name, credentialCondition(cred)),
		fixThen(fix, region))
}

func credentialCondition(cred *kcmv1.Credential) string {
	if cond := meta.FindStatusCondition(cred.Status.Conditions, kcmv1.CredentialReadyCondition); cond != nil && cond.Message != "" {
		return cond.Message
	}
	return "no condition reported yet"
}

// RequestCredentialReconcile makes k0rdent reconcile a Credential (it does so
// on any update of the object) by setting the AnnotationReconcile
// annotation, which refreshes the identity copies in its region.
func RequestCredentialReconcile(ctx context.Context, c client.Client, key client.ObjectKey, now time.Time) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, AnnotationReconcile, now.UTC().Format(time.RFC3339Nano))
	cred := &kcmv1.Credential{}
	cred.Namespace, cred.Name = key.Namespace, key.Name
	if err := c.Patch(ctx, cred, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("annotating Credential %s: %w", key, err)
	}
	return nil
}

func (p *credentialsPhase) Verify(ctx context.Context) (bool, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return false, "", err
	}
	key, region := p.credKey(), p.r.rc.Name
	identity, err := p.managementIdentity(ctx, mc.Client)
	if err != nil {
		if e := AsError(err); e != nil {
			return false, e.Message(), nil
		}
		return false, "", err
	}
	cred := &kcmv1.Credential{}
	if err := mc.Client.Get(ctx, key, cred); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("Credential %s does not exist", key), nil
		}
		return false, "", err
	}
	switch {
	case cred.Spec.Region != region:
		return false, fmt.Sprintf("Credential %s has spec.region %q", key, cred.Spec.Region), nil
	case !sameIdentity(cred.Spec.IdentityRef, identity):
		return false, fmt.Sprintf("Credential %s references another identity than the management Credential", key), nil
	case !cred.Status.Ready:
		return false, fmt.Sprintf("Credential %s is not ready: %s", key, credentialCondition(cred)), nil
	}
	rcl, err := p.r.regional(ctx)
	if err != nil {
		return false, "cannot reach the regional cluster: " + err.Error(), nil
	}
	chk, err := CheckIdentityCopies(ctx, mc.Client, rcl.Client, p.r.env.namespace(), cred)
	if err != nil {
		return false, "", err
	}
	if !chk.Done() {
		return false, chk.Summary(), nil
	}
	want, have, err := resourceTemplates(ctx, mc.Client, rcl.Client, identity, p.r.env.namespace())
	if err != nil {
		return false, "", err
	}
	if want != nil && (have == nil || !maps.Equal(have.Data, want.Data)) {
		return false, fmt.Sprintf("ConfigMap %s/%s is missing or old in regional cluster %s (k0rdent 1.5.0 does not copy it, kcm issue 2836)", p.r.env.namespace(), want.Name, region), nil
	}
	return true, "", nil
}

// resourceTemplates reads the identity's resource-template ConfigMap on
// the management cluster (nil: there is none) and in the regional
// cluster's namespace ns (nil: not there).
func resourceTemplates(ctx context.Context, mgmt, rc client.Client, identity *corev1.ObjectReference, ns string) (want, have *corev1.ConfigMap, err error) {
	name := identity.Name + "-resource-template"
	want = &corev1.ConfigMap{}
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: identity.Namespace, Name: name}, want); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("reading ConfigMap %s/%s: %w", identity.Namespace, name, err)
	}
	have = &corev1.ConfigMap{}
	if err := rc.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, have); err != nil {
		if apierrors.IsNotFound(err) {
			return want, nil, nil
		}
		return nil, nil, fmt.Errorf("reading ConfigMap %s/%s in the regional cluster: %w", ns, name, err)
	}
	return want, have, nil
}

// copyResourceTemplate puts the identity's resource-template ConfigMap
// (what gives Azure child clusters their cloud-provider configuration)
// into the regional cluster beside the identity's copies: k0rdent 1.5.0
// copies the identity and its Secret into a region but not this ConfigMap
// (kcm issue 2836), so a child cluster in the region would come up
// without its cloud provider configured.
func (p *credentialsPhase) copyResourceTemplate(ctx context.Context, prog phase.Progress, mc *kube.Clients, identity *corev1.ObjectReference) error {
	region, ns := p.r.rc.Name, p.r.env.namespace()
	rcl, err := p.r.regional(ctx)
	if err != nil {
		return err
	}
	want, have, err := resourceTemplates(ctx, mc.Client, rcl.Client, identity, ns)
	if err != nil {
		return err
	}
	if want == nil {
		prog.Printf("no ConfigMap %s/%s-resource-template on the management cluster: Azure child clusters get no cloud-provider configuration from it (k0rdentctl credentials setup makes it)", identity.Namespace, identity.Name)
		return nil
	}
	if have != nil && maps.Equal(have.Data, want.Data) {
		prog.Printf("ConfigMap %s/%s is in regional cluster %s", ns, want.Name, region)
		return nil
	}
	labels := maps.Clone(want.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, Labels(region, p.r.env.deploymentID()))
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: want.Name, Labels: labels, Annotations: maps.Clone(want.Annotations)},
		Data:       want.Data,
	}
	if err := kube.Apply(ctx, rcl.Client, cm); err != nil {
		return p.fail("resource template not copied", fmt.Errorf("copying ConfigMap %s/%s into regional cluster %s: %w", ns, want.Name, region, err),
			fixThen("check access to the regional cluster", region))
	}
	return p.r.event(ctx, p.name, EventResourceTemplateCopied, "copied ConfigMap %s/%s into regional cluster %s: k0rdent 1.5.0 does not (kcm issue 2836), and Azure child clusters there need it for their cloud provider",
		ns, want.Name, region)
}

// IdentityCheck is what a regional cluster holds of a Credential's
// ClusterIdentity, compared with the management cluster's originals.
type IdentityCheck struct {
	// ProviderInterface names the ProviderInterface in the regional cluster
	// that describes the identity's kind; "" when none does (k0rdent then
	// never copies the identity).
	ProviderInterface string
	// ProviderInterfaces are all the ProviderInterfaces of the regional
	// cluster.
	ProviderInterfaces []string
	// Objects are the identity and the objects it references (its Secret),
	// as they should be in the regional cluster. Empty when
	// ProviderInterface is "".
	Objects CopyChecks
}

// Done says whether every copy is there with the original's content.
func (c *IdentityCheck) Done() bool {
	if c.ProviderInterface == "" || len(c.Objects) == 0 {
		return false
	}
	for _, o := range c.Objects {
		if !o.Present || !o.Identical {
			return false
		}
	}
	return true
}

// Summary says in one line what is missing or stale.
func (c *IdentityCheck) Summary() string {
	if c.ProviderInterface == "" {
		return "no ProviderInterface in the regional cluster describes the identity's kind"
	}
	if c.Done() {
		return c.Objects.String() + " in place"
	}
	var parts []string
	for _, o := range c.Objects {
		switch {
		case !o.Present:
			parts = append(parts, o.Ref()+" missing")
		case !o.Identical:
			parts = append(parts, o.Ref()+" differs")
		}
	}
	return strings.Join(parts, ", ")
}

// CopyCheck is one copied object in a regional cluster.
type CopyCheck struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Present   bool   `json:"present"`
	// Identical: the copy's content (a Secret's data, an identity's spec with
	// its namespace references rewritten) equals the original's.
	Identical bool `json:"identical"`
	// Managed: the copy carries k0rdent.mirantis.com/managed=true, so k0rdent
	// updates it when the Credential is reconciled.
	Managed bool `json:"managed"`
}

// Ref names the object: "Secret kcm-system/azure-cluster-identity-secret".
func (c CopyCheck) Ref() string {
	if c.Namespace == "" {
		return c.Kind + " " + c.Name
	}
	return c.Kind + " " + c.Namespace + "/" + c.Name
}

// CopyChecks are the copies of one identity.
type CopyChecks []CopyCheck

func (cs CopyChecks) String() string {
	refs := make([]string, len(cs))
	for i, c := range cs {
		refs[i] = c.Ref()
	}
	return strings.Join(refs, " and ")
}

func (cs CopyChecks) stale() bool { return len(cs.staleNames()) > 0 }

func (cs CopyChecks) staleNames() []string {
	var out []string
	for _, c := range cs {
		if c.Present && !c.Identical {
			out = append(out, c.Ref())
		}
	}
	return out
}

func (cs CopyChecks) unmanagedStale() []string {
	var out []string
	for _, c := range cs {
		if c.Present && !c.Identical && !c.Managed {
			out = append(out, c.Ref())
		}
	}
	return out
}

func (cs CopyChecks) pendingString() string {
	var out []string
	for _, c := range cs {
		if !c.Present {
			out = append(out, c.Ref())
		}
	}
	if len(out) == 0 {
		return cs.String()
	}
	return strings.Join(out, " and ")
}

// CheckIdentityCopies compares, in a regional cluster, the copies of a
// Credential's ClusterIdentity and of the objects it references (as the
// ProviderInterface for its kind lists them, e.g. the client-secret Secret)
// with the originals in the management cluster's system namespace, the way
// k0rdent 1.5.0 copies them: a namespaced identity lands in the Credential's
// namespace with its namespace references rewritten to it.
func CheckIdentityCopies(ctx context.Context, mgmt, regional client.Client, systemNamespace string, cred *kcmv1.Credential) (*IdentityCheck, error) {
	ref := cred.Spec.IdentityRef
	if ref == nil {
		return nil, fmt.Errorf("Credential %s/%s has no spec.identityRef", cred.Namespace, cred.Name)
	}
	pis := &kcmv1.ProviderInterfaceList{}
	if err := regional.List(ctx, pis); err != nil {
		if meta.IsNoMatchError(err) {
			return &IdentityCheck{}, nil
		}
		return nil, fmt.Errorf("listing the ProviderInterfaces of the regional cluster: %w", err)
	}
	chk := &IdentityCheck{}
	var described *kcmv1.ClusterIdentity
	for i := range pis.Items {
		pi := &pis.Items[i]
		chk.ProviderInterfaces = append(chk.ProviderInterfaces, pi.Name)
		for j := range pi.Spec.ClusterIdentities {
			ci := &pi.Spec.ClusterIdentities[j]
			gv := schema.GroupVersion{Group: ci.Group, Version: ci.Version}
			if described == nil && gv.String() == ref.APIVersion && ci.Kind == ref.Kind {
				described, chk.ProviderInterface = ci, pi.Name
			}
		}
	}
	if described == nil {
		return chk, nil
	}

	src := &unstructured.Unstructured{}
	src.SetAPIVersion(ref.APIVersion)
	src.SetKind(ref.Kind)
	srcKey := client.ObjectKey{Name: ref.Name}
	if ref.Namespace != "" {
		srcKey.Namespace = systemNamespace // k0rdent reads the original from its system namespace
	}
	if err := mgmt.Get(ctx, srcKey, src); err != nil {
		return nil, fmt.Errorf("reading %s %s on the management cluster: %w", ref.Kind, srcKey, err)
	}
	want := src.DeepCopy()
	targetNS := ""
	if src.GetNamespace() != "" {
		targetNS = cred.Namespace
	}

	var refs []CopyCheck
	for _, r := range described.References {
		name, found, err := unstructured.NestedString(src.Object, strings.Split(r.NameFieldPath, ".")...)
		if err != nil || !found || name == "" {
			return nil, fmt.Errorf("%s %s has no %s (the object its ProviderInterface says it references)", ref.Kind, srcKey, r.NameFieldPath)
		}
		srcNS, dstNS := systemNamespace, systemNamespace
		if r.NamespaceFieldPath != "" {
			path := strings.Split(r.NamespaceFieldPath, ".")
			if ns, ok, _ := unstructured.NestedString(src.Object, path...); ok && ns != "" {
				srcNS = ns
			}
			dstNS = cred.Namespace
			if err := unstructured.SetNestedField(want.Object, cred.Namespace, path...); err != nil {
				return nil, fmt.Errorf("rewriting %s of %s %s: %w", r.NamespaceFieldPath, ref.Kind, srcKey, err)
			}
		}
		gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		orig := &unstructured.Unstructured{}
		orig.SetGroupVersionKind(gvk)
		if err := mgmt.Get(ctx, client.ObjectKey{Namespace: srcNS, Name: name}, orig); err != nil {
			return nil, fmt.Errorf("reading %s %s/%s (referenced by %s %s) on the management cluster: %w", r.Kind, srcNS, name, ref.Kind, srcKey, err)
		}
		cc, err := compareCopy(ctx, regional, gvk, client.ObjectKey{Namespace: dstNS, Name: name}, orig, contentOf)
		if err != nil {
			return nil, err
		}
		refs = append(refs, cc)
	}
	idc, err := compareCopy(ctx, regional, src.GroupVersionKind(), client.ObjectKey{Namespace: targetNS, Name: src.GetName()}, want, specOf)
	if err != nil {
		return nil, err
	}
	chk.Objects = append(CopyChecks{idc}, refs...)
	return chk, nil
}

// contentOf is what must match for a referenced object: a Secret's or
// ConfigMap's data, else its spec.
func contentOf(u *unstructured.Unstructured) any {
	if d, ok := u.Object["data"]; ok {
		return d
	}
	return u.Object["spec"]
}

func specOf(u *unstructured.Unstructured) any { return u.Object["spec"] }

func compareCopy(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, key client.ObjectKey, want *unstructured.Unstructured, content func(*unstructured.Unstructured) any) (CopyCheck, error) {
	cc := CopyCheck{Kind: gvk.Kind, Namespace: key.Namespace, Name: key.Name}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(gvk)
	err := c.Get(ctx, key, got)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return cc, nil
	case err != nil:
		return cc, fmt.Errorf("reading %s in the regional cluster: %w", cc.Ref(), err)
	}
	cc.Present = true
	cc.Managed = got.GetLabels()[kcmv1.KCMManagedLabelKey] == kcmv1.KCMManagedLabelValue
	cc.Identical = reflect.DeepEqual(content(got), content(want))
	return cc, nil
}
