package standin

import (
	"context"
	"errors"
	"sync"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Regional handles every region in one pass, one after the other. In
// k0rdent the Region controller only creates Flux HelmReleases, and Flux
// installs the releases of different regions at the same time, so the work
// of one region never waits for another's. Tests that measure how regions
// deploy side by side (the benchmarks) use Shards instead: one Regional per
// region, all reconciled at the same time in each pass, from one list of
// each kind per pass (as informers share one watch).

// Shards runs one Regional per region. It is a Reconciler: run it in a Loop
// (with KCM for the Management and Release).
type Shards struct {
	mgmt   client.Client
	shards []*Regional
	views  []*regionScoped
}

// NewRegionalShards returns the shards of the given regions, plus one (region
// "") for what belongs to no region (the management Credential,
// ClusterDeployments without a region label). Each shard sees, through its
// Management client, only the Regions, Credentials and ClusterDeployments of
// its region; everything else about it is opts.
func NewRegionalShards(opts RegionalOptions, regions []string) (*Shards, error) {
	if opts.Management == nil {
		return nil, errors.New("stand-in: no management cluster client given")
	}
	s := &Shards{mgmt: opts.Management}
	for _, r := range append([]string{""}, regions...) {
		view := &regionScoped{Client: opts.Management, region: r}
		o := opts
		o.Management = view
		shard, err := NewRegional(o)
		if err != nil {
			return nil, err
		}
		s.shards = append(s.shards, shard)
		s.views = append(s.views, view)
	}
	return s, nil
}

// Name implements Reconciler.
func (s *Shards) Name() string { return "regional-shards" }

// Reconcile implements Reconciler: one list of each kind, then every shard's
// pass at the same time.
func (s *Shards) Reconcile(ctx context.Context) error {
	regions := &kcmv1.RegionList{}
	cds := &kcmv1.ClusterDeploymentList{}
	creds := &kcmv1.CredentialList{}
	for _, l := range []client.ObjectList{regions, cds, creds} {
		if err := s.mgmt.List(ctx, l); err != nil {
			return err
		}
	}
	for _, v := range s.views {
		v.set(regions, cds, creds)
	}
	errs := make([]error, len(s.shards))
	var wg sync.WaitGroup
	for i, shard := range s.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = shard.Reconcile(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// regionScoped is a management client whose lists of Regions, Credentials
// and ClusterDeployments are those of the current pass, holding only one
// region's objects.
type regionScoped struct {
	client.Client
	region string

	mu      sync.Mutex
	regions []kcmv1.Region
	cds     []kcmv1.ClusterDeployment
	creds   []kcmv1.Credential
}

func (c *regionScoped) set(regions *kcmv1.RegionList, cds *kcmv1.ClusterDeploymentList, creds *kcmv1.CredentialList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regions, c.cds, c.creds = nil, nil, nil
	for i := range regions.Items {
		if regions.Items[i].Name == c.region {
			c.regions = append(c.regions, *regions.Items[i].DeepCopy())
		}
	}
	for i := range cds.Items {
		if cds.Items[i].Labels[kcmv1.KCMRegionLabelKey] == c.region {
			c.cds = append(c.cds, *cds.Items[i].DeepCopy())
		}
	}
	for i := range creds.Items {
		if creds.Items[i].Spec.Region == c.region {
			c.creds = append(c.creds, *creds.Items[i].DeepCopy())
		}
	}
}

func (c *regionScoped) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch l := list.(type) {
	case *kcmv1.RegionList:
		l.Items = append([]kcmv1.Region(nil), c.regions...)
	case *kcmv1.ClusterDeploymentList:
		l.Items = append([]kcmv1.ClusterDeployment(nil), c.cds...)
	case *kcmv1.CredentialList:
		l.Items = append([]kcmv1.Credential(nil), c.creds...)
	default:
		return c.Client.List(ctx, list, opts...)
	}
	return nil
}
