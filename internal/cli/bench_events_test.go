package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	bin := buildBinary(b, false)
	for _, n := range []int{30, 500, 5000} {
		dir := b.TempDir()
		seedEvents(b, filepath.Join(dir, "state"), n)
		for _, args := range [][]string{{"status"}, {"events"}, {"events", "--tail", "20"}} {
			name := fmt.Sprintf("%s/events=%d", args[0], n)
			if len(args) > 1 {
				name = fmt.Sprintf("%s-tail/events=%d", args[0], n)
			}
			b.Run(name, func(b *testing.B) {
				runBinary(b, dir, bin, append(args, "--state-dir", filepath.Join(dir, "state"), "-c", filepath.Join(dir, "none.yaml"))...)
			})
		}
	}
}

// BenchmarkStartup runs the k0rdentctl binary for commands that talk to no
// cluster, as a new process per run, and reports the wall time per run and
// the peak resident memory: the start-up floor every command pays. It
// builds the binary twice: as `go build` does by default (release=false)
// and as `make build` does (release=true: no cgo, so a static binary
// without the dynamic loader and the symbol table that kustomize's use of
// package plugin otherwise exports; trimmed paths, no symbol or debug
// tables).
//
//	go test -run '^$' -bench BenchmarkStartup -benchtime 30x -count 3 ./internal/cli/
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	for _, release := range []bool{false, true} {
		bin := buildBinary(b, release)
		if out, err := exec.Command(bin, "config", "init", "--template", "multi-region", "-c", cfg, "--force").CombinedOutput(); err != nil {
			b.Fatalf("config init: %v\n%s", err, out)
		}
		kind := "go-build"
		if release {
			kind = "make-build"
		}
		for _, args := range [][]string{
			{"version"},
			{"--help"},
			{"config", "validate", "-c", cfg},
			{"plan", "--with-regional", "-c", cfg, "--state-dir", filepath.Join(dir, "state")},
			{"status", "-c", cfg, "--state-dir", filepath.Join(dir, "state")},
		} {
			b.Run(kind+"/"+strings.Join(args[:min(len(args), 2)], "-"), func(b *testing.B) {
				runBinary(b, dir, bin, args...)
			})
		}
	}
}

// buildBinary builds cmd/k0rdentctl into a temporary folder: as `go build`
// does by default, or with the flags of the Makefile's build target.
func buildBinary(b *testing.B, release bool) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "k0rdentctl")
	args := []string{"build", "-o", bin}
	env := os.Environ()
	if release {
		args = append(args, "-trimpath", "-ldflags", "-s -w")
		env = append(env, "CGO_ENABLED=0")
	}
	build := exec.Command("go", append(args, "github.com/k0rdentctl/k0rdentctl/cmd/k0rdentctl")...)
	build.Env = env
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("building k0rdentctl: %v", err)
	}
	return bin
}

// runBinary runs bin with args in dir once per benchmark iteration, through
// a small runner process, and reports the child's own wall time (child-ms)
// and its peak resident memory (peak-RSS-MB, the largest over the runs). A
// run that exits non-zero fails the benchmark.
//
// The runner is needed for the memory figure: Linux keeps a process's peak
// RSS across fork and exec, so a child started straight from this (large)
// test process reports the test process's peak. Started from the small
// runner, it reports its own.
func runBinary(b *testing.B, dir, bin string, args ...string) {
	b.Helper()
	runner := buildRunner(b)
	var peak int64
	var wall time.Duration
	for b.Loop() {
		cmd := exec.Command(runner, append([]string{bin}, args...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
		var ns, rss int64
		var code int
		if _, err := fmt.Sscan(string(out), &ns, &rss, &code); err != nil || code != 0 {
			b.Fatalf("%v: exit code %d (runner said %q)", args, code, out)
		}
		wall += time.Duration(ns)
		peak = max(peak, rss) // KiB on Linux
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "child-ms")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
}

// runnerSource is the runner of runBinary: it runs its arguments as a
// command with no output and prints the child's wall time in nanoseconds,
// its peak RSS in KiB and its exit code.
const runnerSource = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	start := time.Now()
	_ = cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Println(0, 0, -1)
		return
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Println(wall.Nanoseconds(), ru.Maxrss, cmd.ProcessState.ExitCode())
}
`

// buildRunner builds runnerSource (standard library only) into a temporary
// folder.
func buildRunner(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	src := filepath.Join(dir, "runner.go")
	if err := os.WriteFile(src, []byte(runnerSource), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "runner")
	build := exec.Command("go", "build", "-o", bin, src)
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the benchmark's runner: %v\n%s", err, out)
	}
	return bin
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
