package k0rdent

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// MinimumVersion is the k0rdent version this tool is built for: the first
// with the regional features (Region with a ClusterDeployment reference,
// credential and certificate propagation to regions).
const MinimumVersion = "1.5.0"

// Version is a k0rdent version as k0rdent spells it: "1.5.0", "1.5.0-rc1"
// (a leading "v" is accepted and dropped).
//
// # Pre-releases
//
// A pre-release counts as the release it precedes for every version rule of
// k0rdentctl: 1.5.0-rc1 is "1.5.0" when deciding whether Regions are
// supported (>= 1.5.0), whether an upgrade crosses the 1.5.0 breaking change,
// whether a change is a downgrade, and whether a chart matches the configured
// version. This is deliberate: the kcm module at tag v1.5.0 still says
// 1.5.0-rc1 in its chart and its Release, while the published chart says
// 1.5.0, and both are k0rdent 1.5.0 in content. Whenever a pre-release is
// treated that way a warning says so, because a real pre-release may lack
// fixes of the release. Moving between a pre-release and its release
// (1.5.0-rc1 <-> 1.5.0) is an ordinary Helm upgrade of the chart, never a
// refused downgrade.
type Version struct {
	raw string
	v   *semver.Version
}

// ParseVersion parses a k0rdent (chart) version.
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	v, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	if err != nil {
		return Version{}, fmt.Errorf("%q is not a k0rdent version (like 1.5.0): %w", s, err)
	}
	return Version{raw: strings.TrimPrefix(s, "v"), v: v}, nil
}

// MustParseVersion is ParseVersion for constants.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String is the version as given, without a leading "v".
func (v Version) String() string { return v.raw }

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v.v == nil }

// Core is the release that v is or precedes: "1.5.0" for "1.5.0-rc1".
func (v Version) Core() string {
	if v.v == nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v.v.Major(), v.v.Minor(), v.v.Patch())
}

// Prerelease is the pre-release part ("rc1"), "" for a release.
func (v Version) Prerelease() string {
	if v.v == nil {
		return ""
	}
	return v.v.Prerelease()
}

// Compare compares the releases of v and o (pre-releases count as their
// release, see Version): -1, 0 or +1.
func (v Version) Compare(o Version) int {
	a, b := v.coreVersion(), o.coreVersion()
	return a.Compare(b)
}

// AtLeast reports whether v is min or newer, pre-releases counting as their
// release.
func (v Version) AtLeast(min string) bool {
	return v.v != nil && v.Compare(MustParseVersion(min)) >= 0
}

func (v Version) coreVersion() *semver.Version {
	if v.v == nil {
		return semver.New(0, 0, 0, "", "")
	}
	return semver.New(v.v.Major(), v.v.Minor(), v.v.Patch(), "", "")
}

// prereleaseWarning is the warning shown when a pre-release is treated as its
// release; "" for a release.
func prereleaseWarning(what string, v Version) string {
	if v.Prerelease() == "" {
		return ""
	}
	return fmt.Sprintf("%s %s is a pre-release of %s and is treated as %s (a pre-release may lack fixes of the release; the kcm module's own chart at v1.5.0 says 1.5.0-rc1)", what, v, v.Core(), v.Core())
}

// ReleaseName is the name of the k0rdent Release object of a version, as the
// kcm controller names it: "kcm-1-5-0" for 1.5.0, "kcm-1-5-0-rc1" for
// 1.5.0-rc1.
func ReleaseName(version string) string {
	v := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(version), "v"))
	v = strings.NewReplacer(".", "-", "+", "-").Replace(v)
	return "kcm-" + v
}

// BreakingChange describes the step across k0rdent 1.5.0 for an upgrade from
// a version before it (the seed's risk 1), with what to do.
func BreakingChange(from, to Version) string {
	return fmt.Sprintf(`upgrading k0rdent from %s to %s crosses the 1.5.0 breaking change:
  - the CAPI providers move to Cluster API v1.11.2, CAPZ v1.21.0, k0smotron v1.9.0, Sveltos v1.1.1;
  - cluster templates are renamed (azure-standalone-cp-1-0-8 in 1.1.1 is azure-standalone-cp-1-0-17 in 1.5.0):
    existing ClusterDeployments keep their template until you move them to a new one;
  - the Region CRD and the regional features need 1.5.0.
Steps:
  1. keep a copy of the state record (k0rdentctl state export) and, if KOF is installed, check that
     KOF 1.5.0 is available (KOF with Istio must move to 1.5.0 together with k0rdent);
  2. run the upgrade; k0rdentctl upgrades the kcm chart, then points Management kcm at Release %s
     and waits until every component is healthy;
  3. check k0rdentctl k0rdent status (version %s, Regions supported) and that existing
     ClusterDeployments are still Ready;
  4. move ClusterDeployments to the 1.5.0 templates when you are ready (kubectl get clusterdeployments -A lists them).
Rollback: redeploy the management cluster with the old version from the exported state.`,
		from, to, ReleaseName(to.String()), to)
}
