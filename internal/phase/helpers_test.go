package phase

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// memJournal is an in-memory Journal, as *state.Session behaves: the last
// transition of each phase is its status.
type memJournal struct {
	mu     sync.Mutex
	status map[string]state.PhaseStatus
	log    []state.PhaseTransition
	// fail, when set, makes RecordPhase fail for the transitions it returns
	// an error for.
	fail func(t state.PhaseTransition) error
}

func newJournal(initial map[string]state.PhaseStatus) *memJournal {
	j := &memJournal{status: map[string]state.PhaseStatus{}}
	for k, v := range initial {
		j.status[k] = v
	}
	return j
}

func (j *memJournal) PhaseStatus(name string) state.PhaseStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status[name]
}

func (j *memJournal) RecordPhase(t state.PhaseTransition) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		if err := j.fail(t); err != nil {
			return err
		}
	}
	j.status[t.Name] = t.Status
	j.log = append(j.log, t)
	return nil
}

func (j *memJournal) transitions(name string) []state.PhaseTransition {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []state.PhaseTransition
	for _, t := range j.log {
		if t.Name == name {
			out = append(out, t)
		}
	}
	return out
}

func (j *memJournal) all() []state.PhaseTransition {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.log)
}

// recObserver records what an Observer is told.
type recObserver struct {
	mu          sync.Mutex
	transitions []state.PhaseTransition
	progress    []string // "phase: message"
	events      []string // both, in the order seen: "phase status" or "phase: message"
}

func (o *recObserver) Transition(t state.PhaseTransition) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transitions = append(o.transitions, t)
	o.events = append(o.events, t.Name+" "+string(t.Status))
}

func (o *recObserver) Progress(phase, message string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.progress = append(o.progress, phase+": "+message)
	o.events = append(o.events, phase+": "+message)
}

func (o *recObserver) snapshot() ([]state.PhaseTransition, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.transitions), slices.Clone(o.progress)
}

// fakeClock advances by step on every reading.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// fake is a configurable Phase. runs counts calls of Run.
type fake struct {
	name   string
	title  string
	reqs   []string
	run    func(ctx context.Context, p Progress) error
	should func(ctx context.Context) (bool, string, error)
	dry    func(ctx context.Context) ([]string, error)
	runs   atomic.Int32
}

func newFake(name string, reqs ...string) *fake {
	return &fake{name: name, title: "Title of " + name, reqs: reqs}
}

func (f *fake) Name() string       { return f.name }
func (f *fake) Title() string      { return f.title }
func (f *fake) Requires() []string { return f.reqs }

func (f *fake) ShouldRun(ctx context.Context) (bool, string, error) {
	if f.should != nil {
		return f.should(ctx)
	}
	return true, "", nil
}

func (f *fake) Run(ctx context.Context, p Progress) error {
	f.runs.Add(1)
	if f.run != nil {
		return f.run(ctx, p)
	}
	return nil
}

func (f *fake) DryRun(ctx context.Context) ([]string, error) {
	if f.dry != nil {
		return f.dry(ctx)
	}
	return []string{"would do " + f.name}, nil
}

// verifying adds Verify to a fake.
type verifying struct {
	*fake
	verify   func(ctx context.Context) (bool, string, error)
	verifies atomic.Int32
}

func (v *verifying) Verify(ctx context.Context) (bool, string, error) {
	v.verifies.Add(1)
	return v.verify(ctx)
}

// wanting adds Wanted to a fake.
type wanting struct {
	*fake
	wanted bool
	reason string
}

func (w *wanting) Wanted() (bool, string) { return w.wanted, w.reason }

// regional puts a fake in a group (its region).
type regional struct {
	*fake
	region string
}

func (r *regional) Group() string { return r.region }

// waitOrTimeout waits for ch to be closed or receive. It is the barrier the
// concurrency tests use: if phases that should run together ran one after
// the other, the first would wait here until the timeout and fail.
func waitOrTimeout(ctx context.Context, ch <-chan struct{}, what string) error {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return fmt.Errorf("timed out waiting for %s", what)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func statusOf(t *testing.T, r *Result, name string) Outcome {
	t.Helper()
	o, ok := r.Outcome(name)
	if !ok {
		t.Fatalf("no outcome for phase %q", name)
	}
	return o
}
