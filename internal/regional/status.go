package regional

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Statuses a regional cluster can have in `region status` besides the state
// record's (state.RegionalStatuses): a Region on the management cluster that
// neither the configuration nor the record knows.
const (
	// StatusUnmanaged is a Region this deployment did not create (no
	// app.kubernetes.io/managed-by: k0rdentctl label, or another
	// deployment's) and does not know.
	StatusUnmanaged = "unmanaged"
	// StatusOrphaned is a Region k0rdentctl created for this deployment that
	// is no longer in the configuration or the record: `region cleanup`
	// removes it.
	StatusOrphaned = "orphaned"
)

// Statuses lists every status `region status --state` accepts.
func Statuses() []string {
	return append(state.RegionalStatuses(), StatusUnmanaged, StatusOrphaned)
}

// Values of RegionStatus.Credentials.
const (
	CredentialsPropagated = "propagated" // Credential ready, identity copy verified by deploy
	CredentialsReady      = "ready"      // Credential ready, copy not verified yet
	CredentialsNotReady   = "not_ready"  // Credential exists, not ready
	CredentialsMissing    = "missing"    // propagation wanted, no Credential
	CredentialsDisabled   = "disabled"   // credential_propagation: false
	CredentialsUnknown    = "unknown"    // the management cluster was not read
	CredentialsNone       = "none"       // nothing deployed yet, no Credential
)

// Values of RegionStatus.Certificates.
const (
	CertificatesPropagated    = "propagated"     // verified identical by deploy or rotate-certificates
	CertificatesNotPropagated = "not_propagated" // a certificate is configured, not verified in the region
	CertificatesNotConfigured = "not_configured" // the kcm controller runs without --registry-cert-secret-name
	CertificatesUnknown       = "unknown"
)

// Status describes every regional cluster the configuration, the record or
// the management cluster knows (`region status`). It reads the management
// cluster with one list call per object kind (Regions, Credentials,
// ClusterDeployments) and one read of the kcm controller Deployment, whatever
// the number of regions, and never contacts the regional clusters (Health
// does). It changes nothing.
type Status struct {
	Env *Env
	// States keeps regions with one of these statuses (all when empty).
	States []string
	// Locations keeps regions in one of these Azure locations (all when
	// empty); compared without regard to case.
	Locations []string
	// Record is the deployment record (nil when there is none yet); Status
	// reads it and never changes it. When nil, Env.Session's snapshot is
	// used if there is a session.
	Record *state.Record
}

// StatusReport is what `region status` shows; its JSON keys are those of
// `region status -o json`.
type StatusReport struct {
	CheckedAt time.Time `json:"checked_at"`
	// Management is the management cluster's API server.
	Management string `json:"management,omitempty"`
	// ManagementError says why the management cluster could not be read;
	// the report then holds only what the configuration and the record say.
	ManagementError string `json:"management_error,omitempty"`
	// RegistryCertSecret is the registry certificate Secret the kcm
	// controller propagates ("" when none).
	RegistryCertSecret string         `json:"registry_cert_secret,omitempty"`
	Regions            []RegionStatus `json:"regions"`
	// Counts are the shown regions by status.
	Counts map[string]int `json:"counts"`
	// Total counts every known region, before the filters.
	Total int `json:"total"`
}

// RegionStatus is one regional cluster as the configuration, the record and
// the management cluster describe it.
type RegionStatus struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"`
	Location string `json:"location,omitempty"`
	// Status is the record's status (pending ... removed), or unmanaged or
	// orphaned for a Region neither configured nor recorded.
	Status string `json:"status"`
	// Configured: the region is in software.k0rdent.regional.clusters.
	Configured bool `json:"configured"`
	// Source says where the cluster comes from: "ClusterDeployment ns/x",
	// "kubeconfig Secret ns/y".
	Source                   string `json:"source,omitempty"`
	ClusterDeploymentCreated *bool  `json:"cluster_deployment_created,omitempty"`
	// Ready is the Region's Ready condition; nil when unknown (no Region,
	// or the management cluster was not read).
	Ready *bool `json:"ready"`
	// Region is the Region object as observed (Ready reason and message,
	// components as k0rdent reports them).
	Region            RegionState `json:"region"`
	ComponentsHealthy int         `json:"components_healthy"`
	ComponentsTotal   int         `json:"components_total"`
	// Components are the versions observed in the regional cluster when it
	// was deployed (the record's).
	Components map[string]string `json:"components,omitempty"`
	// Credentials is propagated, ready, not_ready, missing, disabled, none
	// or unknown; Credential names the per-region Credential.
	Credentials string           `json:"credentials"`
	Credential  *CredentialState `json:"credential,omitempty"`
	// Certificates is propagated, not_propagated, not_configured or unknown.
	Certificates string `json:"certificates"`
	// ClusterDeployments are the ClusterDeployments placed in the region
	// (through Credentials with spec.region), "namespace/name".
	ClusterDeployments []string   `json:"cluster_deployments"`
	KubeconfigPath     string     `json:"kubeconfig_path,omitempty"`
	Health             string     `json:"health,omitempty"`
	HealthCheckedAt    *time.Time `json:"health_checked_at,omitempty"`
	LastError          string     `json:"last_error,omitempty"`
	// Problem says what is wrong with the region ("" when nothing is):
	// it failed, or it is deployed but its Region is missing or not Ready.
	Problem string `json:"problem,omitempty"`
}

