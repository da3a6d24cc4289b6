package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Session is a deployment record opened for work: its lock is held for the
// session's life and every change is saved before the call that makes it
// returns. It is safe for concurrent use (phases run in parallel).
type Session struct {
	store Store
	lock  Unlocker
	id    string
	now   func() time.Time

	mu       sync.Mutex
	rec      *Record
	closed   bool
	archived bool
}

// Open locks deployment id and loads its record. It fails with *LockError
// when another process works on it and with ErrNotFound (wrapped) when there
// is no record. Close the session to release the lock.
func Open(ctx context.Context, s Store, id string) (*Session, error) {
	return open(ctx, s, id, "", false)
}

// OpenOrCreate is Open, but makes a new record named name when there is none.
// An empty id makes a new deployment id.
func OpenOrCreate(ctx context.Context, s Store, id, name string) (*Session, error) {
	if id == "" {
		id = NewDeploymentID()
	}
	return open(ctx, s, id, name, true)
}

func open(ctx context.Context, s Store, id, name string, create bool) (*Session, error) {
	lock, err := s.Lock(ctx, id)
	if err != nil {
		return nil, err
	}
	sess := &Session{store: s, lock: lock, id: id, now: time.Now}
	rec, err := s.Load(ctx, id)
	var events []Event
	switch {
	case err == nil:
	case create && errors.Is(err, ErrNotFound):
		rec = New(id, name, sess.now())
		events = append(events, Event{Type: EventDeploymentNew, Message: fmt.Sprintf("deployment %s created; its record is %s", id, s.Location(id))})
	default:
		_ = lock.Unlock()
		return nil, err
	}
	if t, ok := lock.(LockTakeover); ok {
		if p := t.Previous(); p != nil {
			events = append(events, Event{Type: EventLockTakenOver, Message: fmt.Sprintf(
				"took over the lock left by pid %d on host %s (held since %s), which is no longer running", p.PID, p.Host, p.Since.UTC().Format(time.RFC3339))})
		}
	}
	sess.rec = rec
	if len(events) > 0 {
		err := sess.Update(ctx, func(r *Record) error {
			for _, e := range events {
				e.Timestamp = sess.now().UTC()
				r.Events = append(r.Events, e)
			}
			return nil
		})
		if err != nil {
			_ = lock.Unlock()
			return nil, err
		}
	}
	return sess, nil
}

// ID is the deployment id.
func (s *Session) ID() string { return s.id }

// Location says where the record lives.
func (s *Session) Location() string { return s.store.Location(s.id) }

// Snapshot returns a deep copy of the record as last saved.
func (s *Session) Snapshot() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Clone()
}

// Update applies fn to a copy of the record and saves it; the session's
// record changes only when fn succeeds and the save does. Calls are
// serialised. The save is made even when ctx is already cancelled, so that
// what a cancelled run did is recorded and the run can be resumed.
func (s *Session) Update(ctx context.Context, fn func(*Record) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(ctx, fn)
}

func (s *Session) updateLocked(ctx context.Context, fn func(*Record) error) error {
	switch {
	case s.archived:
		return fmt.Errorf("deployment %s: its record was archived: %w", s.id, ErrSessionClosed)
	case s.closed:
		return fmt.Errorf("deployment %s: %w", s.id, ErrSessionClosed)
	}
	ctx = context.WithoutCancel(ctx)
	base := s.rec
	for attempt := 1; ; attempt++ {
		next := base.Clone()
		if err := fn(next); err != nil {
			return err
		}
		if next.DeploymentID != s.id {
			return fmt.Errorf("deployment %s: the deployment id of a record cannot change (to %q)", s.id, next.DeploymentID)
		}
		err := s.store.Save(ctx, next)
		if err == nil {
			s.rec = next
			return nil
		}
		// Someone wrote the record although we hold its lock (a lease that
		// expired while this process was stopped): apply the change to what
		// is there now rather than overwrite it.
		if !errors.Is(err, ErrConflict) || attempt == maxConflictRetries {
			return err
		}
		if base, err = s.store.Load(ctx, s.id); err != nil {
			return err
		}
	}
}

// maxConflictRetries bounds how often a change is applied again to a record
// that changed under it.
const maxConflictRetries = 5

// Modify reads the record of id, applies fn and saves it, without holding
// the lock beyond the write. When another command wrote the record in
// between (ErrConflict) or holds the lock for a moment (*LockError), it reads
// again and applies fn again, a bounded number of times: a change is never
// lost and never overwrites another one.
func Modify(ctx context.Context, s Store, id string, fn func(*Record) error) error {
	var err error
	for attempt := range 8 * maxConflictRetries {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(10*(1<<min(attempt, 5))) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("changing the record of %s: %w (last: %w)", id, ctx.Err(), err)
			case <-t.C:
			}
		}
		var r *Record
		if r, err = s.Load(ctx, id); err != nil {
			return err
		}
		if err = fn(r); err != nil {
			return err
		}
		err = s.Save(ctx, r)
		var le *LockError
		if err == nil || !(errors.Is(err, ErrConflict) || errors.As(err, &le)) {
			return err
		}
	}
	return fmt.Errorf("changing the record of %s: gave up after %d attempts: %w", id, 8*maxConflictRetries, err)
}

