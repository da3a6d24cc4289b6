//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/azurite"
)

// Every case below runs against the local file store and the blob store (on
// Azurite): one table, two backends.

const (
	childRoleEnv  = "K0RDENTCTL_STORE_CHILD"
	childKindEnv  = "K0RDENTCTL_STORE_KIND"
	childDirEnv   = "K0RDENTCTL_STORE_DIR"
	childConnEnv  = "K0RDENTCTL_STORE_CONN"
	childContEnv  = "K0RDENTCTL_STORE_CONTAINER"
	childIDEnv    = "K0RDENTCTL_STORE_ID"
	childLeaseEnv = "K0RDENTCTL_STORE_LEASE"
	childPartEnv  = "K0RDENTCTL_STORE_PART"
	testPrefix    = "team-a/"
)

// backend opens stores of one kind that all see the same records.
type backend struct {
	kind string
	env  []string // for a child process to open the same store
	open func(t testing.TB) Store
	srv  *azurite.Server
}

// backends returns a fresh file folder and a fresh blob container (with
// leases of lease, when a blob store is made).
func backends(t *testing.T, lease time.Duration) []backend {
	t.Helper()
	dir := t.TempDir()
	file := backend{kind: "file", env: []string{childKindEnv + "=file", childDirEn + "=" + dir}, open: func(t testing.TB) Store {
		s, err := NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
	return []backend{file, blobBackend(t, lease)}
}

func blobBackend(t *testing.T, lease time.Duration) backend {
	srv := sharedAzurite(t)
	name := newContainerName()
	return backend{kind: "blob", srv: srv, env: []string{childKindEnv + "=blob", childConnEnv + "=" + srv.ConnectionString(), childContEnv + "=" + name,
		childLeaseEnv + "=" + lease.String()}, open: func(t testing.TB) Store {
		s, err := openBlob(srv.ConnectionString(), name, lease, "test")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

func openBlob(conn, name string, lease time.Duration, command string) (*BlobStore, error) {
	c, err := azurite.ClientFor(conn, name)
	if err != nil {
		return nil, err
	}
	return NewBlobStore(BlobStoreOptions{Client: c, Prefix: testPrefix, LeaseDuration: lease, Command: command})
}

const childDirEn = "K0RDENTCTL_STORE_DIR"

// forEachBackend runs fn against both backends, in parallel.
func forEachBackend(t *testing.T, lease time.Duration, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t, lease) {
		t.Run(b.kind, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func TestStoreRoundTripAndEvents(t *testing.T) {
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		id := sessionWithEvents(t, s, 30)
		full, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Events) != 30 || full.Name != "events" {
			t.Fatalf("loaded %d events, name %q", len(full.Events), full.Name)
		}
		sum, err := s.LoadSummary(ctx, id)
		if err != nil || len(sum.Events) != RecentEvents || sum.EventLog.Count != 30 {
			t.Fatalf("summary: %v %+v", err, sum)
		}
		evs, err := s.Events(ctx, id, EventFilter{Region: "regional-useast"}, 5)
		if err != nil || len(evs) != 5 || evs[4].Message != "event 28" {
			t.Fatalf("events: %v %+v", err, evs)
		}
		ids, err := s.List(ctx)
		if err != nil || len(ids) != 1 || ids[0] != id {
			t.Fatalf("list: %v %v", err, ids)
		}
		if got, err := FindCurrent(ctx, s, ""); err != nil || got != id {
			t.Fatalf("find current: %v %v", err, got)
		}
		path, err := s.Archive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.List(ctx); len(ids) != 0 {
			t.Fatalf("records left after archiving: %v", ids)
		}
		h, err := s.History(ctx)
		if err != nil || len(h) != 1 || h[0].Path != path || h[0].Error != "" || h[0].ID != id {
			t.Fatalf("history: %v %+v", err, h)
		}
	})
}

func TestStoreStaleWriteIsRefused(t *testing.T) {
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		s1, s2 := b.open(t), b.open(t)
		id := sessionWithEvents(t, s1, 3)
		a, _ := s1.Load(ctx, id)
		c, _ := s2.Load(ctx, id)
		a.K0rdent.Version = "1.5.0"
		if err := s1.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		c.Management.Server = "https://10.0.0.1:6443"
		err := s2.Save(ctx, c)
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("a write based on an old read: %v, want ErrConflict", err)
		}
		got, _ := s1.Load(ctx, id)
		if got.K0rdent.Version != "1.5.0" || got.Management.Server != "" {
			t.Fatalf("record after the refused write: %+v %+v", got.K0rdent, got.Management)
		}
		// Modify reads again and applies the change again.
		if err := Modify(ctx, s2, id, func(r *Record) error { r.Management.Server = "https://10.0.0.1:6443"; return nil }); err != nil {
			t.Fatal(err)
		}
		got, _ = s1.Load(ctx, id)
		if got.K0rdent.Version != "1.5.0" || got.Management.Server != "https://10.0.0.1:6443" {
			t.Fatalf("after Modify: %+v %+v", got.K0rdent, got.Management)
		}
	})
}

func TestStoreLockRefusedNamingHolder(t *testing.T) {
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		s1, s2 := b.open(t), b.open(t)
		id := NewDeploymentID()
		l, err := s1.Lock(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s2.Lock(ctx, id)
		var le *LockError
		if !errors.As(err, &le) {
			t.Fatalf("second lock: %v, want *LockError", err)
		}
		if le.PID != os.Getpid() || le.Host != hostname() || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
			t.Fatalf("lock error does not name the holder: %v", err)
		}
		if b.kind == "blob" && (le.Expires.IsZero() || le.Command != "test" || !strings.Contains(err.Error(), "lease runs out at")) {
			t.Fatalf("blob lock error does not say when the lease runs out or what holds it: %v", err)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Logf("refusal took %s", elapsed)
		}
		// Waiting for the lock succeeds once it is released.
		done := make(chan error, 1)
		go func() {
			l2, err := WaitForLock(s2, time.Minute).Lock(ctx, id)
			if err == nil {
				err = l2.Unlock()
			}
			done <- err
		}()
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("--wait-for-lock: %v", err)
		}
		if _, err := WaitForLock(s2, 50*time.Millisecond).Lock(ctx, "k0rdent-zzzzzzzz"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStoreLostUpdateAcrossProcesses: two processes read the same record,
// then change different parts and write at the same moment. Both changes
// survive: the one whose write is refused reads again and applies its change
// again.
func TestStoreLostUpdateAcrossProcesses(t *testing.T) {
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		id := sessionWithEvents(t, s, 3)
		a := startChild(t, "modify", b, id, childPartEnv+"=a")
		c := startChild(t, "modify", b, id, childPartEnv+"=b")
		a.expect(t, "loaded")
		c.expect(t, "loaded")
		_, _ = fmt.Fprintln(a.stdin, "go")
		_, _ = fmt.Fprintln(c.stdin, "go")
		ra, rc := a.expect(t, "done"), c.expect(t, "done")
		if !strings.Contains(ra+rc, "retried") {
			t.Errorf("neither write was refused and retried (%q, %q): the second one overwrote the first", ra, rc)
		}
		got, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.K0rdent.Version != "part-a" || got.Management.Server != "part-b" {
			t.Fatalf("a change was lost: k0rdent.version %q, management.server %q", got.K0rdent.Version, got.Management.Server)
		}
		if n := len(FilterEvents(got.Events, EventFilter{Type: "part"})); n != 2 {
			t.Fatalf("%d part events, want 2", n)
		}
	})
}

