package regional

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Phases returns the phase chains of the named regional clusters (every
// configured one when names is empty), in configuration order. A name that is
// not configured is an error listing the configured names. The phases are
// wanted only when software.k0rdent.regional.enabled is true.
func Phases(env *Env, names []string) ([]phase.Phase, error) {
	phases, _, err := build(env, names)
	return phases, err
}

// Select returns the configured regional clusters with the given names (all
// when names is empty), in configuration order, or an error naming the
// unknown ones and listing the configured names.
func Select(cfg *config.Config, names []string) ([]config.RegionalCluster, error) {
	all := cfg.Software.K0rdent.Regional.Clusters
	if len(names) == 0 {
		return slices.Clone(all), nil
	}
	var unknown []string
	for _, n := range names {
		if _, ok := cfg.RegionalCluster(n); !ok && !slices.Contains(unknown, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		configured := make([]string, 0, len(all))
		for _, rc := range all {
			configured = append(configured, rc.Name)
		}
		return nil, &UnknownRegionError{Names: unknown, Where: "in the configuration's software.k0rdent.regional.clusters", Known: configured}
	}
	var out []config.RegionalCluster
	for _, rc := range all {
		if slices.Contains(names, rc.Name) {
			out = append(out, rc)
		}
	}
	return out, nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// build makes the chains and keeps their shared per-region parts.
func build(env *Env, names []string) ([]phase.Phase, []*regionRun, error) {
	if env == nil || env.Config == nil {
		return nil, nil, errors.New("regional phases: no configuration given")
	}
	selected, err := Select(env.Config, names)
	if err != nil {
		return nil, nil, err
	}
	sh := &shared{}
	var phases []phase.Phase
	var runs []*regionRun
	for _, rc := range selected {
		r := &regionRun{env: env, rc: rc, shared: sh}
		runs = append(runs, r)
		chain := []phase.Phase{
			&preflightPhase{step: r.step(StepPreflight, nil)},
			&clusterPhase{step: r.step(StepCluster, []string{StepPreflight})},
			&regionPhase{step: r.step(StepRegion, []string{StepCluster})},
			&credentialsPhase{step: r.step(StepCredentials, []string{StepRegion})},
			&certificatesPhase{step: r.step(StepCertificates, []string{StepCredentials})},
			&componentsPhase{step: r.step(StepComponents, []string{StepCertificates})},
		}
		phases = append(phases, chain...)
	}
	return phases, runs, nil
}

// Every phase of a chain is Grouped (by its region), a Wanter and a Verifier.
var (
	_ interface {
		phase.Phase
		phase.Grouped
		phase.Wanter
		phase.Verifier
	} = (*preflightPhase)(nil)
	_ phase.Verifier = (*clusterPhase)(nil)
	_ phase.Verifier = (*regionPhase)(nil)
	_ phase.Verifier = (*credentialsPhase)(nil)
	_ phase.Wanter   = (*credentialsPhase)(nil)
	_ phase.Verifier = (*certificatesPhase)(nil)
	_ phase.Verifier = (*componentsPhase)(nil)
)

// shared is what the chains of one run share: the preflight observation of
// the management cluster, made once.
type shared struct {
	mu     sync.Mutex
	status *k0rdent.StatusReport
}

// regionRun is one region's chain: its configuration and what its phases
// share (the regional cluster's clients, warnings).
type regionRun struct {
	env    *Env
	rc     config.RegionalCluster
	shared *shared

	mu         sync.Mutex
	kubeconfig []byte // the regional kubeconfig the clients were built from
	clients    *kube.Clients
	warnings   []string
}

func (r *regionRun) name() string { return r.rc.Name }

func (r *regionRun) step(name string, after []string) step {
	var req []string
	for _, a := range after {
		req = append(req, PhaseName(r.rc.Name, a))
	}
	if name == StepPreflight {
		req = append(req, r.env.After...)
	}
	return step{r: r, name: name, requires: req}
}

func (r *regionRun) warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.warnings, msg) {
		r.warnings = append(r.warnings, msg)
	}
}

func (r *regionRun) warningList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.warnings)
}

// step is what every phase of a chain has in common.
type step struct {
	r        *regionRun
	name     string
	requires []string
}

func (s *step) chain() *regionRun  { return s.r }
func (s *step) Name() string       { return PhaseName(s.r.rc.Name, s.name) }
func (s *step) Requires() []string { return slices.Clone(s.requires) }

// Group is the region: the engine labels the chain's transitions with it.
func (s *step) Group() string { return s.r.rc.Name }

// Wanted: regional clusters are opt-in.
func (s *step) Wanted() (bool, string) {
	if !s.r.env.Config.RegionalEnabled() {
		return false, "software.k0rdent.regional.enabled is false"
	}
	return true, ""
}

func (s *step) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

// run does a phase's work between the region's state moving to deploying
// and, on failure, to failed with the reason.
func (s *step) run(ctx context.Context, work func() error) error {
	r := s.r
	first := false
	err := r.update(ctx, func(c *state.RegionalCluster) {
		if c.Status != state.RegionalDeploying {
			first = true
			c.Status = state.RegionalDeploying
		}
	})
	if err != nil {
		return err
	}
	if first {
		if err := r.event(ctx, s.name, EventDeploying, "deploying %s", r.describe()); err != nil {
			return err
		}
	}
	if err := work(); err != nil {
		if rerr := s.failed(ctx, err); rerr != nil {
			return phase.Permanent(errors.Join(err, rerr))
		}
		return err
	}
	return nil
}

// failed records the region as failed with the reason. A record that cannot
// be written is an error of its own, returned beside the phase's (the
// engine stops the run on it).
func (s *step) failed(ctx context.Context, err error) error {
	r := s.r
	msg := err.Error()
	if ctx.Err() != nil {
		msg = "interrupted: " + msg
	}
	uerr := r.update(ctx, func(c *state.RegionalCluster) {
		c.Status = state.RegionalFailed
		c.Deployed = false
		c.LastError = msg
	})
	if uerr == nil {
		uerr = r.event(ctx, s.name, EventFailed, "%s failed at step %s: %s", r.rc.Name, s.name, msg)
	}
	return recordFailed(uerr)
}

// fail wraps err as the step's *Error.
func (s *step) fail(summary string, err error, fix string) error {
	return &Error{Region: s.r.rc.Name, Step: s.name, Summary: summary, Err: err, Fix: fix}
}

// describe names the regional cluster and where it comes from, e.g.
// "regional cluster regional-useast (ClusterDeployment kcm-system/x)".
func (r *regionRun) describe() string {
	return fmt.Sprintf("regional cluster %s (%s)", r.rc.Name, r.source())
}

// source says where the regional cluster comes from.
func (r *regionRun) source() string {
	if r.rc.Type() == config.RegionalTypeDeployment {
		return fmt.Sprintf("ClusterDeployment %s/%s", r.cdNamespace(), r.rc.ClusterDeploymentRef)
	}
	return fmt.Sprintf("external, Secret %s/%s", r.env.namespace(), r.rc.KubeconfigSecret)
}

func (r *regionRun) cdNamespace() string {
	if r.rc.ClusterDeployment != nil && r.rc.ClusterDeployment.Namespace != "" {
		return r.rc.ClusterDeployment.Namespace
	}
	return r.env.namespace()
}
