package regional

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
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

// StatusOptions select and feed Status.
type StatusOptions struct {
	// States keeps regions with one of these statuses (all when empty).
	States []string
	// Locations keeps regions in one of these Azure locations (all when
	// empty); compared without regard to case.
	Locations []string
	// Record is the deployment record (nil when there is none yet); Status
	// reads it and never changes it. When nil, env.Session's snapshot is
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

// Status describes every regional cluster the configuration, the record or
// the management cluster knows. It reads the management cluster with one
// list call per object kind (Regions, Credentials, ClusterDeployments) and
// one read of the kcm controller Deployment, whatever the number of regions,
// and never contacts the regional clusters (`region health` does). When the
// management cluster cannot be read, the report says why and holds what the
// configuration and record say; the error is then nil.
func Status(ctx context.Context, env *Env, opts StatusOptions) (*StatusReport, error) {
	if err := CheckStatusFilters(opts.States); err != nil {
		return nil, err
	}
	rec := opts.Record
	if rec == nil && env.Session != nil {
		rec = env.Session.Snapshot()
	}
	rep := &StatusReport{CheckedAt: env.now().UTC(), Regions: []RegionStatus{}, Counts: map[string]int{}}
	v := &opsView{env: env, rec: rec}
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
		if len(opts.States) > 0 && !slices.Contains(opts.States, row.Status) {
			continue
		}
		if len(opts.Locations) > 0 && !slices.ContainsFunc(opts.Locations, func(l string) bool { return strings.EqualFold(l, row.Location) }) {
			continue
		}
		rep.Counts[row.Status]++
		rep.Regions = append(rep.Regions, row)
	}
	return rep, nil
}

// opsView is one look at everything that describes the regional clusters:
// the configuration, the record and (when loaded) the management cluster's
// Regions, Credentials and ClusterDeployments, each read with one list call.
type opsView struct {
	env *Env
	rec *state.Record // may be nil

	loaded     bool
	regions    map[string]*kcmv1.Region
	creds      []kcmv1.Credential
	cds        []kcmv1.ClusterDeployment
	certSecret string // registry certificate Secret, "" when none
	certKnown  bool
	secrets    []corev1.Secret // Secrets k0rdentctl made in the system namespace (cleanup only)
}

// load lists the management cluster's objects (one call per kind).
func (v *opsView) load(ctx context.Context, mc *kube.Clients) error {
	c := mc.Client
	regions := &kcmv1.RegionList{}
	if err := c.List(ctx, regions); err != nil {
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the management cluster %s does not serve the Region API: k0rdent %s or newer is not installed (k0rdentctl k0rdent status)", mc.Server, config.MinRegionalVersion)
		}
		return fmt.Errorf("listing the Regions on the management cluster %s: %w", mc.Server, err)
	}
	creds := &kcmv1.CredentialList{}
	if err := c.List(ctx, creds); err != nil {
		return fmt.Errorf("listing the Credentials on the management cluster %s: %w", mc.Server, err)
	}
	cds := &kcmv1.ClusterDeploymentList{}
	if err := c.List(ctx, cds); err != nil {
		return fmt.Errorf("listing the ClusterDeployments on the management cluster %s: %w", mc.Server, err)
	}
	name, _, found, err := RegistryCertSecretName(ctx, c, v.env.namespace())
	if err != nil {
		return err
	}
	v.certSecret, v.certKnown = name, found
	v.regions = make(map[string]*kcmv1.Region, len(regions.Items))
	for i := range regions.Items {
		v.regions[regions.Items[i].Name] = &regions.Items[i]
	}
	v.creds, v.cds, v.loaded = creds.Items, cds.Items, true
	return nil
}

// deploymentID is the id of the deployment being looked at: the
// environment's, else the record's.
func (v *opsView) deploymentID() string {
	if id := v.env.deploymentID(); id != "" {
		return id
	}
	if v.rec != nil {
		return v.rec.DeploymentID
	}
	return ""
}

// ours says whether labels mark an object k0rdentctl created for this
// deployment (an object without the deployment label counts as ours).
func (v *opsView) ours(labels map[string]string) bool {
	if !CreatedByUs(labels) {
		return false
	}
	d := labels[LabelDeployment]
	return d == "" || d == v.deploymentID()
}