// TestStoreLockAcrossProcesses: a lock held by another process is refused
// within a second naming it; the holder keeps it past its lease duration by
// renewing it; once the holder is killed its lock is taken over (the blob
// lease after it runs out), and the new holder knows whose it took.
func TestStoreLockAcrossProcesses(t *testing.T) {
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		id := NewDeploymentID()
		holder := startChild(t, "locker", b, id)
		holder.expect(t, "locked")
		start := time.Now()
		_, err := s.Lock(ctx, id)
		var le *LockError
		if !errors.As(err, &le) || le.PID != holder.cmd.Process.Pid {
			t.Fatalf("lock held by pid %d: got %v", holder.cmd.Process.Pid, err)
		}
		// Refused at once: not after waiting for the holder's lease (the
		// time is logged; wall-clock bounds are not asserted).
		refusal := time.Since(start)
		t.Logf("refused in %s", refusal)
		if b.kind == "blob" && refusal >= MinLeaseDuration {
			t.Errorf("the refusal waited %s, as long as a lease, instead of refusing at once", refusal)
		}
		if b.kind == "blob" {
			// Renewal: still held after more than the lease duration.
			holder.expect(t, "renewed") // the child says when it has held the lease past its duration
			if _, err := s.Lock(ctx, id); !errors.As(err, &le) {
				t.Fatalf("the lock was not kept by renewal: %v", err)
			}
		}
		holder.kill(t)
		l, err := WaitForLock(s, 2*MaxLeaseDuration).Lock(ctx, id)
		if err != nil {
			t.Fatalf("taking over a dead holder's lock: %v", err)
		}
		defer l.Unlock()
		prev := l.(LockTakeover).Previous()
		if prev == nil || prev.PID != holder.cmd.Process.Pid {
			t.Fatalf("the lock taken over does not name the dead holder: %+v", prev)
		}
	})
}