// CredentialState is a per-region Credential.
type CredentialState struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Ready     bool   `json:"ready"`
	Message   string `json:"message,omitempty"`
}

// Problems returns the shown regions that have a problem.
func (r *StatusReport) Problems() []RegionStatus {
	var out []RegionStatus
	for _, rg := range r.Regions {
		if rg.Problem != "" {
			out = append(out, rg)
		}
	}
	return out
}

// CheckStatusFilters reports an unknown --state value.
func CheckStatusFilters(states []string) error {
	for _, s := range states {
		if !slices.Contains(Statuses(), s) {
			return fmt.Errorf("--state %q is not a regional cluster status; use one of %s", s, strings.Join(Statuses(), ", "))
		}
	}
	return nil
}

// Run reads the status. When the management cluster cannot be read, the
// report says why and holds what the configuration and record say; the error
// is then nil.
func (s *Status) Run(ctx context.Context) (*StatusReport, error) {
	env := s.Env
	if err := CheckStatusFilters(s.States); err != nil {
		return nil, err
	}
	rec := s.Record
	if rec == nil && env.Session != nil {
		rec = env.Session.Snapshot()
	}
	rep := &StatusReport{CheckedAt: env.now().UTC(), Regions: []RegionStatus{}, Counts: map[string]int{}}
	v := &observed{env: env, rec: rec}
	if mc, err := env.management(ctx); err != nil {
		rep.ManagementError = err.Error()
	} else {
		rep.Management = mc.Server
		if err := v.load(ctx, mc); err != nil {
			rep.ManagementError = err.Error()
		} else {
			rep.RegistryCertSecret = v.certSecret
		}
	}
	for _, name := range v.names() {
		row := v.status(name)
		rep.Total++
		if len(s.States) > 0 && !slices.Contains(s.States, row.Status) {
			continue
		}
		if len(s.Locations) > 0 && !slices.ContainsFunc(s.Locations, func(l string) bool { return strings.EqualFold(l, row.Location) }) {
			continue
		}
		rep.Counts[row.Status]++
		rep.Regions = append(rep.Regions, row)
	}
	return rep, nil
}