// names lists the known regions: configured ones in configuration order,
// then those only in the record, then Regions only on the cluster (sorted).
func (v *opsView) names() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, rc := range v.env.Config.Software.K0rdent.Regional.Clusters {
		add(rc.Name)
	}
	if v.rec != nil {
		for _, c := range v.rec.K0rdentRegional.Clusters {
			add(c.Name)
		}
	}
	var extra []string
	for n := range v.regions {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		add(n)
	}
	return out
}

func (v *opsView) configured(name string) (config.RegionalCluster, bool) {
	rc, ok := v.env.Config.RegionalCluster(name)
	if !ok {
		return config.RegionalCluster{}, false
	}
	return *rc, true
}

func (v *opsView) record(name string) *state.RegionalCluster {
	if v.rec == nil {
		return nil
	}
	return v.rec.Regional(name)
}

// known says whether the configuration or the record (other than as
// removed) knows the region.
func (v *opsView) known(name string) bool {
	if _, ok := v.configured(name); ok {
		return true
	}
	r := v.record(name)
	return r != nil && r.Status != state.RegionalRemoved
}

// regionalCredentials are the Credentials with spec.region == region.
func (v *opsView) regionalCredentials(region string) []*kcmv1.Credential {
	var out []*kcmv1.Credential
	for i := range v.creds {
		if v.creds[i].Spec.Region == region {
			out = append(out, &v.creds[i])
		}
	}
	return out
}

// placed are the ClusterDeployments whose Credential targets region,
// "namespace/name", sorted.
func (v *opsView) placed(region string) []string {
	creds := map[client.ObjectKey]bool{}
	for _, c := range v.regionalCredentials(region) {
		creds[client.ObjectKey{Namespace: c.Namespace, Name: c.Name}] = true
	}
	out := []string{}
	if len(creds) == 0 {
		return out
	}
	for i := range v.cds {
		cd := &v.cds[i]
		if creds[client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Credential}] {
			out = append(out, cd.Namespace+"/"+cd.Name)
		}
	}
	sort.Strings(out)
	return out
}

// kubeconfigRef is where the management cluster keeps the region's
// kubeconfig: what its Region references (the reference k0rdent itself
// uses), else what the configuration or the record says.
func (v *opsView) kubeconfigRef(name string) (KubeconfigRef, bool) {
	ns := v.env.namespace()
	if rg := v.regions[name]; rg != nil {
		switch {
		case rg.Spec.KubeConfig != nil:
			key := rg.Spec.KubeConfig.Key
			if key == "" {
				key = config.KubeconfigSecretDataKey
			}
			return KubeconfigRef{Namespace: ns, Name: rg.Spec.KubeConfig.Name, Key: key}, true
		case rg.Spec.ClusterDeployment != nil:
			cdNS := rg.Spec.ClusterDeployment.Namespace
			if cdNS == "" {
				cdNS = ns
			}
			return KubeconfigRef{Namespace: cdNS, Name: KubeconfigSecretName(rg.Spec.ClusterDeployment.Name), Key: KubeconfigKey}, true
		}
	}
	if rc, ok := v.configured(name); ok {
		return KubeconfigSource(v.env.Config, rc), true
	}
	if r := v.record(name); r != nil {
		switch {
		case r.Type == state.RegionalTypeClusterDeployment && r.ClusterDeploymentRef != "":
			return KubeconfigRef{Namespace: ns, Name: KubeconfigSecretName(r.ClusterDeploymentRef), Key: KubeconfigKey}, true
		case r.KubeconfigSecret != "":
			return KubeconfigRef{Namespace: ns, Name: r.KubeconfigSecret, Key: config.KubeconfigSecretDataKey}, true
		}
	}
	return KubeconfigRef{}, false
}