// TestStoreKillDuringWrites kills writer processes at random moments, at
// least 50 times per backend; the record always parses, with all the events
// its log says it has.
func TestStoreKillDuringWrites(t *testing.T) {
	const workers, rounds = 5, 10
	forEachBackend(t, MinLeaseDuration, func(t *testing.T, b backend) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := b.open(t)
				rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for round := range rounds {
					// Each round on a record of its own (a killed blob
					// writer's lease stays until it runs out), written once
					// before the writer starts, so there is always a record
					// for a killed write to leave in place.
					id := NewDeploymentID()
					r := New(id, "writer", time.Now())
					setPayload(r, 0, randomPayload(rng, 2048))
					if err := s.Save(ctx, r); err != nil {
						t.Error(err)
						return
					}
					c := startChild(t, "writer", b, id)
					c.expect(t, "saved")
					// Let it write for 0-150 ms, then kill it wherever it is.
					timer := time.NewTimer(time.Duration(rng.IntN(150)) * time.Millisecond)
					<-timer.C
					c.kill(t)
					r, err := s.Load(ctx, id)
					if err != nil {
						t.Errorf("round %d: the record does not load after a kill: %v", round, err)
						return
					}
					if err := r.Validate(); err != nil || !payloadIntact(r) {
						t.Errorf("round %d: a torn record: %v", round, err)
						return
					}
					if n, _ := strconv.Atoi(strings.TrimPrefix(r.Config.Path, "seq/")); n != len(FilterEvents(r.Events, EventFilter{Type: "write"})) {
						t.Errorf("round %d: record at save %d has %d write events", round, n, len(r.Events))
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}

// startChild starts this test binary as a child of the given role on the
// store of b.
func startChild(t *testing.T, role string, b backend, id string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(append(os.Environ(), childRoleEnv+"="+role, childIDEnv+"="+id), b.env...), env...)
	return startProcess(t, cmd, role)
}

// runChild does a child's work; its exit code is the process's.
func runChild(role string) int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Printf("error %v\n", err)
		return 3
	}
	var s Store
	var err error
	switch os.Getenv(childKindEnv) {
	case "file":
		s, err = NewFileStore(os.Getenv(childDirEn))
	default:
		lease, _ := time.ParseDuration(os.Getenv(childLeaseEnv))
		s, err = openBlob(os.Getenv(childConnEnv), os.Getenv(childContEnv), lease, "child "+role)
	}
	if err != nil {
		return fail(err)
	}
	id := os.Getenv(childIDEnv)
	stdin := bufio.NewScanner(os.Stdin)
	switch role {
	case "modify":
		part := os.Getenv(childPartEnv)
		change := func(r *Record) error {
			if part == "a" {
				r.K0rdent.Version = "part-a"
			} else {
				r.Management.Server = "part-b"
			}
			r.Events = append(r.Events, Event{Timestamp: time.Now().UTC(), Type: "part", Message: "part " + part})
			return nil
		}
		r, err := s.Load(ctx, id)
		if err != nil {
			return fail(err)
		}
		fmt.Println("loaded")
		stdin.Scan()
		_ = change(r)
		err = s.Save(ctx, r)
		var le *LockError
		switch {
		case err == nil:
			fmt.Println("done")
		case errors.Is(err, ErrConflict) || errors.As(err, &le):
			if err := Modify(ctx, s, id, change); err != nil {
				return fail(err)
			}
			fmt.Println("done retried")
		default:
			return fail(err)
		}
	case "locker":
		l, err := s.Lock(ctx, id)
		if err != nil {
			return fail(err)
		}
		fmt.Println("locked")
		if bs, ok := s.(*BlobStore); ok {
			t := time.NewTimer(bs.LeaseDuration() + 3*time.Second)
			<-t.C
			if err := l.(*BlobLock).lost(); err != nil {
				return fail(err)
			}
			fmt.Println("renewed")
		}
		stdin.Scan() // until killed, or the parent goes
	case "writer":
		go func() { // the parent died: stop
			stdin.Scan()
			os.Exit(2)
		}()
		r, err := s.Load(ctx, id)
		if err != nil {
			return fail(err)
		}
		seq, err := writerSeq(r)
		if err != nil {
			return fail(err)
		}
		rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
		for {
			seq++
			setPayload(r, seq, randomPayload(rng, 1<<10+rng.IntN(15<<10)))
			r.Events = append(r.Events, Event{Timestamp: time.Now().UTC(), Type: "write", Message: fmt.Sprintf("save %d", seq)})
			if err := s.Save(ctx, r); err != nil {
				return fail(err)
			}
			fmt.Printf("saved %d\n", seq)
		}
	case "session":
		sess, err := Open(ctx, WaitForLock(s, 2*MaxLeaseDuration), id)
		if err != nil {
			return fail(err)
		}
		defer sess.Close()
		fmt.Println("opened")
		stepwise := os.Getenv(childPartEnv) != "resume"
		for n := 1; ; n++ {
			if stepwise && !stdin.Scan() { // one step per line from the parent
				return 2
			}
			if err := sess.AddEvent(Event{Type: "cmd_step", Message: fmt.Sprintf("step %d", n)}); err != nil {
				fmt.Printf("failed %v\n", err)
				return 1
			}
			fmt.Printf("saved %d\n", n)
			if n == 3 && os.Getenv(childPartEnv) == "resume" {
				return 0
			}
		}
	default:
		return fail(fmt.Errorf("unknown child role %q", role))
	}
	return 0
}

