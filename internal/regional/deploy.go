package regional

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// DeployOptions tune Deploy.
type DeployOptions struct {
	// Parallel bounds how many regions deploy at once; 0 or less means
	// Parallel(env.Config, 0).
	Parallel int
	// Observer sees the run as it happens (the live progress display).
	Observer phase.Observer
	// StopTimeout is phase.Engine.StopTimeout.
	StopTimeout time.Duration
}

// Deploy deploys regional clusters (`region deploy`, and `deploy
// --with-regional` through Phases): see Run.
type Deploy struct {
	Env *Env
	// Names are the regional clusters to deploy; empty: every configured
	// one.
	Names []string
	DeployOptions
}

// Run deploys the named regional clusters (every configured one when
// names is empty): their phase chains run concurrently, as many regions at a
// time as Parallel allows, recorded in env.Session, and a rerun resumes where
// a previous run stopped. The Report is returned whenever the phases ran; the
// error is then the run's (phase.Result.Err: a region failed, or the run was
// interrupted). Without a Report the error says why nothing ran (a name that
// is not configured).
func (op *Deploy) Run(ctx context.Context) (*Report, error) {
	env, names, opts := op.Env, op.Names, op.DeployOptions
	phases, runs, err := build(env, names)
	if err != nil {
		return nil, err
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = Parallel(env.Config, 0)
	}
	eng := &phase.Engine{Observer: opts.Observer, Parallel: parallel, Now: env.Now, StopTimeout: opts.StopTimeout}
	if env.Session != nil {
		eng.Journal = env.Session
	}
	res, err := eng.Run(ctx, phases)
	if res == nil {
		return nil, err
	}
	rep := newReport(env, runs, res)
	rep.Parallel = parallel
	return rep, err
}

// Region statuses in a Report.
const (
	ReportDeployed    = state.RegionalDeployed
	ReportFailed      = state.RegionalFailed
	ReportInterrupted = "interrupted"
	ReportSkipped     = "skipped"
)

// Report is what a Deploy did, region by region. Its JSON keys are those of
// `region deploy -o json`.
type Report struct {
	// K0rdentVersion is the k0rdent version the preflight read.
	K0rdentVersion  string         `json:"k0rdent_version,omitempty"`
	Parallel        int            `json:"parallel"`
	Regions         []RegionReport `json:"regions"`
	Counts          map[string]int `json:"counts"`
	Interrupted     bool           `json:"interrupted"`
	DurationSeconds float64        `json:"duration_seconds"`
	// Result is the engine's result, phase by phase.
	Result *phase.Result `json:"-"`
}

// Failed names the regions that failed or were interrupted.
func (r *Report) Failed() []string {
	var out []string
	for _, rg := range r.Regions {
		if rg.Status == ReportFailed || rg.Status == ReportInterrupted {
			out = append(out, rg.Name)
		}
	}
	return out
}

// RegionReport is one region's outcome.
type RegionReport struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Location string `json:"location"`
	// Source says where the cluster comes from: "ClusterDeployment
	// kcm-system/x" or "external, Secret kcm-system/y".
	Source string `json:"source"`
	// Status is deployed, failed, interrupted or skipped.
	Status string `json:"status"`
	// ClusterDeploymentCreated: k0rdentctl created the ClusterDeployment
	// (false: adopted); nil for external clusters or when unknown.
	ClusterDeploymentCreated *bool        `json:"cluster_deployment_created,omitempty"`
	Steps                    []StepReport `json:"steps"`
	// Components are the versions observed in the regional cluster, by
	// state key (cert_manager, velero, cluster_api, provider names).
	Components     map[string]string `json:"components,omitempty"`
	KubeconfigPath string            `json:"kubeconfig_path,omitempty"`
	// FailedStep, Error and Fix say what failed and what to do next.
	FailedStep      string   `json:"failed_step,omitempty"`
	Error           string   `json:"error,omitempty"`
	Fix             string   `json:"fix,omitempty"`
	Warnings        []string `json:"warnings,omitempty"`
	DurationSeconds float64  `json:"duration_seconds"`
}

// Step returns the report of one step.
func (r RegionReport) Step(step string) (StepReport, bool) {
	for _, s := range r.Steps {
		if s.Step == step {
			return s, true
		}
	}
	return StepReport{}, false
}

