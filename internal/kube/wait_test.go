package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestWaitForReportsChangesAndFinishes(t *testing.T) {
	states := []string{"Pending", "Pending", "Installing", "Installing", "Ready"}
	i := 0
	var seen []string
	err := WaitFor(t.Context(), "thing to be Ready", 5*time.Second, time.Millisecond, func(context.Context) (bool, string, error) {
		s := states[i]
		i++
		return s == "Ready", s, nil
	}, func(s string) { seen = append(seen, s) })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ","); got != "Pending,Installing,Ready" {
		t.Fatalf("progress saw %q, want each change once", got)
	}
	if i != len(states) {
		t.Fatalf("checked %d times, want %d", i, len(states))
	}
}

func TestWaitForTimeoutSaysWhatAndLastObserved(t *testing.T) {
	checks := 0
	start := time.Now()
	err := WaitFor(t.Context(), "Management kcm to be Ready", 150*time.Millisecond, 30*time.Millisecond, func(context.Context) (bool, string, error) {
		checks++
		return false, "Ready=False NotAllComponentsHealthy", nil
	}, nil)
	var te *WaitTimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a WaitTimeoutError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "Management kcm to be Ready") || !strings.Contains(msg, "NotAllComponentsHealthy") || !strings.Contains(msg, "150ms") {
		t.Fatalf("message %q should say what was waited for, for how long and what was seen last", msg)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("took %s", elapsed)
	}
	// No busy loop: about one check per interval.
	if checks > 8 {
		t.Fatalf("%d checks in 150ms at a 30ms interval: polling too often", checks)
	}
}

func TestWaitForCheckErrorEndsWait(t *testing.T) {
	boom := errors.New("forbidden")
	err := WaitFor(t.Context(), "x", time.Second, time.Millisecond, func(context.Context) (bool, string, error) {
		return false, "", boom
	}, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "waiting for x") {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitForCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err := WaitFor(ctx, "x", 0, time.Millisecond, func(context.Context) (bool, string, error) {
		n++
		if n == 3 {
			cancel()
		}
		return false, fmt.Sprintf("check %d", n), nil
	}, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "check 3") {
		t.Fatalf("err = %v, want cancellation with the last observation", err)
	}
	var te *WaitTimeoutError
	if errors.As(err, &te) {
		t.Fatal("a cancellation is not a timeout")
	}
}

func TestWaitForIgnoresChecksCutShortByTheDeadline(t *testing.T) {
	n := 0
	err := WaitFor(t.Context(), "x", 300*time.Millisecond, 20*time.Millisecond, func(context.Context) (bool, string, error) {
		n++
		if n == 1 {
			return false, "still there", nil
		}
		// What client-go's rate limiter says when the deadline is near.
		return false, "", errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
	}, nil)
	var te *WaitTimeoutError
	if !errors.As(err, &te) || te.LastObserved != "still there" {
		t.Fatalf("err = %v, want a timeout that keeps the last real observation", err)
	}
}