// TestBlobStoreServiceStoppedMidCommand stops the storage service while a
// command writes: the command fails saying what to do, the record is the
// one of its last successful write, and once the service is back the next
// command resumes (after the lease of the failed one runs out).
func TestBlobStoreServiceStoppedMidCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := azurite.Start(t) // its own: stopping it must not disturb other tests
	name := newContainerName()
	b := backend{kind: "blob", env: []string{childKindEnv + "=blob", childConnEnv + "=" + srv.ConnectionString(), childContEnv + "=" + name,
		childLeaseEnv + "=" + MinLeaseDuration.String()}}
	s, err := openBlob(srv.ConnectionString(), name, MinLeaseDuration, "test")
	if err != nil {
		t.Fatal(err)
	}
	id := sessionWithEvents(t, s, 3)
	c := startChild(t, "session", b, id)
	c.expect(t, "opened")
	for n := 1; n <= 5; n++ {
		_, _ = fmt.Fprintln(c.stdin, "next")
		c.expect(t, fmt.Sprintf("saved %d", n))
	}
	t0 := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(t0))
	_, _ = fmt.Fprintln(c.stdin, "next")
	failed := c.expect(t, "failed")
	t.Logf("failed after %s: %v", time.Since(t0), c.seen)
	if !strings.Contains(failed, "state container") || !strings.Contains(failed, "run the command again") {
		t.Errorf("the failure does not say where and what to do: %s", failed)
	}
	last := 0
	for _, l := range c.seen {
		if n, ok := strings.CutPrefix(l, "saved "); ok {
			last, _ = strconv.Atoi(n)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Load(ctx, id)
	if err != nil {
		t.Fatalf("the record does not load after the service came back: %v", err)
	}
	if n := len(FilterEvents(r.Events, EventFilter{Type: "cmd_step"})); n != last {
		t.Fatalf("the record has %d steps, the command's last successful write had %d", n, last)
	}
	t.Logf("restarted after %s", time.Since(t0))
	next := startChild(t, "session", b, id, childPartEnv+"=resume")
	next.expect(t, "saved 3")
	t.Logf("resumed after %s", time.Since(t0))
	if err := next.cmd.Wait(); err != nil {
		t.Fatalf("the next command: %v (%q)", err, next.tail())
	}
	r, err = s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(FilterEvents(r.Events, EventFilter{Type: "cmd_step"})); n != last+3 {
		t.Fatalf("after resuming: %d steps, want %d", n, last+3)
	}
}

// TestBlobEventLogBlockPastTheRecordIsDropped: a write killed after it
// committed its block to the event log but before it replaced the record
// leaves a block the record does not count; readers ignore it and the next
// write drops it.
func TestBlobEventLogBlockPastTheRecordIsDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := blobBackend(t, MinLeaseDuration)
	s := b.open(t).(*BlobStore)
	id := sessionWithEvents(t, s, 4)
	sum, err := s.LoadSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.cc.NewBlockBlobClient(s.prefix+sum.EventLog.File).GetBlockList(ctx, "committed", nil)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, bl := range list.CommittedBlocks {
		keep = append(keep, *bl.Name)
	}
	orphan := []byte(`{"timestamp":"2026-03-01T10:00:00Z","type":"orphan","message":"never recorded"}` + "\n")
	if err := s.commitBlocks(ctx, s.prefix+sum.EventLog.File, keep, orphan); err != nil {
		t.Fatal(err)
	}
	full, err := s.Load(ctx, id)
	if err != nil || len(full.Events) != 4 {
		t.Fatalf("with a block past the record: %v, %d events", err, len(full.Events))
	}
	full.Events = append(full.Events, Event{Timestamp: time.Now().UTC(), Type: "next", Message: "next"})
	if err := s.Save(ctx, full); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, id, EventFilter{}, 0)
	if err != nil || len(evs) != 5 || evs[4].Type != "next" || len(FilterEvents(evs, EventFilter{Type: "orphan"})) != 0 {
		t.Fatalf("after the next write: %v %+v", err, evs)
	}
}

