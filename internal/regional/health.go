package regional

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Event types of health checks.
const (
	// EventHealthChanged: a regional cluster's health differs from the one
	// recorded before (the first check included).
	EventHealthChanged = "region_health_changed"
	// EventReadyChanged: `region health --watch` saw a Region's Ready
	// condition change.
	EventReadyChanged = "region_ready_changed"
)

// DefaultHealthTimeout bounds the checks of one regional cluster.
const DefaultHealthTimeout = 15 * time.Second

// Health checks the regional clusters (`region health`): see Run.
type Health struct {
	Env *Env
	// Names are the regions to check; empty: every region the
	// configuration, the record or the management cluster knows (removed
	// and unmanaged ones aside).
	Names []string
	// Timeout bounds the checks of each region (connection, authenticated
	// request, components); 0 means DefaultHealthTimeout.
	Timeout time.Duration
	// Parallel bounds how many regions are checked at once; 0: all.
	Parallel int
	// NoRecord leaves the record alone (health and events are recorded in
	// Env.Session otherwise).
	NoRecord bool
	// Record is the deployment record to read when Env.Session is nil (a
	// check that holds no lock); nil: Env.Session's.
	Record *state.Record
}

// HealthReport is what `region health` shows; its JSON keys are those of
// `region health -o json`.
type HealthReport struct {
	CheckedAt       time.Time      `json:"checked_at"`
	Management      string         `json:"management,omitempty"`
	ManagementError string         `json:"management_error,omitempty"`
	Regions         []RegionHealth `json:"regions"`
	// Counts are the regions by health.
	Counts          map[string]int `json:"counts"`
	DurationSeconds float64        `json:"duration_seconds"`
	// RecordError says why the results could not be recorded.
	RecordError string `json:"record_error,omitempty"`
}

