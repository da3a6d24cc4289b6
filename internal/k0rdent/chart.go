package k0rdent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
)

// Defaults of a k0rdent install.
const (
	// DefaultChart is the published kcm chart.
	DefaultChart = "oci://ghcr.io/k0rdent/kcm/charts/kcm"
	// DefaultVersion is the k0rdent version installed when none is given.
	DefaultVersion = "1.5.0"
	// DefaultNamespace is k0rdent's system namespace.
	DefaultNamespace = "kcm-system"
	// HelmReleaseName is the Helm release of the kcm chart; it makes the
	// controller Deployment kcm-controller-manager.
	HelmReleaseName = "kcm"
	// ManagementName is the one Management object.
	ManagementName = "kcm"
	// ControllerDeployment is the kcm controller's Deployment (release kcm).
	ControllerDeployment = "kcm-controller-manager"
)

// ChartSource says which kcm chart to install and how to reach it.
type ChartSource struct {
	// Chart is an oci:// reference (DefaultChart when empty), a chart
	// directory or a packaged chart (.tgz).
	Chart string
	// Version is the chart version, which is the k0rdent version. For an
	// oci:// chart it is the tag pulled (DefaultVersion when empty); for a
	// local chart it must match the chart's own version when set, a
	// pre-release counting as its release (see Version).
	Version string
	// Registry is how to log in to the OCI registry.
	Registry RegistryOptions
}

// RegistryOptions reach a private or mirrored OCI registry.
type RegistryOptions = helmrelease.RegistryOptions

func (s ChartSource) chartRef() string {
	if strings.TrimSpace(s.Chart) == "" {
		return DefaultChart
	}
	return strings.TrimSpace(s.Chart)
}

// IsOCI reports whether the chart is pulled from a registry.
func (s ChartSource) IsOCI() bool { return registry.IsOCI(s.chartRef()) }

// WantedVersion is the version to install as far as it is known without
// loading the chart: Version, or DefaultVersion for an oci:// chart; ""
// for a local chart without Version.
func (s ChartSource) WantedVersion() string {
	v := strings.TrimPrefix(strings.TrimSpace(s.Version), "v")
	if v == "" && s.IsOCI() {
		return DefaultVersion
	}
	return v
}

// LoadedChart is a chart ready to install.
type LoadedChart struct {
	Chart *chart.Chart
	// Ref is where it came from ("oci://...:1.5.0", a path).
	Ref string
	// Version is the chart's version.
	Version Version
	// Resolved lists the local dependencies (file://) that were loaded from
	// beside the chart because its charts/ directory lacked them.
	Resolved []string
	// Warnings are things to tell the operator (a pre-release).
	Warnings []string
}