// TestBlobEventLogRewrittenPastTheBlockLimit: a log that reaches the block
// limit (10,000 in use; 3 here) is rewritten as one block under a new
// name, every event kept in order, and the old log is deleted.
func TestBlobEventLogRewrittenPastTheBlockLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := blobBackend(t, MinLeaseDuration)
	s := b.open(t).(*BlobStore)
	s.maxLogBlocks = 3
	id := sessionWithEvents(t, s, 1)
	first, err := s.LoadSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		r, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Events = append(r.Events, Event{Timestamp: time.Now().UTC(), Type: "more", Message: fmt.Sprintf("event %d", i)})
		if err := s.Save(ctx, r); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	sum, err := s.LoadSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventLog.File == first.EventLog.File {
		t.Fatalf("the event log %s was never rewritten past 3 blocks", sum.EventLog.File)
	}
	if _, err := s.cc.NewBlobClient(s.prefix+first.EventLog.File).GetProperties(ctx, nil); err == nil {
		t.Fatalf("the old event log %s is still there", first.EventLog.File)
	}
	list, err := s.cc.NewBlockBlobClient(s.prefix+sum.EventLog.File).GetBlockList(ctx, "committed", nil)
	if err != nil || len(list.CommittedBlocks) >= 3 {
		t.Fatalf("the new log: %v, %d blocks", err, len(list.CommittedBlocks))
	}
	evs, err := s.Events(ctx, id, EventFilter{}, 0)
	if err != nil || len(evs) != 5 {
		t.Fatalf("events after the rewrite: %v, %d", err, len(evs))
	}
	for i, e := range FilterEvents(evs, EventFilter{Type: "more"}) {
		if e.Message != fmt.Sprintf("event %d", i) {
			t.Fatalf("event %d is %q: order lost", i, e.Message)
		}
	}
}
