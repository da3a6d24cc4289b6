package k0rdent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Phase names of deploy.
const (
	PhaseInstall = "k0rdent-install"
	PhaseReady   = "k0rdent-ready"
)

// ConnectFunc returns clients for the management cluster. Phases call it when
// they run, because the cluster may not exist when the phases are built.
type ConnectFunc func(ctx context.Context) (*kube.Clients, error)

// InstallPhase is deploy's "k0rdent-install": Install with NoWait (the chart,
// the values in Management kcm, the Release switch); k0rdent-ready waits.
type InstallPhase struct {
	// Connect reaches the management cluster.
	Connect ConnectFunc
	// Install holds the options (ChartSource, Namespace, Values, Force,
	// timeouts); its Kube, NoWait and Progress are set by the phase.
	Install Install
	// After are the phases this one requires (the cluster's bootstrap).
	After []string
	// OnResult, when set, receives the result (to record it in state). Its
	// error fails the phase: a record that cannot be written stops the run.
	OnResult func(*Result) error
}

var (
	_ phase.Phase    = (*InstallPhase)(nil)
	_ phase.Verifier = (*InstallPhase)(nil)
	_ phase.Phase    = (*ReadyPhase)(nil)
	_ phase.Verifier = (*ReadyPhase)(nil)
)

// Name implements phase.Phase.
func (p *InstallPhase) Name() string { return PhaseInstall }

// Title implements phase.Phase.
func (p *InstallPhase) Title() string {
	if v := p.Install.WantedVersion(); v != "" {
		return "Install k0rdent " + v
	}
	return "Install k0rdent"
}

// Requires implements phase.Phase.
func (p *InstallPhase) Requires() []string { return p.After }

// ShouldRun implements phase.Phase: always, since Run observes first and an
// install with nothing to change makes no Helm revision.
func (p *InstallPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *InstallPhase) install(ctx context.Context, progress func(string)) (*Install, error) {
	if p.Connect == nil {
		return nil, errors.New("k0rdent-install: no way to reach the management cluster")
	}
	kc, err := p.Connect(ctx)
	if err != nil {
		return nil, err
	}
	in := p.Install
	in.Kube = kc
	in.NoWait = true
	in.Progress = progress
	return &in, nil
}

// Run implements phase.Phase.
func (p *InstallPhase) Run(ctx context.Context, pr phase.Progress) error {
	in, err := p.install(ctx, func(s string) { pr.Printf("%s", s) })
	if err != nil {
		return err
	}
	res, err := in.Run(ctx)
	if err != nil {
		return permanentIfGuard(err)
	}
	if p.OnResult != nil {
		if err := p.OnResult(res); err != nil {
			return phase.Permanent(err)
		}
	}
	return nil
}

// Verify implements phase.Verifier: done when Install would change nothing
// (same chart version and values, Management on the wanted Release) and the
// Management is Ready.
func (p *InstallPhase) Verify(ctx context.Context) (bool, string, error) {
	in, err := p.install(ctx, nil)
	if err != nil {
		return false, "", err
	}
	plan, err := in.Check(ctx)
	if err != nil {
		return false, "", err
	}
	switch {
	case plan.Refusal != nil:
		return false, plan.Refusal.Error(), nil
	case plan.Action != ActionUnchanged:
		return false, fmt.Sprintf("Helm release needs %s (%s)", plan.Action, strings.Join(plan.Reasons, ", ")), nil
	case plan.SwitchRelease != "":
		return false, "Management kcm does not name Release " + plan.SwitchRelease, nil
	}
	st := managementState(plan.obs.Management)
	if !st.Done() {
		return false, st.Summary(), nil
	}
	return true, fmt.Sprintf("k0rdent %s installed (%s), Management Ready", plan.Current.Version, plan.Current.VersionSource), nil
}

// DryRun implements phase.Phase, from the options alone.
func (p *InstallPhase) DryRun(context.Context) ([]string, error) {
	in := p.Install
	ns := in.namespace()
	version := in.WantedVersion()
	if version == "" {
		version = "the chart's own version"
	}
	lines := []string{
		fmt.Sprintf("install or upgrade Helm release %s in namespace %s (created if missing) from chart %s, version %s", HelmReleaseName, ns, in.chartRef(), version),
		"no new Helm revision when the deployed release has this chart version and these values",
	}
	if keys := valueKeys(in.Values, ""); len(keys) > 0 {
		lines = append(lines, "values: "+strings.Join(keys, ", "))
	} else {
		lines = append(lines, "values: the chart's defaults")
	}
	guard := "refuse a downgrade of the installed k0rdent (read from the Release that Management kcm names)"
	if in.Force {
		guard = "allow a downgrade (--force)"
	}
	lines = append(lines, guard,
		fmt.Sprintf("after an upgrade, point Management %s at Release %s", ManagementName, ReleaseName(in.WantedVersion())))
	return lines, nil
}

