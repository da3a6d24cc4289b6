package standin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// defaultProviders are the providers of the stand-in's Releases, as in
// k0rdent 1.5.0's Release (a subset: the ones k0rdentctl cares about).
func defaultProviders() []kcmv1.NamedProviderTemplate {
	return []kcmv1.NamedProviderTemplate{
		{Name: "cluster-api-provider-k0sproject-k0smotron", CoreProviderTemplate: kcmv1.CoreProviderTemplate{Template: "cluster-api-provider-k0sproject-k0smotron-1-0-11"}},
		{Name: "cluster-api-provider-azure", CoreProviderTemplate: kcmv1.CoreProviderTemplate{Template: "cluster-api-provider-azure-1-0-9"}},
		{Name: "projectsveltos", CoreProviderTemplate: kcmv1.CoreProviderTemplate{Template: "projectsveltos-1-1-1"}},
	}
}

// KCM stands in for the kcm controller manager's handling of the Management
// kcm and of its own Release, and does nothing else:
//
//   - It acts only while the kcm controller would be running: when the
//     Deployment kcm-controller-manager exists in Namespace (unless
//     IgnoreDeployment) and the Management kind is served.
//   - At start-up the kcm controller creates the Release of its own version
//     (name kcm-1-5-0 for 1.5.0, spec.version 1.5.0) through its kcm-templates
//     chart; the stand-in creates that Release (Ready) for Version.
//   - At start-up too, with CreateManagement (the chart's
//     controller.createManagement, default true), it creates the Management
//     kcm when it does not exist, as the controller does: finalizer
//     k0rdent.mirantis.com/management, spec.release = its Release,
//     spec.core.kcm.config = the values of the Helm release kcm,
//     spec.providers from the Release. Start-up happens once per version
//     (SetVersion is a restart): a Management deleted later is not created
//     again.
//   - It reconciles the Management: adds the finalizer; when the Release
//     named by spec.release does not exist it leaves the status untouched
//     (the controller fails that reconcile); otherwise it sets
//     status.observedGeneration, status.release = spec.release,
//     status.components (kcm, capi and each provider of the Release, healthy
//     unless SetComponent says otherwise) and the Ready condition exactly as
//     the controller's setReadyCondition does.
//   - When the Management is deleted it removes the finalizer (the
//     controller first removes the components it installed).
//
// It never touches Regions, Credentials or ClusterDeployments.
type KCM struct {
	Kube *kube.Clients
	// Namespace is k0rdent's system namespace (kcm-system when empty).
	Namespace string
	// CreateManagement mirrors controller.createManagement.
	CreateManagement bool
	// IgnoreDeployment acts without the kcm-controller-manager Deployment
	// (for tests that install the CRDs without the chart).
	IgnoreDeployment bool

	mu         sync.Mutex
	version    string
	components map[string]kcmv1.ComponentStatus
	kick       func()
	// started is set once the controller of the current version has done
	// its start-up work (the Management is created only then, once).
	started bool
}

// NewKCM returns a stand-in for a kcm controller of the given version that
// creates the Management.
func NewKCM(kc *kube.Clients, version string) *KCM {
	return &KCM{Kube: kc, version: version, CreateManagement: true, components: map[string]kcmv1.ComponentStatus{}}
}

// Name implements Reconciler.
func (k *KCM) Name() string { return "kcm" }

// SetKick implements Kickable.
func (k *KCM) SetKick(f func()) {
	k.mu.Lock()
	k.kick = f
	k.mu.Unlock()
}

func (k *KCM) changed() {
	k.mu.Lock()
	f := k.kick
	k.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetVersion replaces the controller's version, as an upgrade of the chart
// starts a controller of the new version; its Release is created on the next
// pass.
func (k *KCM) SetVersion(v string) {
	k.mu.Lock()
	k.version = v
	k.started = false
	k.mu.Unlock()
	k.changed()
}

// Version is the controller's version.
func (k *KCM) Version() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.version
}

// SetComponent sets what the controller reports for one component of the
// Management (for example {Success: false, Error: "..."} while installing).
// Components not set are reported healthy.
func (k *KCM) SetComponent(name string, st kcmv1.ComponentStatus) {
	k.mu.Lock()
	k.components[name] = st
	k.mu.Unlock()
	k.changed()
}

