package regional

import (
	"context"
	"fmt"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// baseRecord is a region's state entry as the configuration describes it.
func baseRecord(rc config.RegionalCluster) state.RegionalCluster {
	r := state.RegionalCluster{
		Name:     rc.Name,
		Location: rc.Location,
		Status:   state.RegionalPending,
	}
	if rc.Type() == config.RegionalTypeDeployment {
		r.Type = state.RegionalTypeClusterDeployment
		r.ClusterDeploymentRef = rc.ClusterDeploymentRef
	} else {
		r.Type = state.RegionalTypeExternal
		r.KubeconfigSecret = rc.KubeconfigSecret
	}
	return r
}

// update changes the region's state entry, creating it from the
// configuration when it is missing. Type, location and references always
// follow the configuration. Without a session it does nothing.
func (r *regionRun) update(ctx context.Context, fn func(*state.RegionalCluster)) error {
	s := r.env.Session
	if s == nil {
		return nil
	}
	return s.Update(ctx, func(rec *state.Record) error {
		base := baseRecord(r.rc)
		cur := rec.Regional(r.rc.Name)
		if cur == nil {
			cur = rec.UpsertRegional(base)
		}
		cur.Location, cur.Type = base.Location, base.Type
		cur.ClusterDeploymentRef, cur.KubeconfigSecret = base.ClusterDeploymentRef, base.KubeconfigSecret
		if cur.Type != state.RegionalTypeClusterDeployment {
			cur.ClusterDeploymentOwned = false
		}
		if cur.Status == "" {
			cur.Status = state.RegionalPending
		}
		fn(cur)
		return nil
	})
}

// snapshot returns a copy of the region's state entry, nil when there is
// none (or no session).
func (r *regionRun) snapshot() *state.RegionalCluster {
	if r.env.Session == nil {
		return nil
	}
	rec := r.env.Session.Snapshot()
	if c := rec.Regional(r.rc.Name); c != nil {
		cp := *c
		return &cp
	}
	return nil
}

// event records an event of one of the region's phases (saved even when
// ctx is cancelled, so that an interrupted run is on record).
func (r *regionRun) event(_ context.Context, step, typ, format string, args ...any) error {
	s := r.env.Session
	if s == nil {
		return nil
	}
	return s.AddEvent(state.Event{
		Timestamp: r.env.now(),
		Phase:     PhaseName(r.rc.Name, step),
		Region:    r.rc.Name,
		Type:      typ,
		Message:   fmt.Sprintf(format, args...),
	})
}

// resource records an object k0rdentctl created or adopted for the region.
func (r *regionRun) resource(ctx context.Context, step string, res state.Resource) error {
	s := r.env.Session
	if s == nil {
		return nil
	}
	res.Region = r.rc.Name
	res.Phase = PhaseName(r.rc.Name, step)
	if res.CreatedAt.IsZero() {
		res.CreatedAt = r.env.now().UTC()
	}
	return s.Update(ctx, func(rec *state.Record) error {
		for _, cur := range rec.Resources {
			if cur.Kind == res.Kind && cur.Namespace == res.Namespace && cur.Name == res.Name && cur.ID == res.ID {
				res.CreatedAt = cur.CreatedAt // first seen
			}
		}
		rec.UpsertResource(res)
		return nil
	})
}
