package phase

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Plan is what a run would do, phase by phase, without doing any of it.
type Plan struct {
	// Steps are in topological order: by level, then in the order the phases
	// were given. Steps of the same level do not depend on each other and run
	// concurrently.
	Steps []Step
}

// Step is one phase of a Plan.
type Step struct {
	Name  string
	Title string
	// Group is the label of the phase's group (Grouped), "" when none.
	Group    string
	Requires []string
	// Level is 0 for a phase without requirements, else one more than the
	// highest level it requires.
	Level int
	// Wanted is the phase's Wanter verdict; true for phases that are not
	// Wanters (their ShouldRun decides at run time).
	Wanted bool
	// Reason says why the phase is not wanted.
	Reason string
	// Recorded is the phase's status in the Journal, "" when never recorded
	// or when the engine has no Journal. A completed phase is verified, not
	// trusted, on the next run.
	Recorded state.PhaseStatus
	// Verifiable says the phase implements Verifier: when Recorded is
	// completed and it is still done, the next run will not run it again.
	Verifiable bool
	// Lines are the phase's DryRun, nil when it is not wanted.
	Lines []string
	// Err is the DryRun's error.
	Err error
}

// Plan validates the graph and describes each phase: its place in the order,
// whether it is wanted (Wanter only: Plan never calls ShouldRun, Verify or
// Run) and its DryRun. It needs no network and no credentials.
//
// An invalid graph returns a *GraphError and no plan. A DryRun that fails is
// kept in its step's Err, and Plan returns the plan together with all such
// errors joined.
func (e *Engine) Plan(ctx context.Context, phases []Phase) (*Plan, error) {
	g, err := buildGraph(phases)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Steps: make([]Step, 0, len(g.nodes))}
	var errs []error
	for _, n := range g.nodes {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("planning stopped before phase %s: %w", n.name, err)
		}
		s := Step{
			Name:     n.name,
			Title:    n.title,
			Group:    n.group,
			Requires: slices.Clone(n.requires),
			Level:    n.level,
			Wanted:   true,
		}
		if e.Journal != nil {
			s.Recorded = e.Journal.PhaseStatus(n.name)
		}
		_, s.Verifiable = n.p.(Verifier)
		if w, ok := n.p.(Wanter); ok {
			var reason string
			err := guard(func() error {
				s.Wanted, reason = w.Wanted()
				return nil
			})
			if err != nil {
				s.Err = fmt.Errorf("deciding whether phase %s is wanted: %w", n.name, err)
				errs = append(errs, s.Err)
				plan.Steps = append(plan.Steps, s)
				continue
			}
			if !s.Wanted {
				s.Reason = reason
				if s.Reason == "" {
					s.Reason = ReasonNotWanted
				}
			}
		}
		if s.Wanted {
			err := guard(func() error {
				var err error
				s.Lines, err = n.p.DryRun(ctx)
				return err
			})
			if err != nil {
				s.Err = fmt.Errorf("describing phase %s: %w", n.name, err)
				errs = append(errs, s.Err)
			}
		}
		plan.Steps = append(plan.Steps, s)
	}
	return plan, errors.Join(errs...)
}

// Step returns the step of the named phase.
func (p *Plan) Step(name string) (Step, bool) {
	for _, s := range p.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Levels groups the steps by level: each group can start once the groups
// before it are done, and its phases run concurrently.
func (p *Plan) Levels() [][]Step {
	var out [][]Step
	for _, s := range p.Steps {
		for len(out) <= s.Level {
			out = append(out, nil)
		}
		out[s.Level] = append(out[s.Level], s)
	}
	return out
}