// clusterDeploymentKey is the regional cluster's own ClusterDeployment, if
// it has one.
func (v *opsView) clusterDeploymentKey(name string) (client.ObjectKey, bool) {
	if rg := v.regions[name]; rg != nil && rg.Spec.ClusterDeployment != nil {
		ns := rg.Spec.ClusterDeployment.Namespace
		if ns == "" {
			ns = v.env.namespace()
		}
		return client.ObjectKey{Namespace: ns, Name: rg.Spec.ClusterDeployment.Name}, true
	}
	if rc, ok := v.configured(name); ok && rc.Type() == config.RegionalTypeDeployment {
		ref := KubeconfigSource(v.env.Config, rc)
		return client.ObjectKey{Namespace: ref.Namespace, Name: rc.ClusterDeploymentRef}, true
	}
	if r := v.record(name); r != nil && r.Type == state.RegionalTypeClusterDeployment && r.ClusterDeploymentRef != "" {
		return client.ObjectKey{Namespace: v.env.namespace(), Name: r.ClusterDeploymentRef}, true
	}
	return client.ObjectKey{}, false
}

// kubeconfigPath is the region's local kubeconfig file: the record's, else
// where it would be written.
func (v *opsView) kubeconfigPath(name string) string {
	if r := v.record(name); r != nil && r.KubeconfigPath != "" {
		return r.KubeconfigPath
	}
	if v.env.Files != nil {
		return v.env.Files.KubeconfigPath(name)
	}
	return ""
}

// regionalCluster is the region's configuration, or one rebuilt from the
// record or the Region for a region no longer configured (its components
// read from the Region's spec).
func (v *opsView) regionalCluster(name string) config.RegionalCluster {
	if rc, ok := v.configured(name); ok {
		return rc
	}
	rc := config.RegionalCluster{Name: name}
	if r := v.record(name); r != nil {
		rc.Location = r.Location
		rc.ClusterDeploymentRef = r.ClusterDeploymentRef
		rc.KubeconfigSecret = r.KubeconfigSecret
	}
	if rg := v.regions[name]; rg != nil {
		switch {
		case rg.Spec.ClusterDeployment != nil:
			rc.ClusterDeploymentRef, rc.KubeconfigSecret = rg.Spec.ClusterDeployment.Name, ""
			rc.ClusterDeployment = &config.ClusterDeploymentSpec{Namespace: rg.Spec.ClusterDeployment.Namespace}
		case rg.Spec.KubeConfig != nil:
			rc.ClusterDeploymentRef, rc.KubeconfigSecret = "", rg.Spec.KubeConfig.Name
		}
		cm, vel := regionFlags(rg)
		rc.Components.CertManager, rc.Components.Velero = &cm, &vel
	}
	return rc
}

// regionFlags reads cert-manager.enabled and velero.enabled from a Region's
// spec.core.kcm.config (the kcm-regional chart defaults: true).
func regionFlags(rg *kcmv1.Region) (certManager, velero bool) {
	certManager, velero = true, true
	if rg.Spec.Core == nil || rg.Spec.Core.KCM.Config == nil {
		return
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(rg.Spec.Core.KCM.Config.Raw, &cfg); err != nil {
		return
	}
	if b, ok := nestedBool(cfg, ValueCertManager, "enabled"); ok {
		certManager = b
	}
	if b, ok := nestedBool(cfg, ValueVelero, "enabled"); ok {
		velero = b
	}
	return
}

// regionProviders lists a Region's providers.
func regionProviders(rg *kcmv1.Region) []string {
	var out []string
	if rg == nil {
		return nil
	}
	for _, p := range rg.Spec.Providers {
		out = append(out, p.Name)
	}
	return out
}

// status builds the row of one region.
func (v *opsView) status(name string) RegionStatus {
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

func (v *opsView) credentialState(name string, rc config.RegionalCluster, configured bool, r *state.RegionalCluster) (string, *CredentialState) {
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

func (v *opsView) certificateState(r *state.RegionalCluster) string {
	switch {
	case v.certKnown && v.certSecret == "", !v.certKnown:
		return CertificatesNotConfigured
	case r != nil && r.CertificatesPropagated:
		return CertificatesPropagated
	}
	return CertificatesNotPropagated
}

// problem says what is wrong with a region, "" when nothing is.
func (v *opsView) problem(row RegionStatus, rc config.RegionalCluster, configured bool) string {
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

// opsEach calls fn for 0..n-1, at most parallel at a time (all at once when
// parallel <= 0), and waits for every call.
func opsEach(n, parallel int, fn func(i int)) {
	if parallel <= 0 || parallel > n {
		parallel = n
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// existingFile returns path when a file is there, "" otherwise.
func existingFile(path string) string {
	if path == "" {
		return ""
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
	}
	return path
}