// PhaseStatus is the recorded status of a phase, "" when never recorded.
func (s *Session) PhaseStatus(name string) PhaseStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.rec.Phase(name); p != nil {
		return p.Status
	}
	return ""
}

// RecordPhase records a phase's transition: its PhaseRecord (status, start
// and end times, duration, attempts, last error, reason) and an event
// (phase_started, phase_completed, phase_failed, phase_interrupted,
// phase_skipped or phase_pending), saved before it returns.
func (s *Session) RecordPhase(t PhaseTransition) error {
	if t.Name == "" {
		return errors.New("recording a phase: no phase name given")
	}
	if !t.Status.Valid() {
		return fmt.Errorf("recording phase %s: %q is not a phase status (%s)", t.Name, t.Status, joinStatuses(PhaseStatuses()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := t.At
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC()
	return s.updateLocked(context.Background(), func(r *Record) error {
		p := r.Phase(t.Name)
		if p == nil {
			r.Phases = append(r.Phases, PhaseRecord{Name: t.Name})
			p = &r.Phases[len(r.Phases)-1]
		}
		if t.Title != "" {
			p.Title = t.Title
		}
		if t.Group != "" {
			p.Region = t.Group
		}
		label := p.Name
		if p.Title != "" {
			label = p.Title
		}
		prev := p.Status
		p.Status = t.Status
		p.Reason = t.Reason
		e := Event{Timestamp: at, Phase: p.Name, Region: p.Region}
		switch t.Status {
		case PhaseInProgress:
			// A running phase has no error yet: the previous run's is in the
			// events.
			p.StartedAt, p.EndedAt, p.DurationSeconds, p.LastError = &at, nil, 0, ""
			p.Attempts++
			e.Type, e.Message = EventPhaseStarted, label+" started"
			if p.Attempts > 1 {
				e.Message += fmt.Sprintf(" (attempt %d)", p.Attempts)
			}
		case PhaseCompleted:
			p.LastError = ""
			e.Type, e.Message = EventPhaseCompleted, label+" completed"
			// A phase found still done on resume (reason "verified") did not
			// run: its times stay those of the run that did the work.
			if prev == PhaseInProgress {
				d := endPhase(p, at)
				e.Message += inDuration(" in ", d, p.StartedAt)
			}
		case PhaseFailed:
			d := endPhase(p, at)
			p.LastError = "failed"
			switch {
			case t.Err != nil:
				p.LastError = t.Err.Error()
			case t.Reason != "":
				p.LastError = t.Reason
			}
			e.Type, e.Message = EventPhaseFailed, label+" failed"+inDuration(" after ", d, p.StartedAt)+": "+p.LastError
			if t.Err != nil && t.Reason != "" {
				e.Message += " (" + t.Reason + ")"
			}
		case PhaseInterrupted:
			d := endPhase(p, at)
			p.LastError = ""
			e.Type, e.Message = EventPhaseInterrupted, label+" interrupted"+inDuration(" after ", d, p.StartedAt)
		case PhaseSkipped:
			p.EndedAt, p.DurationSeconds = &at, 0
			e.Type, e.Message = EventPhaseSkipped, label+" skipped"
		case PhasePending:
			p.EndedAt, p.DurationSeconds = nil, 0
			e.Type, e.Message = EventPhasePending, label+" pending"
		}
		if t.Reason != "" && t.Status != PhaseFailed && t.Status != PhaseInterrupted {
			e.Message += ": " + t.Reason
		}
		r.Events = append(r.Events, e)
		return nil
	})
}

// endPhase sets the end time and duration of a phase that ran.
func endPhase(p *PhaseRecord, at time.Time) time.Duration {
	p.EndedAt = &at
	if p.StartedAt == nil {
		p.DurationSeconds = 0
		return 0
	}
	d := at.Sub(*p.StartedAt)
	if d < 0 {
		d = 0
	}
	p.DurationSeconds = d.Seconds()
	return d
}

func inDuration(word string, d time.Duration, started *time.Time) string {
	if started == nil {
		return ""
	}
	return word + humanDuration(d)
}

// AddEvent appends an event (its timestamp defaults to now) and saves.
func (s *Session) AddEvent(e Event) error {
	if e.Type == "" {
		return errors.New("adding an event: no event type given")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Timestamp.IsZero() {
		e.Timestamp = s.now()
	}
	e.Timestamp = e.Timestamp.UTC()
	return s.updateLocked(context.Background(), func(r *Record) error {
		r.Events = append(r.Events, e)
		return nil
	})
}

// Archive records a record_archived event, moves the record into the
// store's history and returns where it went. The session then refuses
// further changes; Close it to release the lock.
func (s *Session) Archive(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.updateLocked(ctx, func(r *Record) error {
		r.Events = append(r.Events, Event{Timestamp: s.now().UTC(), Type: EventRecordArchived, Message: "record archived to history"})
		return nil
	})
	if err != nil {
		return "", err
	}
	path, err := s.store.Archive(ctx, s.id)
	if path != "" {
		s.archived = true
	}
	return path, err
}

// Close releases the lock. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.lock.Unlock()
}
