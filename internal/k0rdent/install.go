package k0rdent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Default durations of the operations.
const (
	DefaultTimeout     = 30 * time.Minute
	DefaultHelmTimeout = 10 * time.Minute
	DefaultInterval    = 5 * time.Second
)

// Action is what an install did or would do.
type Action string

// Actions.
const (
	ActionInstall   Action = "install"
	ActionUpgrade   Action = "upgrade"
	ActionUnchanged Action = "unchanged"
)

// Install installs k0rdent (the kcm chart) on the management cluster, or
// upgrades it, with the Helm SDK, like `helm upgrade --install kcm <chart> -n
// kcm-system`, and then waits until the Management kcm is Ready.
//
// It observes first and changes only what differs:
//   - no Helm release kcm: install the chart;
//   - a deployed release with the same chart version and the same values:
//     nothing (no new Helm revision), and the result says so;
//   - otherwise: upgrade the release.
//
// Version rules (see Version for pre-releases), checked before anything is
// changed: a chart older than the installed k0rdent is refused with a
// *DowngradeError unless Force; an upgrade from before 1.0.0 is refused with
// *UnsupportedUpgradeError; an upgrade from before 1.5.0 is reported with the
// breaking change and its steps (Result.BreakingChange); before any upgrade,
// a Helm release kof-istio gives a warning that KOF must move to 1.5
// together.
//
// The installed version is read from the Release that Management.spec.release
// names (the Region CRD exists since 1.4 and proves nothing). After the chart
// is upgraded, the new kcm controller creates the Release of its version
// (kcm-1-5-0 for 1.5.0); Install then points Management.spec.release at it,
// which is the step of k0rdent's upgrade procedure that makes the controller
// move the components, and waits. Changed values are also written to
// Management.spec.core.kcm.config, from which kcm's own Flux HelmRelease
// manages the kcm release after the first install; without that, kcm would
// put the old values back.
type Install struct {
	// Kube reaches the management cluster.
	Kube *kube.Clients
	// ChartSource is the chart and its version.
	ChartSource
	// Namespace is k0rdent's system namespace (DefaultNamespace when empty).
	Namespace string
	// Values are the kcm chart's values.
	Values map[string]any
	// Force allows a downgrade.
	Force bool
	// UpgradeOnly fails with *NotInstalledError when k0rdent is not
	// installed (the upgrade command).
	UpgradeOnly bool
	// NoWait returns after the Helm step and the Release switch, without
	// waiting for the Management to be Ready (the k0rdent-ready phase waits).
	NoWait bool
	// Timeout bounds the wait for the Management and for the new Release
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// HelmTimeout bounds each Helm operation (DefaultHelmTimeout when zero).
	HelmTimeout time.Duration
	// Interval is the polling interval (DefaultInterval when zero).
	Interval time.Duration
	// Progress receives what is being done and waited for; may be nil.
	Progress func(string)
	// Debug receives Helm's debug log; may be nil.
	Debug func(string)
}

// Current is the k0rdent found on the cluster before an install.
type Current struct {
	// Version is the installed k0rdent version.
	Version string `json:"version,omitempty"`
	// VersionSource says where Version came from: "Release kcm-1-5-0" or,
	// before the controller created the Management, "Helm release kcm".
	VersionSource string `json:"version_source,omitempty"`
	// Release is the Release object the Management names.
	Release string `json:"release,omitempty"`
	// Helm is the kcm Helm release, nil when there is none.
	Helm *HelmInfo `json:"helm,omitempty"`
}

// Plan is what Install would do, worked out without changing anything.
type Plan struct {
	Action  Action   `json:"action"`
	Current *Current `json:"current,omitempty"`
	// Wanted is the chart version to install.
	Wanted string `json:"wanted"`
	// Chart is where the chart comes from.
	Chart string `json:"chart"`
	// Reasons say why the Helm release changes ("chart 1.4.0 -> 1.5.0",
	// "values changed").
	Reasons []string `json:"reasons,omitempty"`
	// SwitchRelease is the Release the Management will be pointed at, ""
	// when it already names the wanted one.
	SwitchRelease string `json:"switch_release,omitempty"`
	// BreakingChange is set for an upgrade across 1.5.0: what changes and
	// what to do.
	BreakingChange string   `json:"breaking_change,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`

	// Refusal is the guard that stops Run (*DowngradeError,
	// *UnsupportedUpgradeError), nil when Run may go on.
	Refusal error `json:"-"`

	chart   *LoadedChart
	values  map[string]any
	last    *release.Release
	replace bool
	obs     *Observed
}