// StepReport is one step of a region's chain.
type StepReport struct {
	Step  string `json:"step"`
	Phase string `json:"phase"`
	// Status is completed, failed, skipped or pending (not reached).
	Status string `json:"status"`
	// Verified: done earlier, verified still in place, not run again.
	Verified        bool    `json:"verified,omitempty"`
	Reason          string  `json:"reason,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	// LastProgress is what the step last reported (what it waited for).
	LastProgress string `json:"last_progress,omitempty"`
}

// Summarize reports, region by region, a run of phases among which are
// phases made by Phases (for example `deploy --with-regional`, where the
// engine ran them with other phases). Phases of other packages are ignored.
func Summarize(env *Env, phases []phase.Phase, res *phase.Result) *Report {
	var runs []*regionRun
	for _, p := range phases {
		if c, ok := p.(interface{ chain() *regionRun }); ok && !slices.Contains(runs, c.chain()) {
			runs = append(runs, c.chain())
		}
	}
	return newReport(env, runs, res)
}

func newReport(env *Env, runs []*regionRun, res *phase.Result) *Report {
	rep := &Report{Counts: map[string]int{}, Interrupted: res.Interrupted, DurationSeconds: res.Duration().Seconds(), Result: res, Regions: []RegionReport{}}
	var rec *state.Record
	if env.Session != nil {
		rec = env.Session.Snapshot()
	}
	for _, r := range runs {
		rg := RegionReport{Name: r.rc.Name, Type: r.rc.Type(), Location: r.rc.Location, Source: r.source(), Warnings: r.warningList()}
		var start, end time.Time
		failed, interrupted, pending, ran := false, false, false, false
		for _, step := range Steps() {
			oc, ok := res.Outcome(PhaseName(r.rc.Name, step))
			if !ok {
				continue
			}
			sr := StepReport{Step: step, Phase: oc.Name, Status: string(oc.Status), Verified: oc.Verified, Reason: oc.Reason, DurationSeconds: oc.Duration.Seconds(), LastProgress: oc.LastProgress}
			rg.Steps = append(rg.Steps, sr)
			if !oc.StartedAt.IsZero() && (start.IsZero() || oc.StartedAt.Before(start)) {
				start = oc.StartedAt
			}
			if oc.EndedAt.After(end) {
				end = oc.EndedAt
			}
			switch {
			case oc.Interrupted():
				interrupted = true
				rg.FailedStep = step
				// The error of an interrupted step is the interruption's
				// (a cancelled request), unless it was abandoned.
				rg.Error = "interrupted"
				if oc.Err != nil && !errors.Is(oc.Err, context.Canceled) {
					rg.Error += ": " + oc.Err.Error()
				}
				rg.Fix = "run the same command again: what was done is verified, not redone"
			case oc.Status == state.PhaseFailed:
				failed = true
				rg.FailedStep = step
				if e := AsError(oc.Err); e != nil {
					rg.Error, rg.Fix = e.Message(), e.Fix
				} else {
					rg.Error = errText(oc.Err)
					rg.Fix = fixThen("fix the cause", r.rc.Name)
				}
			case oc.Status == state.PhasePending:
				pending = true
			case oc.Status == state.PhaseCompleted:
				ran = true
			}
		}
		switch {
		case interrupted:
			rg.Status = ReportInterrupted
		case failed:
			rg.Status = ReportFailed
		case pending:
			rg.Status = ReportInterrupted
			if rg.Error == "" {
				rg.Error = "the run stopped before this region finished"
				rg.Fix = "run the same command again: what was done is verified, not redone"
			}
		case !ran:
			rg.Status = ReportSkipped
		default:
			rg.Status = ReportDeployed
		}
		if !start.IsZero() && end.After(start) {
			rg.DurationSeconds = end.Sub(start).Seconds()
		}
		if rec != nil {
			if c := rec.Regional(r.rc.Name); c != nil {
				rg.Components = maps.Clone(c.Components)
				rg.KubeconfigPath = c.KubeconfigPath
				if st, ok := rg.Step(StepCluster); ok && c.Type == state.RegionalTypeClusterDeployment && st.Status == string(state.PhaseCompleted) {
					v := c.ClusterDeploymentOwned
					rg.ClusterDeploymentCreated = &v
				}
			}
		}
		if v := r.k0rdentVersion(); v != "" {
			rep.K0rdentVersion = v
		}
		rep.Counts[rg.Status]++
		rep.Regions = append(rep.Regions, rg)
	}
	return rep
}

func errText(err error) string {
	if err == nil {
		return "no error recorded"
	}
	return err.Error()
}

// ComponentShortName is a component's name in one-line output: cert-manager,
// velero, capi, capz, k0smotron, sveltos...
func ComponentShortName(key string) string {
	switch key {
	case ComponentCertManager:
		return "cert-manager"
	case ComponentVelero:
		return "velero"
	case ComponentClusterAPI:
		return "capi"
	}
	return ProviderComponent(key).Short
}
