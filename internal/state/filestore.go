package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// File layout under the state folder.
const (
	recordSuffix      = ".yaml"
	lockSuffix        = ".lock"
	historyDirName    = "history"
	kubeconfigDirName = "kubeconfigs"
	secretsDirName    = "secrets"
	kubeconfigSuffix  = ".kubeconfig"
	historyTimeLayout = "20060102T150405Z"
)

// FileStore keeps records as files in the state folder (--state-dir):
//
//	<dir>/<id>.yaml                        the record (0600)
//	<dir>/<id>.lock                        its lock while a command works on it
//	<dir>/history/<id>-<UTC time>.yaml     archived records
//	<dir>/kubeconfigs/<cluster>.kubeconfig kubeconfigs (0600)
//	<dir>/secrets/                         keys (0600)
//
// Locks are flocks on the lock file, so the kernel frees the lock of a process
// that dies, however it dies; the file says who holds it (pid, host, since).
// Every write of the record takes the lock, for the call only when the caller
// has not taken it with Lock; reads need no lock.
type FileStore struct {
	dir  string
	host string
	pid  int
	now  func() time.Time

	mu   sync.Mutex
	held map[string]*FileLock // locks this store holds, by deployment id
}

var _ Store = (*FileStore)(nil)

// NewFileStore opens the state folder dir (./state when empty), creating it
// and its history, kubeconfigs and secrets folders with mode 0700.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		dir = "state"
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("the state folder %s is a file, not a folder; pass another --state-dir", dir)
	}
	return &FileStore{
		dir:  dir,
		host: hostname(),
		pid:  os.Getpid(),
		now:  time.Now,
		held: map[string]*FileLock{},
	}, nil
}

// Dir is the state folder.
func (s *FileStore) Dir() string { return s.dir }

// ensure creates the state folder and its history, kubeconfigs and secrets
// folders (0700) when something is about to be written: opening a store,
// reading it and listing it create nothing, so read-only commands leave the
// disk as they found it.
func (s *FileStore) ensure() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating the state folder %s: %w", s.dir, err)
	}
	for _, sub := range []string{historyDirName, kubeconfigDirName, secretsDirName} {
		p := filepath.Join(s.dir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o700); err != nil {
				return fmt.Errorf("restricting %s to its owner (mode 0700): %w", p, err)
			}
		}
	}
	return nil
}

// Location is the path of the record of deployment id.
func (s *FileStore) Location(id string) string { return filepath.Join(s.dir, id+recordSuffix) }

// HistoryDir is where archived records go.
func (s *FileStore) HistoryDir() string { return filepath.Join(s.dir, historyDirName) }

// KubeconfigPath is where the kubeconfig of a cluster is kept (write it 0600,
// e.g. with WriteFileAtomic).
func (s *FileStore) KubeconfigPath(cluster string) string {
	return KubeconfigPath(s.dir, cluster)
}