// RegionHealth is one regional cluster's health.
type RegionHealth struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"`
	Location string `json:"location,omitempty"`
	// Status is the record's status.
	Status string `json:"status"`
	// Health is healthy, degraded, unreachable or unknown.
	Health string `json:"health"`
	// Previous is the health recorded before this check ("" when none).
	Previous string `json:"previous,omitempty"`
	// Reachable: the regional cluster answered an authenticated request.
	Reachable bool   `json:"reachable"`
	Server    string `json:"server,omitempty"`
	User      string `json:"user,omitempty"`
	// Kubeconfig says which kubeconfig was used (a Secret on the
	// management cluster, or the local file when the management cluster
	// could not be read).
	Kubeconfig string  `json:"kubeconfig,omitempty"`
	LatencyMS  float64 `json:"latency_ms,omitempty"`
	// Ready is the Region's Ready condition (nil: unknown); Region is the
	// Region as observed.
	Ready  *bool       `json:"ready"`
	Region RegionState `json:"region"`
	// Components are the components found in the regional cluster.
	Components          []ComponentStatus `json:"components,omitempty"`
	ComponentsAvailable int               `json:"components_available"`
	ComponentsTotal     int               `json:"components_total"`
	// Problems say what is wrong; Fix what to do next.
	Problems []string `json:"problems,omitempty"`
	Fix      string   `json:"fix,omitempty"`
	// Skipped says why the region was not checked (not deployed yet).
	Skipped         string  `json:"skipped,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Unhealthy reports whether a checked region is not healthy.
func (h RegionHealth) Unhealthy() bool { return h.Skipped == "" && h.Health != state.HealthHealthy }

// Unhealthy names the checked regions that are not healthy.
func (r *HealthReport) Unhealthy() []string {
	var out []string
	for _, h := range r.Regions {
		if h.Unhealthy() {
			out = append(out, h.Name)
		}
	}
	return out
}

// Run checks every regional cluster in parallel, each within its own
// timeout: that it answers an authenticated request with the kubeconfig the
// management cluster keeps for it (the local file when the management
// cluster cannot be read), that its components are available, and that its
// Region is Ready. Regions are healthy, degraded (reachable but a component
// or the Region is not ready), unreachable (no authenticated answer) or
// unknown. The health and the time of the check are recorded in each region's
// state entry, with an event when the health changed. The error is nil
// unless nothing could be checked at all.
func (op *Health) Run(ctx context.Context) (*HealthReport, error) {
	env := op.Env
	start := env.now()
	rep := &HealthReport{CheckedAt: start.UTC(), Regions: []RegionHealth{}, Counts: map[string]int{}}
	rec := op.Record
	if rec == nil && env.Session != nil {
		rec = env.Session.Snapshot()
	}
	v := &observed{env: env, rec: rec}
	mc, err := env.management(ctx)
	if err != nil {
		rep.ManagementError = err.Error()
	} else {
		rep.Management = mc.Server
		if err := v.load(ctx, mc); err != nil {
			rep.ManagementError = err.Error()
			mc = nil
		}
	}
	names, err := v.healthNames(op.Names)
	if err != nil {
		return nil, err
	}
	timeout := op.Timeout
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	rep.Regions = make([]RegionHealth, len(names))
	opsEach(len(names), op.Parallel, func(i int) {
		rep.Regions[i] = v.checkHealth(ctx, mc, names[i], timeout)
	})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("health check interrupted: %w", ctx.Err())
	}
	for _, h := range rep.Regions {
		rep.Counts[h.Health]++
	}
	rep.DurationSeconds = env.now().Sub(start).Seconds()
	if !op.NoRecord {
		if err := recordHealth(ctx, env, rep); err != nil {
			rep.RecordError = err.Error()
		}
	}
	return rep, nil
}

// healthNames are the regions to check: names (each must be known), else
// every known region that is not removed and not unmanaged.
func (v *observed) healthNames(names []string) ([]string, error) {
	all := v.names()
	if len(names) > 0 {
		var unknown []string
		for _, n := range names {
			if !containsString(all, n) {
				unknown = append(unknown, n)
			}
		}
		if len(unknown) > 0 {
			return nil, &UnknownRegionError{Names: unknown, Where: whereKnown, Known: all}
		}
		return names, nil
	}
	var out []string
	for _, n := range all {
		r := v.record(n)
		if r != nil && r.Status == state.RegionalRemoved {
			if _, ok := v.configured(n); !ok {
				continue
			}
		}
		if rg := v.regions[n]; rg != nil && r == nil && !v.known(n) && !v.ours(rg.Labels) {
			continue // a Region someone else runs
		}
		out = append(out, n)
	}
	return out, nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// checkHealth checks one region; mc is nil when the management cluster
// could not be read.
func (v *observed) checkHealth(ctx context.Context, mc *kube.Clients, name string, timeout time.Duration) (h RegionHealth) {
	start := time.Now()
	row := v.status(name)
	h = RegionHealth{Name: name, Type: row.Type, Location: row.Location, Status: row.Status, Health: state.HealthUnknown, Region: row.Region, Ready: row.Ready}
	if r := v.record(name); r != nil {
		h.Previous = r.Health
	}
	defer func() { h.DurationSeconds = time.Since(start).Seconds() }()

	rg := v.regions[name]
	notDeployed := (row.Status == state.RegionalPending || row.Status == state.RegionalRemoved) && rg == nil
	if notDeployed {
		h.Skipped = "not deployed yet"
		if row.Status == state.RegionalRemoved {
			h.Skipped = "removed"
		}
		h.Fix = "deploy it: k0rdentctl region deploy " + name
		return h
	}

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// The kubeconfig: from the management cluster (the source of truth),
	// else the local file.
	var data []byte
	if mc != nil {
		ref, ok := v.kubeconfigRef(name)
		if !ok {
			h.Problems = append(h.Problems, "no kubeconfig is known for it")
			h.Fix = "deploy it: k0rdentctl region deploy " + name
			return h
		}
		h.Kubeconfig = ref.String()
		d, err := ReadKubeconfig(cctx, mc.Client, ref)
		if err != nil {
			h.Health = state.HealthUnreachable
			h.Problems = append(h.Problems, err.Error())
			h.Fix = fmt.Sprintf("check %s on the management cluster, then: k0rdentctl region deploy %s", ref, name)
			return h
		}
		data = d
	} else {
		path := v.kubeconfigPath(name)
		d, err := os.ReadFile(path)
		if err != nil || path == "" {
			h.Problems = append(h.Problems, "the management cluster could not be read and there is no local kubeconfig file for it")
			h.Fix = "make the management cluster reachable (see the error above), then check again"
			return h
		}
		h.Kubeconfig = "file " + path
		data = d
	}

	probeStart := time.Now()
	rc, user, err := Probe(cctx, data, timeout, v.env.ClientOptions...)
	if err != nil {
		h.Health = state.HealthUnreachable
		var pe *ProbeError
		switch {
		case errors.As(err, &pe):
			h.Server = pe.Server
			h.Problems = append(h.Problems, pe.Error())
		case ctx.Err() != nil:
			h.Health = state.HealthUnknown
			h.Problems = append(h.Problems, "check interrupted")
			return h
		default:
			h.Problems = append(h.Problems, err.Error())
		}
		h.Fix = fmt.Sprintf("check that the cluster runs and is reachable from here, and the kubeconfig in %s; then: k0rdentctl region health %s", h.Kubeconfig, name)
		return h
	}
	h.LatencyMS = float64(time.Since(probeStart).Microseconds()) / 1000
	h.Reachable, h.Server, h.User = true, rc.Server, user

	// Components, as the Region asked for them (the configuration when the
	// Region is unknown).
	wanted := WantedComponents(v.regionalCluster(name), regionProviders(rg))
	sts, err := CheckComponents(cctx, rc.Client, name, wanted)
	if err != nil {
		h.Health = state.HealthDegraded
		h.Problems = append(h.Problems, "cannot list its Deployments: "+err.Error())
	} else {
		h.Components = sts
		for _, s := range sts {
			h.ComponentsTotal++
			if s.Available {
				h.ComponentsAvailable++
			} else {
				h.Problems = append(h.Problems, s.Short+": "+s.Problem)
			}
		}
	}
	switch {
	case mc == nil:
		h.Problems = append(h.Problems, "Region unknown: the management cluster could not be read")
	case rg == nil:
		h.Problems = append(h.Problems, fmt.Sprintf("Region %s does not exist on the management cluster", name))
	case !h.Region.Done():
		h.Problems = append(h.Problems, "Region "+h.Region.Summary())
	}
	switch {
	case len(h.Problems) == 0:
		h.Health = state.HealthHealthy
	case mc == nil && err == nil && h.ComponentsAvailable == h.ComponentsTotal:
		h.Health = state.HealthUnknown
		h.Fix = "make the management cluster reachable to check the Region"
	default:
		h.Health = state.HealthDegraded
		h.Fix = fmt.Sprintf("see Region %s's components (k0rdentctl region status) and the Deployments in the regional cluster (k0rdentctl region kubeconfig %s)", name, name)
		if rg == nil {
			h.Fix = "create it again: k0rdentctl region deploy " + name
		}
	}
	return h
}

// recordHealth writes each checked region's health and check time into its
// state entry (regions without one are not added) and an event for every
// region whose health changed.
func recordHealth(ctx context.Context, env *Env, rep *HealthReport) error {
	if env.Session == nil {
		return nil
	}
	at := rep.CheckedAt
	var events []state.Event
	err := env.Session.Update(ctx, func(rec *state.Record) error {
		events = events[:0]
		for _, h := range rep.Regions {
			if h.Skipped != "" {
				continue
			}
			c := rec.Regional(h.Name)
			if c == nil {
				continue
			}
			prev := c.Health
			c.Health = h.Health
			t := at
			c.HealthCheckedAt = &t
			if prev != h.Health {
				events = append(events, state.Event{Timestamp: at, Region: h.Name, Type: EventHealthChanged, Message: healthMessage(h, prev)})
			}
		}
		rec.Events = append(rec.Events, events...)
		return nil
	})
	return err
}

// healthMessage says in one line what a health check found.
func healthMessage(h RegionHealth, prev string) string {
	from := ""
	if prev != "" {
		from = " (was " + prev + ")"
	}
	msg := fmt.Sprintf("regional cluster %s is %s%s", h.Name, h.Health, from)
	if len(h.Problems) > 0 {
		msg += ": " + strings.Join(h.Problems, "; ")
	}
	return msg
}

// ReadyTransition is a change of a Region's Ready condition seen by
// WatchHealth.
type ReadyTransition struct {
	Region string    `json:"region"`
	At     time.Time `json:"at"`
	// From and To are "True", "False" or "Unknown" (no Region, or no
	// condition), with the reason.
	From       string `json:"from"`
	To         string `json:"to"`
	FromReason string `json:"from_reason,omitempty"`
	ToReason   string `json:"to_reason,omitempty"`
	Message    string `json:"message,omitempty"`
}

func (t ReadyTransition) String() string {
	s := fmt.Sprintf("Region %s Ready %s → %s", t.Region, withReason(t.From, t.FromReason), withReason(t.To, t.ToReason))
	if t.Message != "" {
		s += ": " + t.Message
	}
	return s
}

func withReason(status, reason string) string {
	if reason == "" {
		return status
	}
	return status + " (" + reason + ")"
}

// WatchHealth checks the regions' health again and again (`region health
// --watch`): see Run.
type WatchHealth struct {
	Health
	// Interval is the time between checks; 0 means 10s.
	Interval time.Duration
	// OnCheck receives every report with the Ready transitions since the
	// previous one (none for the first). It is called from Run's goroutine.
	OnCheck func(rep *HealthReport, transitions []ReadyTransition)
	// Store and DeploymentID, when set, are the deployment record to read
	// before each check (without the lock) and to write each result to,
	// locking it only while the result is written, so that other commands
	// (deploy, remove) can take the lock during a long watch. A result that
	// finds the lock held is not recorded (HealthReport.RecordError says
	// so). When not set, Env.Session is used as it is.
	Store        state.Store
	DeploymentID string
}

