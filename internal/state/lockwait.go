package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// lockPoll is how often a waiting command tries the lock again.
const lockPoll = 500 * time.Millisecond

// WaitForLock returns s with a Lock that, instead of failing at once when
// another command holds the lock, tries again until wait has passed (or ctx
// ends), then fails with the holder's *LockError. wait <= 0 returns s.
func WaitForLock(s Store, wait time.Duration) Store {
	if wait <= 0 {
		return s
	}
	return &waitingStore{Store: s, wait: wait}
}

type waitingStore struct {
	Store
	wait time.Duration
}

// Where says where the wrapped store keeps its records.
func (w *waitingStore) Where() string { return storeWhere(w.Store) }

// Unwrap returns the store that does the work.
func (w *waitingStore) Unwrap() Store { return w.Store }

func (w *waitingStore) Lock(ctx context.Context, id string) (Unlocker, error) {
	deadline := time.Now().Add(w.wait)
	for {
		l, err := w.Store.Lock(ctx, id)
		var le *LockError
		if err == nil || !errors.As(err, &le) || !time.Now().Before(deadline) {
			if le != nil {
				return nil, fmt.Errorf("waited %s for the lock: %w", humanDuration(w.wait), err)
			}
			return l, err
		}
		t := time.NewTimer(min(lockPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the lock of %s: %w (%w)", id, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Unwrap returns the store under any wrapper (WaitForLock).
func Unwrap(s Store) Store {
	for {
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return s
		}
		s = u.Unwrap()
	}
}