// Result is what Install did and found.
type Result struct {
	Action Action `json:"action"`
	// Changes lists what was changed, in order.
	Changes []string `json:"changes,omitempty"`
	// Version is the installed k0rdent version, from the Release the
	// Management names ("" when NoWait left it unknown).
	Version         string `json:"version,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	// Release is the Release object the Management names.
	Release      string          `json:"release,omitempty"`
	Chart        string          `json:"chart"`
	ChartVersion string          `json:"chart_version"`
	Namespace    string          `json:"namespace"`
	HelmRevision int             `json:"helm_revision"`
	Ready        bool            `json:"ready"`
	Management   ManagementState `json:"management"`
	// BreakingChange is set for an upgrade across 1.5.0.
	BreakingChange string   `json:"breaking_change,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`
}

// Record returns the state record of the install, for state.Record.K0rdent.
// InstalledAt is set when something was installed or upgraded.
func (r *Result) Record(prev state.K0rdent, now time.Time) state.K0rdent {
	out := prev
	out.Version = r.Version
	out.Release = r.Release
	out.Chart = r.Chart
	out.ChartVersion = r.ChartVersion
	out.Namespace = r.Namespace
	out.HelmRevision = r.HelmRevision
	out.Ready = r.Ready
	t := now.UTC()
	if r.Action != ActionUnchanged || out.InstalledAt == nil {
		out.InstalledAt = &t
	}
	out.CheckedAt = &t
	return out
}

func (in *Install) namespace() string {
	if in.Namespace == "" {
		return DefaultNamespace
	}
	return in.Namespace
}

func (in *Install) progress(format string, args ...any) {
	if in.Progress != nil {
		in.Progress(fmt.Sprintf(format, args...))
	}
}

