package phase

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Defaults of the Engine's fields.
const (
	DefaultParallel    = 4
	DefaultRetryDelay  = 10 * time.Second
	DefaultStopTimeout = 30 * time.Second
	maxRetryDelay      = 5 * time.Minute
)

// Engine runs phases. The zero value is usable: no journal, no observer, four
// phases at a time, no retries.
type Engine struct {
	// Journal records every transition; nil records nothing and treats every
	// phase as never run.
	Journal Journal
	// Observer sees transitions and progress as they happen; nil for none.
	Observer Observer
	// Parallel bounds how many phases run at once; 0 or less means
	// DefaultParallel.
	Parallel int
	// Now gives the time of each transition; nil means time.Now. It must be
	// safe for concurrent use.
	Now func() time.Time
	// Retries is how many times a failed Run is tried again before the phase
	// is recorded as failed. Errors marked Permanent, panics and
	// cancellation are not retried.
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each next
	// one (at most 5m); 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// StopTimeout is how long, after the context is cancelled, the engine
	// waits for running phases to return. Phases still running then are
	// recorded as interrupted and abandoned: Run returns, and what they
	// report later is dropped. 0 means DefaultStopTimeout; negative means
	// wait for every phase to return.
	StopTimeout time.Duration
}

// Outcome is what happened to one phase in a run.
type Outcome struct {
	Name  string
	Title string
	// Group is the label of the phase's group (Grouped), "" when none.
	Group    string
	Requires []string
	// Status is completed, failed, skipped, interrupted (running when the run
	// was stopped), or pending when the phase was not started because the
	// run was interrupted.
	Status state.PhaseStatus
	// Reason is why it was skipped or not started, "verified" for a phase
	// done earlier and verified, "interrupted" for one stopped by
	// cancellation.
	Reason string
	// Err is the phase's own error when it failed.
	Err error
	// Verified: completed earlier, verified still done, not run again.
	Verified bool
	// BlockedBy names the failed phase that kept this one from running.
	BlockedBy string
	// Attempts is how many times Run was called.
	Attempts  int
	StartedAt time.Time // first start of Run; zero when Run was not called
	EndedAt   time.Time // when the phase reached its final status
	Duration  time.Duration
	// LastProgress is the last message the phase reported, e.g. what it was
	// waiting for when it failed.
	LastProgress string
}

// Interrupted reports whether the phase was running when the run was
// cancelled.
func (o Outcome) Interrupted() bool {
	return o.Status == state.PhaseInterrupted
}

// Result is the outcome of a run.
type Result struct {
	// Outcomes are in topological order, as Plan lists them.
	Outcomes  []Outcome
	StartedAt time.Time
	EndedAt   time.Time
	// Interrupted is set when the run stopped before every phase finished:
	// ctx was cancelled, or the record could not be written.
	Interrupted bool
	err         error
}

// Duration is the wall time of the run.
func (r *Result) Duration() time.Duration { return r.EndedAt.Sub(r.StartedAt) }

// Outcome returns the outcome of the named phase.
func (r *Result) Outcome(name string) (Outcome, bool) {
	for _, o := range r.Outcomes {
		if o.Name == name {
			return o, true
		}
	}
	return Outcome{}, false
}

// Failed names the phases that failed; interrupted ones are not failures.
func (r *Result) Failed() []string {
	return r.names(func(o Outcome) bool { return o.Status == state.PhaseFailed })
}

// Blocked names the phases that did not run because a requirement failed.
func (r *Result) Blocked() []string {
	return r.names(func(o Outcome) bool { return o.BlockedBy != "" })
}

// NotStarted names the phases the run did not reach because it was
// interrupted; their recorded status is unchanged.
func (r *Result) NotStarted() []string {
	return r.names(func(o Outcome) bool { return o.Status == state.PhasePending })
}

// Completed names the phases that are done: run now, or done earlier and
// verified.
func (r *Result) Completed() []string {
	return r.names(func(o Outcome) bool { return o.Status == state.PhaseCompleted })
}

func (r *Result) names(keep func(Outcome) bool) []string {
	var out []string
	for _, o := range r.Outcomes {
		if keep(o) {
			out = append(out, o.Name)
		}
	}
	return out
}

// Err joins why the run did not fully succeed: the interruption, a record
// that could not be written, and each failed phase as an *Error. nil when
// every phase completed or was skipped as not wanted.
func (r *Result) Err() error { return r.err }

