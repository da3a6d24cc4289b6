// Package standin is a test-only stand-in for k0rdent's controllers: it does
// to the objects of a real (envtest) API server what K0RDENT-1.5-FACTS.md says
// the kcm controllers do, and deliberately no more, so that tests see
// k0rdent's real behaviour, gaps included.
//
// Each stand-in is a Reconciler; a Loop runs reconcilers against the API
// server, again on every Kick and every Interval, until it is stopped. Tests
// drive them by changing their settings (a component still installing, then
// healthy) and kicking the loop, and wait with the code under test's own
// waits, never with sleeps.
//
// It must only be imported by tests: it is never linked into k0rdentctl.
package standin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Reconciler is one controller stand-in. Reconcile looks at the cluster and
// acts once; it must be safe to call again at any time.
type Reconciler interface {
	Name() string
	Reconcile(ctx context.Context) error
}

// Loop runs reconcilers until stopped.
type Loop struct {
	// Interval is the time between passes when nothing kicks the loop
	// (default 50ms: tests want quick reactions).
	Interval time.Duration

	reconcilers []Reconciler
	kick        chan struct{}

	mu      sync.Mutex
	errs    []error
	passes  int
	started bool
}

// NewLoop returns a loop over the reconcilers. Reconcilers that implement
// Kickable get the loop's Kick, so that changing their settings starts a
// pass at once.
func NewLoop(rs ...Reconciler) *Loop {
	l := &Loop{reconcilers: rs, kick: make(chan struct{}, 1)}
	for _, r := range rs {
		if k, ok := r.(Kickable); ok {
			k.SetKick(l.Kick)
		}
	}
	return l
}

// Kickable is implemented by reconcilers that want to start a pass when
// their settings change.
type Kickable interface{ SetKick(func()) }

// Kick asks for a pass now. It never blocks.
func (l *Loop) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Start runs the loop in a goroutine until ctx ends or stop is called. stop
// waits for the loop to end and returns the errors reconcilers returned,
// joined (transient API errors while a chart is being installed or
// uninstalled included, so tests should look at them with care).
func (l *Loop) Start(ctx context.Context) (stop func() error) {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		panic("standin: Loop started twice")
	}
	l.started = true
	l.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	interval := l.Interval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			l.Pass(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-l.kick:
			}
		}
	}()
	return func() error {
		cancel()
		<-done
		return l.Err()
	}
}

// Pass runs every reconciler once, in order. Tests that want full control
// call it themselves instead of Start.
func (l *Loop) Pass(ctx context.Context) {
	for _, r := range l.reconcilers {
		if ctx.Err() != nil {
			return
		}
		if err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
			l.mu.Lock()
			l.errs = append(l.errs, fmt.Errorf("stand-in %s: %w", r.Name(), err))
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	l.passes++
	l.mu.Unlock()
}

// Err returns the errors of all passes so far, joined.
func (l *Loop) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}
