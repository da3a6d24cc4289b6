package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// BenchmarkCommandByEvents runs the k0rdentctl binary (built once, as a user
// runs it) for `status`, `events` and `events --tail 20` against records of
// 30, 500 and 5000 events, and reports the wall time per run and the peak
// resident memory of the process (peak-RSS-MB, the largest over the runs).
//
//	go test -run '^$' -bench BenchmarkCommandByEvents -benchtime 20x ./internal/cli/
func BenchmarkCommandByEvents(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "k0rdentctl")
	build := exec.Command("go", "build", "-o", bin, "github.com/k0rdentctl/k0rdentctl/cmd/k0rdentctl")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("building k0rdentctl: %v", err)
	}
	for _, n := range []int{30, 500, 5000} {
		dir := b.TempDir()
		seedEvents(b, filepath.Join(dir, "state"), n)
		for _, args := range [][]string{{"status"}, {"events"}, {"events", "--tail", "20"}} {
			name := fmt.Sprintf("%s/events=%d", args[0], n)
			if len(args) > 1 {
				name = fmt.Sprintf("%s-tail/events=%d", args[0], n)
			}
			b.Run(name, func(b *testing.B) {
				var peak int64
				for b.Loop() {
					cmd := exec.Command(bin, append(args, "--state-dir", filepath.Join(dir, "state"), "-c", filepath.Join(dir, "none.yaml"))...)
					cmd.Dir = dir
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%v: %v\n%s", args, err, out)
					}
					if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
						peak = max(peak, ru.Maxrss) // KiB on Linux
					}
				}
				b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
			})
		}
	}
}

// seedEvents writes a record as a deploy with regions leaves it, with n
// events.
func seedEvents(b *testing.B, stateDir string, n int) {
	b.Helper()
	s, err := state.NewFileStore(stateDir)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := state.New(state.NewDeploymentID(), "bench", t0)
	for i, p := range []string{"preflight", "k0rdent-install", "k0rdent-ready", "regional-useast", "regional-westeu"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		end := at.Add(time.Minute)
		r.Phases = append(r.Phases, state.PhaseRecord{Name: p, Status: state.PhaseCompleted, StartedAt: &at, EndedAt: &end, DurationSeconds: 60, Attempts: 1})
	}
	for i := range n {
		e := state.Event{Timestamp: t0.Add(time.Duration(i) * time.Second), Type: "health_changed", Message: fmt.Sprintf("region regional-useast health check %d: 5/5 components available", i)}
		if i%3 == 0 {
			e.Region = "regional-useast"
		}
		r.Events = append(r.Events, e)
	}
	if err := s.Save(context.Background(), r); err != nil {
		b.Fatal(err)
	}
}
