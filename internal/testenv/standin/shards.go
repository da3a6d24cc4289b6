package standin

import (
	"context"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Regional handles every region in one loop, one after the other. In
// k0rdent the Region controller only creates Flux HelmReleases, and Flux
// installs the releases of different regions at the same time, so the work
// of one region never waits for another's. Tests that measure how regions
// deploy side by side (the benchmarks) use shards instead: one Regional per
// region, each run in its own Loop, each seeing only its region's objects.

// NewRegionalShards returns one Regional per region, plus one (region "")
// for what belongs to no region (the management Credential, ClusterDeployments
// without a region label). Each sees, through its Management client, only
// the Regions, Credentials and ClusterDeployments of its region; everything
// else about it is opts. Run each in a Loop of its own.
func NewRegionalShards(opts RegionalOptions, regions []string) ([]*Regional, error) {
	var out []*Regional
	for _, r := range append([]string{""}, regions...) {
		o := opts
		o.Management = regionScoped{Client: opts.Management, region: r}
		s, err := NewRegional(o)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// regionScoped is a management client whose lists of Regions, Credentials
// and ClusterDeployments hold only one region's objects.
type regionScoped struct {
	client.Client
	region string
}

func (c regionScoped) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := c.Client.List(ctx, list, opts...); err != nil {
		return err
	}
	switch l := list.(type) {
	case *kcmv1.RegionList:
		items := l.Items[:0]
		for _, it := range l.Items {
			if it.Name == c.region {
				items = append(items, it)
			}
		}
		l.Items = items
	case *kcmv1.CredentialList:
		items := l.Items[:0]
		for _, it := range l.Items {
			if it.Spec.Region == c.region {
				items = append(items, it)
			}
		}
		l.Items = items
	case *kcmv1.ClusterDeploymentList:
		items := l.Items[:0]
		for _, it := range l.Items {
			if it.Labels[kcmv1.KCMRegionLabelKey] == c.region {
				items = append(items, it)
			}
		}
		l.Items = items
	}
	return nil
}
