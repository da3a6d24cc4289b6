package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSessionOpen(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)

	if _, err := Open(ctx, s, NewDeploymentID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of a missing record: %v", err)
	}
	sess, err := OpenOrCreate(ctx, s, "", "prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	id := sess.ID()
	if !ValidDeploymentID(id) || sess.Location() != s.Location(id) {
		t.Errorf("new session id %q at %s", id, sess.Location())
	}
	snap := sess.Snapshot()
	if snap.Name != "prod-eu" || len(snap.Events) != 1 || snap.Events[0].Type != EventDeploymentNew {
		t.Errorf("new record: %+v", snap)
	}
	onDisk, err := s.Load(ctx, id)
	if err != nil || onDisk.Name != "prod-eu" {
		t.Errorf("new record not saved at once: %v", err)
	}
	// While the session is open, nobody else gets in.
	var le *LockError
	if _, err := Open(ctx, s, id); !errors.As(err, &le) {
		t.Errorf("second Open: %v", err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), id+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Close: %v", err)
	}
	if err := sess.AddEvent(Event{Type: "x"}); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("AddEvent after Close: %v", err)
	}

	// Reopen: the record is loaded, not re-created.
	sess, err = OpenOrCreate(ctx, s, id, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if snap := sess.Snapshot(); snap.Name != "prod-eu" || len(snap.Events) != 1 {
		t.Errorf("reopened record: %+v", snap)
	}
	if _, err := OpenOrCreate(ctx, s, "bad-id", "x"); err == nil {
		t.Error("OpenOrCreate with a bad id succeeded")
	}
}