// LoadChart loads the kcm chart from s: pulls an oci:// chart (no helm
// binary, no repository cache), or reads a directory or .tgz. It then checks
// the chart's dependencies against values (see CheckDependencies), so that a
// chart missing a subchart fails here, naming it, instead of installing
// without it.
func LoadChart(ctx context.Context, s ChartSource, values map[string]any) (*LoadedChart, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref := s.chartRef()
	lc := &LoadedChart{Ref: ref}
	var err error
	switch {
	case registry.IsOCI(ref):
		lc.Chart, lc.Ref, err = pullOCI(ref, s.WantedVersion(), s.Registry)
		if err != nil {
			return nil, err
		}
	default:
		info, statErr := os.Stat(ref)
		switch {
		case errors.Is(statErr, fs.ErrNotExist):
			return nil, fmt.Errorf("kcm chart %q: no such file or directory; set software.k0rdent.chart to an oci:// reference (default %s), a chart directory or a .tgz file", ref, DefaultChart)
		case statErr != nil:
			return nil, fmt.Errorf("kcm chart %q: %w", ref, statErr)
		case info.IsDir():
			lc.Chart, err = loader.LoadDir(ref)
			if err == nil {
				lc.Resolved, err = resolveLocalDependencies(lc.Chart, ref)
			}
		default:
			lc.Chart, err = loader.LoadFile(ref)
		}
		if err != nil {
			return nil, fmt.Errorf("loading the kcm chart from %s: %w", ref, err)
		}
	}
	if lc.Chart.Metadata == nil {
		return nil, fmt.Errorf("kcm chart %s has no Chart.yaml metadata", lc.Ref)
	}
	if lc.Chart.Metadata.Name != "kcm" {
		return nil, fmt.Errorf("chart %s is %q, not k0rdent's kcm chart", lc.Ref, lc.Chart.Metadata.Name)
	}
	lc.Version, err = ParseVersion(lc.Chart.Metadata.Version)
	if err != nil {
		return nil, fmt.Errorf("kcm chart %s: %w", lc.Ref, err)
	}
	if want := strings.TrimPrefix(strings.TrimSpace(s.Version), "v"); want != "" {
		wv, err := ParseVersion(want)
		if err != nil {
			return nil, fmt.Errorf("software.k0rdent.version: %w", err)
		}
		if wv.Compare(lc.Version) != 0 {
			return nil, fmt.Errorf("kcm chart %s is version %s, but version %s was asked for: set software.k0rdent.version to %s or use the chart of %s", lc.Ref, lc.Version, wv, lc.Version.Core(), wv)
		}
	}
	if w := prereleaseWarning("kcm chart version", lc.Version); w != "" {
		lc.Warnings = append(lc.Warnings, w)
	}
	if err := CheckDependencies(lc.Chart, values); err != nil {
		return nil, fmt.Errorf("kcm chart %s: %w", lc.Ref, err)
	}
	return lc, nil
}

// pullOCI pulls the kcm chart ref:version.
func pullOCI(ref, version string, opts RegistryOptions) (*chart.Chart, string, error) {
	return helmrelease.PullOCI(ref, version, opts, "kcm chart", "software.k0rdent.version", "software.k0rdent.chart")
}

// resolveLocalDependencies adds to a chart loaded from a directory the
// dependencies that Chart.yaml takes from a local path (repository
// "file://...") and that its charts/ directory lacks, loading them from that
// path, as `helm dependency build` would. The kcm chart in the kcm source
// takes its kcm-regional subchart (alias "regional") this way. It recurses
// into the dependencies it loads. Dependencies from remote repositories are
// left to CheckDependencies.
func resolveLocalDependencies(c *chart.Chart, dir string) ([]string, error) {
	var resolved []string
	for _, dep := range c.Metadata.Dependencies {
		if dep == nil || hasDependency(c, dep) || !strings.HasPrefix(dep.Repository, "file://") {
			continue
		}
		path := strings.TrimPrefix(dep.Repository, "file://")
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		sub, err := loader.LoadDir(path)
		if err != nil {
			return resolved, fmt.Errorf("dependency %s (%s): %w", dep.Name, dep.Repository, err)
		}
		if sub.Name() != dep.Name {
			return resolved, fmt.Errorf("dependency %s (%s) is chart %q", dep.Name, dep.Repository, sub.Name())
		}
		if dep.Version != "" && !chartutil.IsCompatibleRange(dep.Version, sub.Metadata.Version) {
			return resolved, fmt.Errorf("dependency %s (%s) is version %s, Chart.yaml asks for %s", dep.Name, dep.Repository, sub.Metadata.Version, dep.Version)
		}
		more, err := resolveLocalDependencies(sub, path)
		if err != nil {
			return resolved, err
		}
		c.AddDependency(sub)
		resolved = append(resolved, fmt.Sprintf("%s %s from %s", dep.Name, sub.Metadata.Version, path))
		resolved = append(resolved, more...)
	}
	return resolved, nil
}

func hasDependency(c *chart.Chart, dep *chart.Dependency) bool {
	for _, d := range c.Dependencies() {
		if d.Name() == dep.Name && (dep.Version == "" || chartutil.IsCompatibleRange(dep.Version, d.Metadata.Version)) {
			return true
		}
	}
	return false
}

// MissingDependencyError lists subcharts the chart needs with the given
// values but does not carry.
type MissingDependencyError struct {
	Missing []MissingDependency
}