// ClearComponent goes back to reporting the component healthy.
func (k *KCM) ClearComponent(name string) {
	k.mu.Lock()
	delete(k.components, name)
	k.mu.Unlock()
	k.changed()
}

func (k *KCM) namespace() string {
	if k.Namespace == "" {
		return "kcm-system"
	}
	return k.Namespace
}

// ReleaseName is kcm's name for the Release of a version (kcm's
// ReleaseNameFromVersion, written out again here so that the code under test
// is checked against it rather than against itself).
func ReleaseName(version string) string {
	v := strings.TrimPrefix(version, "v")
	v = strings.ReplaceAll(strings.ReplaceAll(v, ".", "-"), "+", "-")
	return "kcm-" + strings.ToLower(v)
}

// Reconcile implements Reconciler.
func (k *KCM) Reconcile(ctx context.Context) error {
	c := k.Kube.Client
	if !k.IgnoreDeployment {
		err := c.Get(ctx, client.ObjectKey{Namespace: k.namespace(), Name: "kcm-controller-manager"}, &appsv1.Deployment{})
		if apierrors.IsNotFound(err) {
			return nil // no controller
		}
		if err != nil {
			return err
		}
	}
	mgmt := &kcmv1.Management{}
	err := c.Get(ctx, client.ObjectKey{Name: kcmv1.ManagementName}, mgmt)
	switch {
	case meta.IsNoMatchError(err):
		return nil // CRDs not installed (yet)
	case apierrors.IsNotFound(err):
		mgmt = nil
	case err != nil:
		return err
	}
	// Deleting: the controller removes the components, then the finalizer.
	if mgmt != nil && !mgmt.DeletionTimestamp.IsZero() {
		if controllerutil.RemoveFinalizer(mgmt, kcmv1.ManagementFinalizer) {
			return client.IgnoreNotFound(c.Update(ctx, mgmt))
		}
		return nil
	}

	// Start-up: the Release of this version, and the Management when it is
	// missing. The controller does this once when it starts, so a
	// Management deleted later is not created again (until the next start).
	k.mu.Lock()
	started := k.started
	k.mu.Unlock()
	if !started {
		rel, err := k.ensureRelease(ctx)
		if err != nil {
			return err
		}
		if mgmt == nil && k.CreateManagement {
			if err := k.createManagement(ctx, rel); err != nil {
				return err
			}
		}
		k.mu.Lock()
		k.started = true
		k.mu.Unlock()
		return nil
	}
	if mgmt == nil {
		return nil
	}
	return k.reconcileManagement(ctx, mgmt)
}

// ensureRelease creates the Release of the controller's version.
func (k *KCM) ensureRelease(ctx context.Context) (*kcmv1.Release, error) {
	c := k.Kube.Client
	version := k.Version()
	name := ReleaseName(version)
	rel := &kcmv1.Release{}
	err := c.Get(ctx, client.ObjectKey{Name: name}, rel)
	if err == nil {
		return rel, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	rel = &kcmv1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"helm.sh/resource-policy": "keep"},
		},
		Spec: kcmv1.ReleaseSpec{
			Version:   version,
			KCM:       kcmv1.CoreProviderTemplate{Template: name},
			Regional:  kcmv1.CoreProviderTemplate{Template: "kcm-regional-1-0-5"},
			CAPI:      kcmv1.CoreProviderTemplate{Template: "cluster-api-1-0-7"},
			Providers: defaultProviders(),
		},
	}
	if err := c.Create(ctx, rel); err != nil {
		return nil, fmt.Errorf("creating Release %s: %w", name, err)
	}
	rel.Status.Ready = true
	rel.Status.ObservedGeneration = rel.Generation
	meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: kcmv1.TemplatesCreatedCondition, Status: metav1.ConditionTrue, Reason: kcmv1.SucceededReason, Message: "All templates have been created", ObservedGeneration: rel.Generation})
	meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: kcmv1.TemplatesValidCondition, Status: metav1.ConditionTrue, Reason: kcmv1.SucceededReason, Message: "All templates are valid", ObservedGeneration: rel.Generation})
	if err := c.Status().Update(ctx, rel); err != nil {
		return nil, fmt.Errorf("setting the status of Release %s: %w", name, err)
	}
	return rel, nil
}