// Check works out what Run would do, without changing anything. It reads the
// cluster (Helm release, Management, Release) and loads the chart when it
// must (a local chart always; an oci:// chart only when the Helm release
// changes). A refusal is returned in Plan.Refusal, not as the error.
func (in *Install) Check(ctx context.Context) (*Plan, error) {
	if in.Kube == nil {
		return nil, errors.New("k0rdent install: no cluster to install on")
	}
	ns := in.namespace()
	values, err := normalize(in.Values)
	if err != nil {
		return nil, fmt.Errorf("software.k0rdent.values: %w", err)
	}
	p := &Plan{Chart: in.chartRef(), values: values}

	cfg, err := helmConfig(in.Kube, ns, in.Debug)
	if err != nil {
		return nil, err
	}
	p.last, err = lastRelease(cfg)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", in.Kube.Where(), err)
	}
	p.obs, err = observeManagement(ctx, in.Kube.Client)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", in.Kube.Where(), err)
	}

	// The wanted version: known from the options for an oci:// chart; a
	// local chart says it.
	if !in.IsOCI() {
		if p.chart, err = LoadChart(ctx, in.ChartSource, values); err != nil {
			return nil, err
		}
		p.Wanted = p.chart.Version.String()
		p.Warnings = append(p.Warnings, p.chart.Warnings...)
	} else {
		p.Wanted = in.WantedVersion()
		wv, err := ParseVersion(p.Wanted)
		if err != nil {
			return nil, fmt.Errorf("software.k0rdent.version: %w", err)
		}
		if w := prereleaseWarning("kcm chart version", wv); w != "" {
			p.Warnings = append(p.Warnings, w)
		}
	}
	wanted := MustParseVersion(p.Wanted)

	// What is installed.
	var current Version
	if p.last != nil || p.obs.Management != nil {
		p.Current = &Current{Helm: helmInfo(p.last)}
		switch {
		case !p.obs.Version.IsZero():
			current = p.obs.Version
			p.Current.VersionSource = "Release " + p.obs.Release.Name
			p.Current.Release = p.obs.Release.Name
		case p.last != nil && p.last.Chart != nil && p.last.Chart.Metadata != nil:
			if v, err := ParseVersion(p.last.Chart.Metadata.Version); err == nil {
				current = v
				p.Current.VersionSource = "Helm release " + HelmReleaseName
			}
		}
		if p.obs.Management != nil {
			p.Current.Release = p.obs.Management.Spec.Release
		}
		p.Current.Version = current.String()
		if w := prereleaseWarning("installed k0rdent", current); w != "" && current.String() != p.Wanted {
			p.Warnings = append(p.Warnings, w)
		}
	}

	// Version rules.
	if !current.IsZero() {
		switch {
		case wanted.Compare(current) < 0:
			if !in.Force {
				p.Refusal = &DowngradeError{Installed: current.String(), Wanted: wanted.String()}
			} else {
				p.Warnings = append(p.Warnings, fmt.Sprintf("downgrading k0rdent from %s to %s because --force was given: k0rdent does not support downgrades", current, wanted))
			}
		case wanted.Compare(current) > 0 && !current.AtLeast("1.0.0"):
			p.Refusal = &UnsupportedUpgradeError{Installed: current.String(), Wanted: wanted.String()}
		case wanted.Compare(current) > 0 && !current.AtLeast(MinimumVersion) && wanted.AtLeast(MinimumVersion):
			p.BreakingChange = BreakingChange(current, wanted)
		}
	}

	// The Helm step.
	switch {
	case p.last == nil:
		if in.UpgradeOnly {
			return nil, &NotInstalledError{Namespace: ns, Where: in.Kube.Where()}
		}
		p.Action = ActionInstall
	case p.last.Info != nil && p.last.Info.Status.IsPending():
		return nil, fmt.Errorf("the Helm release %s in %s is %s (revision %d): another Helm operation is under way, or one was interrupted; wait for it to finish, or roll it back to the last deployed revision (helm rollback %s -n %s), then run this again", HelmReleaseName, ns, p.last.Info.Status, p.last.Version, HelmReleaseName, ns)
	case p.last.Info != nil && (p.last.Info.Status == release.StatusUninstalled || (p.last.Info.Status == release.StatusFailed && p.last.Version == 1)):
		// A failed first install (or an uninstalled release kept in
		// history): install again over it.
		if in.UpgradeOnly {
			return nil, &NotInstalledError{Namespace: ns, Where: in.Kube.Where()}
		}
		p.Action, p.replace = ActionInstall, true
		p.Reasons = append(p.Reasons, fmt.Sprintf("the last Helm release is %s", p.last.Info.Status))
	default:
		deployedVersion := ""
		if p.last.Chart != nil && p.last.Chart.Metadata != nil {
			deployedVersion = p.last.Chart.Metadata.Version
		}
		same, err := sameValues(p.last.Config, values)
		if err != nil {
			return nil, err
		}
		if deployedVersion != p.Wanted {
			p.Reasons = append(p.Reasons, fmt.Sprintf("chart %s -> %s", orDash(deployedVersion), p.Wanted))
		}
		if !same {
			p.Reasons = append(p.Reasons, "values changed")
		}
		if p.last.Info != nil && p.last.Info.Status != release.StatusDeployed {
			p.Reasons = append(p.Reasons, fmt.Sprintf("the last Helm release is %s", p.last.Info.Status))
		}
		p.Action = ActionUnchanged
		if len(p.Reasons) > 0 {
			p.Action = ActionUpgrade
		}
	}

	// The Release the Management should name: the one of the wanted version,
	// unless the Release it names already has exactly that version (a
	// Release named otherwise, made by hand with controller.createRelease
	// off, is left alone).
	if m := p.obs.Management; m != nil && m.Spec.Release != ReleaseName(p.Wanted) && p.obs.Version.String() != p.Wanted {
		p.SwitchRelease = ReleaseName(p.Wanted)
	}

	// KOF with Istio must move together with k0rdent 1.5.
	if p.Action == ActionUpgrade || p.SwitchRelease != "" {
		if found, err := kofIstioReleases(ctx, in.Kube.Client); err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("could not check for KOF with Istio (%v): if kof-istio is installed, KOF must move to 1.5.0 together with k0rdent 1.5.0", err))
		} else if len(found) > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("KOF with Istio is installed (Helm release %s): KOF must move to 1.5.0 together with k0rdent 1.5.0; upgrade KOF with its Helm charts right after k0rdent, or istio-based KOF traffic breaks", strings.Join(found, ", ")))
		}
	}
	return p, nil
}

// kofIstioReleases finds Helm releases of kof-istio in any namespace, by the
// labels of Helm's release Secrets (metadata only: no Secret data is read).
func kofIstioReleases(ctx context.Context, c client.Client) ([]string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := c.List(ctx, list, client.MatchingLabels{"owner": "helm"}); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var found []string
	for _, s := range list.Items {
		name := s.Labels["name"]
		if !strings.Contains(name, "kof-istio") {
			continue
		}
		key := s.Namespace + "/" + name
		if !seen[key] {
			seen[key] = true
			found = append(found, key)
		}
	}
	return found, nil
}

