package kof

import (
	"context"
	"fmt"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"helm.sh/helm/v3/pkg/release"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// LabelClusterRole marks a ClusterDeployment as a KOF regional or child
// cluster (values regional, child).
const LabelClusterRole = "k0rdent.mirantis.com/kof-cluster-role"

// ReleaseStatus is one release as status shows it.
type ReleaseStatus struct {
	Release   string            `json:"release"`
	Namespace string            `json:"namespace"`
	Helm      *helmrelease.Info `json:"helm,omitempty"`
	Ready     bool              `json:"ready"`
	// Waiting says what is not ready, or that it is not installed.
	Waiting string `json:"waiting,omitempty"`
}

// Status is KOF on the management cluster.
type Status struct {
	Version  string          `json:"version"`
	Releases []ReleaseStatus `json:"releases"`
	// Clusters are the ClusterDeployments labelled for KOF, by role.
	Clusters map[string][]string `json:"clusters"`
	// Regional are the KOF regional clusters with endpoints and the
	// children reporting to each.
	Regional []RegionalStatus `json:"regional"`
}

// Ready: every release is installed and ready.
func (s *Status) Ready() bool {
	for _, r := range s.Releases {
		if !r.Ready {
			return false
		}
	}
	return len(s.Releases) > 0
}

// GetStatus reads every release of the configuration and whether what it
// made is ready, without changing anything.
func GetStatus(ctx context.Context, kc *kube.Clients, cfg *config.Config) (*Status, error) {
	st := &Status{Version: cfg.KOF.Version, Clusters: map[string][]string{}}
	for _, s := range Steps(cfg, "", "") {
		rs := ReleaseStatus{Release: s.Release, Namespace: s.Namespace}
		hc, err := helmrelease.Config(kc, s.Namespace, nil)
		if err != nil {
			return nil, err
		}
		rel, err := helmrelease.Last(hc, s.Release)
		if err != nil {
			return nil, err
		}
		rs.Helm = helmrelease.InfoOf(rel)
		switch {
		case rel == nil:
			rs.Waiting = "not installed"
		case rel.Info == nil || rel.Info.Status != release.StatusDeployed:
			rs.Waiting = fmt.Sprintf("Helm release is %s", rs.Helm.Status)
		default:
			objs, err := helmrelease.Objects(rel, rel.Chart)
			if err != nil {
				return nil, err
			}
			if rs.Waiting, err = helmrelease.Readiness(ctx, kc.Client, objs); err != nil {
				return nil, err
			}
			rs.Ready = rs.Waiting == ""
		}
		st.Releases = append(st.Releases, rs)
	}
	users, err := clusters(ctx, kc.Client)
	if err != nil {
		return nil, err
	}
	st.Clusters = users
	if st.Regional, err = RegionalStatuses(ctx, kc.Client); err != nil {
		return nil, err
	}
	return st, nil
}

// clusters are the ClusterDeployments labelled for KOF, by role.
func clusters(ctx context.Context, c client.Client) (map[string][]string, error) {
	var cds kcmv1.ClusterDeploymentList
	if err := c.List(ctx, &cds, client.HasLabels{LabelClusterRole}); err != nil {
		return nil, fmt.Errorf("listing ClusterDeployments labelled %s: %w", LabelClusterRole, err)
	}
	out := map[string][]string{}
	for _, cd := range cds.Items {
		role := cd.Labels[LabelClusterRole]
		out[role] = append(out[role], cd.Namespace+"/"+cd.Name)
	}
	return out, nil
}
