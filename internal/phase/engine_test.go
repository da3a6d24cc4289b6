package phase

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Two branches a1 → a2 and b1 → b2: a1 and b1 each wait until the other has
// started, and so do a2 and b2. Run serially, the first would time out.
func TestIndependentBranchesRunConcurrently(t *testing.T) {
	started := map[string]chan struct{}{}
	for _, n := range []string{"a1", "b1", "a2", "b2"} {
		started[n] = make(chan struct{})
	}
	barrier := func(self, other string) func(ctx context.Context, p Progress) error {
		return func(ctx context.Context, p Progress) error {
			close(started[self])
			p.Printf("waiting for %s to start", other)
			return waitOrTimeout(ctx, started[other], other+" to start alongside "+self)
		}
	}
	a1, a2 := newFake("a1"), newFake("a2", "a1")
	b1, b2 := newFake("b1"), newFake("b2", "b1")
	a1.run, b1.run = barrier("a1", "b1"), barrier("b1", "a1")
	a2.run, b2.run = barrier("a2", "b2"), barrier("b2", "a2")

	j := newJournal(nil)
	e := &Engine{Journal: j, Parallel: 2}
	res, err := e.Run(t.Context(), []Phase{a1, a2, b1, b2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := res.Completed(); len(got) != 4 {
		t.Fatalf("completed = %v, want all four", got)
	}
	for _, n := range []string{"a1", "a2", "b1", "b2"} {
		if s := j.PhaseStatus(n); s != state.PhaseCompleted {
			t.Errorf("%s recorded %q, want completed", n, s)
		}
	}
}

// Six independent phases with Parallel 2: each blocks until the test releases
// it, and the test releases one only after seeing two running.
func TestParallelIsBounded(t *testing.T) {
	const n, bound = 6, 2
	var active, peak atomic.Int32
	starts := make(chan string, n)
	release := make(chan struct{})
	var phases []Phase
	for i := range n {
		f := newFake(string(rune('a' + i)))
		f.run = func(ctx context.Context, p Progress) error {
			now := active.Add(1)
			for {
				old := peak.Load()
				if now <= old || peak.CompareAndSwap(old, now) {
					break
				}
			}
			starts <- f.name
			defer active.Add(-1)
			return waitOrTimeout(ctx, release, "release by the test")
		}
		phases = append(phases, f)
	}
	e := &Engine{Parallel: bound}
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := e.Run(t.Context(), phases)
		done <- ran{res, err}
	}()

	seen := 0
	next := func() {
		t.Helper()
		select {
		case <-starts:
			seen++
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d phases started", seen)
		}
	}
	for range bound {
		next()
	}
	for seen < n {
		release <- struct{}{}
		next()
	}
	for range bound {
		release <- struct{}{}
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if p := peak.Load(); p != bound {
		t.Fatalf("at most %d phases ran at once, want exactly %d", p, bound)
	}
	if got := r.res.Completed(); len(got) != n {
		t.Fatalf("completed %v", got)
	}
}

// a fails: b and c (which need it) do not run and are recorded as skipped with
// the reason; the independent branch d → e completes; f needs a and d.
func TestFailureIsolation(t *testing.T) {
	boom := errors.New("helm install kcm: timed out waiting for the condition")
	a, b, c := newFake("a"), newFake("b", "a"), newFake("c", "b")
	d, e, f := newFake("d"), newFake("e", "d"), newFake("f", "a", "d")
	aStarted := make(chan struct{})
	a.run = func(ctx context.Context, p Progress) error {
		close(aStarted)
		p.Printf("waiting for kcm-controller-manager: 0/1 ready")
		return boom
	}
	// d waits for a to start, so that the failure happens while the other
	// branch is still running.
	d.run = func(ctx context.Context, p Progress) error {
		return waitOrTimeout(ctx, aStarted, "a to start")
	}
	j := newJournal(nil)
	obs := &recObserver{}
	eng := &Engine{Journal: j, Observer: obs}
	res, err := eng.Run(t.Context(), []Phase{a, b, c, d, e, f})
	if err == nil {
		t.Fatal("Run succeeded, want the failure of a")
	}
	if !errors.Is(err, boom) {
		t.Errorf("error %v does not wrap the phase's error", err)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Phase != "a" {
		t.Errorf("error %v is not a *phase.Error for a", err)
	}
	if !strings.Contains(err.Error(), "phase a failed: helm install kcm") {
		t.Errorf("error reads %q", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("a failure is not an interruption: %v", err)
	}
	if got := res.Failed(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Failed() = %v", got)
	}
	if got := res.Blocked(); !slices.Equal(got, []string{"b", "f", "c"}) {
		t.Errorf("Blocked() = %v, want [b f c] (topological order)", got)
	}
	for _, x := range []*fake{b, c, f} {
		if x.runs.Load() != 0 {
			t.Errorf("%s ran although its requirement failed", x.name)
		}
	}
	for _, x := range []*fake{d, e} {
		if x.runs.Load() != 1 || j.PhaseStatus(x.name) != state.PhaseCompleted {
			t.Errorf("%s: runs %d, recorded %q; the independent branch must finish", x.name, x.runs.Load(), j.PhaseStatus(x.name))
		}
	}
	want := map[string]string{
		"b": `requirement "a" failed`,
		"f": `requirement "a" failed`,
		"c": `requirement "b" was not run because "a" failed`,
	}
	for name, reason := range want {
		o := statusOf(t, res, name)
		if o.Status != state.PhaseSkipped || o.Reason != reason || o.BlockedBy != "a" {
			t.Errorf("%s: %s %q blocked by %q, want skipped %q blocked by a", name, o.Status, o.Reason, o.BlockedBy, reason)
		}
		tr := j.transitions(name)
		last := tr[len(tr)-1]
		if last.Status != state.PhaseSkipped || last.Reason != reason {
			t.Errorf("%s recorded %s %q", name, last.Status, last.Reason)
		}
	}
	oa := statusOf(t, res, "a")
	if oa.LastProgress != "waiting for kcm-controller-manager: 0/1 ready" {
		t.Errorf("a's last progress = %q", oa.LastProgress)
	}
	tr := j.transitions("a")
	if last := tr[len(tr)-1]; last.Status != state.PhaseFailed || !errors.Is(last.Err, boom) {
		t.Errorf("a recorded %s with %v", last.Status, last.Err)
	}
	for _, x := range j.all() {
		if x.Status == state.PhaseInProgress && j.PhaseStatus(x.Name) == state.PhaseInProgress {
			t.Errorf("%s left in-progress", x.Name)
		}
	}
}

func TestNotWantedIsSkippedAndDoesNotBlock(t *testing.T) {
	kof := &wanting{fake: newFake("kof-install"), wanted: false, reason: "kof.enabled is false"}
	kof.should = func(context.Context) (bool, string, error) {
		t.Error("ShouldRun called for a phase its Wanted rejected")
		return true, "", nil
	}
	optional := newFake("optional")
	optional.should = func(context.Context) (bool, string, error) { return false, "", nil }
	after := newFake("after", "kof-install", "optional")
	j := newJournal(nil)
	res, err := (&Engine{Journal: j}).Run(t.Context(), []Phase{kof, optional, after})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if o := statusOf(t, res, "kof-install"); o.Status != state.PhaseSkipped || o.Reason != "kof.enabled is false" {
		t.Errorf("kof-install: %s %q", o.Status, o.Reason)
	}
	if o := statusOf(t, res, "optional"); o.Status != state.PhaseSkipped || o.Reason != ReasonNotWanted {
		t.Errorf("optional: %s %q", o.Status, o.Reason)
	}
	if kof.runs.Load() != 0 || optional.runs.Load() != 0 {
		t.Error("a phase that is not wanted ran")
	}
	if after.runs.Load() != 1 || j.PhaseStatus("after") != state.PhaseCompleted {
		t.Errorf("a phase whose requirements were not wanted did not run")
	}
}

func TestShouldRunErrorFailsThePhase(t *testing.T) {
	f := newFake("k0rdent-install")
	f.should = func(context.Context) (bool, string, error) {
		return false, "", errors.New("reading Management kcm: connection refused")
	}
	j := newJournal(nil)
	res, err := (&Engine{Journal: j}).Run(t.Context(), []Phase{f})
	if err == nil || !strings.Contains(err.Error(), "deciding whether to run: reading Management kcm") {
		t.Fatalf("error = %v", err)
	}
	if f.runs.Load() != 0 || statusOf(t, res, "k0rdent-install").Status != state.PhaseFailed {
		t.Error("phase ran or was not failed")
	}
}

func TestResumeVerifiesCompletedPhases(t *testing.T) {
	still := &verifying{fake: newFake("still-done")}
	still.verify = func(context.Context) (bool, string, error) { return true, "", nil }
	gone := &verifying{fake: newFake("gone", "still-done")}
	gone.verify = func(context.Context) (bool, string, error) {
		return false, "Helm release kcm not found", nil
	}
	unverifiable := newFake("unverifiable")
	failed := newFake("failed-before", "still-done")
	crashed := newFake("crashed")
	fresh := newFake("fresh", "gone", "failed-before")
	broken := &verifying{fake: newFake("cannot-verify")}
	broken.verify = func(context.Context) (bool, string, error) {
		return false, "", errors.New("listing Regions: Unauthorized")
	}
	// A phase that was never done is not verified.
	neverDone := &verifying{fake: newFake("never-done")}
	neverDone.verify = func(context.Context) (bool, string, error) {
		t.Error("Verify called for a phase that was not recorded as completed")
		return true, "", nil
	}

	j := newJournal(map[string]state.PhaseStatus{
		"still-done":    state.PhaseCompleted,
		"gone":          state.PhaseCompleted,
		"unverifiable":  state.PhaseCompleted,
		"failed-before": state.PhaseFailed,
		"crashed":       state.PhaseInProgress,
		"cannot-verify": state.PhaseCompleted,
		"never-done":    state.PhaseSkipped,
	})
	res, err := (&Engine{Journal: j}).Run(t.Context(), []Phase{still, gone, unverifiable, failed, crashed, fresh, broken, neverDone})
	if err == nil || !strings.Contains(err.Error(), "phase cannot-verify failed: verifying that it is still done: listing Regions: Unauthorized") {
		t.Fatalf("error = %v, want only cannot-verify's failure", err)
	}
	if got := res.Failed(); !slices.Equal(got, []string{"cannot-verify"}) {
		t.Errorf("Failed() = %v", got)
	}

	if still.runs.Load() != 0 || still.verifies.Load() != 1 {
		t.Errorf("still-done: %d runs, %d verifications; want 0 and 1", still.runs.Load(), still.verifies.Load())
	}
	o := statusOf(t, res, "still-done")
	if o.Status != state.PhaseCompleted || o.Reason != ReasonVerified || !o.Verified || o.Duration != 0 {
		t.Errorf("still-done outcome: %+v", o)
	}
	tr := j.transitions("still-done")
	if len(tr) != 1 || tr[0].Status != state.PhaseCompleted || tr[0].Reason != "verified" {
		t.Errorf("still-done recorded %+v, want one completed/verified", tr)
	}

	for _, x := range []*fake{gone.fake, unverifiable, failed, crashed, fresh, neverDone.fake} {
		if x.runs.Load() != 1 || j.PhaseStatus(x.name) != state.PhaseCompleted {
			t.Errorf("%s: %d runs, recorded %q; want it run again and completed", x.name, x.runs.Load(), j.PhaseStatus(x.name))
		}
	}
	if broken.runs.Load() != 0 {
		t.Error("cannot-verify ran although verification failed")
	}
	reasons := map[string]string{
		"gone":          "done earlier, no longer: Helm release kcm not found",
		"unverifiable":  "done earlier; running again because this phase cannot be verified",
		"failed-before": "resuming after a failure",
		"crashed":       "resuming: the previous run stopped while this phase was running",
		"fresh":         "",
	}
	for name, want := range reasons {
		var started []string
		for _, x := range j.transitions(name) {
			if x.Status == state.PhaseInProgress {
				started = append(started, x.Reason)
			}
		}
		if len(started) != 1 || started[0] != want {
			t.Errorf("%s started with reasons %q, want [%q]", name, started, want)
		}
	}
	// fresh was never recorded: it is listed as pending before anything runs.
	if tr := j.transitions("fresh"); tr[0].Status != state.PhasePending {
		t.Errorf("fresh first recorded as %s, want pending", tr[0].Status)
	}
	if tr := j.transitions("gone"); tr[0].Status == state.PhasePending {
		t.Error("a phase with a record was recorded as pending again")
	}
}

// Ctrl-C while a phase runs: it sees ctx.Done and is recorded as interrupted;
// what depends on it does not start; nothing stays in-progress; a second run
// resumes and finishes.
func TestCancellationLeavesAResumableRecord(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	aStarted := make(chan struct{})
	var interrupted, cancelled atomic.Bool
	a := &verifying{fake: newFake("bootstrap")}
	a.verify = func(context.Context) (bool, string, error) { return false, "not bootstrapped", nil }
	a.run = func(ctx context.Context, p Progress) error {
		if interrupted.Load() {
			return nil // the resumed run
		}
		close(aStarted)
		p.Printf("waiting for k0s on 3 controllers: 1/3 ready")
		<-ctx.Done()
		return ctx.Err()
	}
	b := newFake("k0rdent-install", "bootstrap")
	c := &verifying{fake: newFake("keys")}
	c.verify = func(context.Context) (bool, string, error) { return true, "", nil }
	// later is independent but waits for the only slot: it must not even be
	// asked whether it should run once the run is cancelled.
	later := newFake("later")
	later.should = func(context.Context) (bool, string, error) {
		if cancelled.Load() {
			t.Error("ShouldRun called after the cancellation")
		}
		return true, "", nil
	}
	j := newJournal(nil)

	go func() {
		<-aStarted
		interrupted.Store(true)
		cancelled.Store(true)
		cancel()
	}()
	res, err := (&Engine{Journal: j, Parallel: 1}).Run(ctx, []Phase{c, a, later, b})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want it to wrap context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "run the same command again to resume") {
		t.Errorf("error does not tell the operator how to resume: %v", err)
	}
	if strings.Contains(err.Error(), "phase bootstrap failed") {
		t.Errorf("an interrupted phase is reported as a failure: %v", err)
	}
	if !res.Interrupted {
		t.Error("Result.Interrupted not set")
	}
	o := statusOf(t, res, "bootstrap")
	if !o.Interrupted() || !errors.Is(o.Err, context.Canceled) {
		t.Errorf("bootstrap outcome: %s %q %v", o.Status, o.Reason, o.Err)
	}
	if got := res.Failed(); len(got) != 0 {
		t.Errorf("Failed() = %v: an interrupted phase is not a failure", got)
	}
	if got := res.NotStarted(); !slices.Equal(got, []string{"later", "k0rdent-install"}) {
		t.Errorf("NotStarted() = %v", got)
	}
	if b.runs.Load() != 0 || later.runs.Load() != 0 {
		t.Error("a phase started after the cancellation")
	}
	want := map[string]state.PhaseStatus{
		"keys":            state.PhaseCompleted,
		"bootstrap":       state.PhaseInterrupted,
		"k0rdent-install": state.PhasePending,
		"later":           state.PhasePending,
	}
	for name, s := range want {
		if got := j.PhaseStatus(name); got != s {
			t.Errorf("%s recorded %q, want %q", name, got, s)
		}
	}
	tr := j.transitions("bootstrap")
	if last := tr[len(tr)-1]; last.Reason != ReasonInterrupted {
		t.Errorf("bootstrap recorded with reason %q, want %q", last.Reason, ReasonInterrupted)
	}

	// Resume.
	cancelled.Store(false)
	res, err = (&Engine{Journal: j}).Run(t.Context(), []Phase{c, a, later, b})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if c.runs.Load() != 1 || c.verifies.Load() != 1 {
		t.Errorf("keys: %d runs, %d verifications; want it verified and not run again", c.runs.Load(), c.verifies.Load())
	}
	if a.runs.Load() != 2 || b.runs.Load() != 1 {
		t.Errorf("bootstrap ran %d times, k0rdent-install %d", a.runs.Load(), b.runs.Load())
	}
	if got := res.Completed(); len(got) != 4 {
		t.Errorf("completed after resume: %v", got)
	}
}

func TestCancelledBeforeStartRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := newFake("a")
	j := newJournal(nil)
	res, err := (&Engine{Journal: j}).Run(ctx, []Phase{a})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
	if a.runs.Load() != 0 || len(j.all()) != 0 {
		t.Errorf("ran %d, recorded %v", a.runs.Load(), j.all())
	}
	if got := res.NotStarted(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("NotStarted() = %v", got)
	}
}

// A phase that ignores cancellation is abandoned after StopTimeout and
// recorded as interrupted; what it reports afterwards reaches no one.
func TestStuckPhaseIsAbandonedAfterStopTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started, unblock, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	stuck := newFake("stuck")
	stuck.run = func(_ context.Context, p Progress) error {
		close(started)
		<-unblock // ignores ctx
		p.Printf("too late")
		close(returned)
		return nil
	}
	j := newJournal(nil)
	obs := &recObserver{}
	go func() {
		<-started
		cancel()
	}()
	res, err := (&Engine{Journal: j, Observer: obs, StopTimeout: 20 * time.Millisecond}).Run(ctx, []Phase{stuck})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
	o := statusOf(t, res, "stuck")
	if !o.Interrupted() || !strings.Contains(o.Err.Error(), "did not stop within 20ms") {
		t.Errorf("outcome %s %q %v", o.Status, o.Reason, o.Err)
	}
	if s := j.PhaseStatus("stuck"); s != state.PhaseInterrupted {
		t.Errorf("recorded %q, want interrupted", s)
	}
	recorded := len(j.all())
	close(unblock)
	<-returned
	if _, progress := obs.snapshot(); slices.Contains(progress, "stuck: too late") {
		t.Error("progress reached the observer after Run returned")
	}
	if len(j.all()) != recorded {
		t.Error("the journal was written after Run returned")
	}
}

func TestPanicIsAFailureNotACrash(t *testing.T) {
	bad := newFake("bad")
	bad.run = func(context.Context, Progress) error {
		var m map[string]int
		m["x"]++ // panics
		return nil
	}
	good := newFake("good")
	res, err := (&Engine{Retries: 3, RetryDelay: time.Millisecond}).Run(t.Context(), []Phase{bad, good})
	var pe *PanicError
	if !errors.As(err, &pe) || len(pe.Stack) == 0 {
		t.Fatalf("error = %v, want a *PanicError with a stack", err)
	}
	if bad.runs.Load() != 1 {
		t.Errorf("a panicking phase was retried: %d runs", bad.runs.Load())
	}
	if statusOf(t, res, "good").Status != state.PhaseCompleted {
		t.Error("the other phase did not complete")
	}
}

func TestRetries(t *testing.T) {
	flaky := newFake("flaky")
	flaky.run = func(context.Context, Progress) error {
		if flaky.runs.Load() < 3 {
			return errors.New("429 Too Many Requests")
		}
		return nil
	}
	permanent := newFake("permanent")
	permanent.run = func(context.Context, Progress) error {
		return Permanent(errors.New("vm size Standard_X1 is not available in eastus"))
	}
	j := newJournal(nil)
	obs := &recObserver{}
	res, err := (&Engine{Journal: j, Observer: obs, Retries: 2, RetryDelay: time.Millisecond}).Run(t.Context(), []Phase{flaky, permanent})
	if err == nil || !strings.Contains(err.Error(), "phase permanent failed: vm size") {
		t.Fatalf("error = %v", err)
	}
	if o := statusOf(t, res, "flaky"); o.Status != state.PhaseCompleted || o.Attempts != 3 {
		t.Errorf("flaky: %s after %d attempts", o.Status, o.Attempts)
	}
	if o := statusOf(t, res, "permanent"); o.Attempts != 1 || !IsPermanent(o.Err) {
		t.Errorf("permanent: %d attempts, err %v", o.Attempts, o.Err)
	}
	var reasons []string
	for _, x := range j.transitions("flaky") {
		if x.Status == state.PhaseInProgress {
			reasons = append(reasons, x.Reason)
		}
	}
	want := []string{"", "attempt 2 of 3, after: 429 Too Many Requests", "attempt 3 of 3, after: 429 Too Many Requests"}
	if !slices.Equal(reasons, want) {
		t.Errorf("in-progress reasons %q, want %q", reasons, want)
	}
	_, progress := obs.snapshot()
	if !slices.Contains(progress, "flaky: attempt 1 of 3 failed, trying again in 1ms: 429 Too Many Requests") {
		t.Errorf("progress %q", progress)
	}
}

func TestJournalFailureStopsTheRun(t *testing.T) {
	diskFull := errors.New("write state/k0rdent-abc.yaml: no space left on device")
	j := newJournal(nil)
	j.fail = func(tr state.PhaseTransition) error {
		if tr.Name == "a" && tr.Status == state.PhaseCompleted {
			return diskFull
		}
		return nil
	}
	a, b := newFake("a"), newFake("b", "a")
	res, err := (&Engine{Journal: j}).Run(t.Context(), []Phase{a, b})
	if !errors.Is(err, diskFull) || !strings.Contains(err.Error(), "recording phase a as completed in the deployment record") {
		t.Fatalf("error = %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("a journal failure is not a user interruption: %v", err)
	}
	if b.runs.Load() != 0 {
		t.Error("a phase started after the record could not be written")
	}
	if got := res.NotStarted(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("NotStarted() = %v", got)
	}
}

// Every transition reaches the journal and the observer, in the same order,
// with the clock's time; regional phases carry their region; durations are
// kept.
func TestTransitionsAreRecordedAndObserved(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), step: time.Second}
	mgmt := newFake("k0rdent-install")
	mgmt.title = "Install k0rdent 1.5.0"
	region := &regional{fake: newFake("region/regional-useast/region", "k0rdent-install"), region: "regional-useast"}
	region.run = func(_ context.Context, p Progress) error {
		p.Printf("waiting for Region %s: last observed %s", "regional-useast", "NotAllComponentsHealthy")
		return nil
	}
	j := newJournal(nil)
	obs := &recObserver{}
	res, err := (&Engine{Journal: j, Observer: obs, Now: clock.Now}).Run(t.Context(), []Phase{mgmt, region})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	seen, progress := obs.snapshot()
	logged := j.all()
	if len(seen) != len(logged) {
		t.Fatalf("observer saw %d transitions, journal has %d", len(seen), len(logged))
	}
	var last time.Time
	for i := range logged {
		if seen[i].Name != logged[i].Name || seen[i].Status != logged[i].Status || !seen[i].At.Equal(logged[i].At) {
			t.Errorf("transition %d: observer %+v, journal %+v", i, seen[i], logged[i])
		}
		if logged[i].At.IsZero() || logged[i].At.Before(last) {
			t.Errorf("transition %d at %v, after %v", i, logged[i].At, last)
		}
		last = logged[i].At
	}
	var got []string
	for _, x := range logged {
		got = append(got, x.Name+" "+string(x.Status))
		if x.Name == "region/regional-useast/region" && x.Group != "regional-useast" {
			t.Errorf("regional transition without its region: %+v", x)
		}
		if x.Name == "k0rdent-install" && x.Title != "Install k0rdent 1.5.0" {
			t.Errorf("transition without the title: %+v", x)
		}
	}
	want := []string{
		"k0rdent-install pending",
		"region/regional-useast/region pending",
		"k0rdent-install in-progress",
		"k0rdent-install completed",
		"region/regional-useast/region in-progress",
		"region/regional-useast/region completed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(progress, []string{"region/regional-useast/region: waiting for Region regional-useast: last observed NotAllComponentsHealthy"}) {
		t.Errorf("progress %q", progress)
	}
	// A phase's start is recorded and shown before it runs.
	obs.mu.Lock()
	events := slices.Clone(obs.events)
	obs.mu.Unlock()
	wantEvents := []string{
		"k0rdent-install pending",
		"region/regional-useast/region pending",
		"k0rdent-install in-progress",
		"k0rdent-install completed",
		"region/regional-useast/region in-progress",
		"region/regional-useast/region: waiting for Region regional-useast: last observed NotAllComponentsHealthy",
		"region/regional-useast/region completed",
	}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("observer saw\n%q\nwant\n%q", events, wantEvents)
	}
	for _, o := range res.Outcomes {
		if o.Duration <= 0 || !o.EndedAt.Equal(o.StartedAt.Add(o.Duration)) {
			t.Errorf("%s: duration %v from %v to %v", o.Name, o.Duration, o.StartedAt, o.EndedAt)
		}
	}
	if res.Duration() <= 0 {
		t.Errorf("run duration %v", res.Duration())
	}
}

