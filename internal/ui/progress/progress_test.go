package progress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

var _ phase.Observer = (*Display)(nil)

var t0 = time.Date(2026, 11, 25, 18, 2, 11, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func tr(name string, s state.PhaseStatus, when time.Duration, reason string, err error) state.PhaseTransition {
	return state.PhaseTransition{Name: name, Title: "Title of " + name, Status: s, At: at(when), Reason: reason, Err: err}
}

func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: t0}
	d := New(&buf, Options{Now: c.Now})
	d.Transition(tr("k0rdent-install", state.PhasePending, 0, "", nil))
	d.Transition(tr("k0rdent-install", state.PhaseInProgress, 0, "", nil))
	c.Set(at(4 * time.Second))
	d.Progress("k0rdent-install", "waiting for kcm-controller-manager: 0/1 ready")
	d.Progress("k0rdent-install", "waiting for kcm-controller-manager: 0/1 ready") // repeated: not printed again
	c.Set(at(9 * time.Second))
	d.Progress("k0rdent-install", "waiting for kcm-controller-manager: 1/1 ready\n")
	d.Transition(tr("k0rdent-install", state.PhaseCompleted, 12300*time.Millisecond, "", nil))
	d.Transition(tr("keys", state.PhaseCompleted, 13*time.Second, "verified", nil))
	d.Transition(tr("kof-install", state.PhaseSkipped, 13*time.Second, "kof.enabled is false", nil))
	d.Transition(tr("region/regional-dead/region", state.PhaseInProgress, 14*time.Second, "resuming after a failure", nil))
	d.Transition(tr("region/regional-dead/region", state.PhaseInProgress, 20*time.Second, "attempt 2 of 2, after: i/o timeout", nil))
	d.Transition(tr("region/regional-dead/region", state.PhaseFailed, 75*time.Second, "",
		errors.New("reading Secret kcm-system/external-dead-cluster:\ndial tcp 10.9.0.4:6443: i/o timeout")))
	d.Transition(tr("region/regional-westeu/region", state.PhaseSkipped, 75*time.Second, `requirement "credentials" failed`, nil))
	d.Transition(tr("bootstrap", state.PhaseInProgress, 76*time.Second, "", nil))
	d.Transition(tr("bootstrap", state.PhaseInterrupted, 78*time.Second, "interrupted", fmt.Errorf("waiting for k0s: %w", context.Canceled)))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d.Transition(tr("after-close", state.PhaseInProgress, 80*time.Second, "", nil))

	want := `2026-11-25T18:02:11Z k0rdent-install started
2026-11-25T18:02:15Z k0rdent-install waiting for kcm-controller-manager: 0/1 ready
2026-11-25T18:02:20Z k0rdent-install waiting for kcm-controller-manager: 1/1 ready
2026-11-25T18:02:23Z k0rdent-install ✓ completed in 12.3s
2026-11-25T18:02:24Z keys ✓ verified, done earlier
2026-11-25T18:02:24Z kof-install – skipped: kof.enabled is false
2026-11-25T18:02:25Z region/regional-dead/region started: resuming after a failure
2026-11-25T18:02:31Z region/regional-dead/region started again: attempt 2 of 2, after: i/o timeout
2026-11-25T18:03:26Z region/regional-dead/region ✗ failed after 1m01s: reading Secret kcm-system/external-dead-cluster:; dial tcp 10.9.0.4:6443: i/o timeout
2026-11-25T18:03:26Z region/regional-westeu/region – skipped: requirement "credentials" failed
2026-11-25T18:03:27Z bootstrap started
2026-11-25T18:03:29Z bootstrap ‖ interrupted after 2.0s
`
	if got := buf.String(); got != want {
		t.Errorf("plain output\n%s\nwant\n%s", got, want)
	}
}

func TestPlainColor(t *testing.T) {
	var buf bytes.Buffer
	d := New(&buf, Options{Color: true, Now: func() time.Time { return t0 }})
	d.Transition(tr("a", state.PhaseInProgress, 0, "", nil))
	d.Transition(tr("a", state.PhaseCompleted, time.Second, "", nil))
	d.Close()
	if !strings.Contains(buf.String(), "\x1b[32m✓\x1b[0m completed in 1.0s") {
		t.Errorf("no green mark in %q", buf.String())
	}
}

var csi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]|\r")

