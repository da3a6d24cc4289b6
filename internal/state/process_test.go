//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package state

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests start the test binary itself as a second process (a writer or
// a lock holder) and SIGKILL it. TestMain runs the child's work (runHelper)
// when helperEnv says which child to be.
const (
	helperEnv   = "K0RDENTCTL_STATE_TEST_HELPER"
	helperDirEn = "K0RDENTCTL_STATE_TEST_DIR"
	helperIDEnv = "K0RDENTCTL_STATE_TEST_ID"
	// helperDeadline bounds every wait for a child; it is a failure bound,
	// never a stand-in for a condition.
	helperDeadline = 60 * time.Second
)

// runHelper runs this test binary as the child that helperEnv names (TestMain
// calls it before any test runs), and reports whether it was one.
func runHelper() bool {
	switch os.Getenv(helperEnv) {
	case "writer":
		helperWriter()
	case "locker":
		helperLocker()
	default:
		return false
	}
	return true
}

// helperWriter is the writer child of TestAtomicSaveSurvivesSIGKILL: it
// saves a growing record with a payload of random size in a loop, printing
// "saving N" before and "saved N" after each Save, until it is killed.
func helperWriter() {
	exitWhenParentGoes()
	ctx := context.Background()
	store, err := NewFileStore(os.Getenv(helperDirEn))
	if err != nil {
		childFail(err)
	}
	id := os.Getenv(helperIDEnv)
	rec, err := store.Load(ctx, id)
	seq := 0
	switch {
	case errors.Is(err, ErrNotFound):
		rec = New(id, "writer", time.Now())
	case err != nil:
		childFail(err)
	default:
		if seq, err = writerSeq(rec); err != nil {
			childFail(err)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	fmt.Printf("start %d\n", seq)
	for {
		seq++
		// The record grows by an event per save and carries a
		// payload of random size, so saves differ in length and a torn one
		// would show: the payload would not match its hash.
		content := randomPayload(rng, 1<<10+rng.IntN(31<<10))
		setPayload(rec, seq, content)
		rec.Events = append(rec.Events, Event{Timestamp: time.Now().UTC(), Type: "write", Message: fmt.Sprintf("save %d", seq)})
		fmt.Printf("saving %d\n", seq)
		if err := store.Save(ctx, rec); err != nil {
			childFail(err)
		}
		fmt.Printf("saved %d\n", seq)
	}
}

// helperLocker is the lock-holding child of the lock tests: it takes the
// deployment's lock, prints "locked <pid>" and holds it until killed.
func helperLocker() {
	store, err := NewFileStore(os.Getenv(helperDirEn))
	if err != nil {
		childFail(err)
	}
	u, err := store.Lock(context.Background(), os.Getenv(helperIDEnv))
	if err != nil {
		childFail(err)
	}
	fmt.Printf("locked %d\n", os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin (or kills us)
	_ = u.Unlock()
	os.Exit(0)
}

func childFail(err error) {
	fmt.Printf("error %v\n", err)
	os.Exit(3)
}

// exitWhenParentGoes ends a child whose parent test died: its stdin closes.
func exitWhenParentGoes() {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(2)
	}()
}

func writerSeq(r *Record) (int, error) {
	s, ok := strings.CutPrefix(r.Config.Path, "seq/")
	if !ok {
		return 0, fmt.Errorf("record has no sequence number (config.path %q)", r.Config.Path)
	}
	return strconv.Atoi(s)
}

func randomPayload(rng *rand.Rand, n int) []byte {
	raw := make([]byte, n/2)
	for i := 0; i+8 <= len(raw); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	out := []byte(hex.EncodeToString(raw))
	for i := 63; i < len(out); i += 64 {
		out[i] = '\n'
	}
	return out
}

// child is a running helper process whose stdout lines arrive on lines.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seen  []string
}

func startHelper(t *testing.T, role, dir, id string) *child {
	t.Helper()
	// TestMain makes the child the helper that helperEnv names.
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, helperDirEn+"="+dir, helperIDEnv+"="+id)
	return startProcess(t, cmd, role)
}

// startProcess starts cmd (this test binary in some role) with its stdout
// lines on the child's lines; it is killed and reaped at the test's end.
func startProcess(t *testing.T, cmd *exec.Cmd, role string) *child {
	t.Helper()
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s child: %v", role, err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			for range c.lines {
			}
			_ = cmd.Wait()
		}
	})
	return c
}

// expect waits for the child's next line that starts with prefix.
func (c *child) expect(t *testing.T, prefix string) string {
	t.Helper()
	return c.expectFunc(t, prefix, func(line string) bool { return strings.HasPrefix(line, prefix) })
}

// expectSaving waits until the writer starts save n or a later one, and
// returns the number of the save it started.
func (c *child) expectSaving(t *testing.T, n int) int {
	t.Helper()
	var got int
	c.expectFunc(t, fmt.Sprintf("saving %d", n), func(line string) bool {
		s, ok := strings.CutPrefix(line, "saving ")
		if !ok {
			return false
		}
		got, _ = strconv.Atoi(s)
		return got >= n
	})
	return got
}

