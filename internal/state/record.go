// Package state keeps the deployment record: what k0rdentctl did and what it
// saw, so that every step can be resumed, inspected, exported and undone.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the record layout written by this build.
const SchemaVersion = 1

// PhaseStatus is where a phase stands.
type PhaseStatus string

// Phase statuses, as written in the record.
const (
	PhasePending    PhaseStatus = "pending"
	PhaseInProgress PhaseStatus = "in-progress"
	PhaseCompleted  PhaseStatus = "completed"
	PhaseFailed     PhaseStatus = "failed"
	PhaseSkipped    PhaseStatus = "skipped"
	// PhaseInterrupted is a phase that was running when the run was
	// stopped (Ctrl-C, SIGTERM, or a record that could not be written): not
	// a failure of the phase; the next run resumes it.
	PhaseInterrupted PhaseStatus = "interrupted"
)

// Record is the whole deployment record, stored as state/<deployment-id>.yaml.
// Keys are snake_case and match the -o json output of every command.
type Record struct {
	SchemaVersion   int             `json:"schema_version"`
	DeploymentID    string          `json:"deployment_id"`
	Name            string          `json:"name,omitempty"`
	Owner           string          `json:"owner,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	ArchivedAt      *time.Time      `json:"archived_at,omitempty"` // set when moved to history/
	Config          ConfigSnapshot  `json:"config"`
	Phases          []PhaseRecord   `json:"phases"`
	Resources       []Resource      `json:"resources,omitempty"`
	Management      Management      `json:"management"`
	K0rdent         K0rdent         `json:"k0rdent"`
	K0rdentRegional K0rdentRegional `json:"k0rdent_regional"`
	// AzurePrincipal is the service principal k0rdentctl created for
	// k0rdent's Azure Credential (credentials setup --create-principal);
	// nil when the user gave one or none was made.
	AzurePrincipal *AzurePrincipal `json:"azure_principal,omitempty"`
	// KOF is KOF as k0rdentctl installed it; nil when it did not.
	KOF *KOF `json:"kof,omitempty"`
	// ResumeCommand is the command line that runs the last run again (and so
	// resumes it), e.g. "k0rdentctl region deploy regional-useast"; status
	// prints it as the next step.
	ResumeCommand string  `json:"resume_command,omitempty"`
	Events        []Event `json:"events,omitempty"`
	// EventLog is set on a record read with Store.LoadSummary: Events then
	// holds only the most recent events and EventLog says how many there
	// are in all. It is never set on a full record (Load, Export).
	EventLog *EventLogRef `json:"event_log,omitempty"`

	// evLoaded is true when Events came from the event log of the store
	// that will save the record, whose entry evBase is Events[0]: Save then
	// appends only the events past what the log holds. A record built in
	// memory (New, Import) has its log written anew when saved.
	evLoaded bool
	evBase   int
	// version is the stored record's version when it was read (the blob's
	// ETag, or a hash of the file): Save refuses to write over a record
	// that changed since, with ErrConflict. Empty for a record built in
	// memory.
	version string
}

// ConfigSnapshot is the configuration a run used, with its hash so that a
// changed configuration is noticed before a resume.
type ConfigSnapshot struct {
	Path    string `json:"path,omitempty"`
	Hash    string `json:"hash"`
	Content string `json:"content,omitempty"`
}

// PhaseRecord is one phase's history.
type PhaseRecord struct {
	Name            string      `json:"name"`
	Title           string      `json:"title,omitempty"`
	Region          string      `json:"region,omitempty"`
	Status          PhaseStatus `json:"status"`
	StartedAt       *time.Time  `json:"started_at,omitempty"`
	EndedAt         *time.Time  `json:"ended_at,omitempty"`
	DurationSeconds float64     `json:"duration_seconds,omitempty"`
	Attempts        int         `json:"attempts,omitempty"`
	LastError       string      `json:"last_error,omitempty"`
	Reason          string      `json:"reason,omitempty"`
}

// PhaseTransition is one change of a phase's status, as the engine reports it.
type PhaseTransition struct {
	Name  string
	Title string
	// Group is the label of the set of phases the phase belongs to (a
	// region's chain of phases); recorded as the phase's and the event's
	// region.
	Group  string
	Status PhaseStatus
	At     time.Time
	Err    error
	// Reason says why a phase was skipped, or what a completed phase found.
	Reason string
}

// Resource is something k0rdentctl created or adopted.
type Resource struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Namespace string    `json:"namespace,omitempty"`
	ID        string    `json:"id,omitempty"`
	Location  string    `json:"location,omitempty"`
	Region    string    `json:"region,omitempty"`
	Phase     string    `json:"phase,omitempty"`
	Adopted   bool      `json:"adopted,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Management is what is known of the management cluster.
type Management struct {
	Mode           string `json:"mode,omitempty"`
	KubeconfigPath string `json:"kubeconfig_path,omitempty"`
	Server         string `json:"server,omitempty"`
	// Azure is the management cluster's Azure side (mode azure).
	Azure *AzureManagement `json:"azure,omitempty"`
}

// AzureManagement is what k0rdentctl made in Azure for the management
// cluster: names and addresses; keys are in 0600 files named here.
type AzureManagement struct {
	SubscriptionID string `json:"subscription_id"`
	Location       string `json:"location"`
	ResourceGroup  string `json:"resource_group"`
	VNet           string `json:"vnet,omitempty"`
	Subnet         string `json:"subnet,omitempty"`
	NSG            string `json:"nsg,omitempty"`
	// SSHKeyPath is the operator's private key; WireGuardConfig the
	// operator's wg-quick file.
	SSHKeyPath      string    `json:"ssh_key_path,omitempty"`
	WireGuardConfig string    `json:"wireguard_config,omitempty"`
	VMs             []AzureVM `json:"vms,omitempty"`
	// SSHLockedDown: vpn lockdown removed the security group's public SSH
	// rule; the VMs are reached over WireGuard only.
	SSHLockedDown bool `json:"ssh_locked_down,omitempty"`
}

// AzureVM is one VM of the management cluster.
type AzureVM struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	Size        string `json:"size"`
	Zone        string `json:"zone,omitempty"`
	Priority    string `json:"priority"`
	PrivateIP   string `json:"private_ip,omitempty"`
	PublicIP    string `json:"public_ip,omitempty"`
	WireGuardIP string `json:"wireguard_ip,omitempty"`
}

