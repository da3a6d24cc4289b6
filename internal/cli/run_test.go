package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

type guardError struct{}

func (guardError) Error() string {
	return "k0rdent 1.6.0 is installed; installing 1.5.0 would downgrade it (use --force)"
}
func (guardError) Refused() bool { return true }

type stubPhase struct {
	name string
	err  error
}

func (p stubPhase) Name() string                                    { return p.name }
func (p stubPhase) Title() string                                   { return "stub " + p.name }
func (p stubPhase) Requires() []string                              { return nil }
func (p stubPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }
func (p stubPhase) Run(context.Context, phase.Progress) error       { return p.err }
func (p stubPhase) DryRun(context.Context) ([]string, error)        { return nil, nil }

// runPhases maps what the phases did to the exit code: 0 when all completed,
// 3 when a guard refused, 1 for any other failure; the summary names it.
func TestRunPhasesExitCodes(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		code int
	}{
		"completed": {nil, ExitOK},
		"failed":    {errors.New("Region regional-useast not ready"), ExitFailed},
		"refused":   {phase.Permanent(guardError{}), ExitRefused},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			o := &Options{Output: "table", IO: IOStreams{Out: &out, ErrOut: &out}}
			sess := newTestSession(t)
			_, err := o.runPhases(t.Context(), sess, "deploy", []phase.Phase{stubPhase{"one", tc.err}, stubPhase{"two", nil}}, 2, "k0rdentctl deploy")
			if got := ExitCode(err); got != tc.code {
				t.Fatalf("exit code %d, want %d\n%s", got, tc.code, out.String())
			}
			if tc.err != nil && !strings.Contains(out.String(), tc.err.Error()) {
				t.Fatalf("the summary does not say what failed:\n%s", out.String())
			}
			// The independent phase ran either way, and the record says so.
			if p := sess.Snapshot().Phase("two"); p == nil || p.Status != state.PhaseCompleted {
				t.Fatalf("independent phase: %+v", p)
			}
		})
	}
}

// waitPhase starts, says so, and waits until the run is interrupted; it then
// returns the error a client returns when its context is cancelled.
type waitPhase struct{ started chan struct{} }

func (p waitPhase) Name() string                                    { return "k0rdent-install" }
func (p waitPhase) Title() string                                   { return "Install k0rdent" }
func (p waitPhase) Requires() []string                              { return nil }
func (p waitPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }
func (p waitPhase) DryRun(context.Context) ([]string, error)        { return nil, nil }
func (p waitPhase) Run(ctx context.Context, _ phase.Progress) error {
	close(p.started)
	<-ctx.Done()
	return fmt.Errorf("cannot reach the Kubernetes API server https://10.0.0.1:6443: %w; check that the cluster is running", ctx.Err())
}

// Ctrl-C during a run: recorded and shown as interrupted (not failed, no
// connection hint), with the command that resumes it, and exit code 130.
func TestRunPhasesInterrupted(t *testing.T) {
	var out bytes.Buffer
	o := &Options{Output: "table", Kubeconfig: "./mgmt.kubeconfig", StateDir: "state", ConfigPath: "k0rdent.yaml", IO: IOStreams{Out: &out, ErrOut: &out}}
	sess := newTestSession(t)
	ctx, cancel := context.WithCancel(t.Context())
	p := waitPhase{started: make(chan struct{})}
	go func() { <-p.started; cancel() }()
	resume := resumeCommand(o, "deploy")
	_, err := o.runPhases(ctx, sess, "deploy", []phase.Phase{p}, 1, resume)
	if got := ExitCode(err); got != ExitInterrupted {
		t.Fatalf("exit code %d, want %d: %v\n%s", got, ExitInterrupted, err, out.String())
	}
	if resume != "k0rdentctl deploy --kubeconfig ./mgmt.kubeconfig" {
		t.Errorf("resume command %q", resume)
	}
	if !strings.Contains(err.Error(), resume) || !strings.Contains(out.String(), "deploy interrupted") {
		t.Errorf("the operator is not told it was interrupted and how to resume: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "cannot reach") || strings.Contains(out.String(), "failed") {
		t.Errorf("an interruption is shown as a failure:\n%s", out.String())
	}
	rec := sess.Snapshot()
	if ph := rec.Phase("k0rdent-install"); ph == nil || ph.Status != state.PhaseInterrupted || ph.LastError != "" {
		t.Fatalf("recorded phase %+v, want interrupted without an error", ph)
	}
	if rec.Overall() != state.OverallInterrupted {
		t.Errorf("overall %s", rec.Overall())
	}
}

// newTestSession opens a new deployment record in a temporary folder, closed
// when the test ends.
func newTestSession(t *testing.T) *state.Session {
	t.Helper()
	s, err := state.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), s, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}
