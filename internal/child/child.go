// Package child makes, lists and deletes k0rdent child clusters on Azure:
// ClusterDeployments from k0rdent's Azure standalone ClusterTemplates, on
// the management cluster or placed in a k0rdent Region through the region's
// Credential. Values are checked against the template's values schema before
// anything is created.
package child

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
)

// Spec is one child cluster, from child_clusters or from flags.
type Spec struct {
	Name         string
	Namespace    string
	Location     string
	Template     string // empty: the newest valid Azure standalone template
	Credential   string
	Region       string // a regional cluster's name; empty: the management cluster
	ControlPlane config.NodePool
	Workers      config.NodePool
	Labels       map[string]string
	Values       map[string]any
}

// SpecFrom is the Spec of a configured child (defaults applied by
// config.Load: namespace, location, credential, node pools).
func SpecFrom(cc config.ChildCluster) Spec {
	return Spec{Name: cc.Name, Namespace: cc.Namespace, Location: cc.Location, Template: cc.Template, Credential: cc.Credential,
		Region: cc.Region, ControlPlane: cc.ControlPlane, Workers: cc.Workers, Values: cc.Values}
}

// Values are the ClusterDeployment's spec.config: location, subscription,
// node counts and sizes, with the spec's own values merged over them.
func (s Spec) values(subscriptionID string) map[string]any {
	v := map[string]any{
		"location":           s.Location,
		"subscriptionID":     subscriptionID,
		"controlPlaneNumber": s.ControlPlane.Count,
		"workersNumber":      s.Workers.Count,
		"controlPlane":       map[string]any{"vmSize": s.ControlPlane.VMSize},
		"worker":             map[string]any{"vmSize": s.Workers.VMSize},
	}
	for k, val := range s.Values {
		if sub, ok := val.(map[string]any); ok {
			if cur, ok := v[k].(map[string]any); ok {
				merged := maps.Clone(cur)
				maps.Copy(merged, sub)
				v[k] = merged
				continue
			}
		}
		v[k] = val
	}
	return v
}

// InvalidError is a child that cannot be made as asked (exit code 2):
// values against the template's schema, a missing Credential or template.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Usage says the error is the user's input to fix.
func (e *InvalidError) Usage() bool { return true }

// Create makes the ClusterDeployment of a child and waits until it is ready.
type Create struct {
	Client         client.Client
	Spec           Spec
	SubscriptionID string
	DeploymentID   string
	Timeout        time.Duration
	Progress       func(string)
	// CopyRegionKubeconfig: k0rdent is older than 1.6.0, which does not
	// copy a ClusterDeployment-backed region's kubeconfig Secret into the
	// namespace of a child placed in the region (kcm issue 2152); Run
	// copies it.
	CopyRegionKubeconfig bool
}

// Plan checks everything before anything is created and returns the
// ClusterDeployment that Run would apply: the Credential exists, the
// template is chosen and valid, the values match its schema.
func (c *Create) Plan(ctx context.Context) (*kcmv1.ClusterDeployment, error) {
	s := c.Spec
	cred := &kcmv1.Credential{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Credential}, cred); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &InvalidError{fmt.Errorf("Credential %s/%s does not exist; %s", s.Namespace, s.Credential, credentialHint(s))}
		}
		return nil, fmt.Errorf("reading Credential %s/%s: %w", s.Namespace, s.Credential, err)
	}
	if cred.Spec.Region != s.Region {
		return nil, &InvalidError{fmt.Errorf("Credential %s/%s is for region %q, not %q: the Credential decides where the cluster goes; choose the region's Credential or leave --credential out", s.Namespace, s.Credential, cred.Spec.Region, s.Region)}
	}
	tmpl, err := regional.ChooseTemplate(ctx, c.Client, s.Namespace, s.Template)
	if err != nil {
		return nil, &InvalidError{err}
	}
	values := s.values(c.SubscriptionID)
	if _, err := regional.ValidateTemplateValues(ctx, c.Client, tmpl, values); err != nil {
		var ve *regional.ValuesError
		if errors.As(err, &ve) {
			return nil, &InvalidError{err}
		}
		return nil, err
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encoding the values of %s: %w", s.Name, err)
	}
	labels := map[string]string{regional.LabelManagedBy: regional.ManagedByValue}
	if c.DeploymentID != "" {
		labels[regional.LabelDeployment] = c.DeploymentID
	}
	maps.Copy(labels, s.Labels)
	return &kcmv1.ClusterDeployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: kcmv1.GroupVersion.String(), Kind: "ClusterDeployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: labels},
		Spec:       kcmv1.ClusterDeploymentSpec{Template: tmpl.Name, Credential: s.Credential, Config: &apiextv1.JSON{Raw: raw}},
	}, nil
}