func TestSessionUpdate(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	sess, err := OpenOrCreate(ctx, s, "", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	err = sess.Update(ctx, func(r *Record) error {
		r.UpsertRegional(RegionalCluster{Name: "regional-useast", Type: RegionalTypeExternal, Status: RegionalDeploying, Components: map[string]string{"velero": "v1.17.0"}})
		r.K0rdent.Version = "1.5.0"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(sess.Location())

	// A failing fn changes nothing, in memory or on disk.
	boom := errors.New("boom")
	err = sess.Update(ctx, func(r *Record) error {
		r.K0rdent.Version = "9.9.9"
		r.Regional("regional-useast").Components["velero"] = "changed"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	snap := sess.Snapshot()
	if snap.K0rdent.Version != "1.5.0" || snap.Regional("regional-useast").Components["velero"] != "v1.17.0" {
		t.Errorf("a failed Update leaked into the record: %+v", snap.K0rdent)
	}
	if after, _ := os.ReadFile(sess.Location()); string(after) != string(before) {
		t.Error("a failed Update changed the file")
	}
	// A refused save changes nothing either.
	err = sess.Update(ctx, func(r *Record) error {
		r.Management.KubeconfigPath = "-----BEGIN RSA PRIVATE KEY-----"
		return nil
	})
	if err == nil || sess.Snapshot().Management.KubeconfigPath != "" {
		t.Errorf("Update with a secret: %v", err)
	}
	if err := sess.Update(ctx, func(r *Record) error { r.DeploymentID = NewDeploymentID(); return nil }); err == nil {
		t.Error("Update changed the deployment id")
	}

	// Snapshots are deep copies.
	snap.Regional("regional-useast").Components["velero"] = "mutated"
	snap.Phases = append(snap.Phases, PhaseRecord{Name: "mutated"})
	if again := sess.Snapshot(); again.Regional("regional-useast").Components["velero"] != "v1.17.0" || again.Phase("mutated") != nil {
		t.Error("changing a snapshot changed the session's record")
	}

	// A cancelled context still records (so that Ctrl-C leaves a resumable record).
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := sess.Update(cancelled, func(r *Record) error { r.K0rdent.Ready = true; return nil }); err != nil {
		t.Errorf("Update with a cancelled context: %v", err)
	}
	if r, _ := s.Load(ctx, sess.ID()); !r.K0rdent.Ready {
		t.Error("Update with a cancelled context was not saved")
	}
}

func TestRecordPhase(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	sess, err := OpenOrCreate(ctx, s, "", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	rec := func(st PhaseStatus, at time.Duration, err error, reason string) {
		t.Helper()
		if e := sess.RecordPhase(PhaseTransition{Name: "k0rdent-install", Title: "Install k0rdent", Status: st, At: t0.Add(at), Err: err, Reason: reason}); e != nil {
			t.Fatal(e)
		}
	}
	if sess.PhaseStatus("k0rdent-install") != "" {
		t.Error("unrecorded phase has a status")
	}
	rec(PhaseInProgress, 0, nil, "")
	if got := sess.PhaseStatus("k0rdent-install"); got != PhaseInProgress {
		t.Errorf("status %q", got)
	}
	rec(PhaseFailed, 3*time.Second, errors.New("helm install kcm: timed out"), "")
	p := sess.Snapshot().Phase("k0rdent-install")
	if p.Status != PhaseFailed || p.DurationSeconds != 3 || p.Attempts != 1 || p.LastError != "helm install kcm: timed out" ||
		!p.StartedAt.Equal(t0) || !p.EndedAt.Equal(t0.Add(3*time.Second)) || p.StartedAt.Location() != time.UTC {
		t.Errorf("after failure: %+v", p)
	}
	rec(PhaseInProgress, time.Minute, nil, "")
	p = sess.Snapshot().Phase("k0rdent-install")
	// A running phase does not show the previous run's error.
	if p.Attempts != 2 || p.EndedAt != nil || p.DurationSeconds != 0 || p.LastError != "" {
		t.Errorf("after restart: %+v", p)
	}
	rec(PhaseCompleted, time.Minute+90*time.Second, nil, "Management kcm Ready")
	p = sess.Snapshot().Phase("k0rdent-install")
	if p.Status != PhaseCompleted || p.DurationSeconds != 90 || p.LastError != "" || p.Reason != "Management kcm Ready" || p.Title != "Install k0rdent" {
		t.Errorf("after completion: %+v", p)
	}
	if err := sess.RecordPhase(PhaseTransition{Name: "kof", Status: PhaseSkipped, Reason: "kof.enabled is false"}); err != nil {
		t.Fatal(err)
	}
	if err := sess.RecordPhase(PhaseTransition{Name: "regional-useast", Group: "regional-useast", Status: PhaseFailed, Reason: "cancelled"}); err != nil {
		t.Fatal(err)
	}

	onDisk, err := s.Load(ctx, sess.ID())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "record on disk", onDisk, sess.Snapshot())
	var got []string
	for _, e := range onDisk.Events[1:] {
		got = append(got, e.Type+" | "+e.Phase+" | "+e.Region+" | "+e.Message)
	}
	want := []string{
		"phase_started | k0rdent-install |  | Install k0rdent started",
		"phase_failed | k0rdent-install |  | Install k0rdent failed after 3s: helm install kcm: timed out",
		"phase_started | k0rdent-install |  | Install k0rdent started (attempt 2)",
		"phase_completed | k0rdent-install |  | Install k0rdent completed in 1m30s: Management kcm Ready",
		"phase_skipped | kof |  | kof skipped: kof.enabled is false",
		"phase_failed | regional-useast | regional-useast | regional-useast failed: cancelled",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !onDisk.Events[1].Timestamp.Equal(t0) || onDisk.Events[1].Timestamp.Location() != time.UTC {
		t.Errorf("event time %v", onDisk.Events[1].Timestamp)
	}
	if sess.Snapshot().Overall() != OverallFailed {
		t.Errorf("Overall = %s", sess.Snapshot().Overall())
	}

	for _, bad := range []PhaseTransition{{Status: PhaseCompleted}, {Name: "x", Status: "done"}} {
		if err := sess.RecordPhase(bad); err == nil {
			t.Errorf("RecordPhase(%+v) accepted", bad)
		}
	}
	if err := sess.AddEvent(Event{Message: "no type"}); err == nil {
		t.Error("AddEvent without a type accepted")
	}
}

// TestSessionConcurrency records phases, events and updates from many
// goroutines at once (run with -race): nothing is lost, and what is on disk
// is what the session holds.
func TestSessionConcurrency(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	sess, err := OpenOrCreate(ctx, s, "", "concurrent")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	const n = 18
	var wg sync.WaitGroup
	errs := make(chan error, 10*n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("phase-%02d", i)
			region := fmt.Sprintf("region-%d", i%3)
			steps := []PhaseTransition{
				{Name: name, Group: region, Status: PhaseInProgress},
				{Name: "shared", Status: PhaseInProgress},
			}
			switch {
			case i%6 == 0:
				steps = append(steps, PhaseTransition{Name: name, Status: PhaseFailed, Err: fmt.Errorf("error %d", i)})
			case i%6 == 1:
				steps = append(steps, PhaseTransition{Name: name, Status: PhaseSkipped, Reason: "not wanted"})
			default:
				steps = append(steps, PhaseTransition{Name: name, Status: PhaseCompleted})
			}
			for _, st := range steps {
				if err := sess.RecordPhase(st); err != nil {
					errs <- err
				}
				if got := sess.PhaseStatus(name); got == "" {
					errs <- fmt.Errorf("%s has no status after it was recorded", name)
				}
			}
			if err := sess.AddEvent(Event{Region: region, Type: "probe", Message: name}); err != nil {
				errs <- err
			}
			err := sess.Update(ctx, func(r *Record) error {
				r.UpsertResource(Resource{Kind: "VirtualMachine", Name: name})
				return nil
			})
			if err != nil {
				errs <- err
			}
			_ = sess.Snapshot().Overall()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	snap := sess.Snapshot()
	if len(snap.Phases) != n+1 || len(snap.Resources) != n {
		t.Errorf("%d phases and %d resources, want %d and %d", len(snap.Phases), len(snap.Resources), n+1, n)
	}
	if p := snap.Phase("shared"); p.Attempts != n {
		t.Errorf("shared phase attempts = %d, want %d", p.Attempts, n)
	}
	want := map[PhaseStatus]int{PhaseInProgress: 1} // "shared"
	for i := range n {
		switch i % 6 {
		case 0:
			want[PhaseFailed]++
		case 1:
			want[PhaseSkipped]++
		default:
			want[PhaseCompleted]++
		}
	}
	if c := snap.PhaseCounts(); fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("phase counts %v, want %v", c, want)
	}
	// 1 creation + 3 transitions and 1 probe per goroutine.
	if want := 1 + 4*n; len(snap.Events) != want {
		t.Errorf("%d events, want %d", len(snap.Events), want)
	}
	if got := len(FilterEvents(snap.Events, EventFilter{Region: "region-1", Type: EventPhaseStarted})); got != n/3 {
		t.Errorf("%d phase_started events in region-1, want %d", got, n/3)
	}
	onDisk, err := s.Load(ctx, sess.ID())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "record on disk", onDisk, snap)
}

func TestSessionArchive(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	sess, err := OpenOrCreate(ctx, s, "", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RecordPhase(PhaseTransition{Name: "a", Status: PhaseCompleted}); err != nil {
		t.Fatal(err)
	}
	path, err := sess.Archive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.AddEvent(Event{Type: "late"}); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("AddEvent after Archive: %v", err)
	}
	if _, err := os.Stat(sess.Location()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record still in place after Archive: %v", err)
	}
	archived, err := decodeStored(mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(archived.Events); n == 0 || archived.Events[n-1].Type != EventRecordArchived || archived.ArchivedAt == nil {
		t.Errorf("archived record: %+v", archived)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(ctx); len(h) != 1 || h[0].Path != path || h[0].Status != OverallDeployed {
		t.Errorf("History = %+v", h)
	}
}
