// Package progress shows a run of phases as it happens. It implements
// phase.Observer.
//
// On a terminal (Options.Live) it keeps a live view: one line per running
// phase with a spinner, its elapsed time and the last thing it reported,
// repainted in place; a phase that ends is printed once above that view with
// ✓, ✗ or – and its duration. Anywhere else it writes plain timestamped
// lines, one per event, suitable for logs and CI:
//
//	2026-11-25T18:02:11Z k0rdent-install started
//	2026-11-25T18:02:15Z k0rdent-install waiting for kcm-controller-manager: 0/1 ready
//	2026-11-25T18:02:23Z k0rdent-install ✓ completed in 12.3s
package progress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// DefaultInterval is how often the live view repaints.
const DefaultInterval = 100 * time.Millisecond

// defaultWidth is the width of the live view when the terminal's is unknown.
const defaultWidth = 120

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Options configure a Display.
type Options struct {
	// Live repaints a view of the running phases in place with ANSI escape
	// sequences; only for a terminal. Otherwise plain lines are written.
	Live bool
	// Color colours marks and times.
	Color bool
	// Now is the clock of plain timestamps and elapsed times; nil means
	// time.Now. It must be safe for concurrent use.
	Now func() time.Time
	// Interval is the live view's repaint interval; 0 means DefaultInterval.
	Interval time.Duration
	// Width is the live view's width in columns; 0 means the terminal's
	// width when w is a terminal, else 120. Longer lines are cut.
	Width int
}

