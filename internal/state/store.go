package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) when there is no record for a deployment.
var ErrNotFound = errors.New("no deployment record")

// ErrAmbiguous is returned (wrapped) by FindCurrent when several records could
// be the one meant.
var ErrAmbiguous = errors.New("cannot tell which deployment record is meant")

// ErrConflict is returned (wrapped) by Save when the stored record changed
// since the record being saved was read: the write is refused rather than
// losing the other change. Read again, apply the change again, save again
// (Modify and Session.Update do that).
var ErrConflict = errors.New("the state record changed since it was read")

// ErrSessionClosed is returned by a Session that was closed or archived.
var ErrSessionClosed = errors.New("the state session is closed")

// Store keeps deployment records. FileStore is the local implementation; an
// Azure blob store (lease as lock) implements the same interface.
type Store interface {
	// Load reads a record with all its events; ErrNotFound (wrapped) when
	// there is none.
	Load(ctx context.Context, id string) (*Record, error)
	// LoadSummary reads a record with only its latest events (at most
	// RecentEvents); r.EventLog.Count says how many there are. Its cost does
	// not grow with the number of events. A summary can be changed and saved
	// like a full record.
	LoadSummary(ctx context.Context, id string) (*Record, error)
	// Events reads the events of a record that match f, oldest first; with
	// tail > 0 only the last tail of them. It does not load the whole log
	// into memory.
	Events(ctx context.Context, id string, f EventFilter, tail int) ([]Event, error)
	// Save writes r atomically (readers see the old or the new record, never
	// a torn one) and sets r.UpdatedAt. Events are kept beside the record in
	// an append-only log; only the ones it does not hold yet are written.
	// Saving a record whose lock another process holds fails with *LockError.
	Save(ctx context.Context, r *Record) error
	// Lock takes the deployment's lock, or fails at once with *LockError
	// naming the live holder. A lock left by a dead process is taken over.
	Lock(ctx context.Context, id string) (Unlocker, error)
	// List returns the ids of the records present, sorted.
	List(ctx context.Context) ([]string, error)
	// Archive moves the record into the history and returns where it went.
	Archive(ctx context.Context, id string) (string, error)
	// History returns the archived records, newest first.
	History(ctx context.Context) ([]HistoryEntry, error)
	// Location says where the record of id lives, for messages.
	Location(id string) string
}

// Unlocker releases a lock taken with Store.Lock.
type Unlocker interface {
	Unlock() error
}

// LockTakeover is implemented by locks that can say whose lock they took over.
type LockTakeover interface {
	// Previous returns the dead holder whose lock was taken over, or nil.
	Previous() *LockInfo
}

// LockInfo names the holder of a lock.
type LockInfo struct {
	DeploymentID string    `json:"deployment_id"`
	PID          int       `json:"pid"`
	Host         string    `json:"host"`
	Since        time.Time `json:"since"`
	// User and Command are set by stores shared between machines (the
	// blob store), where a pid alone says little.
	User    string `json:"user,omitempty"`
	Command string `json:"command,omitempty"`
}

// LockError says that another process holds a deployment's lock. Commands
// exit with code 3 on it.
type LockError struct {
	ID    string // deployment id; taken from Path when empty
	Path  string // the lock file (or blob)
	PID   int
	Host  string
	Since time.Time
	// CheckedAt is when the lock was found held; "ago" is counted from it
	// (from the current time when zero).
	CheckedAt time.Time
	// User and Command name the holder further (blob store).
	User    string
	Command string
	// Expires is when the holder's lease runs out unless it renews it
	// (blob store); zero for a local lock.
	Expires time.Time
}

