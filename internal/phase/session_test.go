package phase

import (
	"context"
	"errors"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

var _ Journal = (*state.Session)(nil)

// The engine against the real deployment record: a run interrupted by
// Ctrl-C, the record closed and reopened as a new process would, and resumed.
func TestResumeThroughTheFileRecord(t *testing.T) {
	dir := t.TempDir()
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), store, "", "resume-test")
	if err != nil {
		t.Fatal(err)
	}
	id := sess.ID()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resumed := false
	network := &verifying{fake: newFake("network")}
	network.verify = func(context.Context) (bool, string, error) { return true, "", nil }
	bootstrap := newFake("bootstrap", "network")
	bootstrap.run = func(ctx context.Context, p Progress) error {
		if resumed {
			return nil
		}
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	install := newFake("k0rdent-install", "bootstrap")
	phases := []Phase{network, bootstrap, install}

	if _, err := (&Engine{Journal: sess}).Run(ctx, phases); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}

	sess, err = state.Open(t.Context(), store, id)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	rec := sess.Snapshot()
	want := map[string]state.PhaseStatus{
		"network":         state.PhaseCompleted,
		"bootstrap":       state.PhaseInterrupted,
		"k0rdent-install": state.PhasePending,
	}
	for _, p := range rec.Phases {
		if p.Status != want[p.Name] {
			t.Errorf("after the interruption %s is %q, want %q", p.Name, p.Status, want[p.Name])
		}
		if p.Name == "bootstrap" && p.Reason != ReasonInterrupted {
			t.Errorf("bootstrap reason %q", p.Reason)
		}
	}
	if len(rec.Phases) != 3 {
		t.Errorf("record has %d phases, want 3", len(rec.Phases))
	}

	resumed = true
	res, err := (&Engine{Journal: sess}).Run(t.Context(), phases)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if o, _ := res.Outcome("network"); !o.Verified || network.runs.Load() != 1 {
		t.Errorf("network: verified %v, runs %d; want verified and run once in all", o.Verified, network.runs.Load())
	}
	for _, p := range sess.Snapshot().Phases {
		if p.Status != state.PhaseCompleted {
			t.Errorf("after resume %s is %q", p.Name, p.Status)
		}
	}
}