// Detect chooses options for w: live and coloured when w is a terminal (and
// TERM is not "dumb"); no colour when noColor is set (--no-color) or the
// NO_COLOR environment variable is not empty.
func Detect(w io.Writer, noColor bool) Options {
	tty := isTerminal(w) && os.Getenv("TERM") != "dumb"
	return Options{
		Live:  tty,
		Color: tty && !noColor && os.Getenv("NO_COLOR") == "",
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Display shows phase transitions and progress on w. It is safe for
// concurrent use. Close it when the run is over.
type Display struct {
	w     io.Writer
	opts  Options
	style ui.Style

	mu       sync.Mutex
	active   []*activePhase       // running phases, in the order they started
	starts   map[string]time.Time // start of each running phase
	lastMsg  map[string]string    // plain: last progress message per phase
	finished []string             // live: lines to print above the view
	drawn    int                  // live: lines of the view on screen
	frame    int                  // live: spinner frame
	closed   bool
	err      error // first write error

	stop      chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once
}

type activePhase struct {
	name    string
	title   string
	started time.Time
	message string
}

// New returns a Display writing to w. In live mode it starts repainting at
// once; Close stops it.
func New(w io.Writer, opts Options) *Display {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	d := &Display{
		w:       w,
		opts:    opts,
		style:   ui.Style{Color: opts.Color},
		starts:  map[string]time.Time{},
		lastMsg: map[string]string{},
	}
	if opts.Live {
		d.stop = make(chan struct{})
		d.loopDone = make(chan struct{})
		go d.loop()
	}
	return d
}

// Transition shows a change of a phase's status.
func (d *Display) Transition(t state.PhaseTransition) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || t.Status == state.PhasePending {
		return
	}
	var elapsed time.Duration
	start, running := d.starts[t.Name]
	if running {
		elapsed = t.At.Sub(start)
	}
	if t.Status == state.PhaseInProgress {
		if !running {
			d.starts[t.Name] = t.At
			if d.opts.Live {
				d.active = append(d.active, &activePhase{name: t.Name, title: title(t), started: t.At, message: t.Reason})
			} else {
				d.plain(t.At, t.Name, suffix("started", t.Reason))
			}
			return
		}
		// Started again: a retry.
		if d.opts.Live {
			if a := d.find(t.Name); a != nil {
				a.message = t.Reason
			}
		} else {
			d.plain(t.At, t.Name, suffix("started again", t.Reason))
		}
		return
	}

	delete(d.starts, t.Name)
	delete(d.lastMsg, t.Name)
	if d.opts.Live {
		d.removeActive(t.Name)
		d.finished = append(d.finished, d.liveFinished(t, running, elapsed))
		return
	}
	d.plain(t.At, t.Name, d.plainFinished(t, running, elapsed))
}

// Progress shows what a running phase reported.
func (d *Display) Progress(phase, message string) {
	message = oneLine(message)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if d.opts.Live {
		if a := d.find(phase); a != nil {
			a.message = message
		}
		return
	}
	if d.lastMsg[phase] == message {
		return
	}
	d.lastMsg[phase] = message
	d.plain(d.opts.Now(), phase, message)
}

// Close stops the live view, leaving its last frame on screen, and returns
// the first error met writing to w. Later calls do nothing.
func (d *Display) Close() error {
	d.closeOnce.Do(func() {
		if d.opts.Live {
			close(d.stop)
			<-d.loopDone
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.opts.Live {
			d.render()
		}
		d.closed = true
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *Display) loop() {
	defer close(d.loopDone)
	t := time.NewTicker(d.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.frame++
			d.render()
			d.mu.Unlock()
		}
	}
}

// render repaints the live view: it moves up over the previous frame, clears
// it, prints the phases that ended since, then one line per running phase.
// d.mu is held.
func (d *Display) render() {
	if d.drawn == 0 && len(d.active) == 0 && len(d.finished) == 0 {
		return
	}
	width := d.width()
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, l := range d.finished {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	d.finished = d.finished[:0]
	now := d.opts.Now()
	frame := d.style.Yellow(spinner[d.frame%len(spinner)])
	for _, a := range d.active {
		b.WriteString(frame)
		b.WriteByte(' ')
		b.WriteString(d.liveActive(a, now, width-2))
		b.WriteByte('\n')
	}
	d.drawn = len(d.active)
	d.write(b.String())
}

// liveActive is the line of a running phase, at most width columns.
func (d *Display) liveActive(a *activePhase, now time.Time, width int) string {
	elapsed := formatDuration(now.Sub(a.started).Truncate(time.Second))
	head := cut(a.title, width)
	rest := width - utf8.RuneCountInString(head) - 2 - utf8.RuneCountInString(elapsed)
	if rest < 0 {
		return head
	}
	line := head + "  " + d.style.Dim(elapsed)
	if a.message != "" && rest > 2 {
		line += "  " + cut(a.message, rest-2)
	}
	return line
}

// liveFinished is the line printed once when a phase ends.
func (d *Display) liveFinished(t state.PhaseTransition, ran bool, elapsed time.Duration) string {
	name := title(t)
	var line string
	switch t.Status {
	case state.PhaseCompleted:
		if !ran && t.Reason == "verified" {
			line = d.style.Green(ui.MarkDone) + " " + name + "  " + d.style.Dim("verified, done earlier")
		} else {
			line = d.style.Green(ui.MarkDone) + " " + name + "  " + d.style.Dim(formatDuration(elapsed))
		}
	case state.PhaseInterrupted:
		// The error of an interrupted phase is the interruption's: not shown.
		line = d.style.Yellow(ui.MarkInterrupted) + " " + name + "  " + d.style.Yellow(interruptedText(ran, elapsed))
	case state.PhaseFailed:
		what := "failed"
		if ran {
			what += " after " + formatDuration(elapsed)
		}
		line = d.style.Red(ui.MarkFailed) + " " + name + "  " + d.style.Red(what)
		if msg := errText(t); msg != "" {
			line += ": " + msg
		}
	case state.PhaseSkipped:
		line = d.style.Dim(ui.MarkSkipped) + " " + name + "  " + d.style.Dim(suffix("skipped", t.Reason))
	default:
		line = ui.MarkPending + " " + name + "  " + string(t.Status)
	}
	return line
}

func interruptedText(ran bool, elapsed time.Duration) string {
	if ran {
		return "interrupted after " + formatDuration(elapsed)
	}
	return "interrupted"
}

// plainFinished is the text of a plain line for a phase that ended.
func (d *Display) plainFinished(t state.PhaseTransition, ran bool, elapsed time.Duration) string {
	switch t.Status {
	case state.PhaseCompleted:
		if !ran && t.Reason == "verified" {
			return d.style.Green(ui.MarkDone) + " verified, done earlier"
		}
		s := d.style.Green(ui.MarkDone) + " completed"
		if ran {
			s += " in " + formatDuration(elapsed)
		}
		return suffix(s, t.Reason)
	case state.PhaseInterrupted:
		return d.style.Yellow(ui.MarkInterrupted + " " + interruptedText(ran, elapsed))
	case state.PhaseFailed:
		s := "failed"
		if ran {
			s += " after " + formatDuration(elapsed)
		}
		s = d.style.Red(ui.MarkFailed + " " + s)
		if msg := errText(t); msg != "" {
			s += ": " + msg
		}
		return s
	case state.PhaseSkipped:
		return d.style.Dim(ui.MarkSkipped) + " " + suffix("skipped", t.Reason)
	default:
		return suffix(string(t.Status), t.Reason)
	}
}

// plain writes one timestamped line. d.mu is held.
func (d *Display) plain(at time.Time, phase, text string) {
	d.write(at.UTC().Format(time.RFC3339) + " " + phase + " " + text + "\n")
}

func (d *Display) write(s string) {
	if _, err := io.WriteString(d.w, s); err != nil && d.err == nil {
		d.err = fmt.Errorf("writing progress: %w", err)
	}
}

func (d *Display) find(name string) *activePhase {
	for _, a := range d.active {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (d *Display) removeActive(name string) {
	for i, a := range d.active {
		if a.name == name {
			d.active = append(d.active[:i], d.active[i+1:]...)
			return
		}
	}
}

func (d *Display) width() int {
	if d.opts.Width > 0 {
		return d.opts.Width
	}
	if f, ok := d.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w - 1 // never reach the last column: some terminals wrap there
		}
	}
	return defaultWidth
}

// title is what the live view calls a phase.
func title(t state.PhaseTransition) string {
	if t.Title != "" {
		return oneLine(t.Title)
	}
	return t.Name
}

// errText is the error of a failed transition on one line; a plain
// cancellation adds nothing to "interrupted".
func errText(t state.PhaseTransition) string {
	if t.Err == nil {
		return ""
	}
	if t.Reason == "interrupted" && (errors.Is(t.Err, context.Canceled) || errors.Is(t.Err, context.DeadlineExceeded)) {
		return ""
	}
	return oneLine(t.Err.Error())
}

func suffix(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + oneLine(reason)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// cut shortens s to at most n columns, ending it with … when cut.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatDuration is ui.Duration, with "0s" for nothing.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return ui.Duration(d)
}
