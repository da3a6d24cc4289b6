// Package phase runs the steps of a deployment: named phases with
// dependencies, run concurrently where they are independent, recorded in the
// deployment record so that any run can be resumed.
//
// It follows k0sctl's phase package (each phase a small type with Title,
// ShouldRun, Run and DryRun, and a manager that runs them and prints a
// dry-run report) and adds what k0rdentctl needs on top: a dependency graph,
// bounded parallelism, resume with verification, cancellation that leaves a
// resumable record, retries and per-phase timings.
//
// # Rules the engine follows
//
//   - A phase starts when every phase it Requires has completed, or was
//     skipped because it was not wanted. A requirement that is not wanted
//     orders phases; it does not block them: a phase that needs what an
//     optional phase makes says so in its own Wanted or ShouldRun.
//   - A phase whose requirement failed (or was itself not run because of a
//     failure) does not run: it is recorded as skipped with the reason
//     "requirement "X" failed". Independent branches carry on.
//   - On resume a phase recorded as completed is verified, not trusted: when
//     it implements Verifier and Verify reports it is still done, it is
//     recorded as completed with the reason "verified" and not run; when
//     Verify reports it is no longer done, it runs again. A completed phase
//     without a Verifier runs again; Run must be idempotent anyway (observe,
//     then act). Phases recorded as failed, skipped, in-progress (a run that
//     was killed) or pending run again.
//   - When the context is cancelled (Ctrl-C) no new phase starts; running
//     phases see ctx.Done. Those that return with an error are recorded as
//     interrupted (state.PhaseInterrupted, not failed: the error is the
//     cancellation's, not the phase's; one that finishes its work anyway is
//     completed); those that had not started keep the status they had.
//     Nothing is left in-progress, so the record is resumable. A phase that
//     ignores cancellation for longer than Engine.StopTimeout is recorded as
//     interrupted and abandoned.
//   - A panic in a phase is a failure of that phase, not a crash.
//   - Every change of a phase's status goes to the Journal and the Observer,
//     with a timestamp from Engine.Now. Progress messages go to the Observer
//     only.
//
// # Deciding whether a phase is wanted
//
// Wanter.Wanted is the pure decision, from the configuration alone: both Plan
// (k0rdentctl plan, which has no credentials and no network) and Run call it.
// ShouldRun may look at the world (read an Azure resource, ask the management
// cluster) and is called only by Run, when the phase's requirements are done.
// Plan never calls ShouldRun or Run.
package phase

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Reasons the engine records.
const (
	// ReasonVerified is the reason of a phase that was completed earlier and
	// that Verify found still done, so it was not run again.
	ReasonVerified = "verified"
	// ReasonInterrupted is the reason of a phase that was running when the
	// run was cancelled.
	ReasonInterrupted = "interrupted"
	// ReasonNotWanted is the reason recorded for a phase that was not wanted
	// when the phase gave none.
	ReasonNotWanted = "not wanted"
)

// Phase is one step of a deployment.
type Phase interface {
	// Name is the stable id recorded in state, e.g. "k0rdent-install" or
	// "region/regional-useast/region". It must be unique within a run.
	Name() string
	// Title is what people read, e.g. "Install k0rdent 1.5.0".
	Title() string
	// Requires names the phases that must be done before this one starts.
	Requires() []string
	// ShouldRun decides, when the phase is about to start, whether it is
	// wanted. It may observe the world. false with a reason is recorded as
	// skipped with that reason; an error fails the phase.
	ShouldRun(ctx context.Context) (bool, string, error)
	// Run does the work. It observes first and changes only what differs, so
	// running it again after a success or a partial failure is safe. It
	// returns promptly with ctx.Err() (or an error wrapping it) when ctx is
	// cancelled.
	Run(ctx context.Context, p Progress) error
	// DryRun describes what Run would do, one line each, from the
	// configuration alone: no network, no credentials.
	DryRun(ctx context.Context) ([]string, error)
}

// Wanter is implemented by phases whose wanting depends on the configuration
// alone (for example "kof.enabled"). Plan uses it to show what would be
// skipped; Run calls it before ShouldRun, and a phase that is not wanted is
// skipped without calling ShouldRun. It must not do I/O.
type Wanter interface {
	Wanted() (bool, string)
}

// Verifier is implemented by phases that can tell, by looking at the world,
// whether what they did is still in place. On resume a phase recorded as
// completed is verified: still done (true) means it is recorded as completed
// with reason "verified" and not run; not done (false, with what was found)
// means it runs again; an error fails the phase.
type Verifier interface {
	Verify(ctx context.Context) (bool, string, error)
}

// Grouped is implemented by phases that belong to a named set of phases
// (for example one regional cluster's chain); their transitions and
// outcomes carry the group's label.
type Grouped interface {
	Group() string
}

// Progress is how a running phase says what it is doing or waiting for, e.g.
// "waiting for Region regional-useast: last observed NotAllComponentsHealthy".
// Messages are shown live and kept as the phase's last message in the
// Result; they are not stored as events.
type Progress interface {
	Printf(format string, args ...any)
}

// Observer sees a run as it happens, typically the progress display. It must
// be safe for concurrent use: Transition is called from the engine's
// coordinator and Progress from running phases. Neither is called after
// Engine.Run has returned.
type Observer interface {
	Transition(t state.PhaseTransition)
	Progress(phase, message string)
}

// Journal is where transitions are recorded: the deployment record.
// *state.Session implements it.
type Journal interface {
	// PhaseStatus is the recorded status of a phase, "" when it was never
	// recorded.
	PhaseStatus(name string) state.PhaseStatus
	// RecordPhase persists a transition and an event for it. It is safe for
	// concurrent use.
	RecordPhase(t state.PhaseTransition) error
}

// Error is the failure of one phase.
type Error struct {
	Phase string
	Title string
	Group string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("phase %s failed: %v", e.Phase, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PanicError is a panic inside a phase, turned into that phase's failure.
type PanicError struct {
	Value any
	// Stack is the goroutine's stack at the panic, for verbose output and bug
	// reports. It is not part of Error().
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v (a bug in k0rdentctl: please report it with the output of --verbose)", e.Value)
}

// Permanent marks an error that retrying will not fix (a bad configuration, a
// missing permission), so the engine does not retry the phase.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// GraphError lists what is wrong with a set of phases: empty or duplicate
// names, requirements that are not among the phases, dependency cycles.
// Nothing runs when the graph is invalid.
type GraphError struct {
	Problems []string
}

func (e *GraphError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid phase graph: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid phase graph (%d problems): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}
