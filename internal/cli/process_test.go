//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// childEnv makes the test binary run k0rdentctl itself (cli.Main) with its
// arguments instead of the tests: the process tests below start it as a
// separate process, interrupt it and kill it.
const childEnv = "K0RDENTCTL_CLI_TEST_CHILD"

// childDeadline bounds every wait for a child; a failure bound, never a
// stand-in for a condition.
const childDeadline = 60 * time.Second

func TestMain(m *testing.M) {
	if standin.IsK0sctl() {
		os.Exit(standin.RunK0sctl(os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getenv(childEnv) == "1" {
		if url := os.Getenv(armsimEnv); url != "" {
			os.Exit(mainOnSim(url))
		}
		os.Exit(Main(os.Args[1:], BuildInfo{Version: "test-child"}))
	}
	os.Exit(m.Run())
}

// silentCluster is an address that accepts connections and never answers:
// a management cluster behind a network that hangs, so that a run stays in
// its preflight until it is interrupted or killed.
func silentCluster(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "https://" + l.Addr().String()
}

type deployChild struct {
	cmd    *exec.Cmd
	lines  chan string
	output *strings.Builder
	mu     *sync.Mutex
	done   chan struct{}
}

// startDeploy runs `k0rdentctl deploy args...` as a child process and waits
// until its preflight is recorded as started (the record is written before
// the line is printed).
func startDeploy(t *testing.T, args ...string) *deployChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"deploy"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &deployChild{cmd: cmd, lines: make(chan string, 100), output: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(c.done)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			c.mu.Lock()
			c.output.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	deadline := time.After(childDeadline)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("deploy ended before its preflight started:\n%s", c.text())
			}
			if strings.HasSuffix(l, "preflight started") {
				return c
			}
		case <-deadline:
			t.Fatalf("deploy's preflight did not start within %s:\n%s", childDeadline, c.text())
		}
	}
}

func (c *deployChild) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.output.String()
}

// wait waits for the child to end and returns its exit code and output.
func (c *deployChild) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(childDeadline):
		t.Fatalf("deploy did not end within %s of the signal:\n%s", childDeadline, c.text())
	}
	for range c.lines { // the rest of the output
	}
	return c.cmd.ProcessState.ExitCode(), c.text()
}

func statusJSON(t *testing.T, flags []string) (statusView, int) {
	t.Helper()
	r := run(t, append([]string{"status", "-o", "json"}, flags...)...)
	var v statusView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("status -o json: %v\n%s%s", err, r.out, r.err)
	}
	return v, r.code
}

// Ctrl-C during deploy: the run is recorded and shown as interrupted (not a
// failure, no connection hint), the process exits 130, and status says
// INTERRUPTED with the command that resumes it, --kubeconfig included.
// While the run goes on, status says IN PROGRESS.
func TestDeployInterruptedByCtrlC(t *testing.T) {
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "silent.kubeconfig", silentCluster(t))
	flags := existingConfig(t, dir, kc)
	c := startDeploy(t, append(flags, "--kubeconfig", kc)...)

	v, code := statusJSON(t, flags)
	if v.Status != state.OverallInProgress || code != ExitOK {
		t.Errorf("status while deploy runs: %s, exit %d; want IN PROGRESS, 0 (next %q)", v.Status, code, v.Next)
	}

	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, out := c.wait(t)
	if code != ExitInterrupted {
		t.Errorf("deploy after Ctrl-C: exit %d, want %d", code, ExitInterrupted)
	}
	for _, bad := range []string{"failed", "cannot reach", "vpn status"} {
		if strings.Contains(out, bad) {
			t.Errorf("the interrupted deploy's output says %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "deploy interrupted") || !strings.Contains(out, "--kubeconfig "+kc) {
		t.Errorf("the output does not say it was interrupted and how to resume:\n%s", out)
	}

	v, code = statusJSON(t, flags)
	if v.Status != state.OverallInterrupted || code != ExitFailed {
		t.Errorf("status after Ctrl-C: %s, exit %d; want INTERRUPTED, 1", v.Status, code)
	}
	if len(v.Phases) == 0 || v.Phases[0].Name != "preflight" || v.Phases[0].Status != string(state.PhaseInterrupted) || v.Phases[0].LastError != "" {
		t.Errorf("preflight after Ctrl-C: %+v", v.Phases)
	}
	// The state folder is the one beside the configuration (its default),
	// so the command needs no --state-dir to find it again.
	if !containsLine(v.Next, "k0rdentctl deploy -c "+flags[1]+" --kubeconfig "+kc) {
		t.Errorf("next step %q does not repeat the command with its flags", v.Next)
	}
}

// kill -9 during deploy: the record still says in-progress, but the lock's
// holder is dead on this host, so status says INTERRUPTED (not IN PROGRESS
// for ever), names the dead process, and the next deploy takes over.
func TestStatusAfterDeployKilled(t *testing.T) {
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "silent.kubeconfig", silentCluster(t))
	flags := existingConfig(t, dir, kc)
	c := startDeploy(t, flags...)
	pid := c.cmd.Process.Pid
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.wait(t); code != -1 {
		t.Errorf("the killed deploy exited %d", code)
	}

	v, code := statusJSON(t, flags)
	if v.Status != state.OverallInterrupted || code != ExitFailed {
		t.Fatalf("status after kill -9: %s, exit %d; want INTERRUPTED, 1", v.Status, code)
	}
	if v.StoppedRun == nil || v.StoppedRun.PID != pid {
		t.Errorf("status does not name the dead run (pid %d): %+v", pid, v.StoppedRun)
	}
	if v.Phases[0].Status != string(state.PhaseInterrupted) {
		t.Errorf("preflight shown as %s", v.Phases[0].Status)
	}
	if !containsLine(v.Next, "resume (completed phases are verified, not redone): k0rdentctl deploy -c "+flags[1]) {
		t.Errorf("next %q", v.Next)
	}
	// status only read: the record still says in-progress.
	s, err := state.NewFileStore(flags[3])
	if err != nil {
		t.Fatal(err)
	}
	id, err := state.FindCurrent(t.Context(), s, "records-test")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.Phase("preflight"); p == nil || p.Status != state.PhaseInProgress {
		t.Errorf("status changed the record: %+v", p)
	}
	if _, err := os.Stat(filepath.Join(flags[3], id+".lock")); errors.Is(err, os.ErrNotExist) {
		t.Error("the dead holder's lock file is gone: this test does not test what it says")
	}
}