// K0rdent is the k0rdent install on the management cluster.
type K0rdent struct {
	Version      string     `json:"version,omitempty"` // installed, from the Release the Management names
	Release      string     `json:"release,omitempty"` // name of that Release object
	Chart        string     `json:"chart,omitempty"`
	ChartVersion string     `json:"chart_version,omitempty"` // of the Helm release
	Namespace    string     `json:"namespace,omitempty"`
	HelmRevision int        `json:"helm_revision,omitempty"`
	Ready        bool       `json:"ready"`
	InstalledAt  *time.Time `json:"installed_at,omitempty"`
	CheckedAt    *time.Time `json:"checked_at,omitempty"`
}

// K0rdentRegional follows the seed's state schema for k0rdent regional clusters.
type K0rdentRegional struct {
	Enabled  bool              `json:"enabled"`
	Version  string            `json:"version,omitempty"`
	Clusters []RegionalCluster `json:"clusters,omitempty"`
}

// Regional cluster types.
const (
	RegionalTypeClusterDeployment = "cluster_deployment"
	RegionalTypeExternal          = "external"
)

// Regional cluster statuses.
const (
	RegionalPending   = "pending"
	RegionalDeploying = "deploying"
	RegionalDeployed  = "deployed"
	RegionalFailed    = "failed"
	RegionalRemoving  = "removing"
	RegionalRemoved   = "removed"
)

// Health values of a regional cluster.
const (
	HealthHealthy     = "healthy"
	HealthDegraded    = "degraded"
	HealthUnreachable = "unreachable"
	HealthUnknown     = "unknown"
)

// RegionalCluster is one k0rdent regional cluster (a Region object and the
// cluster behind it).
type RegionalCluster struct {
	Name                   string            `json:"name"`
	Location               string            `json:"location,omitempty"`
	Type                   string            `json:"type"` // cluster_deployment | external
	ClusterDeploymentRef   string            `json:"cluster_deployment_ref,omitempty"`
	ClusterDeploymentOwned bool              `json:"cluster_deployment_created,omitempty"` // false: adopted
	KubeconfigSecret       string            `json:"kubeconfig_secret,omitempty"`
	Deployed               bool              `json:"deployed"`
	RegionCRDCreated       bool              `json:"region_crd_created"`
	CredentialsPropagated  bool              `json:"credentials_propagated"`
	CertificatesPropagated bool              `json:"certificates_propagated"`
	Components             map[string]string `json:"components,omitempty"` // name -> observed version
	KubeconfigPath         string            `json:"kubeconfig_path,omitempty"`
	Status                 string            `json:"status"`
	Health                 string            `json:"health,omitempty"`
	HealthCheckedAt        *time.Time        `json:"health_checked_at,omitempty"`
	LastError              string            `json:"last_error,omitempty"`
}