// Run installs or upgrades k0rdent as Check planned it, and waits for the
// Management (unless NoWait). A refusal comes back as the error.
func (in *Install) Run(ctx context.Context) (*Result, error) {
	p, err := in.Check(ctx)
	if err != nil {
		return nil, err
	}
	if p.Refusal != nil {
		return nil, p.Refusal
	}
	for _, w := range p.Warnings {
		in.progress("warning: %s", w)
	}
	if p.BreakingChange != "" {
		in.progress("%s", p.BreakingChange)
	}
	ns := in.namespace()
	res := &Result{
		Action: p.Action, Chart: p.Chart, ChartVersion: p.Wanted, Namespace: ns,
		BreakingChange: p.BreakingChange, Warnings: p.Warnings,
	}
	if p.Current != nil {
		res.PreviousVersion = p.Current.Version
	}

	if err := in.ensureNamespace(ctx, ns); err != nil {
		return nil, err
	}

	rel := p.last
	switch p.Action {
	case ActionUnchanged:
		in.progress("Helm release %s is up to date (chart %s, revision %d, same values): nothing to install", HelmReleaseName, p.Wanted, rel.Version)
	case ActionInstall, ActionUpgrade:
		if p.chart == nil {
			in.progress("pulling the kcm chart %s:%s", p.Chart, p.Wanted)
			if p.chart, err = LoadChart(ctx, in.ChartSource, p.values); err != nil {
				return nil, err
			}
		}
		for _, r := range p.chart.Resolved {
			in.progress("chart dependency %s (a local dependency not vendored in charts/)", r)
		}
		rel, err = in.helm(ctx, p)
		if err != nil {
			return nil, err
		}
		verb := "installed"
		if p.Action == ActionUpgrade {
			verb = "upgraded (" + strings.Join(p.Reasons, ", ") + ")"
		}
		res.Changes = append(res.Changes, fmt.Sprintf("Helm release %s/%s %s: chart %s, revision %d", ns, HelmReleaseName, verb, p.Wanted, rel.Version))
		in.progress("%s", res.Changes[len(res.Changes)-1])
	}
	res.HelmRevision = rel.Version

	// Keep kcm's own HelmRelease (Management.spec.core.kcm.config) on the
	// same values, when the Management exists already.
	if p.obs.Management != nil {
		changed, err := in.syncManagementConfig(ctx, p.values)
		if err != nil {
			return nil, err
		}
		if changed {
			res.Changes = append(res.Changes, fmt.Sprintf("Management %s: spec.core.kcm.config set to the chart values", ManagementName))
			in.progress("%s", res.Changes[len(res.Changes)-1])
		}
	}

	if p.SwitchRelease != "" {
		from, err := in.switchRelease(ctx, p.SwitchRelease)
		if err != nil {
			return nil, err
		}
		if from != "" {
			res.Changes = append(res.Changes, fmt.Sprintf("Management %s: spec.release %s -> %s", ManagementName, orDash(from), p.SwitchRelease))
			in.progress("%s", res.Changes[len(res.Changes)-1])
		}
	}
	if res.Action == ActionUnchanged && len(res.Changes) > 0 {
		res.Action = ActionUpgrade
	}

	var obs *Observed
	if in.NoWait {
		obs, err = observeManagement(ctx, in.Kube.Client)
		if err != nil {
			return nil, err
		}
	} else {
		obs, err = in.waitReady(ctx)
		if err != nil {
			return nil, err
		}
	}
	st := managementState(obs.Management)
	res.Management, res.Ready = st, st.Done()
	if obs.Release != nil {
		res.Release = obs.Release.Name
		res.Version = obs.Release.Spec.Version
	}
	return res, nil
}

func (in *Install) ensureNamespace(ctx context.Context, ns string) error {
	err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s on %s: %w", ns, in.Kube.Where(), err)
	}
	if err := kube.Apply(ctx, in.Kube.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return fmt.Errorf("creating namespace %s on %s: %w", ns, in.Kube.Where(), err)
	}
	in.progress("created namespace %s", ns)
	return nil
}

