// Package credentials makes and checks the management cluster's Azure
// Credential for k0rdent: the Secret holding a service principal's client
// secret, the AzureClusterIdentity that references it, the k0rdent Credential
// that references the identity, and the resource-template ConfigMap through
// which k0rdent gives Azure child clusters their cloud-provider
// configuration.
//
// The service principal is the user's (client_id with client_secret_file or
// AZURE_CLIENT_SECRET), or one Entra creates, rotates and deletes
// (principal.go).
// The client secret goes only into the Secret: never into the record, events
// or output.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// What k0rdent and CAPZ expect of the objects.
const (
	IdentityAPIVersion = "infrastructure.cluster.x-k8s.io/v1beta1"
	IdentityKind       = "AzureClusterIdentity"
	// SecretKey is the data key of the client secret in the Secret.
	SecretKey = "clientSecret"
	// labelComponent marks objects k0rdent's controllers treat as its own.
	labelComponent = "k0rdent.mirantis.com/component"
	// labelMove keeps the identity with its cluster in a clusterctl move.
	labelMove = "clusterctl.cluster.x-k8s.io/move-hierarchy"
	// annotationTemplate makes Sveltos render the ConfigMap as a template.
	annotationTemplate = "projectsveltos.io/template"
	// labelManagedBy says k0rdentctl made the object.
	labelManagedBy = "app.kubernetes.io/managed-by"
)

// Environment variables read for the principal when the configuration does
// not give a value.
const (
	EnvClientID       = "AZURE_CLIENT_ID"
	EnvClientSecret   = "AZURE_CLIENT_SECRET"
	EnvTenantID       = "AZURE_TENANT_ID"
	EnvSubscriptionID = "AZURE_SUBSCRIPTION_ID"
)

// Names are the objects of the Credential, in Namespace.
type Names struct {
	Namespace  string `json:"namespace"`
	Credential string `json:"credential"`
	Identity   string `json:"identity"`
	Secret     string `json:"secret"`
}

// ResourceTemplate is the name of the ConfigMap k0rdent looks up for an
// identity: <identity>-resource-template.
func (n Names) ResourceTemplate() string { return n.Identity + "-resource-template" }

// NamesFrom reads the names from software.k0rdent.credential (defaults
// applied by config.Load).
func NamesFrom(cfg *config.Config) Names {
	c := cfg.Software.K0rdent.Credential
	ns := c.Namespace
	if ns == "" {
		ns = cfg.Software.K0rdent.Namespace
	}
	if ns == "" {
		ns = config.DefaultNamespace
	}
	return Names{Namespace: ns, Credential: c.Name, Identity: c.IdentityName, Secret: c.SecretName}
}