func TestInvalidGraphRunsNothing(t *testing.T) {
	cases := []struct {
		name   string
		phases func() []Phase
		want   []string
	}{
		{
			name:   "unknown requirement",
			phases: func() []Phase { return []Phase{newFake("a"), newFake("b", "a", "wireguard")} },
			want:   []string{`phase "b" requires "wireguard", which is not among the phases of this run`},
		},
		{
			name:   "duplicate name",
			phases: func() []Phase { return []Phase{newFake("a"), newFake("b"), newFake("a")} },
			want:   []string{`phase name "a" is used twice (phases #1 and #3)`},
		},
		{
			name: "cycle",
			phases: func() []Phase {
				return []Phase{newFake("root"), newFake("a", "root", "c"), newFake("b", "a"), newFake("c", "b")}
			},
			want: []string{"dependency cycle: a → c → b → a (each requires the next)"},
		},
		{
			name:   "self cycle",
			phases: func() []Phase { return []Phase{newFake("a", "a")} },
			want:   []string{"dependency cycle: a → a"},
		},
		{
			name:   "empty name and nil phase",
			phases: func() []Phase { return []Phase{newFake(""), nil} },
			want:   []string{`phase #1 ("Title of ") has no name`, "phase #2 is nil"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			phases := tc.phases()
			j := newJournal(nil)
			res, err := (&Engine{Journal: j}).Run(t.Context(), phases)
			var ge *GraphError
			if !errors.As(err, &ge) {
				t.Fatalf("error = %v, want a *GraphError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if res != nil || len(j.all()) != 0 {
				t.Error("something ran or was recorded")
			}
			for _, p := range phases {
				if f, ok := p.(*fake); ok && f.runs.Load() != 0 {
					t.Errorf("%s ran", f.name)
				}
			}
			if _, err := (&Engine{}).Plan(t.Context(), phases); !errors.As(err, &ge) {
				t.Errorf("Plan error = %v, want a *GraphError", err)
			}
			if err := Validate(phases); !errors.As(err, &ge) {
				t.Errorf("Validate error = %v", err)
			}
		})
	}
}

// Run on a larger graph with -race: many phases, diamonds, progress from all
// of them, a couple of failures.
func TestManyPhasesUnderLoad(t *testing.T) {
	var phases []Phase
	var mu sync.Mutex
	done := map[string]bool{}
	for i := range 40 {
		name := "p" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		var reqs []string
		if i >= 4 {
			reqs = []string{phases[i-4].Name(), phases[i-3].Name()}
		}
		f := newFake(name, reqs...)
		f.run = func(ctx context.Context, p Progress) error {
			mu.Lock()
			for _, r := range f.reqs {
				if !done[r] {
					t.Errorf("%s started before its requirement %s completed", f.name, r)
				}
			}
			mu.Unlock()
			for k := range 5 {
				p.Printf("step %d", k)
			}
			if i == 17 {
				return errors.New("boom")
			}
			mu.Lock()
			done[f.name] = true
			mu.Unlock()
			return nil
		}
		phases = append(phases, f)
	}
	j := newJournal(nil)
	res, err := (&Engine{Journal: j, Observer: &recObserver{}, Parallel: 8}).Run(t.Context(), phases)
	if err == nil {
		t.Fatal("want the failure of one phase")
	}
	if got := res.Failed(); len(got) != 1 {
		t.Errorf("Failed() = %v", got)
	}
	for _, o := range res.Outcomes {
		if s := j.PhaseStatus(o.Name); s != o.Status || s == state.PhaseInProgress || s == state.PhasePending {
			t.Errorf("%s: recorded %q, outcome %q", o.Name, s, o.Status)
		}
	}
	if len(res.Blocked()) == 0 {
		t.Error("nothing depended on the failed phase?")
	}
}