// helm runs the Helm install or upgrade.
func (in *Install) helm(ctx context.Context, p *Plan) (*release.Release, error) {
	ns := in.namespace()
	timeout := in.HelmTimeout
	if timeout <= 0 {
		timeout = DefaultHelmTimeout
	}
	cfg, err := helmConfig(in.Kube, ns, in.Debug)
	if err != nil {
		return nil, err
	}
	if p.Action == ActionInstall {
		in.progress("installing the kcm chart %s into %s (Helm release %s)", p.Wanted, ns, HelmReleaseName)
		act := action.NewInstall(cfg)
		act.ReleaseName = HelmReleaseName
		act.Namespace = ns
		act.Timeout = timeout
		act.Replace = p.replace
		act.Description = "installed by k0rdentctl"
		rel, err := act.RunWithContext(ctx, p.chart.Chart, p.values)
		if err != nil {
			return nil, fmt.Errorf("installing the kcm chart %s into %s on %s: %w", p.Wanted, ns, in.Kube.Where(), err)
		}
		return rel, nil
	}
	in.progress("upgrading the kcm chart to %s in %s (%s)", p.Wanted, ns, strings.Join(p.Reasons, ", "))
	act := action.NewUpgrade(cfg)
	act.Namespace = ns
	act.Timeout = timeout
	act.MaxHistory = 10
	act.Description = "upgraded by k0rdentctl"
	rel, err := act.RunWithContext(ctx, HelmReleaseName, p.chart.Chart, p.values)
	if err != nil {
		return nil, fmt.Errorf("upgrading the kcm chart to %s in %s on %s: %w; the previous revision stays deployed; fix the cause and run this again", p.Wanted, ns, in.Kube.Where(), err)
	}
	return rel, nil
}

// syncManagementConfig sets Management.spec.core.kcm.config to values when
// it differs, and reports whether it changed it.
func (in *Install) syncManagementConfig(ctx context.Context, values map[string]any) (bool, error) {
	mgmt := &kcmv1.Management{}
	if err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: ManagementName}, mgmt); err != nil {
		return false, fmt.Errorf("reading Management %s: %w", ManagementName, err)
	}
	var current map[string]any
	if mgmt.Spec.Core != nil && mgmt.Spec.Core.KCM.Config != nil && len(mgmt.Spec.Core.KCM.Config.Raw) > 0 {
		if err := json.Unmarshal(mgmt.Spec.Core.KCM.Config.Raw, &current); err != nil {
			return false, fmt.Errorf("reading Management %s spec.core.kcm.config: %w", ManagementName, err)
		}
	}
	same, err := sameValues(current, values)
	if err != nil || same {
		return false, err
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return false, fmt.Errorf("encoding the kcm values: %w", err)
	}
	orig := mgmt.DeepCopy()
	if mgmt.Spec.Core == nil {
		mgmt.Spec.Core = &kcmv1.Core{}
	}
	mgmt.Spec.Core.KCM.Config = &apiextv1.JSON{Raw: raw}
	if err := in.Kube.Client.Patch(ctx, mgmt, client.MergeFrom(orig)); err != nil {
		return false, fmt.Errorf("setting Management %s spec.core.kcm.config: %w", ManagementName, err)
	}
	return true, nil
}

// switchRelease waits for the Release name to exist (the new kcm controller
// creates it at start-up) and points Management.spec.release at it. It
// returns the Release the Management named before ("" when it named this
// one already).
func (in *Install) switchRelease(ctx context.Context, name string) (string, error) {
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	in.progress("waiting for Release %s (the kcm controller of the new version creates it)", name)
	err := kube.WaitFor(ctx, "Release "+name+" to exist", timeout, in.Interval, func(ctx context.Context) (bool, string, error) {
		rel := &kcmv1.Release{}
		err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: name}, rel)
		switch {
		case apierrors.IsNotFound(err):
			return false, "Release " + name + " not found yet", nil
		case kube.Interrupted(ctx, err):
			return false, "", context.DeadlineExceeded
		case err != nil:
			return false, "cannot read Release " + name + ": " + err.Error(), nil
		}
		return true, "Release " + name + " exists (version " + rel.Spec.Version + ")", nil
	}, in.Progress)
	if err != nil {
		var te *kube.WaitTimeoutError
		if errors.As(err, &te) {
			return "", fmt.Errorf("%w; the kcm controller creates the Release of its version when it starts (chart value controller.createRelease, on by default): check that Deployment %s/%s runs the new version and read its log", err, in.namespace(), ControllerDeployment)
		}
		return "", err
	}
	mgmt := &kcmv1.Management{}
	if err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: ManagementName}, mgmt); err != nil {
		return "", fmt.Errorf("reading Management %s: %w", ManagementName, err)
	}
	from := mgmt.Spec.Release
	if from == name {
		return "", nil
	}
	orig := mgmt.DeepCopy()
	mgmt.Spec.Release = name
	if err := in.Kube.Client.Patch(ctx, mgmt, client.MergeFrom(orig)); err != nil {
		return "", fmt.Errorf("pointing Management %s at Release %s: %w", ManagementName, name, err)
	}
	return from, nil
}

func (in *Install) waitReady(ctx context.Context) (*Observed, error) {
	w := &WaitReady{Kube: in.Kube, Namespace: in.Namespace, Timeout: in.Timeout, Interval: in.Interval, Progress: in.Progress}
	return w.observe(ctx)
}