func credentialHint(s Spec) string {
	if s.Region != "" {
		return "deploy the region first (k0rdentctl region deploy " + s.Region + "), which makes its Credential"
	}
	return "make it with k0rdentctl credentials setup"
}

// Run plans, applies the ClusterDeployment (refusing one of the same name
// that k0rdentctl did not make), and waits until it is Ready.
func (c *Create) Run(ctx context.Context) (*kcmv1.ClusterDeployment, error) {
	cd, err := c.Plan(ctx)
	if err != nil {
		return nil, err
	}
	cur := &kcmv1.ClusterDeployment{}
	switch err := c.Client.Get(ctx, client.ObjectKeyFromObject(cd), cur); {
	case err == nil && !regional.CreatedByUs(cur.Labels):
		return nil, &InvalidError{fmt.Errorf("ClusterDeployment %s/%s exists and was not made by k0rdentctl; it was left as it is (choose another name)", cd.Namespace, cd.Name)}
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading ClusterDeployment %s/%s: %w", cd.Namespace, cd.Name, err)
	}
	progress := c.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if c.CopyRegionKubeconfig && c.Spec.Region != "" {
		if err := c.copyRegionKubeconfig(ctx, progress); err != nil {
			return nil, err
		}
	}
	if err := kube.Apply(ctx, c.Client, cd); err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("applied ClusterDeployment %s/%s from template %s", cd.Namespace, cd.Name, cd.Spec.Template))
	key := client.ObjectKeyFromObject(cd)
	err = kube.WaitFor(ctx, "ClusterDeployment "+key.String()+" to be Ready", c.Timeout, 0, func(ctx context.Context) (bool, string, error) {
		if err := c.Client.Get(ctx, key, cur); err != nil {
			return false, "", err
		}
		ready, msg := readiness(cur)
		return ready, msg, nil
	}, progress)
	return cur, err
}

// readiness words a ClusterDeployment's Ready condition.
func readiness(cd *kcmv1.ClusterDeployment) (bool, string) {
	cond := meta.FindStatusCondition(cd.Status.Conditions, kcmv1.ReadyCondition)
	switch {
	case cond == nil:
		return false, "not reconciled by k0rdent yet"
	case cond.Status == metav1.ConditionTrue:
		return true, "ready"
	default:
		return false, cond.Reason + ": " + cond.Message
	}
}

// Row is one ClusterDeployment as `child list` shows it.
type Row struct {
	Namespace  string    `json:"namespace"`
	Name       string    `json:"name"`
	Template   string    `json:"template"`
	Credential string    `json:"credential"`
	Region     string    `json:"region"`
	Ready      bool      `json:"ready"`
	Message    string    `json:"message"`
	Created    time.Time `json:"created"`
	// Ours says k0rdentctl made it.
	Ours bool `json:"made_by_k0rdentctl"`
}

// List returns every ClusterDeployment on the management cluster, with the
// region its Credential places it in.
func List(ctx context.Context, c client.Client) ([]Row, error) {
	cds := &kcmv1.ClusterDeploymentList{}
	if err := c.List(ctx, cds); err != nil {
		return nil, fmt.Errorf("listing ClusterDeployments: %w", err)
	}
	creds := &kcmv1.CredentialList{}
	if err := c.List(ctx, creds); err != nil {
		return nil, fmt.Errorf("listing Credentials: %w", err)
	}
	region := map[string]string{}
	for _, cr := range creds.Items {
		region[cr.Namespace+"/"+cr.Name] = cr.Spec.Region
	}
	rows := []Row{}
	for i := range cds.Items {
		cd := &cds.Items[i]
		ready, msg := readiness(cd)
		rows = append(rows, Row{Namespace: cd.Namespace, Name: cd.Name, Template: cd.Spec.Template, Credential: cd.Spec.Credential,
			Region: region[cd.Namespace+"/"+cd.Spec.Credential], Ready: ready, Message: msg, Created: cd.CreationTimestamp.UTC(),
			Ours: regional.CreatedByUs(cd.Labels)})
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Namespace+"/"+rows[i].Name < rows[j].Namespace+"/"+rows[j].Name
	})
	return rows, nil
}

// Delete deletes a ClusterDeployment and waits until it is gone (k0rdent
// removes its finalizer once the cluster and its Azure resources are).
type Delete struct {
	Client   client.Client
	Key      client.ObjectKey
	Timeout  time.Duration
	Progress func(string)
}