func TestLiveView(t *testing.T) {
	for _, color := range []bool{false, true} {
		t.Run(fmt.Sprintf("color=%v", color), func(t *testing.T) {
			var buf bytes.Buffer
			c := &clock{t: t0}
			// An hour between repaints: the test paints by hand.
			d := New(&buf, Options{Live: true, Color: color, Now: c.Now, Interval: time.Hour, Width: 70})
			d.Transition(tr("k0rdent-install", state.PhaseInProgress, 0, "", nil))
			d.Transition(tr("region/regional-useast/region", state.PhaseInProgress, 0, "", nil))
			d.Progress("region/regional-useast/region", "waiting for Region regional-useast: last observed NotAllComponentsHealthy (velero installing)")
			c.Set(at(72 * time.Second))
			paint(d)
			first := buf.String()
			buf.Reset()

			d.Transition(tr("k0rdent-install", state.PhaseCompleted, 73*time.Second, "", nil))
			d.Transition(tr("kof-install", state.PhaseSkipped, 73*time.Second, "kof.enabled is false", nil))
			paint(d)
			second := buf.String()
			buf.Reset()

			d.Transition(tr("region/regional-useast/region", state.PhaseFailed, 80*time.Second, "", errors.New("Region not ready after 20m")))
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			last := buf.String()

			if color {
				if !strings.Contains(second, "\x1b[32m✓\x1b[0m") || !strings.Contains(last, "\x1b[31m✗\x1b[0m") {
					t.Errorf("no coloured marks:\n%q\n%q", second, last)
				}
				return
			}
			if strings.Contains(first+second+last, "\x1b[3") || strings.Contains(first+second+last, "\x1b[2m") {
				t.Errorf("colour codes with colour off:\n%q", first+second+last)
			}
			// First frame: two running phases, each line within the width.
			lines := strings.Split(strings.TrimSuffix(csi.ReplaceAllString(first, ""), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("first frame %q", first)
			}
			if lines[0] != "⠙ Title of k0rdent-install  1m12s" {
				t.Errorf("line %q", lines[0])
			}
			if !strings.HasPrefix(lines[1], "⠙ Title of region/regional-useast/region  1m12s  waiting for") || !strings.HasSuffix(lines[1], "…") {
				t.Errorf("line %q", lines[1])
			}
			for _, l := range lines {
				if n := len([]rune(l)); n > 70 {
					t.Errorf("line of %d columns in a 70-column view: %q", n, l)
				}
			}
			// Second frame: up over the two lines, clear, the ended phases
			// once, then the one still running.
			if !strings.HasPrefix(second, "\x1b[2A\r\x1b[J") {
				t.Errorf("second frame does not repaint in place: %q", second)
			}
			want := "✓ Title of k0rdent-install  1m13s\n– Title of kof-install  skipped: kof.enabled is false\n⠹ Title of region/regional-useast/region  1m12s  waiting for"
			if got := csi.ReplaceAllString(second, ""); !strings.HasPrefix(got, want) {
				t.Errorf("second frame\n%q\nwant prefix\n%q", got, want)
			}
			if got := csi.ReplaceAllString(last, ""); got != "✗ Title of region/regional-useast/region  failed after 1m20s: Region not ready after 20m\n" {
				t.Errorf("last frame %q", got)
			}
			if !strings.HasPrefix(last, "\x1b[1A\r\x1b[J") {
				t.Errorf("last frame does not clear the view: %q", last)
			}
		})
	}
}

func paint(d *Display) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.frame++
	d.render()
}

// The repaint loop runs on its own and stops at Close; under -race this also
// checks that it shares nothing unguarded with the observer methods.
func TestLiveRepaintLoop(t *testing.T) {
	w := &syncBuffer{}
	d := New(w, Options{Live: true, Interval: time.Millisecond, Width: 80})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			name := fmt.Sprintf("p%d", i)
			d.Transition(state.PhaseTransition{Name: name, Status: state.PhaseInProgress, At: time.Now()})
			for k := range 50 {
				d.Progress(name, fmt.Sprintf("step %d", k))
				time.Sleep(100 * time.Microsecond)
			}
			d.Transition(state.PhaseTransition{Name: name, Status: state.PhaseCompleted, At: time.Now()})
		})
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	out := w.String()
	for i := range 4 {
		if strings.Count(out, fmt.Sprintf("✓ p%d ", i)) != 1 {
			t.Errorf("p%d not printed exactly once as done:\n%s", i, out)
		}
	}
	n := len(out)
	time.Sleep(5 * time.Millisecond)
	if w.String() != out || n == 0 {
		t.Error("the view was repainted after Close")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDetectOffTerminal(t *testing.T) {
	if o := Detect(&bytes.Buffer{}, false); o.Live || o.Color {
		t.Errorf("Detect on a buffer = %+v, want plain without colour", o)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorReportedAtClose(t *testing.T) {
	d := New(failingWriter{}, Options{})
	d.Transition(tr("a", state.PhaseInProgress, 0, "", nil))
	if err := d.Close(); err == nil || !strings.Contains(err.Error(), "writing progress: broken pipe") {
		t.Errorf("Close = %v", err)
	}
}

// The display as the engine's observer, in plain mode.
type step struct {
	name string
	reqs []string
	err  error
}

func (s step) Name() string                                    { return s.name }
func (s step) Title() string                                   { return "Title of " + s.name }
func (s step) Requires() []string                              { return s.reqs }
func (s step) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }
func (s step) DryRun(context.Context) ([]string, error)        { return nil, nil }
func (s step) Run(_ context.Context, p phase.Progress) error {
	p.Printf("working on %s", s.name)
	return s.err
}

func TestWithEngine(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	now := t0
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	d := New(&buf, Options{Now: tick})
	e := &phase.Engine{Observer: d, Now: tick, Parallel: 1}
	_, err := e.Run(t.Context(), []phase.Phase{
		step{name: "network"},
		step{name: "bootstrap", reqs: []string{"network"}, err: errors.New("ssh: handshake failed")},
		step{name: "k0rdent-install", reqs: []string{"bootstrap"}},
	})
	if err == nil {
		t.Fatal("want bootstrap's failure")
	}
	d.Close()
	got := regexp.MustCompile(`(?m)^\S+ `).ReplaceAllString(buf.String(), "")
	want := `network started
network working on network
network ✓ completed in 2.0s
bootstrap started
bootstrap working on bootstrap
bootstrap ✗ failed after 2.0s: ssh: handshake failed
k0rdent-install – skipped: requirement "bootstrap" failed
`
	if got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}