// Event is one line of the deployment's history.
type Event struct {
	Timestamp time.Time `json:"timestamp"`
	Phase     string    `json:"phase,omitempty"`
	Region    string    `json:"region,omitempty"`
	Type      string    `json:"type"`
	Message   string    `json:"message"`
}

// Overall statuses of a deployment, as `status` shows them.
const (
	OverallDeployed   = "DEPLOYED"
	OverallInProgress = "IN PROGRESS"
	OverallFailed     = "FAILED"
	// OverallInterrupted: the last run was stopped (Ctrl-C, SIGTERM, or its
	// process died) before it finished; running it again resumes.
	OverallInterrupted = "INTERRUPTED"
	OverallNotDeployed = "NOT DEPLOYED"
)

// PhaseStatuses lists every phase status, in display order.
func PhaseStatuses() []PhaseStatus {
	return []PhaseStatus{PhasePending, PhaseInProgress, PhaseCompleted, PhaseFailed, PhaseInterrupted, PhaseSkipped}
}

// Valid reports whether p is one of the phase statuses this build knows.
func (p PhaseStatus) Valid() bool { return slices.Contains(PhaseStatuses(), p) }

// New returns an empty record for a new deployment.
func New(id, name string, now time.Time) *Record {
	now = now.UTC()
	return &Record{
		SchemaVersion: SchemaVersion,
		DeploymentID:  id,
		Name:          name,
		CreatedAt:     now,
		UpdatedAt:     now,
		Phases:        []PhaseRecord{},
	}
}