// Principal is the Azure service principal k0rdent's clusters are made with.
type Principal struct {
	ClientID       string `json:"client_id"`
	TenantID       string `json:"tenant_id"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	// secret is never printed or serialised.
	secret []byte
}

// MissingError lists what a principal lacks, each with where to set it.
type MissingError struct{ Missing []string }

func (e *MissingError) Error() string {
	return "the Azure service principal is incomplete: " + strings.Join(e.Missing, "; ") +
		". Or let k0rdentctl create one with Contributor on the subscription: k0rdentctl credentials setup --create-principal " +
		"(or create_principal: true in software.k0rdent.credential, for deploy)"
}

// Usage says the error is the user's input to fix (exit code 2).
func (e *MissingError) Usage() bool { return true }

// PrincipalFrom reads the principal from the configuration, then the
// environment (getenv): client ID, client secret (client_secret_file,
// relative to baseDir, or AZURE_CLIENT_SECRET), tenant and subscription. It
// returns a *MissingError naming everything that is missing at once.
func PrincipalFrom(cfg *config.Config, baseDir string, getenv func(string) string) (Principal, error) {
	c := cfg.Software.K0rdent.Credential
	p := Principal{
		ClientID:       first(c.ClientID, getenv(EnvClientID)),
		TenantID:       first(cfg.Azure.TenantID, getenv(EnvTenantID)),
		SubscriptionID: first(cfg.Azure.SubscriptionID, getenv(EnvSubscriptionID)),
	}
	var missing []string
	if p.ClientID == "" {
		missing = append(missing, "no client ID (set software.k0rdent.credential.client_id or "+EnvClientID+")")
	}
	if p.TenantID == "" {
		missing = append(missing, "no tenant ID (set azure.tenant_id or "+EnvTenantID+")")
	}
	switch {
	case c.ClientSecretFile != "":
		path := config.ResolvePath(c.ClientSecretFile, baseDir)
		b, err := os.ReadFile(path)
		if err != nil {
			return Principal{}, fmt.Errorf("reading software.k0rdent.credential.client_secret_file %s: %w", path, err)
		}
		p.secret = []byte(strings.TrimSpace(string(b)))
		if len(p.secret) == 0 {
			missing = append(missing, "software.k0rdent.credential.client_secret_file "+path+" is empty")
		}
	case getenv(EnvClientSecret) != "":
		p.secret = []byte(getenv(EnvClientSecret))
	default:
		missing = append(missing, "no client secret (set software.k0rdent.credential.client_secret_file or "+EnvClientSecret+")")
	}
	if len(missing) > 0 {
		return Principal{}, &MissingError{Missing: missing}
	}
	return p, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Objects are the four objects of a Credential, as Setup applies them.
func Objects(n Names, p Principal, deploymentID string) []client.Object {
	labels := func(extra map[string]string) map[string]string {
		l := map[string]string{labelComponent: "kcm", labelManagedBy: "k0rdentctl"}
		if deploymentID != "" {
			l["k0rdentctl.io/deployment"] = deploymentID
		}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.Secret, Labels: labels(nil)},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{SecretKey: p.secret},
	}
	identity := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": IdentityAPIVersion,
		"kind":       IdentityKind,
		"metadata":   map[string]any{"namespace": n.Namespace, "name": n.Identity},
		"spec": map[string]any{
			"type":         "ServicePrincipal",
			"clientID":     p.ClientID,
			"tenantID":     p.TenantID,
			"clientSecret": map[string]any{"name": n.Secret, "namespace": n.Namespace},
			// An empty selector: clusters in every namespace may use it.
			"allowedNamespaces": map[string]any{},
		},
	}}
	identity.SetLabels(labels(map[string]string{labelMove: "true"}))
	cred := &kcmv1.Credential{
		TypeMeta:   metav1.TypeMeta{APIVersion: kcmv1.GroupVersion.String(), Kind: "Credential"},
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.Credential, Labels: labels(nil)},
		Spec: kcmv1.CredentialSpec{
			Description: "Azure service principal " + p.ClientID + " (made by k0rdentctl credentials setup)",
			IdentityRef: &corev1.ObjectReference{APIVersion: IdentityAPIVersion, Kind: IdentityKind, Namespace: n.Namespace, Name: n.Identity},
		},
	}
	tmpl := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.ResourceTemplate(), Labels: labels(nil),
			Annotations: map[string]string{annotationTemplate: "true"}},
		Data: map[string]string{"configmap.yaml": CloudProviderTemplate()},
	}
	return []client.Object{secret, identity, cred, tmpl}
}

// Setup applies the Secret, the AzureClusterIdentity, the Credential and the
// resource-template ConfigMap (server-side apply: running it again changes
// nothing), then waits until k0rdent says the Credential is ready.
type Setup struct {
	Client       client.Client
	Names        Names
	Principal    Principal
	DeploymentID string
	Timeout      time.Duration
	Progress     func(string)
}

// Run does the setup and returns the Credential's state.
func (s *Setup) Run(ctx context.Context) (*Report, error) {
	progress := s.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if err := s.Client.Get(ctx, client.ObjectKey{Name: s.Names.Namespace}, &corev1.Namespace{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("namespace %s does not exist on the management cluster: install k0rdent first (k0rdentctl deploy, or k0rdentctl k0rdent install)", s.Names.Namespace)
		}
		return nil, fmt.Errorf("reading namespace %s: %w", s.Names.Namespace, err)
	}
	for _, obj := range Objects(s.Names, s.Principal, s.DeploymentID) {
		if err := kube.Apply(ctx, s.Client, obj); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%w: the management cluster lacks the CRD; is k0rdent 1.5 (with the Azure provider) installed?", err)
			}
			return nil, err
		}
		progress(fmt.Sprintf("applied %s %s/%s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName()))
	}
	key := client.ObjectKey{Namespace: s.Names.Namespace, Name: s.Names.Credential}
	err := kube.WaitFor(ctx, "Credential "+key.String()+" to be ready", s.Timeout, 0, func(ctx context.Context) (bool, string, error) {
		cred := &kcmv1.Credential{}
		if err := s.Client.Get(ctx, key, cred); err != nil {
			return false, "", err
		}
		return cred.Status.Ready, credentialState(cred), nil
	}, progress)
	rep, rerr := (&Status{Client: s.Client, Names: s.Names}).Run(ctx)
	return rep, errors.Join(err, rerr)
}

// credentialState words a Credential's Ready condition.
func credentialState(cred *kcmv1.Credential) string {
	c := meta.FindStatusCondition(cred.Status.Conditions, kcmv1.CredentialReadyCondition)
	switch {
	case cred.Status.Ready:
		return "ready"
	case c == nil:
		return "not reconciled by k0rdent yet"
	default:
		return "not ready: " + c.Message
	}
}

// Report is what Status sees: each object, the Credential's readiness, and
// the regional Credentials sharing its identity. It holds no secret.
type Report struct {
	Names            Names              `json:"names"`
	SecretPresent    bool               `json:"secret_present"`
	IdentityPresent  bool               `json:"identity_present"`
	ClientID         string             `json:"client_id,omitempty"`
	TenantID         string             `json:"tenant_id,omitempty"`
	TemplatePresent  bool               `json:"resource_template_present"`
	CredentialExists bool               `json:"credential_present"`
	Ready            bool               `json:"ready"`
	Message          string             `json:"message"`
	Regional         []RegionalCredView `json:"regional_credentials"`
	// Principal is the service principal k0rdentctl created (from the
	// record); nil when the user gave it.
	Principal *state.AzurePrincipal `json:"created_principal,omitempty"`
}

// RegionalCredView is a Credential of a region that references the same
// identity.
type RegionalCredView struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Ready   bool   `json:"ready"`
	Message string `json:"message"`
}

// Complete reports whether every object exists and the Credential is ready.
func (r *Report) Complete() bool {
	return r.SecretPresent && r.IdentityPresent && r.TemplatePresent && r.CredentialExists && r.Ready
}

// Status reads the Credential's objects.
type Status struct {
	Client client.Client
	Names  Names
}

// Run reads them.
func (s *Status) Run(ctx context.Context) (*Report, error) {
	n := s.Names
	rep := &Report{Names: n, Regional: []RegionalCredView{}}
	var errs []error
	present := func(obj client.Object, name string) bool {
		err := s.Client.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: name}, obj)
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			errs = append(errs, err)
		}
		return err == nil
	}
	rep.SecretPresent = present(&corev1.Secret{}, n.Secret)
	rep.TemplatePresent = present(&corev1.ConfigMap{}, n.ResourceTemplate())
	idty := &unstructured.Unstructured{}
	idty.SetAPIVersion(IdentityAPIVersion)
	idty.SetKind(IdentityKind)
	if rep.IdentityPresent = present(idty, n.Identity); rep.IdentityPresent {
		rep.ClientID, _, _ = unstructured.NestedString(idty.Object, "spec", "clientID")
		rep.TenantID, _, _ = unstructured.NestedString(idty.Object, "spec", "tenantID")
	}
	cred := &kcmv1.Credential{}
	if rep.CredentialExists = present(cred, n.Credential); rep.CredentialExists {
		rep.Ready, rep.Message = cred.Status.Ready, credentialState(cred)
	} else {
		rep.Message = "missing"
	}
	list := &kcmv1.CredentialList{}
	if err := s.Client.List(ctx, list, client.InNamespace(n.Namespace)); err != nil && !meta.IsNoMatchError(err) {
		errs = append(errs, err)
	}
	for _, c := range list.Items {
		ref := c.Spec.IdentityRef
		if c.Spec.Region == "" || ref == nil || ref.Kind != IdentityKind || ref.Name != n.Identity {
			continue
		}
		rep.Regional = append(rep.Regional, RegionalCredView{Name: c.Name, Region: c.Spec.Region, Ready: c.Status.Ready, Message: credentialState(&c)})
	}
	return rep, errors.Join(errs...)
}