// status builds the row of one region.
func (v *observed) status(name string) RegionStatus {
	rc, configured := v.configured(name)
	r := v.record(name)
	rg := v.regions[name]
	row := RegionStatus{Name: name, Configured: configured, ClusterDeployments: []string{}}
	switch {
	case configured:
		row.Type, row.Location = rc.Type(), rc.Location
	case r != nil:
		row.Type, row.Location = r.Type, r.Location
	case rg != nil && rg.Spec.ClusterDeployment != nil:
		row.Type = state.RegionalTypeClusterDeployment
	case rg != nil:
		row.Type = state.RegionalTypeExternal
	}
	switch {
	case r != nil && r.Status != "":
		row.Status = r.Status
	case configured:
		row.Status = state.RegionalPending
	case rg != nil && v.ours(rg.Labels):
		row.Status = StatusOrphaned
	default:
		row.Status = StatusUnmanaged
	}
	if r != nil {
		row.LastError, row.Health, row.HealthCheckedAt = r.LastError, r.Health, r.HealthCheckedAt
		if len(r.Components) > 0 {
			row.Components = r.Components
		}
		if r.Type == state.RegionalTypeClusterDeployment && r.Status != state.RegionalPending {
			created := r.ClusterDeploymentOwned
			row.ClusterDeploymentCreated = &created
		}
	}
	if ref, ok := v.kubeconfigRef(name); ok {
		if key, isCD := v.clusterDeploymentKey(name); isCD {
			row.Source = "ClusterDeployment " + key.String()
		} else {
			row.Source = "kubeconfig " + ref.String()
		}
	}
	if row.Status != StatusUnmanaged && row.Status != state.RegionalRemoved {
		row.KubeconfigPath = v.kubeconfigPath(name)
		if r == nil || r.KubeconfigPath == "" {
			row.KubeconfigPath = existingFile(row.KubeconfigPath)
		}
	}

	// What the management cluster says.
	row.Credentials, row.Certificates = CredentialsUnknown, CertificatesUnknown
	if v.loaded {
		row.Region = ObserveRegion(rg)
		if rg != nil {
			ready := row.Region.Ready
			row.Ready = &ready
			for _, c := range row.Region.Components {
				row.ComponentsTotal++
				if c.Success {
					row.ComponentsHealthy++
				}
			}
		}
		row.ClusterDeployments = v.placed(name)
		row.Credentials, row.Credential = v.credentialState(name, rc, configured, r)
		row.Certificates = v.certificateState(r)
	}
	row.Problem = v.problem(row, rc, configured)
	return row
}

func (v *observed) credentialState(name string, rc config.RegionalCluster, configured bool, r *state.RegionalCluster) (string, *CredentialState) {
	want := client.ObjectKey{Namespace: v.env.credentialNamespace(), Name: v.env.Config.RegionalCredentialName(name)}
	var cred *kcmv1.Credential
	for _, c := range v.regionalCredentials(name) {
		if cred == nil || (c.Namespace == want.Namespace && c.Name == want.Name) {
			cred = c
		}
	}
	if cred == nil {
		switch {
		case configured && !rc.PropagatesCredentials():
			return CredentialsDisabled, nil
		case r != nil && (r.Status == state.RegionalDeployed || r.CredentialsPropagated):
			return CredentialsMissing, nil
		}
		return CredentialsNone, nil
	}
	cs := &CredentialState{Namespace: cred.Namespace, Name: cred.Name, Ready: cred.Status.Ready}
	if c := meta.FindStatusCondition(cred.Status.Conditions, kcmv1.CredentialReadyCondition); c != nil && c.Status != metav1.ConditionTrue {
		cs.Message = c.Message
	}
	switch {
	case !cred.Status.Ready:
		return CredentialsNotReady, cs
	case r != nil && r.CredentialsPropagated:
		return CredentialsPropagated, cs
	}
	return CredentialsReady, cs
}

func (v *observed) certificateState(r *state.RegionalCluster) string {
	switch {
	case v.certKnown && v.certSecret == "", !v.certKnown:
		return CertificatesNotConfigured
	case r != nil && r.CertificatesPropagated:
		return CertificatesPropagated
	}
	return CertificatesNotPropagated
}

// problem says what is wrong with a region, "" when nothing is.
func (v *observed) problem(row RegionStatus, rc config.RegionalCluster, configured bool) string {
	if err := v.invalidRefs[row.Name]; err != nil && row.Status != StatusUnmanaged {
		problem, fix := referenceProblem(row.Name, err)
		return problem + "; fix: " + fix
	}
	switch row.Status {
	case state.RegionalFailed:
		if row.LastError != "" {
			return "failed: " + row.LastError
		}
		return "failed"
	case state.RegionalDeployed:
	default:
		return ""
	}
	if !v.loaded {
		return ""
	}
	switch {
	case !row.Region.Exists:
		return fmt.Sprintf("Region %s does not exist on the management cluster; run: k0rdentctl region deploy %s", row.Name, row.Name)
	case row.Region.Deleting:
		return fmt.Sprintf("Region %s is being deleted", row.Name)
	case !row.Region.Ready:
		return "Region not Ready: " + row.Region.Summary()
	case configured && rc.PropagatesCredentials() && (row.Credentials == CredentialsMissing || row.Credentials == CredentialsNotReady):
		msg := fmt.Sprintf("Credential %s is %s", v.env.Config.RegionalCredentialName(row.Name), strings.ReplaceAll(row.Credentials, "_", " "))
		if row.Credential != nil && row.Credential.Message != "" {
			msg += ": " + row.Credential.Message
		}
		return msg
	}
	return ""
}
