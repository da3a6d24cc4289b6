package state

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A phase verified on resume did not run again: its times stay those of the
// run that did the work, and its event says so without a duration.
func TestVerifiedPhaseKeepsItsTimes(t *testing.T) {
	ctx := context.Background()
	s, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := OpenOrCreate(ctx, s, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tr := range []PhaseTransition{
		{Name: "p", Status: PhaseInProgress, At: t0},
		{Name: "p", Status: PhaseCompleted, At: t0.Add(20 * time.Second)},
		{Name: "p", Status: PhaseCompleted, At: t0.Add(time.Hour), Reason: "verified"},
	} {
		if err := sess.RecordPhase(tr); err != nil {
			t.Fatal(err)
		}
	}
	r := sess.Snapshot()
	p := r.Phase("p")
	if p.DurationSeconds != 20 || !p.StartedAt.Equal(t0) || !p.EndedAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("verified phase times changed: %+v", p)
	}
	last := r.Events[len(r.Events)-1]
	if strings.Contains(last.Message, " in ") || !strings.Contains(last.Message, "verified") {
		t.Fatalf("verified event: %q", last.Message)
	}
}