// ReadyPhase is deploy's "k0rdent-ready": wait until the Management kcm is
// Ready, reporting each component, then read the installed version.
type ReadyPhase struct {
	Connect   ConnectFunc
	Namespace string
	Timeout   time.Duration
	Interval  time.Duration
	// After defaults to k0rdent-install.
	After []string
	// OnResult, when set, receives the final status. Its error fails the
	// phase.
	OnResult func(*StatusReport) error
}

// Name implements phase.Phase.
func (p *ReadyPhase) Name() string { return PhaseReady }

// Title implements phase.Phase.
func (p *ReadyPhase) Title() string { return "Wait for k0rdent to be ready" }

// Requires implements phase.Phase.
func (p *ReadyPhase) Requires() []string {
	if p.After == nil {
		return []string{PhaseInstall}
	}
	return p.After
}

// ShouldRun implements phase.Phase.
func (p *ReadyPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

// Run implements phase.Phase.
func (p *ReadyPhase) Run(ctx context.Context, pr phase.Progress) error {
	if p.Connect == nil {
		return errors.New("k0rdent-ready: no way to reach the management cluster")
	}
	kc, err := p.Connect(ctx)
	if err != nil {
		return err
	}
	w := &WaitReady{Kube: kc, Namespace: p.Namespace, Timeout: p.Timeout, Interval: p.Interval,
		Progress: func(s string) { pr.Printf("%s", s) }}
	if _, err := w.Run(ctx); err != nil {
		return err
	}
	st, err := (&Status{Kube: kc, Namespace: p.Namespace}).Run(ctx)
	if err != nil {
		return err
	}
	pr.Printf("k0rdent %s ready (Release %s)", st.Version, st.Release)
	if p.OnResult != nil {
		if err := p.OnResult(st); err != nil {
			return phase.Permanent(err)
		}
	}
	return nil
}

// Verify implements phase.Verifier: the Management is Ready.
func (p *ReadyPhase) Verify(ctx context.Context) (bool, string, error) {
	if p.Connect == nil {
		return false, "", errors.New("k0rdent-ready: no way to reach the management cluster")
	}
	kc, err := p.Connect(ctx)
	if err != nil {
		return false, "", err
	}
	st, err := (&Status{Kube: kc, Namespace: p.Namespace}).Run(ctx)
	if err != nil {
		return false, "", err
	}
	if !st.Ready() {
		return false, st.Management.Summary(), nil
	}
	return true, fmt.Sprintf("k0rdent %s, Management Ready", st.Version), nil
}

// DryRun implements phase.Phase.
func (p *ReadyPhase) DryRun(context.Context) ([]string, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return []string{
		fmt.Sprintf("wait up to %s for Management %s to be Ready, showing each component of its status", timeout, ManagementName),
		"read the installed version from the Release the Management names",
	}, nil
}

// Record returns the state record for a status read after the install.
func (r *StatusReport) Record(prev state.K0rdent, now time.Time) state.K0rdent {
	out := prev
	if r.Version != "" {
		out.Version = r.Version
	}
	if r.Release != "" {
		out.Release = r.Release
	}
	out.Namespace = r.Namespace
	if r.Helm != nil {
		out.ChartVersion = r.Helm.ChartVersion
		out.HelmRevision = r.Helm.Revision
	}
	out.Ready = r.Ready()
	t := now.UTC()
	out.CheckedAt = &t
	return out
}

// valueKeys lists the leaf keys of values, dotted ("controller.logger.devel").
func valueKeys(v map[string]any, prefix string) []string {
	var keys []string
	for k, val := range v {
		if m, ok := val.(map[string]any); ok && len(m) > 0 {
			keys = append(keys, valueKeys(m, prefix+k+".")...)
			continue
		}
		keys = append(keys, prefix+k)
	}
	sort.Strings(keys)
	return keys
}

// permanentIfGuard marks errors that retrying cannot fix as permanent for the
// phase engine.
func permanentIfGuard(err error) error {
	var r interface{ Refused() bool }
	var md *MissingDependencyError
	var ni *NotInstalledError
	if (errors.As(err, &r) && r.Refused()) || errors.As(err, &md) || errors.As(err, &ni) {
		return phase.Permanent(err)
	}
	return err
}
