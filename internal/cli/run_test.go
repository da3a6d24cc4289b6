package cli

import (
	"bytes"
	"context"
	"errors"
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
			s, err := state.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			sess, err := state.OpenOrCreate(t.Context(), s, "", "demo")
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			_, err = o.runPhases(t.Context(), sess, "deploy", []phase.Phase{stubPhase{"one", tc.err}, stubPhase{"two", nil}}, 2)
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