func (e *LockError) Error() string {
	id := e.ID
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(e.Path), lockSuffix)
	}
	if e.PID == 0 {
		return fmt.Sprintf("deployment %s is locked by another process (its lock %s does not say which); wait for it to finish, or if no k0rdentctl is running on it, run the command again", id, e.Path)
	}
	now := e.CheckedAt
	if now.IsZero() {
		now = time.Now()
	}
	if !e.Expires.IsZero() {
		who := fmt.Sprintf("pid %d on host %s", e.PID, e.Host)
		if e.User != "" {
			who = e.User + "'s " + who
		}
		if e.Command != "" {
			who += fmt.Sprintf(" (%s)", e.Command)
		}
		return fmt.Sprintf("deployment %s is locked by %s since %s (%s ago); its lease runs out at %s (in %s) unless that command renews it, which it does while it runs; wait for it to finish (--wait-for-lock DURATION waits), or if it is gone, run the command again after its lease runs out",
			id, who, e.Since.UTC().Format(time.RFC3339), humanDuration(now.Sub(e.Since)), e.Expires.UTC().Format(time.RFC3339), humanDuration(e.Expires.Sub(now)))
	}
	return fmt.Sprintf("deployment %s is locked by pid %d on host %s since %s (%s ago); wait for it to finish, or if that process is gone, run the command again (a dead holder's lock is taken over)",
		id, e.PID, e.Host, e.Since.UTC().Format(time.RFC3339), humanDuration(now.Sub(e.Since)))
}

// HistoryEntry is one archived record, as `state history` lists it.
type HistoryEntry struct {
	ID         string    `json:"deployment_id"`
	Name       string    `json:"name,omitempty"`
	ArchivedAt time.Time `json:"archived_at"`
	Path       string    `json:"path"`
	// Status is the record's Overall() when it was archived.
	Status string `json:"status"`
	// Summary is its final phase summary, e.g. "9 completed, 1 skipped".
	Summary     string              `json:"summary"`
	PhaseCounts map[PhaseStatus]int `json:"phase_counts,omitempty"`
	// Error says why the archived file could not be read, if it could not.
	Error string `json:"error,omitempty"`
}

// FindCurrent returns the id of the deployment a command is about: the one
// record in the store, or, when there are several, the one named name (the
// configuration's metadata.name). It returns ErrNotFound (wrapped) when the
// store is empty and ErrAmbiguous (wrapped), listing the records, when it
// cannot tell.
func FindCurrent(ctx context.Context, s Store, name string) (string, error) {
	ids, err := s.List(ctx)
	if err != nil {
		return "", err
	}
	where := storeWhere(s)
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w in %s", ErrNotFound, where)
	case 1:
		return ids[0], nil
	}
	var matches, listed []string
	for _, id := range ids {
		r, err := s.LoadSummary(ctx, id)
		if err != nil {
			return "", err
		}
		if r.Name != "" {
			listed = append(listed, fmt.Sprintf("%s (name %q)", id, r.Name))
		} else {
			listed = append(listed, id+" (no name)")
		}
		if name != "" && r.Name == name {
			matches = append(matches, id)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	var why string
	switch {
	case name == "":
		why = "the configuration gives no metadata.name to choose by"
	case len(matches) == 0:
		why = fmt.Sprintf("none is named %q (the configuration's metadata.name)", name)
	default:
		why = fmt.Sprintf("%d are named %q", len(matches), name)
	}
	return "", fmt.Errorf("%w: %d records in %s: %s; %s. Choose one with --deployment ID, or archive the ones you do not mean with k0rdentctl state archive ID",
		ErrAmbiguous, len(ids), where, strings.Join(listed, ", "), why)
}

// storeWhere says where a store keeps its records, for messages.
func storeWhere(s Store) string {
	if w, ok := s.(interface{ Where() string }); ok {
		return w.Where()
	}
	if d, ok := s.(interface{ Dir() string }); ok {
		return d.Dir()
	}
	return filepath.Dir(s.Location(deploymentIDPrefix + "xxxxxxxx"))
}

// humanDuration rounds d for messages: "12s", "3m4s", "2h5m0s".
func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// HolderOf says who holds the lock of id in s (FileStore.Holder,
// BlobStore.Holder), nil when nobody does or s cannot tell.
func HolderOf(s Store, id string) (*LockHolder, error) {
	if h, ok := Unwrap(s).(interface {
		Holder(id string) (*LockHolder, error)
	}); ok {
		return h.Holder(id)
	}
	return nil, nil
}