// Run runs phases in dependency order, as many at once as Parallel allows,
// recording each transition; see the package documentation for the rules.
// The graph is validated first: an invalid graph returns a *GraphError, a nil
// Result, and nothing runs. Otherwise the Result is always returned, and the
// error is Result.Err(): non-nil when a phase failed, the record could not be
// written, or ctx was cancelled (then it wraps ctx.Err()).
func (e *Engine) Run(ctx context.Context, phases []Phase) (*Result, error) {
	g, err := buildGraph(phases)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	r := &run{
		e:        e,
		g:        g,
		ctx:      runCtx,
		cancel:   cancel,
		recorded: make(map[string]state.PhaseStatus, len(g.nodes)),
		out:      make(map[*node]*Outcome, len(g.nodes)),
		st:       make(map[*node]nodeState, len(g.nodes)),
		unmet:    make(map[*node]int, len(g.nodes)),
		prog:     make(map[*node]*phaseProgress, len(g.nodes)),
		msgs:     make(chan message),
		quit:     make(chan struct{}),
	}
	res := &Result{StartedAt: e.now()}
	for _, n := range g.nodes {
		if e.Journal != nil {
			r.recorded[n.name] = e.Journal.PhaseStatus(n.name)
		}
		r.out[n] = &Outcome{Name: n.name, Title: n.title, Group: n.group, Requires: slices.Clone(n.requires), Status: state.PhasePending}
		r.unmet[n] = len(n.deps)
	}
	// Phases never seen before are recorded as pending, so that the record
	// lists every phase of the deployment even when the run stops early.
	if runCtx.Err() == nil {
		for _, n := range g.nodes {
			if r.recorded[n.name] == "" {
				r.record(r.transition(n, state.PhasePending, "", nil))
				if runCtx.Err() != nil {
					break // the record cannot be written: loop will stop at once
				}
			}
		}
	}

	r.loop()
	r.shutdown()

	res.EndedAt = e.now()
	interrupted := false
	for _, n := range g.nodes {
		o := r.out[n]
		if r.st[n] == waiting {
			o.Reason = "not started: the run was interrupted"
			interrupted = true
		}
		if o.Status == state.PhasePending || o.Interrupted() {
			interrupted = true
		}
		res.Outcomes = append(res.Outcomes, *o)
	}
	res.Interrupted = interrupted

	var errs []error
	if err := ctx.Err(); err != nil {
		cause := context.Cause(ctx)
		if cause != nil && cause != err {
			errs = append(errs, fmt.Errorf("run interrupted (%v); run the same command again to resume: %w", cause, err))
		} else {
			errs = append(errs, fmt.Errorf("run interrupted; run the same command again to resume: %w", err))
		}
	}
	errs = append(errs, r.journalErrs...)
	// A phase stopped by the interruption failed because of it: the
	// interruption (or the record that could not be written) already says so.
	explained := len(errs) > 0
	for _, o := range res.Outcomes {
		if o.Status == state.PhaseFailed || (o.Interrupted() && !explained) {
			errs = append(errs, &Error{Phase: o.Name, Title: o.Title, Group: o.Group, Err: o.Err})
		}
	}
	res.err = errors.Join(errs...)
	return res, res.err
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) parallel() int {
	if e.Parallel <= 0 {
		return DefaultParallel
	}
	return e.Parallel
}