// MissingDependency is one subchart that is enabled but absent.
type MissingDependency struct {
	// Path is the dependency's place in the values, e.g. "flux2" or
	// "regional.velero".
	Path       string
	Name       string
	Version    string
	Repository string
	// Condition is the value that would disable it ("" when none does).
	Condition string
}

func (e *MissingDependencyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d subcharts are enabled but missing from the chart (no charts/ entry):", len(e.Missing))
	var disable []string
	for _, m := range e.Missing {
		fmt.Fprintf(&b, "\n  %s: chart %s %s from %s", m.Path, m.Name, m.Version, m.Repository)
		if m.Condition != "" {
			disable = append(disable, m.Condition+"=false")
		}
	}
	b.WriteString("\nuse the published chart (" + DefaultChart + "), or a chart with its dependencies vendored (helm dependency build, then helm package, on a machine that reaches the repositories)")
	if len(disable) > 0 {
		b.WriteString(", or disable what you do not need with the values " + strings.Join(disable, ", "))
	}
	return b.String()
}

// CheckDependencies reports the subcharts that Chart.yaml declares, that
// the values enable (their condition is true or unset) and that the chart does
// not carry, recursively. Helm's install action would silently install
// without them; for the kcm chart that means an install without Flux, without
// the regional components or without the ProviderInterface CRD.
//
// A condition is looked up in the values given, then in the defaults of the
// charts above the dependency, as Helm coalesces them.
func CheckDependencies(c *chart.Chart, values map[string]any) error {
	var missing []MissingDependency
	checkDependencies(c, "", []map[string]any{values, c.Values}, &missing)
	if len(missing) > 0 {
		return &MissingDependencyError{Missing: missing}
	}
	return nil
}

// checkDependencies walks c's dependencies; scopes are the value maps that
// apply to c (the user's values at c's path first, then the defaults of each
// chart above, at c's path).
func checkDependencies(c *chart.Chart, path string, scopes []map[string]any, missing *[]MissingDependency) {
	for _, dep := range c.Metadata.Dependencies {
		if dep == nil {
			continue
		}
		key := dep.Name
		if dep.Alias != "" {
			key = dep.Alias
		}
		cond, enabled := conditionOf(dep, scopes)
		if !enabled {
			continue
		}
		sub := findDependency(c, dep)
		if sub == nil {
			*missing = append(*missing, MissingDependency{
				Path: path + key, Name: dep.Name, Version: dep.Version, Repository: dep.Repository,
				Condition: prefixed(path, cond),
			})
			continue
		}
		subScopes := make([]map[string]any, 0, len(scopes)+1)
		for _, s := range scopes {
			if m, ok := s[key].(map[string]any); ok {
				subScopes = append(subScopes, m)
			}
		}
		subScopes = append(subScopes, sub.Values)
		checkDependencies(sub, path+key+".", subScopes, missing)
	}
}

func prefixed(path, cond string) string {
	if cond == "" {
		return ""
	}
	return path + cond
}

func findDependency(c *chart.Chart, dep *chart.Dependency) *chart.Chart {
	for _, d := range c.Dependencies() {
		if d.Name() == dep.Name && (dep.Version == "" || chartutil.IsCompatibleRange(dep.Version, d.Metadata.Version)) {
			return d
		}
	}
	return nil
}

// conditionOf evaluates a dependency's condition (the first of its
// comma-separated paths that has a boolean value) in the scopes, in order.
// It returns the condition path that decided (or the first one) and whether
// the dependency is enabled. Tags are not used by the kcm chart and count as
// enabled.
func conditionOf(dep *chart.Dependency, scopes []map[string]any) (string, bool) {
	var first string
	for _, cond := range strings.Split(dep.Condition, ",") {
		cond = strings.TrimSpace(cond)
		if cond == "" {
			continue
		}
		if first == "" {
			first = cond
		}
		for _, s := range scopes {
			if v, err := chartutil.Values(s).PathValue(cond); err == nil {
				if b, ok := v.(bool); ok {
					return cond, b
				}
			}
		}
	}
	return first, true
}
