package k0rdent

import (
	"context"
	"errors"
	"fmt"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Status reads what k0rdent is installed on a cluster. It changes nothing.
type Status struct {
	Kube      *kube.Clients
	Namespace string
	// Debug receives Helm's debug log; may be nil.
	Debug func(string)
}

// StatusReport is k0rdent's state on a cluster; its JSON keys are those of
// `k0rdentctl k0rdent status -o json`.
type StatusReport struct {
	// Installed is true when the kcm Helm release or the Management exists.
	Installed bool   `json:"installed"`
	Namespace string `json:"namespace"`
	// Version is the installed k0rdent version: spec.version of the Release
	// that the Management names; "" when that cannot be known.
	Version string `json:"version,omitempty"`
	// Release is the Release object the Management names.
	Release string `json:"release,omitempty"`
	// ReleaseReady is the Release's status.ready.
	ReleaseReady bool            `json:"release_ready"`
	Management   ManagementState `json:"management"`
	// RegionCRD says whether the API server serves the Region kind.
	RegionCRD bool `json:"region_crd"`
	// RegionsSupported is true when the Region CRD is served and the
	// version is 1.5.0 or newer (a pre-release of 1.5.0 counts, see
	// Version); RegionsReason says why not.
	RegionsSupported bool   `json:"regions_supported"`
	RegionsReason    string `json:"regions_reason,omitempty"`
	// Helm is the kcm Helm release, nil when there is none.
	Helm     *HelmInfo `json:"helm,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// Ready is true when the Management is Ready for its Release.
func (r *StatusReport) Ready() bool { return r.Management.Done() }

// Run reads the status.
func (s *Status) Run(ctx context.Context) (*StatusReport, error) {
	if s.Kube == nil {
		return nil, errors.New("k0rdent status: no cluster given")
	}
	ns := s.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	r := &StatusReport{Namespace: ns}
	cfg, err := helmConfig(s.Kube, ns, s.Debug)
	if err != nil {
		return nil, err
	}
	rel, err := lastRelease(cfg)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", s.Kube.Where(), err)
	}
	r.Helm = helmInfo(rel)
	obs, err := observeManagement(ctx, s.Kube.Client)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", s.Kube.Where(), err)
	}
	r.Installed = rel != nil || obs.Management != nil
	r.Management = managementState(obs.Management)
	if obs.Release != nil {
		r.Release = obs.Release.Name
		r.Version = obs.Release.Spec.Version
		r.ReleaseReady = obs.Release.Status.Ready
	} else if obs.Management != nil {
		r.Release = obs.Management.Spec.Release
		r.Warnings = append(r.Warnings, fmt.Sprintf("Management %s names Release %s, which does not exist, so the installed version is unknown", ManagementName, obs.Management.Spec.Release))
	}

	r.RegionCRD, err = s.Kube.Served(ctx, kcmv1.GroupVersion.String(), "Region")
	if err != nil {
		return nil, err
	}
	v, verr := ParseVersion(r.Version)
	switch {
	case !r.RegionCRD:
		r.RegionsReason = "the Region CRD is not served"
	case r.Version == "":
		r.RegionsReason = "the installed version is unknown (no Release named by the Management)"
	case verr != nil:
		r.RegionsReason = verr.Error()
	case !v.AtLeast(MinimumVersion):
		r.RegionsReason = fmt.Sprintf("k0rdent %s is older than %s (the Region CRD exists since 1.4, but regional clusters need %s)", v, MinimumVersion, MinimumVersion)
	default:
		r.RegionsSupported = true
		if w := prereleaseWarning("installed k0rdent", v); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r, nil
}