func (c *child) expectFunc(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.After(helperDeadline)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("helper exited before printing %q; its last lines were %q", what, c.tail())
			}
			c.seen = append(c.seen, line)
			if strings.HasPrefix(line, "error ") {
				t.Fatalf("helper failed: %s", line)
			}
			if match(line) {
				return line
			}
		case <-deadline:
			t.Fatalf("helper printed no %q line within %v; its last lines were %q", what, helperDeadline, c.tail())
		}
	}
}

func (c *child) tail() []string {
	return c.seen[max(0, len(c.seen)-6):]
}

// kill SIGKILLs the child, collects everything it printed and reaps it, so
// that it is certainly gone (and its flock released) when kill returns.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing the helper: %v", err)
	}
	for line := range c.lines {
		c.seen = append(c.seen, line)
	}
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("helper ended with %v, expected to be killed", err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, not by SIGKILL; its last lines were %q", err, c.tail())
	}
}

func TestAtomicSaveSurvivesSIGKILL(t *testing.T) {
	iterations := 60
	if testing.Short() {
		iterations = 15
	}
	ctx := context.Background()
	dir := t.TempDir()
	id := NewDeploymentID()
	store, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Save 0 exists before the first writer starts, so there is always an
	// old record for a killed save to leave in place.
	first := New(id, "writer", time.Now())
	setPayload(first, 0, []byte("initial"))
	first.Events = []Event{{Timestamp: time.Now(), Type: "write", Message: "save 0"}}
	if err := store.Save(ctx, first); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	prevSeq, midWrite, tempsLeft := 0, 0, 0
	for i := range iterations {
		c := startHelper(t, "writer", dir, id)
		start, err := strconv.Atoi(strings.TrimPrefix(c.expect(t, "start "), "start "))
		if err != nil {
			t.Fatal(err)
		}
		if start != prevSeq {
			t.Fatalf("iteration %d: the writer started from save %d, but the last record read had save %d", i, start, prevSeq)
		}
		// Time one save of this writer (from one "saving" line to the next)
		// and let it start a random later save. Then, on even iterations,
		// kill it a random moment into that save; on odd ones, as soon as
		// the save's temporary file exists (the bytes are being written),
		// at once or a random moment of up to a millisecond later.
		c.expectSaving(t, start+1)
		t1 := time.Now()
		n := c.expectSaving(t, start+2)
		saveTook := time.Since(t1)
		c.expectSaving(t, n+rng.IntN(3))
		if i%2 == 0 {
			time.Sleep(rand.N(saveTook + time.Microsecond))
		} else {
			waitForTempFile(t, dir, id)
			if i%4 == 3 {
				time.Sleep(rand.N(time.Millisecond))
			}
		}
		c.kill(t)

		lastSaved, last := start, c.seen[len(c.seen)-1]
		for _, line := range c.seen {
			if n, ok := strings.CutPrefix(line, "saved "); ok {
				lastSaved, _ = strconv.Atoi(n)
			}
		}
		if strings.HasPrefix(last, "saving ") {
			midWrite++
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "."+id+".yaml.tmp-*")); len(m) > 0 {
			tempsLeft++
		}

		rec, err := store.Load(ctx, id)
		if err != nil {
			t.Fatalf("iteration %d: after SIGKILL (last output %q) the record does not load: %v", i, last, err)
		}
		seq, err := writerSeq(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !payloadIntact(rec) {
			t.Fatalf("iteration %d: save %d loaded with a payload that does not match its hash (torn record)", i, seq)
		}
		// Old or new, never older than a completed save: the record is the
		// last save that returned, or the one in flight when killed.
		if seq != lastSaved && seq != lastSaved+1 {
			t.Fatalf("iteration %d: loaded save %d, but the last completed save was %d", i, seq, lastSaved)
		}
		if n := len(rec.Events); n == 0 || rec.Events[n-1].Message != fmt.Sprintf("save %d", seq) {
			t.Fatalf("iteration %d: the last event does not belong to save %d", i, seq)
		}
		prevSeq = seq
	}
	t.Logf("%d kills: %d during a Save, %d left a temporary file behind; the record reached save %d",
		iterations, midWrite, tempsLeft, prevSeq)
	if midWrite < iterations/2 || tempsLeft == 0 {
		t.Errorf("only %d of %d kills landed during a Save, %d while its file was being written; the test is not exercising torn writes", midWrite, iterations, tempsLeft)
	}

	// Temporary files of killed writes are removed by the next lock holder.
	u, err := store.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "."+id+".yaml.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left after taking the lock: %v", m)
	}
	if err := u.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// waitForTempFile returns as soon as a temporary file of an atomic write of