// Run checks until ctx ends, recording health as Health does and each
// Region Ready transition as an event (EventReadyChanged). It returns nil
// when ctx ends.
func (op *WatchHealth) Run(ctx context.Context) error {
	interval := op.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	last := map[string]ReadyTransition{} // region -> its last state (To, ToReason)
	first := true
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		check := op.Health
		if op.Store != nil {
			check.NoRecord = true // written below, under the lock
			rec, err := op.Store.Load(ctx, op.DeploymentID)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("reading the deployment record: %w", err)
			}
			check.Record = rec
		}
		rep, err := check.Run(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var trans []ReadyTransition
		for _, h := range rep.Regions {
			cur := readyOf(h)
			prev, seen := last[h.Name]
			last[h.Name] = cur
			if first || !seen || (prev.To == cur.To && prev.ToReason == cur.ToReason) {
				continue
			}
			tr := ReadyTransition{Region: h.Name, At: rep.CheckedAt, From: prev.To, FromReason: prev.ToReason, To: cur.To, ToReason: cur.ToReason, Message: h.Region.Message}
			trans = append(trans, tr)
		}
		if !op.NoRecord {
			if err := op.record(ctx, rep, trans); err != nil {
				rep.RecordError = err.Error()
			}
		}
		first = false
		if op.OnCheck != nil {
			op.OnCheck(rep, trans)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// record records one watch check: the health (already recorded in
// Env.Session when there is no Store) and the Ready transitions, under the
// record's lock for the time of the write only when Store is set.
func (op *WatchHealth) record(ctx context.Context, rep *HealthReport, trans []ReadyTransition) error {
	e := op.Env
	if op.Store != nil {
		sess, err := state.Open(context.WithoutCancel(ctx), op.Store, op.DeploymentID)
		if err != nil {
			return fmt.Errorf("not recorded this time: %w", err)
		}
		defer sess.Close()
		cp := *op.Env
		cp.Session = sess
		e = &cp
		if err := recordHealth(context.WithoutCancel(ctx), e, rep); err != nil {
			return err
		}
	}
	if e.Session == nil {
		return nil
	}
	var errs []error
	for _, tr := range trans {
		errs = append(errs, e.Session.AddEvent(state.Event{Timestamp: tr.At, Region: tr.Region, Type: EventReadyChanged, Message: tr.String()}))
	}
	return errors.Join(errs...)
}

// readyOf is a region's Ready condition as a transition end.
func readyOf(h RegionHealth) ReadyTransition {
	switch {
	case h.Ready == nil || !h.Region.Exists:
		return ReadyTransition{To: "Unknown"}
	case *h.Ready:
		return ReadyTransition{To: "True", ToReason: h.Region.Reason}
	}
	return ReadyTransition{To: "False", ToReason: h.Region.Reason}
}