// createManagement creates the Management as the kcm controller does at
// start-up.
func (k *KCM) createManagement(ctx context.Context, rel *kcmv1.Release) error {
	values, err := k.helmValues()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return err
	}
	mgmt := &kcmv1.Management{
		ObjectMeta: metav1.ObjectMeta{Name: kcmv1.ManagementName, Finalizers: []string{kcmv1.ManagementFinalizer}},
		Spec: kcmv1.ManagementSpec{
			Release: rel.Name,
			ComponentsCommonSpec: kcmv1.ComponentsCommonSpec{
				Core:      &kcmv1.Core{KCM: kcmv1.Component{Config: &apiextv1.JSON{Raw: raw}}},
				Providers: rel.Providers(),
			},
		},
	}
	if err := k.Kube.Client.Create(ctx, mgmt); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Management kcm: %w", err)
	}
	return nil
}

// helmValues reads the values of the Helm release kcm, as the controller
// does for spec.core.kcm.config.
func (k *KCM) helmValues() (map[string]any, error) {
	cfg := new(action.Configuration)
	if err := cfg.Init(k.Kube.RESTClientGetter(k.namespace()), k.namespace(), "secret", func(string, ...any) {}); err != nil {
		return nil, err
	}
	rel, err := cfg.Releases.Last("kcm")
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	maps.Copy(out, rel.Config)
	return out, nil
}

func (k *KCM) reconcileManagement(ctx context.Context, mgmt *kcmv1.Management) error {
	c := k.Kube.Client
	if controllerutil.AddFinalizer(mgmt, kcmv1.ManagementFinalizer) {
		return c.Update(ctx, mgmt)
	}
	rel := &kcmv1.Release{}
	if err := c.Get(ctx, client.ObjectKey{Name: mgmt.Spec.Release}, rel); err != nil {
		// The controller returns the error and leaves the status as it was.
		return client.IgnoreNotFound(err)
	}

	k.mu.Lock()
	overrides := maps.Clone(k.components)
	k.mu.Unlock()
	components := map[string]kcmv1.ComponentStatus{
		kcmv1.CoreKCMName:  {Template: rel.Spec.KCM.Template, Success: true},
		kcmv1.CoreCAPIName: {Template: rel.Spec.CAPI.Template, Success: true},
	}
	for _, p := range rel.Spec.Providers {
		components[p.Name] = kcmv1.ComponentStatus{Template: p.Template, Success: true}
	}
	for name, st := range overrides {
		if st.Template == "" {
			st.Template = components[name].Template
		}
		components[name] = st
	}

	before := mgmt.Status.DeepCopy()
	mgmt.Status.ObservedGeneration = mgmt.Generation
	mgmt.Status.Release = mgmt.Spec.Release
	mgmt.Status.Components = components
	setReadyCondition(mgmt)
	if equality.Semantic.DeepEqual(before, &mgmt.Status) {
		return nil
	}
	return c.Status().Update(ctx, mgmt)
}

// setReadyCondition is the kcm controller's rule (management_controller.go).
func setReadyCondition(m *kcmv1.Management) {
	var failing []string
	for name, comp := range m.Status.Components {
		if !comp.Success {
			failing = append(failing, name)
		}
	}
	cond := metav1.Condition{
		Type:               kcmv1.ReadyCondition,
		ObservedGeneration: m.Generation,
		Status:             metav1.ConditionTrue,
		Reason:             kcmv1.AllComponentsHealthyReason,
		Message:            "All components are successfully installed",
	}
	sort.Strings(failing)
	if len(failing) > 0 {
		cond.Status = metav1.ConditionFalse
		cond.Reason = kcmv1.NotAllComponentsHealthyReason
		cond.Message = fmt.Sprintf("Components not ready: %v", failing)
	}
	meta.SetStatusCondition(&m.Status.Conditions, cond)
}
