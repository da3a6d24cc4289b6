package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// DefaultInterval is the polling interval of WaitFor when none is given.
const DefaultInterval = 2 * time.Second

// CheckFunc looks at the world once for WaitFor: done says the wait is over;
// observed is a short description of what was seen ("Ready=False
// NotAllComponentsHealthy: velero installing"), shown when it changes and
// kept for the timeout error. An error ends the wait: a check that meets a
// transient problem (a Get that failed) should report it as observed and
// return a nil error, and return an error only for what waiting cannot fix.
// Errors for which Interrupted is true do not end the wait.
type CheckFunc func(ctx context.Context) (done bool, observed string, err error)

// WaitTimeoutError is returned by WaitFor when the timeout passed.
type WaitTimeoutError struct {
	// What was waited for, e.g. "Management kcm to be Ready".
	What    string
	Timeout time.Duration
	// LastObserved is the last thing the check saw ("" when it never
	// reported anything).
	LastObserved string
}

func (e *WaitTimeoutError) Error() string {
	last := e.LastObserved
	if last == "" {
		last = "nothing"
	}
	return fmt.Sprintf("timed out after %s waiting for %s; last observed: %s", e.Timeout, e.What, last)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *WaitTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// WaitFor calls check at once and then every interval (DefaultInterval when
// interval <= 0) until it reports done, returns an error, the timeout passes
// (timeout <= 0: no timeout of its own) or ctx ends; it polls with
// apimachinery's wait.PollUntilContextTimeout. progress, when not nil,
// receives the observed state each time it changes. A transient error
// (IsTransient) does not end the wait.
//
// On timeout the error is a *WaitTimeoutError saying what was waited for and
// the last thing observed. When ctx ends the error wraps ctx.Err() and says
// the same.
func WaitFor(ctx context.Context, desc string, timeout, interval time.Duration, check CheckFunc, progress func(string)) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	var last string
	reported := false
	condition := func(ctx context.Context) (bool, error) {
		done, observed, err := check(ctx)
		if observed == "" && err != nil && IsTransient(err) {
			observed = err.Error()
		}
		if observed != "" && (!reported || observed != last) {
			last, reported = observed, true
			if progress != nil {
				progress(observed)
			}
		}
		switch {
		case err == nil:
			return done, nil
		case Interrupted(ctx, err), IsTransient(err):
			// A check cut short by the end of the wait (or by a rate
			// limiter that sees the deadline coming), or one that met a
			// transient error, is not a failure: the wait goes on, or
			// ends, by its own clock.
			return false, nil
		}
		return false, fmt.Errorf("waiting for %s: %w", desc, err)
	}
	var err error
	if timeout > 0 {
		err = wait.PollUntilContextTimeout(ctx, interval, timeout, true, condition)
	} else {
		err = wait.PollUntilContextCancel(ctx, interval, true, condition)
	}
	switch {
	case err == nil:
		return nil
	case !wait.Interrupted(err):
		return err
	case ctx.Err() != nil:
		lastSeen := last
		if lastSeen == "" {
			lastSeen = "nothing"
		}
		return fmt.Errorf("stopped waiting for %s (last observed: %s): %w", desc, lastSeen, ctx.Err())
	}
	return &WaitTimeoutError{What: desc, Timeout: timeout, LastObserved: last}
}

// Interrupted reports whether err comes from the end of ctx (cancelled, or its
// deadline passed or would pass before a rate-limited request could be sent).
// Checks use it to tell "the wait is over" from a real failure.
func Interrupted(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	return ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}