// the record exists.
func waitForTempFile(t *testing.T, dir, id string) {
	t.Helper()
	deadline := time.Now().Add(helperDeadline)
	pattern := filepath.Join(dir, "."+id+".yaml.tmp-*")
	for {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no temporary file %s appeared within %v", pattern, helperDeadline)
		}
		time.Sleep(100 * time.Microsecond) // poll; the condition is the file, not the time
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	id := NewDeploymentID()
	store, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	c := startHelper(t, "locker", dir, id)
	line := c.expect(t, "locked ")
	pid := c.cmd.Process.Pid
	if line != fmt.Sprintf("locked %d", pid) {
		t.Fatalf("helper said %q, its pid is %d", line, pid)
	}

	began := time.Now()
	_, err = store.Lock(ctx, id)
	took := time.Since(began)
	var le *LockError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while another process holds it: got %v, want *LockError", err)
	}
	if took > time.Second {
		t.Errorf("Lock took %v to refuse; it must refuse at once", took)
	}
	if le.PID != pid || le.Host != hostname() || le.ID != id {
		t.Errorf("LockError names pid %d host %q id %q; want pid %d host %q id %s", le.PID, le.Host, le.ID, pid, hostname(), id)
	}
	if le.Since.Before(before) || le.Since.After(time.Now()) {
		t.Errorf("LockError.Since = %v, not when the helper took the lock", le.Since)
	}
	for _, want := range []string{"deployment " + id + " is locked by pid " + strconv.Itoa(pid), "on host " + hostname(), "ago)", "a dead holder's lock is taken over"} {
		if !strings.Contains(le.Error(), want) {
			t.Errorf("message %q lacks %q", le.Error(), want)
		}
	}

	// Holder reads who holds it, without taking it: a running process.
	if h, err := store.Holder(id); err != nil || h == nil || h.PID != pid || !h.Running {
		t.Errorf("Holder while the helper runs = %+v, %v; want pid %d running", h, err, pid)
	}

	// Every way in is refused while the other process holds the lock.
	if _, err := Open(ctx, store, id); !errors.As(err, &le) {
		t.Errorf("Open: got %v, want *LockError", err)
	}
	if _, err := OpenOrCreate(ctx, store, id, "x"); !errors.As(err, &le) {
		t.Errorf("OpenOrCreate: got %v, want *LockError", err)
	}
	if err := store.Save(ctx, New(id, "x", time.Now())); !errors.As(err, &le) {
		t.Errorf("Save: got %v, want *LockError", err)
	}
	if _, err := os.Stat(store.Location(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Save wrote the record: %v", err)
	}

	c.kill(t)

	// The dead holder's lock file is still there and still names it ...
	data, err := os.ReadFile(filepath.Join(dir, id+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := parseLockInfo(data); !ok || info.PID != pid {
		t.Fatalf("lock file after the kill = %q, want the dead holder's pid %d", data, pid)
	}
	// ... and Holder says its run stopped: it holds nothing any more.
	if h, err := store.Holder(id); err != nil || h == nil || h.PID != pid || h.Running {
		t.Errorf("Holder after the kill = %+v, %v; want pid %d not running", h, err, pid)
	}
	// ... and is taken over, with the dead holder named.
	u, err := store.Lock(ctx, id)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	prev := u.(LockTakeover).Previous()
	if prev == nil || prev.PID != pid || prev.Host != hostname() {
		t.Errorf("Previous() = %+v, want the dead holder pid %d", prev, pid)
	}
	data, _ = os.ReadFile(filepath.Join(dir, id+".lock"))
	if info, ok := parseLockInfo(data); !ok || info.PID != os.Getpid() {
		t.Errorf("lock file after takeover = %q, want this process (pid %d)", data, os.Getpid())
	}
	if err := u.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, id+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file still there after Unlock: %v", err)
	}

	// A session opened on a dead holder's lock says so in the event log.
	c = startHelper(t, "locker", dir, id)
	c.expect(t, "locked ")
	pid = c.cmd.Process.Pid
	c.kill(t)
	sess, err := OpenOrCreate(ctx, store, id, "takeover")
	if err != nil {
		t.Fatalf("OpenOrCreate after the holder died: %v", err)
	}
	defer sess.Close()
	evs := FilterEvents(sess.Snapshot().Events, EventFilter{Type: EventLockTakenOver})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, fmt.Sprintf("pid %d", pid)) {
		t.Errorf("lock_taken_over events = %+v, want one naming pid %d", evs, pid)
	}
}

func TestFileModes(t *testing.T) {
	old := syscall.Umask(0) // modes must not depend on the umask
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := OpenOrCreate(ctx, store, "", "modes")
	if err != nil {
		t.Fatal(err)
	}
	id := sess.ID()
	if err := WriteFileAtomic(ctx, store.KubeconfigPath("regional-useast"), []byte("apiVersion: v1\n")); err != nil {
		t.Fatal(err)
	}
	check := func(want map[string]os.FileMode) {
		t.Helper()
		for p, mode := range want {
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), mode)
			}
		}
	}
	check(map[string]os.FileMode{
		dir:                                     0o700,
		store.HistoryDir():                      0o700,
		store.SecretsDir():                      0o700, // was 0755: tightened
		filepath.Dir(store.KubeconfigPath("x")): 0o700,
		store.Location(id):                      0o600,
		filepath.Join(dir, id+".lock"):          0o600,
		store.KubeconfigPath("regional-useast"): 0o600,
	})
	path, err := sess.Archive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(map[string]os.FileMode{path: 0o600})
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
}