func (e *Engine) retryDelay(attempt int) time.Duration {
	d := e.RetryDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

func (e *Engine) stopTimeout() time.Duration {
	if e.StopTimeout == 0 {
		return DefaultStopTimeout
	}
	return e.StopTimeout
}

type nodeState int

const (
	waiting nodeState = iota
	running
	finished
)

// run is the state of one Engine.Run. Only the coordinator (the goroutine in
// loop) touches the maps; workers talk to it through msgs.
type run struct {
	e      *Engine
	g      *graph
	ctx    context.Context
	cancel context.CancelCauseFunc

	recorded map[string]state.PhaseStatus // as the journal had it when the run began
	out      map[*node]*Outcome
	st       map[*node]nodeState
	unmet    map[*node]int // requirements not yet completed or skipped as not wanted
	prog     map[*node]*phaseProgress

	msgs chan message
	quit chan struct{} // closed when Run returns: late workers stop sending

	obsMu  sync.RWMutex // closed is set under it, Progress reads it under it
	closed bool

	journalErrs []error
}

// message is what a worker tells the coordinator: a transition to record, and
// with final set, the end of the phase.
type message struct {
	n           *node
	t           state.PhaseTransition
	final       bool
	notStarted  bool // stopped by cancellation before Run: nothing to record
	verified    bool
	interrupted bool
	attempts    int
	startedAt   time.Time
	// recorded, when set, is closed once t is recorded: a phase starts Run
	// only after its start is in the record and on the screen.
	recorded chan struct{}
}

func (r *run) loop() {
	active := 0
	stopping := false
	done := r.ctx.Done()
	var stopTimer *time.Timer
	var stopC <-chan time.Time
	defer func() {
		if stopTimer != nil {
			stopTimer.Stop()
		}
	}()
	stop := func() {
		done, stopping = nil, true
		if d := r.e.stopTimeout(); d > 0 {
			stopTimer = time.NewTimer(d)
			stopC = stopTimer.C
		}
	}
	for {
		if !stopping && r.ctx.Err() != nil {
			stop()
		}
		if !stopping {
			for _, n := range r.g.nodes {
				if active >= r.e.parallel() {
					break
				}
				if r.st[n] == waiting && r.unmet[n] == 0 {
					r.st[n] = running
					active++
					p := &phaseProgress{r: r, name: n.name}
					r.prog[n] = p
					go r.work(n, p)
				}
			}
		}
		if active == 0 {
			return
		}
		select {
		case m := <-r.msgs:
			if r.st[m.n] != running {
				continue
			}
			if !m.final {
				r.record(m.t)
				if m.recorded != nil {
					close(m.recorded)
				}
				continue
			}
			active--
			r.finish(m)
		case <-done:
			stop()
		case <-stopC:
			d := r.e.stopTimeout()
			for _, n := range r.g.nodes {
				if r.st[n] != running {
					continue
				}
				r.st[n] = finished
				o := r.out[n]
				o.Status, o.Reason = state.PhaseInterrupted, ReasonInterrupted
				o.Err = fmt.Errorf("did not stop within %s of the interruption and was abandoned", d)
				r.end(n, o)
				r.record(r.transition(n, o.Status, o.Reason, o.Err))
			}
			return
		}
	}
}

// finish takes a phase's final message: records it and unblocks or blocks
// what depends on it.
func (r *run) finish(m message) {
	n := m.n
	r.st[n] = finished
	o := r.out[n]
	o.Attempts, o.StartedAt, o.Verified = m.attempts, m.startedAt, m.verified
	if m.notStarted {
		o.Status, o.Reason = state.PhasePending, "not started: the run was interrupted"
		r.end(n, o)
		return
	}
	o.Status, o.Reason, o.Err = m.t.Status, m.t.Reason, m.t.Err
	o.EndedAt = m.t.At
	r.end(n, o)
	r.record(m.t)
	switch {
	case o.Status == state.PhaseCompleted || o.Status == state.PhaseSkipped:
		for _, d := range n.dependants {
			r.unmet[d]--
		}
	case o.Status == state.PhaseFailed && !m.interrupted:
		r.block(n, n)
	}
}

// end fills in what every finished outcome carries.
func (r *run) end(n *node, o *Outcome) {
	if o.EndedAt.IsZero() {
		o.EndedAt = r.e.now()
	}
	if !o.StartedAt.IsZero() {
		o.Duration = o.EndedAt.Sub(o.StartedAt)
	}
	if p := r.prog[n]; p != nil {
		o.LastProgress = p.last()
	}
}

// block records as skipped every phase still waiting that depends, directly
// or not, on the failed phase root; via is the phase it depends on directly.
func (r *run) block(via, root *node) {
	for _, d := range via.dependants {
		if r.st[d] != waiting {
			continue
		}
		r.st[d] = finished
		o := r.out[d]
		o.Status, o.BlockedBy = state.PhaseSkipped, root.name
		if via == root {
			o.Reason = fmt.Sprintf("requirement %q failed", root.name)
		} else {
			o.Reason = fmt.Sprintf("requirement %q was not run because %q failed", via.name, root.name)
		}
		r.end(d, o)
		r.record(r.transition(d, o.Status, o.Reason, nil))
		r.block(d, root)
	}
}

func (r *run) transition(n *node, s state.PhaseStatus, reason string, err error) state.PhaseTransition {
	return state.PhaseTransition{
		Name:   n.name,
		Title:  n.title,
		Group:  n.group,
		Status: s,
		At:     r.e.now(),
		Err:    err,
		Reason: reason,
	}
}

// record writes a transition to the journal and shows it. A journal that
// cannot write stops the run: going on would leave a record that cannot be
// resumed from.
func (r *run) record(t state.PhaseTransition) {
	if r.e.Journal != nil {
		if err := r.e.Journal.RecordPhase(t); err != nil {
			err = fmt.Errorf("recording phase %s as %s in the deployment record: %w; stopping so that the record stays resumable", t.Name, t.Status, err)
			r.journalErrs = append(r.journalErrs, err)
			r.cancel(err)
		}
	}
	if r.e.Observer != nil {
		r.e.Observer.Transition(t)
	}
}

// shutdown makes sure nothing reaches the observer or the coordinator once
// Run has returned.
func (r *run) shutdown() {
	r.obsMu.Lock()
	r.closed = true
	r.obsMu.Unlock()
	close(r.quit)
}

// work decides, verifies and runs one phase, in its own goroutine.
func (r *run) work(n *node, prog *phaseProgress) {
	ctx := r.ctx
	sentFinal := false
	send := func(m message) bool {
		m.n = n
		select {
		case r.msgs <- m:
			return true
		case <-r.quit:
			return false
		}
	}
	// started records an in-progress transition and waits until it is
	// recorded; false when the run is over and the phase was abandoned.
	started := func(t state.PhaseTransition) bool {
		ack := make(chan struct{})
		if !send(message{t: t, recorded: ack}) {
			return false
		}
		select {
		case <-ack:
			return true
		case <-r.quit:
			return false
		}
	}
	finish := func(m message) {
		m.final = true
		sentFinal = true
		send(m)
	}
	fail := func(err error, attempts int, started time.Time) {
		finish(message{t: r.transition(n, state.PhaseFailed, "", err), attempts: attempts, startedAt: started})
	}
	defer func() {
		// runtime.Goexit in a phase (t.FailNow in a test) skips the returns
		// below; the coordinator must still hear that the phase ended.
		if !sentFinal {
			fail(errors.New("the phase stopped without returning"), 0, time.Time{})
		}
	}()

	wanted, reason := true, ""
	if w, ok := n.p.(Wanter); ok {
		if err := guard(func() error { wanted, reason = w.Wanted(); return nil }); err != nil {
			fail(fmt.Errorf("deciding whether it is wanted: %w", err), 0, time.Time{})
			return
		}
	}
	if wanted {
		err := guard(func() error {
			var err error
			wanted, reason, err = n.p.ShouldRun(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				finish(message{notStarted: true})
				return
			}
			fail(fmt.Errorf("deciding whether to run: %w", err), 0, time.Time{})
			return
		}
	}
	if !wanted {
		if reason == "" {
			reason = ReasonNotWanted
		}
		finish(message{t: r.transition(n, state.PhaseSkipped, reason, nil)})
		return
	}

	var runReason string
	switch r.recorded[n.name] {
	case state.PhaseCompleted:
		v, ok := n.p.(Verifier)
		if !ok {
			runReason = "done earlier; running again because this phase cannot be verified"
			break
		}
		prog.Printf("verifying that it is still done")
		var done bool
		var found string
		err := guard(func() error {
			var err error
			done, found, err = v.Verify(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				finish(message{notStarted: true})
				return
			}
			fail(fmt.Errorf("verifying that it is still done: %w", err), 0, time.Time{})
			return
		}
		if done {
			finish(message{t: r.transition(n, state.PhaseCompleted, ReasonVerified, nil), verified: true})
			return
		}
		if found == "" {
			found = "verification found it not done"
		}
		runReason = "done earlier, no longer: " + found
	case state.PhaseFailed:
		runReason = "resuming after a failure"
	case state.PhaseInterrupted:
		runReason = "resuming after an interruption"
	case state.PhaseInProgress:
		runReason = "resuming: the previous run stopped while this phase was running"
	}
	if ctx.Err() != nil {
		finish(message{notStarted: true})
		return
	}

	start := r.transition(n, state.PhaseInProgress, runReason, nil)
	if !started(start) {
		sentFinal = true
		return
	}
	attempts := 1 + max(r.e.Retries, 0)
	for attempt := 1; ; attempt++ {
		err := guard(func() error { return n.p.Run(ctx, prog) })
		if err == nil {
			finish(message{t: r.transition(n, state.PhaseCompleted, "", nil), attempts: attempt, startedAt: start.At})
			return
		}
		if ctx.Err() != nil {
			finish(message{t: r.transition(n, state.PhaseInterrupted, ReasonInterrupted, err), interrupted: true, attempts: attempt, startedAt: start.At})
			return
		}
		var pe *PanicError
		if attempt >= attempts || IsPermanent(err) || errors.As(err, &pe) {
			fail(err, attempt, start.At)
			return
		}
		delay := r.e.retryDelay(attempt)
		prog.Printf("attempt %d of %d failed, trying again in %s: %v", attempt, attempts, delay, err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			finish(message{t: r.transition(n, state.PhaseInterrupted, ReasonInterrupted, err), interrupted: true, attempts: attempt, startedAt: start.At})
			return
		case <-t.C:
		}
		retry := r.transition(n, state.PhaseInProgress, fmt.Sprintf("attempt %d of %d, after: %v", attempt+1, attempts, err), nil)
		if !started(retry) {
			sentFinal = true
			return
		}
	}
}

// guard calls f, turning a panic into a *PanicError.
func guard(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// phaseProgress is the Progress given to a running phase.
type phaseProgress struct {
	r    *run
	name string

	mu  sync.Mutex
	msg string
}

func (p *phaseProgress) Printf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	p.mu.Lock()
	p.msg = msg
	p.mu.Unlock()
	p.r.obsMu.RLock()
	defer p.r.obsMu.RUnlock()
	if p.r.closed || p.r.e.Observer == nil {
		return
	}
	p.r.e.Observer.Progress(p.name, msg)
}

func (p *phaseProgress) last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.msg
}