// Run deletes and waits.
func (d *Delete) Run(ctx context.Context) error {
	cd := &kcmv1.ClusterDeployment{}
	if err := d.Client.Get(ctx, d.Key, cd); err != nil {
		if apierrors.IsNotFound(err) {
			return &InvalidError{fmt.Errorf("there is no ClusterDeployment %s (k0rdentctl child list shows them)", d.Key)}
		}
		return fmt.Errorf("reading ClusterDeployment %s: %w", d.Key, err)
	}
	if err := d.Client.Delete(ctx, cd); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting ClusterDeployment %s: %w", d.Key, err)
	}
	return kube.WaitFor(ctx, "ClusterDeployment "+d.Key.String()+" to be gone", d.Timeout, 0, func(ctx context.Context) (bool, string, error) {
		err := d.Client.Get(ctx, d.Key, &kcmv1.ClusterDeployment{})
		if apierrors.IsNotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, "deleting (k0rdent removes the cluster and its Azure resources first)", nil
	}, d.Progress)
}

// Kubeconfig reads a child's kubeconfig from its "<name>-kubeconfig" Secret.
func Kubeconfig(ctx context.Context, c client.Client, key client.ObjectKey) ([]byte, error) {
	return regional.ReadKubeconfig(ctx, c, regional.KubeconfigRef{Namespace: key.Namespace, Name: key.Name + "-kubeconfig", Key: config.KubeconfigSecretDataKey})
}

// Lines says what a Plan's ClusterDeployment is, for output.
func Lines(cd *kcmv1.ClusterDeployment) string {
	return strings.Join([]string{"ClusterDeployment " + cd.Namespace + "/" + cd.Name, "template " + cd.Spec.Template, "credential " + cd.Spec.Credential}, ", ")
}

// AnnotationCopiedFrom names the Secret a copy k0rdentctl made came from.
const AnnotationCopiedFrom = "k0rdentctl.io/copied-from"

// copyRegionKubeconfig copies the kubeconfig Secret of the region's
// ClusterDeployment into the child's namespace when the two differ: k0rdent
// 1.5 looks for it there and leaves the child stuck with "could not get
// KubeConfig secret" otherwise (kcm issue 2152, fixed in 1.6.0). A Secret
// of that name that k0rdentctl did not make is left alone.
func (c *Create) copyRegionKubeconfig(ctx context.Context, progress func(string)) error {
	s := c.Spec
	rg := &kcmv1.Region{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: s.Region}, rg); err != nil {
		if apierrors.IsNotFound(err) {
			return &InvalidError{fmt.Errorf("Region %s does not exist; %s", s.Region, credentialHint(s))}
		}
		return fmt.Errorf("reading Region %s: %w", s.Region, err)
	}
	ref := rg.Spec.ClusterDeployment
	if ref == nil || ref.Namespace == s.Namespace {
		return nil
	}
	src := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name + "-kubeconfig"}
	orig := &corev1.Secret{}
	if err := c.Client.Get(ctx, src, orig); err != nil {
		return fmt.Errorf("reading Secret %s, the kubeconfig of region %s, to copy it into namespace %s (kcm issue 2152): %w", src, s.Region, s.Namespace, err)
	}
	dst := client.ObjectKey{Namespace: s.Namespace, Name: src.Name}
	cur := &corev1.Secret{}
	switch err := c.Client.Get(ctx, dst, cur); {
	case err == nil && !regional.CreatedByUs(cur.Labels):
		progress(fmt.Sprintf("Secret %s exists and was not made by k0rdentctl: left as it is; k0rdent 1.5 uses it as region %s's kubeconfig", dst, s.Region))
		return nil
	case err == nil && maps.EqualFunc(cur.Data, orig.Data, func(a, b []byte) bool { return string(a) == string(b) }):
		return nil
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("reading Secret %s: %w", dst, err)
	}
	labels := map[string]string{regional.LabelManagedBy: regional.ManagedByValue}
	if c.DeploymentID != "" {
		labels[regional.LabelDeployment] = c.DeploymentID
	}
	cp := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: dst.Namespace, Name: dst.Name, Labels: labels, Annotations: map[string]string{AnnotationCopiedFrom: src.String()}},
		Type:       orig.Type,
		Data:       orig.Data,
	}
	if err := kube.Apply(ctx, c.Client, cp); err != nil {
		return fmt.Errorf("copying Secret %s into namespace %s: %w", src, s.Namespace, err)
	}
	progress(fmt.Sprintf("copied Secret %s (region %s's kubeconfig) into namespace %s: k0rdent 1.5 looks for it there and does not copy it (kcm issue 2152, fixed in 1.6.0)", src, s.Region, s.Namespace))
	return nil
}