// Phase returns the record of the named phase, or nil when it was never
// recorded. The pointer is into r.Phases: changes through it change r.
func (r *Record) Phase(name string) *PhaseRecord {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// Regional returns the named k0rdent regional cluster, or nil. The pointer is
// into r.K0rdentRegional.Clusters: changes through it change r.
func (r *Record) Regional(name string) *RegionalCluster {
	for i := range r.K0rdentRegional.Clusters {
		if r.K0rdentRegional.Clusters[i].Name == name {
			return &r.K0rdentRegional.Clusters[i]
		}
	}
	return nil
}

// UpsertRegional replaces the regional cluster with c's name, or appends c,
// and returns a pointer to the stored entry.
func (r *Record) UpsertRegional(c RegionalCluster) *RegionalCluster {
	if cur := r.Regional(c.Name); cur != nil {
		*cur = c
		return cur
	}
	r.K0rdentRegional.Clusters = append(r.K0rdentRegional.Clusters, c)
	return &r.K0rdentRegional.Clusters[len(r.K0rdentRegional.Clusters)-1]
}

// RemoveRegional drops the named regional cluster from the record and reports
// whether it was there.
func (r *Record) RemoveRegional(name string) bool {
	n := len(r.K0rdentRegional.Clusters)
	r.K0rdentRegional.Clusters = slices.DeleteFunc(r.K0rdentRegional.Clusters, func(c RegionalCluster) bool { return c.Name == name })
	return len(r.K0rdentRegional.Clusters) != n
}

// UpsertResource records a created or adopted resource; one with the same
// kind, namespace and name (and Azure id, when set) is replaced.
func (r *Record) UpsertResource(res Resource) {
	for i := range r.Resources {
		cur := &r.Resources[i]
		if cur.Kind == res.Kind && cur.Namespace == res.Namespace && cur.Name == res.Name && cur.ID == res.ID {
			*cur = res
			return
		}
	}
	r.Resources = append(r.Resources, res)
}

// RegionEvents returns the events of one regional cluster, oldest first.
func (r *Record) RegionEvents(region string) []Event {
	return FilterEvents(r.Events, EventFilter{Region: region})
}

// PhaseCounts counts the phases in each status.
func (r *Record) PhaseCounts() map[PhaseStatus]int {
	counts := make(map[PhaseStatus]int, len(PhaseStatuses()))
	for _, p := range r.Phases {
		counts[p.Status]++
	}
	return counts
}

// Overall is the deployment's status for `status`: DEPLOYED when every
// recorded phase is completed or skipped, IN PROGRESS while a phase runs or
// some are still pending after others completed, FAILED when a phase failed
// and none runs, INTERRUPTED when a run was stopped and none failed, NOT
// DEPLOYED when nothing has completed yet.
func (r *Record) Overall() string {
	if r == nil || len(r.Phases) == 0 {
		return OverallNotDeployed
	}
	c := r.PhaseCounts()
	switch {
	case c[PhaseInProgress] > 0:
		return OverallInProgress
	case c[PhaseFailed] > 0:
		return OverallFailed
	case c[PhaseInterrupted] > 0:
		return OverallInterrupted
	case c[PhaseCompleted] == 0:
		return OverallNotDeployed
	case c[PhasePending] > 0:
		return OverallInProgress
	default:
		return OverallDeployed
	}
}

// PhaseSummary says in one line how the phases stand, naming the failed and
// running ones, e.g. "5 completed, 1 failed (k0rdent-install), 2 skipped".
func (r *Record) PhaseSummary() string {
	if len(r.Phases) == 0 {
		return "no phases recorded"
	}
	c := r.PhaseCounts()
	var parts []string
	for _, st := range PhaseStatuses() {
		if c[st] == 0 {
			continue
		}
		part := fmt.Sprintf("%d %s", c[st], st)
		if st == PhaseFailed || st == PhaseInProgress || st == PhaseInterrupted {
			var names []string
			for _, p := range r.Phases {
				if p.Status == st {
					names = append(names, p.Name)
				}
			}
			part += " (" + strings.Join(names, ", ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.ArchivedAt = cloneTime(r.ArchivedAt)
	c.Phases = slices.Clone(r.Phases)
	for i := range c.Phases {
		c.Phases[i].StartedAt = cloneTime(c.Phases[i].StartedAt)
		c.Phases[i].EndedAt = cloneTime(c.Phases[i].EndedAt)
	}
	c.Resources = slices.Clone(r.Resources)
	c.K0rdent.InstalledAt = cloneTime(r.K0rdent.InstalledAt)
	c.K0rdent.CheckedAt = cloneTime(r.K0rdent.CheckedAt)
	c.K0rdentRegional.Clusters = slices.Clone(r.K0rdentRegional.Clusters)
	for i := range c.K0rdentRegional.Clusters {
		rc := &c.K0rdentRegional.Clusters[i]
		rc.HealthCheckedAt = cloneTime(rc.HealthCheckedAt)
		if rc.Components != nil {
			m := make(map[string]string, len(rc.Components))
			for k, v := range rc.Components {
				m[k] = v
			}
			rc.Components = m
		}
	}
	c.Events = slices.Clone(r.Events)
	if r.EventLog != nil {
		l := *r.EventLog
		c.EventLog = &l
	}
	return &c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// Validate checks what a record must satisfy to be used: a schema version this
// build reads, a well-formed deployment id, named phases with known statuses
// and regional clusters of a known type, status and health. It reports every
// problem at once, each with its field path.
func (r *Record) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case r.SchemaVersion == 0:
		bad("schema_version: missing; this is not a k0rdentctl state record")
	case r.SchemaVersion < 0:
		bad("schema_version: %d is not a valid version", r.SchemaVersion)
	case r.SchemaVersion > SchemaVersion:
		bad("schema_version: %d is newer than this k0rdentctl reads (%d); upgrade k0rdentctl", r.SchemaVersion, SchemaVersion)
	}
	if !ValidDeploymentID(r.DeploymentID) {
		bad("deployment_id: %q is not a deployment id (k0rdent- followed by 8 lowercase letters or digits)", r.DeploymentID)
	}
	seen := map[string]bool{}
	for i, p := range r.Phases {
		if p.Name == "" {
			bad("phases[%d].name: missing", i)
		} else if seen[p.Name] {
			bad("phases[%d].name: %q appears more than once", i, p.Name)
		}
		seen[p.Name] = true
		if !p.Status.Valid() {
			bad("phases[%d].status: %q is not one of %s", i, p.Status, joinStatuses(PhaseStatuses()))
		}
	}
	seen = map[string]bool{}
	regionalStatuses, healthValues := RegionalStatuses(), HealthValues()
	for i, c := range r.K0rdentRegional.Clusters {
		if c.Name == "" {
			bad("k0rdent_regional.clusters[%d].name: missing", i)
		} else if seen[c.Name] {
			bad("k0rdent_regional.clusters[%d].name: %q appears more than once", i, c.Name)
		}
		seen[c.Name] = true
		if c.Type != RegionalTypeClusterDeployment && c.Type != RegionalTypeExternal {
			bad("k0rdent_regional.clusters[%d].type: %q is not one of %s, %s", i, c.Type, RegionalTypeClusterDeployment, RegionalTypeExternal)
		}
		if c.Status != "" && !slices.Contains(regionalStatuses, c.Status) {
			bad("k0rdent_regional.clusters[%d].status: %q is not one of %s", i, c.Status, strings.Join(regionalStatuses, ", "))
		}
		if c.Health != "" && !slices.Contains(healthValues, c.Health) {
			bad("k0rdent_regional.clusters[%d].health: %q is not one of %s", i, c.Health, strings.Join(healthValues, ", "))
		}
	}
	for i, e := range r.Events {
		if e.Type == "" {
			bad("events[%d].type: missing", i)
		}
	}
	return errors.Join(errs...)
}

// RegionalStatuses lists every regional cluster status.
func RegionalStatuses() []string {
	return []string{RegionalPending, RegionalDeploying, RegionalDeployed, RegionalFailed, RegionalRemoving, RegionalRemoved}
}

// HealthValues lists every regional cluster health value.
func HealthValues() []string {
	return []string{HealthHealthy, HealthDegraded, HealthUnreachable, HealthUnknown}
}

func joinStatuses(ss []PhaseStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// ClusterDeploymentOrigin says whether a cluster_deployment regional cluster's
// ClusterDeployment was "created" by k0rdentctl or "adopted"; "" for external
// clusters.
func (c RegionalCluster) ClusterDeploymentOrigin() string {
	if c.Type != RegionalTypeClusterDeployment {
		return ""
	}
	if c.ClusterDeploymentOwned {
		return "created"
	}
	return "adopted"
}

// MarshalJSON writes cluster_deployment_created explicitly (true or false) for
// a cluster_deployment regional cluster, so that an adopted ClusterDeployment
// reads as adopted rather than as unknown; external clusters omit it.
func (c RegionalCluster) MarshalJSON() ([]byte, error) {
	type plain RegionalCluster
	out := struct {
		plain
		ClusterDeploymentCreated *bool `json:"cluster_deployment_created,omitempty"`
	}{plain: plain(c)}
	if c.Type == RegionalTypeClusterDeployment {
		v := c.ClusterDeploymentOwned
		out.ClusterDeploymentCreated = &v
	}
	return json.Marshal(out)
}

// AzurePrincipal is a service principal k0rdentctl created in Microsoft
// Entra ID: ids only. Its client secret is in the 0600 file SecretFile,
// never here.
type AzurePrincipal struct {
	DisplayName string `json:"display_name"`
	TenantID    string `json:"tenant_id"`
	// ApplicationObjectID and ClientID (the appId) are the application's.
	ApplicationObjectID string `json:"application_object_id"`
	ClientID            string `json:"client_id"`
	// ServicePrincipalID is the service principal's object id, what role
	// assignments name.
	ServicePrincipalID string `json:"service_principal_id,omitempty"`
	// RoleAssignmentID is the Contributor assignment on the subscription.
	RoleAssignmentID string `json:"role_assignment_id,omitempty"`
	// PasswordKeyID is the key id of the password in SecretFile.
	PasswordKeyID string `json:"password_key_id,omitempty"`
	SecretFile    string `json:"secret_file,omitempty"`
	// PendingPasswordKeyID is a rotation under way: the new password, in
	// SecretFile + ".new", not yet held everywhere. The old one is removed
	// only when it is.
	PendingPasswordKeyID string    `json:"pending_password_key_id,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
}

// KOF is what k0rdentctl installed of KOF and the KOF regional clusters it
// made.
type KOF struct {
	Version     string        `json:"version"`
	Releases    []KOFRelease  `json:"releases,omitempty"`
	InstalledAt *time.Time    `json:"installed_at,omitempty"`
	Regional    []KOFRegional `json:"regional,omitempty"`
}

// KOFRelease is one Helm release of KOF.
type KOFRelease struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	ChartVersion string `json:"chart_version"`
	Revision     int    `json:"revision"`
}

// KOFRegional is a KOF regional cluster: where it is and the endpoints
// its children ship to.
type KOFRegional struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Region    string            `json:"region,omitempty"`
	Location  string            `json:"location,omitempty"`
	Ready     bool              `json:"ready"`
	Endpoints map[string]string `json:"endpoints,omitempty"`
}