// KubeconfigPath is where the kubeconfig of a cluster goes in the state
// folder stateDir: stateDir/kubeconfigs/<cluster>.kubeconfig (a "/" or "\"
// in the name becomes "_"). It creates nothing.
func KubeconfigPath(stateDir, cluster string) string {
	cluster = strings.NewReplacer("/", "_", `\`, "_").Replace(cluster)
	return filepath.Join(stateDir, kubeconfigDirName, cluster+kubeconfigSuffix)
}

// SecretsDir is the folder (0700) for private keys and other secret files.
func (s *FileStore) SecretsDir() string { return filepath.Join(s.dir, secretsDirName) }

func (s *FileStore) lockPath(id string) string { return filepath.Join(s.dir, id+lockSuffix) }

// Load reads the record of deployment id with all its events. It needs no
// lock: records are replaced atomically and their event logs only grow, so a
// reader sees a whole record.
func (s *FileStore) Load(ctx context.Context, id string) (*Record, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.LoadSummary(ctx, id)
		if err != nil || r.EventLog == nil {
			return r, err
		}
		path := filepath.Join(s.dir, r.EventLog.File)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue // a writer replaced the log after we read the record
		}
		if err != nil {
			return nil, fmt.Errorf("reading the event log of %s: %w", id, err)
		}
		events, err := readEvents(io.LimitReader(f, r.EventLog.Bytes), EventFilter{}, 0, path)
		_ = f.Close()
		if err != nil {
			return nil, err
		}
		if len(events) != r.EventLog.Count {
			return nil, fmt.Errorf("the event log %s holds %d events where the record %s says %d; restore the record from a `k0rdentctl state export`", path, len(events), s.Location(id), r.EventLog.Count)
		}
		return withAllEvents(r, events), nil
	}
}

// LoadSummary reads the record of deployment id with only its latest events
// (at most RecentEvents); its EventLog says how many there are in all.
// Reading it costs the same however many events the deployment has.
func (s *FileStore) LoadSummary(ctx context.Context, id string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading the state record of %s: %w", id, err)
	}
	if !ValidDeploymentID(id) {
		return nil, fmt.Errorf("reading a state record: %w", invalidIDError(id))
	}
	path := s.Location(id)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for deployment %s (%s does not exist)", ErrNotFound, id, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the state record %s: %w", path, err)
	}
	r, err := decodeStored(data)
	if err != nil {
		return nil, fmt.Errorf("state record %s: %w; restore it from a `k0rdentctl state export` file with `k0rdentctl state import --force FILE` (the unreadable record is kept in the history)", path, err)
	}
	if r.DeploymentID != id {
		return nil, fmt.Errorf("state record %s holds deployment %q, not %s; move it aside or bring it in with `k0rdentctl state import`", path, r.DeploymentID, id)
	}
	if r.EventLog != nil && !validEventLogName(id, r.EventLog.File) {
		return nil, fmt.Errorf("state record %s names the event log %q, which is not one of its own; restore it from a `k0rdentctl state export` file with `k0rdentctl state import --force FILE` (the unreadable record is kept in the history)", path, r.EventLog.File)
	}
	r.version = contentVersion(data)
	return asSummary(r), nil
}

// Events reads the events of deployment id that match f, oldest first; with
// tail > 0 only the last tail of them. It streams the event log and holds
// only what it returns.
func (s *FileStore) Events(ctx context.Context, id string, f EventFilter, tail int) ([]Event, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.LoadSummary(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.EventLog == nil {
			events := FilterEvents(r.Events, f)
			if tail > 0 && len(events) > tail {
				events = events[len(events)-tail:]
			}
			return events, nil
		}
		path := filepath.Join(s.dir, r.EventLog.File)
		file, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the event log of %s: %w", id, err)
		}
		defer file.Close()
		if tail > 0 && f == (EventFilter{}) {
			return tailEvents(file, r.EventLog.Bytes, tail, path)
		}
		return readEvents(io.LimitReader(file, r.EventLog.Bytes), f, tail, path)
	}
}

// storedEventLog returns the event log the stored record of id points at,
// nil when there is no record or it keeps its events inline, and the
// stored record's version ("" when there is none).
func (s *FileStore) storedEventLog(ctx context.Context, id string) (*EventLogRef, *Event, string, error) {
	r, err := s.LoadSummary(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, "", nil
	case err != nil:
		return nil, nil, "", err
	}
	return r.EventLog, lastEvent(r), r.version, nil
}

// contentVersion is the version of a record file: a hash of its content.
func contentVersion(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

// Save writes r atomically with mode 0600 and sets r.UpdatedAt: new events
// are appended to the event log beside the record and synced, then the
// record (with its latest events and how much of the log is its own) is
// replaced. It refuses a record that looks like it holds a secret, and fails
// with *LockError when another process holds the deployment's lock.
func (s *FileStore) Save(ctx context.Context, r *Record) error {
	if r == nil {
		return errors.New("saving a state record: no record given")
	}
	id := r.DeploymentID
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	if !ValidDeploymentID(id) {
		return fmt.Errorf("saving a state record: %w", invalidIDError(id))
	}
	if err := s.ensure(); err != nil {
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	switch {
	case r.SchemaVersion == 0:
		r.SchemaVersion = SchemaVersion
	case r.SchemaVersion != SchemaVersion:
		return fmt.Errorf("saving the state record of %s: it has schema_version %d and this k0rdentctl writes %d; use the k0rdentctl that wrote it", id, r.SchemaVersion, SchemaVersion)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[id] == nil {
		l, err := s.lockLocked(id)
		if err != nil {
			return err
		}
		defer func() { _ = l.releaseLocked() }()
	}
	stored, last, version, err := s.storedEventLog(ctx, id)
	if err != nil {
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	if r.version != "" && r.version != version {
		return fmt.Errorf("saving the state record of %s: %w (another command wrote %s)", id, ErrConflict, s.Location(id))
	}
	w, err := planEventWrite(r, stored, last)
	if err != nil {
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	prevUpdated := r.UpdatedAt
	r.UpdatedAt = s.now().UTC()
	fail := func(err error) error {
		r.UpdatedAt = prevUpdated
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	var ref EventLogRef
	if w.rewrite {
		ref = EventLogRef{File: newEventLogName(id), Count: len(w.events), Bytes: int64(len(w.data))}
	} else {
		ref = EventLogRef{File: stored.File, Count: stored.Count + len(w.events), Bytes: stored.Bytes + int64(len(w.data))}
	}
	data, err := encodeRecord(storedHead(r, ref))
	if err != nil {
		return fail(err)
	}
	logPath := filepath.Join(s.dir, ref.File)
	if w.rewrite {
		err = WriteFileAtomic(ctx, logPath, w.data)
	} else if len(w.data) > 0 {
		err = appendAt(logPath, stored.Bytes, w.data)
	}
	if err != nil {
		return fail(err)
	}
	if err := WriteFileAtomic(ctx, s.Location(id), data); err != nil {
		return fail(err)
	}
	if w.rewrite && stored != nil {
		_ = os.Remove(filepath.Join(s.dir, stored.File))
	}
	afterSave(r, ref)
	r.version = contentVersion(data)
	return nil
}

// appendAt writes data at offset off of the log at path (0600), dropping
// whatever lies past off (an append a crash cut short), and syncs it.
func appendAt(path string, off int64, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("opening the event log: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < off {
		err = fmt.Errorf("the event log %s is shorter (%d bytes) than its record says (%d); restore the record from a `k0rdentctl state export`", path, fi.Size(), off)
	}
	if err == nil {
		err = f.Truncate(off)
	}
	if err == nil {
		_, err = f.WriteAt(data, off)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appending to the event log %s: %w", path, err)
	}
	return nil
}

// Lock takes the lock of deployment id. It does not wait: when a live process
// holds the lock (this one included) it returns *LockError naming it. The lock
// of a process that died is taken over; the returned *FileLock's Previous
// names it.
func (s *FileStore) Lock(ctx context.Context, id string) (Unlocker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("locking deployment %s: %w", id, err)
	}
	if !ValidDeploymentID(id) {
		return nil, fmt.Errorf("locking a deployment: %w", invalidIDError(id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.lockLocked(id)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// lockLocked takes the lock of id; s.mu is held.
func (s *FileStore) lockLocked(id string) (*FileLock, error) {
	path := s.lockPath(id)
	if err := s.ensure(); err != nil {
		return nil, fmt.Errorf("taking the lock of deployment %s: %w", id, err)
	}
	if l := s.held[id]; l != nil {
		return nil, &LockError{ID: id, Path: path, PID: l.info.PID, Host: l.info.Host, Since: l.info.Since, CheckedAt: s.now()}
	}
	f, prevData, busy, err := acquireLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("taking the lock %s of deployment %s: %w", path, id, err)
	}
	if busy {
		return nil, s.lockError(id, path)
	}
	info := LockInfo{DeploymentID: id, PID: s.pid, Host: s.host, Since: s.now().UTC()}
	data, err := json.Marshal(info)
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
	}
	if err != nil {
		_ = releaseLockFile(path, f)
		return nil, fmt.Errorf("writing the lock %s of deployment %s: %w", path, id, err)
	}
	l := &FileLock{store: s, id: id, path: path, f: f, info: info}
	if p, ok := parseLockInfo(prevData); ok {
		l.prev = &p
	}
	s.removeTemps(id)
	s.held[id] = l
	return l, nil
}

// LockHolder is who holds a deployment's lock, as its lock file says.
type LockHolder struct {
	LockInfo
	// Running is false when the holder was a process on this host that no
	// longer runs (killed, crashed): its run stopped without finishing. A
	// holder on another host cannot be checked from here and counts as
	// running. A blob lease that ran out does not run.
	Running bool
	// Expires is when a blob lease runs out unless renewed; zero for a
	// local lock.
	Expires time.Time
}

// Holder reads who holds the lock of deployment id, without taking it and
// without writing anything: nil when nobody does (no lock file).
func (s *FileStore) Holder(id string) (*LockHolder, error) {
	s.mu.Lock()
	l := s.held[id]
	s.mu.Unlock()
	if l != nil {
		return &LockHolder{LockInfo: l.info, Running: true}, nil
	}
	data, err := os.ReadFile(s.lockPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the lock of deployment %s: %w", id, err)
	}
	info, ok := parseLockInfo(data)
	if !ok {
		// Being taken: the holder writes its details just after.
		return &LockHolder{LockInfo: LockInfo{DeploymentID: id}, Running: true}, nil
	}
	return &LockHolder{LockInfo: info, Running: info.Host != s.host || processAlive(info.PID)}, nil
}

// lockError describes the live holder of the lock at path. The holder writes
// its details just after it takes the lock, so a lock found without them (or
// still with the details of the dead process it took over) is read again for
// a moment.
func (s *FileStore) lockError(id, path string) *LockError {
	var info LockInfo
	var ok bool
	for range 20 {
		if data, err := os.ReadFile(path); err == nil {
			info, ok = parseLockInfo(data)
		}
		if ok && (info.Host != s.host || processAlive(info.PID)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	e := &LockError{ID: id, Path: path, CheckedAt: s.now()}
	if ok {
		e.PID, e.Host, e.Since = info.PID, info.Host, info.Since
	}
	return e
}

// removeTemps deletes temporary files left by writes that were killed before
// their rename. Only the lock holder writes, so none is in use.
func (s *FileStore) removeTemps(id string) {
	matches, _ := filepath.Glob(filepath.Join(s.dir, "."+id+recordSuffix+tempInfix+"*"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
	// Event logs the record does not name were left by a write that was
	// killed before the record pointed at them.
	logs, _ := filepath.Glob(filepath.Join(s.dir, id+eventLogInfix+"*"+eventLogSuffix))
	if len(logs) == 0 {
		return
	}
	keep := ""
	if data, err := os.ReadFile(s.Location(id)); err == nil {
		if r, err := decodeStored(data); err == nil && r.EventLog != nil {
			keep = r.EventLog.File
		} else if err != nil {
			return // a record that cannot be read: keep everything for its repair
		}
	}
	for _, m := range logs {
		if filepath.Base(m) != keep {
			_ = os.Remove(m)
		}
	}
}

// List returns the ids of the records in the state folder, sorted.
func (s *FileStore) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing deployments in %s: %w", s.dir, err)
	}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil // nothing was ever written here
	}
	if err != nil {
		return nil, fmt.Errorf("listing deployments in %s: %w", s.dir, err)
	}
	ids := []string{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), recordSuffix)
		if ok && !e.IsDir() && ValidDeploymentID(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Archive moves the record of id to history/<id>-<UTC time>.yaml, stamps
// archived_at in it, and returns its new path. It takes the deployment's lock
// for the call unless this store already holds it.
func (s *FileStore) Archive(ctx context.Context, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("archiving deployment %s: %w", id, err)
	}
	if !ValidDeploymentID(id) {
		return "", fmt.Errorf("archiving a deployment: %w", invalidIDError(id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[id] == nil {
		l, err := s.lockLocked(id)
		if err != nil {
			return "", err
		}
		defer func() { _ = l.releaseLocked() }()
	}
	src := s.Location(id)
	if _, err := os.Stat(src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("archiving deployment %s: %w (%s does not exist)", id, ErrNotFound, src)
		}
		return "", fmt.Errorf("archiving deployment %s: %w", id, err)
	}
	hist := s.HistoryDir()
	if err := os.MkdirAll(hist, 0o700); err != nil {
		return "", fmt.Errorf("archiving deployment %s: creating %s: %w", id, hist, err)
	}
	now := s.now().UTC()
	base := id + "-" + now.Format(historyTimeLayout)
	dst := filepath.Join(hist, base+recordSuffix)
	for n := 2; fileExists(dst); n++ {
		dst = filepath.Join(hist, fmt.Sprintf("%s-%d%s", base, n, recordSuffix))
	}
	// The archive is one file: the record with all its events and when it
	// was archived. It is written whole before the record and its log go.
	rec, err := s.Load(ctx, id)
	if err != nil {
		// A record that cannot be read is archived as it is; History then
		// takes the time from the file name.
		if err := os.Rename(src, dst); err != nil {
			return "", fmt.Errorf("archiving deployment %s: moving %s to %s: %w", id, src, dst, err)
		}
		if err := syncDir(s.dir); err != nil {
			return "", fmt.Errorf("archiving deployment %s: syncing %s: %w", id, s.dir, err)
		}
		return dst, nil
	}
	rec.ArchivedAt = &now
	out, err := encodeRecord(rec)
	if err != nil {
		return "", fmt.Errorf("archiving deployment %s: %w", id, err)
	}
	if err := WriteFileAtomic(context.WithoutCancel(ctx), dst, out); err != nil {
		return "", fmt.Errorf("archiving deployment %s: %w", id, err)
	}
	if err := os.Remove(src); err != nil {
		return dst, fmt.Errorf("deployment %s was archived to %s, but removing %s failed: %w", id, dst, src, err)
	}
	if err := syncDir(s.dir); err != nil {
		return dst, fmt.Errorf("archiving deployment %s: syncing %s: %w", id, s.dir, err)
	}
	s.removeTemps(id)
	return dst, nil
}

// History lists the archived records, newest first. A file that cannot be
// read is listed with its Error set rather than failing the whole list.
func (s *FileStore) History(ctx context.Context) ([]HistoryEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing archived records: %w", err)
	}
	hist := s.HistoryDir()
	entries, err := os.ReadDir(hist)
	if errors.Is(err, fs.ErrNotExist) {
		return []HistoryEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing archived records in %s: %w", hist, err)
	}
	out := []HistoryEntry{}
	for _, e := range entries {
		id, at, ok := parseHistoryName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		h := HistoryEntry{ID: id, ArchivedAt: at, Path: filepath.Join(hist, e.Name())}
		data, err := os.ReadFile(h.Path)
		var r *Record
		if err == nil {
			r, err = decodeStored(data)
		}
		if err != nil {
			h.Error = err.Error()
			h.Status = "UNREADABLE"
			out = append(out, h)
			continue
		}
		h.Name = r.Name
		if r.ArchivedAt != nil {
			h.ArchivedAt = r.ArchivedAt.UTC()
		}
		h.Status = r.Overall()
		h.Summary = r.PhaseSummary()
		h.PhaseCounts = r.PhaseCounts()
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ArchivedAt.Equal(out[j].ArchivedAt) {
			return out[i].ArchivedAt.After(out[j].ArchivedAt)
		}
		return out[i].Path > out[j].Path
	})
	return out, nil
}

// parseHistoryName reads "<id>-<20060102T150405Z>[-<n>].yaml".
func parseHistoryName(name string) (id string, at time.Time, ok bool) {
	stem, ok := strings.CutSuffix(name, recordSuffix)
	idLen := len(deploymentIDPrefix) + deploymentIDLen
	tsLen := len(historyTimeLayout)
	if !ok || len(stem) < idLen+1+tsLen || stem[idLen] != '-' {
		return "", time.Time{}, false
	}
	id = stem[:idLen]
	if !ValidDeploymentID(id) {
		return "", time.Time{}, false
	}
	at, err := time.Parse(historyTimeLayout, stem[idLen+1:idLen+1+tsLen])
	if err != nil {
		return "", time.Time{}, false
	}
	if rest := stem[idLen+1+tsLen:]; rest != "" && (rest[0] != '-' || strings.Trim(rest[1:], "0123456789") != "" || len(rest) == 1) {
		return "", time.Time{}, false
	}
	return id, at, true
}

// FileLock is a lock taken by FileStore.Lock.
type FileLock struct {
	store    *FileStore
	id       string
	path     string
	f        *os.File
	info     LockInfo
	prev     *LockInfo
	released bool
}

var _ LockTakeover = (*FileLock)(nil)

// Info says who holds this lock (this process).
func (l *FileLock) Info() LockInfo { return l.info }

// Previous names the dead process whose lock was taken over, or is nil.
func (l *FileLock) Previous() *LockInfo {
	if l.prev == nil {
		return nil
	}
	p := *l.prev
	return &p
}

// Unlock releases the lock and removes the lock file. It is safe to call
// more than once.
func (l *FileLock) Unlock() error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	return l.releaseLocked()
}

func (l *FileLock) releaseLocked() error {
	if l.released {
		return nil
	}
	l.released = true
	if l.store.held[l.id] == l {
		delete(l.store.held, l.id)
	}
	if err := releaseLockFile(l.path, l.f); err != nil {
		return fmt.Errorf("releasing the lock %s of deployment %s: %w", l.path, l.id, err)
	}
	return nil
}

func parseLockInfo(data []byte) (LockInfo, bool) {
	var info LockInfo
	if len(bytes.TrimSpace(data)) == 0 || json.Unmarshal(data, &info) != nil || info.PID <= 0 {
		return LockInfo{}, false
	}
	return info, true
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown-host"
	}
	return h
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// encodeRecord renders r as the YAML written to disk, refusing one that looks
// like it holds a secret.
func encodeRecord(r *Record) ([]byte, error) {
	data, err := yaml.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding the record: %w", err)
	}
	if err := checkNoSecrets(data); err != nil {
		return nil, err
	}
	return data, nil
}

// decodeStored reads a record as written by Save, tolerating fields it does
// not know (written by a later build of the same schema version).
func decodeStored(data []byte) (*Record, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	var r Record
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	switch {
	case r.SchemaVersion == 0:
		return nil, errors.New("it has no schema_version, so it is not a k0rdentctl state record")
	case r.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("it has schema_version %d, newer than this k0rdentctl reads (%d); upgrade k0rdentctl", r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}

// checkNoSecrets refuses data that looks like it holds a private key or a
// kubeconfig's credentials: the record holds paths to 0600 files, never
// secrets.
func checkNoSecrets(data []byte) error {
	for _, m := range []struct{ marker, what string }{
		{"PRIVATE KEY-----", "a PEM private key"},
		{"client-key-data", "a kubeconfig client key"},
		{"PrivateKey =", "a WireGuard private key"},
	} {
		if bytes.Contains(data, []byte(m.marker)) {
			return fmt.Errorf("the record holds what looks like %s; secrets belong in 0600 files (kubeconfigs/, secrets/) with only their path in the record", m.what)
		}
	}
	return nil
}
