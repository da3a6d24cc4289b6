package regional

import (
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
)

// Labels on everything k0rdentctl creates for a region.
const (
	// LabelRegion is k0rdent's own region label.
	LabelRegion = kcmv1.KCMRegionLabelKey
	// LabelManagedBy says k0rdentctl created the object.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "k0rdentctl"
	// LabelDeployment names the deployment (its id) that created the object.
	LabelDeployment = "k0rdentctl.io/deployment"
	// AnnotationReconcile is set on a Credential to make k0rdent reconcile it
	// (k0rdent 1.5.0 reconciles a Credential on any update of the object),
	// which refreshes the identity copies in its region.
	AnnotationReconcile = "k0rdentctl.io/reconcile-requested-at"
)

// Labels returns the labels of an object k0rdentctl creates for region.
func Labels(region, deploymentID string) map[string]string {
	l := map[string]string{
		LabelRegion:    region,
		LabelManagedBy: ManagedByValue,
	}
	if deploymentID != "" {
		l[LabelDeployment] = deploymentID
	}
	return l
}

// CreatedByUs reports whether labels say k0rdentctl created the object.
func CreatedByUs(labels map[string]string) bool {
	return labels[LabelManagedBy] == ManagedByValue
}

// Owned is the one ownership rule of every phase and operation: an object
// belongs to deployment deploymentID when k0rdentctl created it for that
// deployment (LabelManagedBy and LabelDeployment say so). Only such objects
// are ever deleted or changed. An object k0rdentctl created without a
// deployment label, or when deploymentID is unknown, is not owned: nothing
// proves whose it is. other names the deployment an object was created for
// when that is another one.
func Owned(labels map[string]string, deploymentID string) (owned bool, other string) {
	if !CreatedByUs(labels) {
		return false, ""
	}
	d := labels[LabelDeployment]
	if d != "" && d != deploymentID {
		return false, d
	}
	return d != "" && deploymentID != "", ""
}

// Steps of every region's chain, in order.
const (
	StepPreflight    = "preflight"
	StepCluster      = "cluster"
	StepRegion       = "region"
	StepCredentials  = "credentials"
	StepCertificates = "certificates"
	StepComponents   = "components"
)

// Steps lists the steps of a region's chain in order.
func Steps() []string {
	return []string{StepPreflight, StepCluster, StepRegion, StepCredentials, StepCertificates, StepComponents}
}

// PhasePrefix starts the name of every regional phase.
const PhasePrefix = "region/"

// PhaseName is the name of a region's phase: "region/<region>/<step>".
func PhaseName(region, step string) string { return PhasePrefix + region + "/" + step }

// ParsePhaseName splits a regional phase name into region and step.
func ParsePhaseName(name string) (region, step string, ok bool) {
	rest, ok := strings.CutPrefix(name, PhasePrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// KubeconfigSecretName is the Secret a ClusterDeployment's kubeconfig is kept
// in, in the ClusterDeployment's namespace, under KubeconfigKey.
func KubeconfigSecretName(clusterDeployment string) string { return clusterDeployment + "-kubeconfig" }

// KubeconfigKey is the data key of a kubeconfig in its Secret.
const KubeconfigKey = "value"

// Event types this package records (snake_case, as the seed's state schema).
const (
	EventDeploying               = "regional_deploying"
	EventPreflightPassed         = "regional_preflight_passed"
	EventClusterDeploymentCreate = "regional_cluster_created"
	EventClusterDeploymentAdopt  = "regional_cluster_adopted"
	EventClusterReady            = "regional_cluster_ready"
	EventValuesValidated         = "regional_values_validated"
	EventKubeconfigSecretCreated = "kubeconfig_secret_created"
	EventExternalVerified        = "external_cluster_verified"
	EventKubeconfigWritten       = "kubeconfig_written"
	EventRegionCreated           = "region_created"
	EventRegionUpdated           = "region_updated"
	EventRegionReady             = "region_ready"
	EventProvidersWarning        = "region_providers_warning"
	EventCredentialCreated       = "regional_credential_created"
	// EventResourceTemplateCopied: the identity's resource-template
	// ConfigMap was put into the regional cluster (kcm issue 2836).
	EventResourceTemplateCopied = "regional_resource_template_copied"
	EventCredentialsPropagated  = "credentials_propagated"
	EventCertificatesPropagated = "certificates_propagated"
	EventCertificatesNone       = "certificates_not_configured"
	EventComponentsInstalled    = "components_installed"
	EventDeployed               = "regional_cluster_deployed"
	EventFailed                 = "regional_cluster_failed"
)
