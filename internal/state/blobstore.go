package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// Lease durations Azure Storage accepts for a finite lease.
const (
	MinLeaseDuration     = 15 * time.Second
	MaxLeaseDuration     = 60 * time.Second
	DefaultLeaseDuration = 60 * time.Second
)

// Blob names under the prefix.
const (
	lockBlobSuffix     = ".lock"
	historyBlobFolder  = "history/"
	maxEventLogBlocks  = 10000 // a log with more blocks is rewritten as one (Azure allows 50,000)
	blobRequestTimeout = 30 * time.Second
)

// Metadata of the lock blob, naming the holder of its lease.
const (
	metaUser    = "holder_user"
	metaHost    = "holder_host"
	metaPID     = "holder_pid"
	metaCommand = "holder_command"
	metaSince   = "holder_since"
	metaRenewed = "lease_renewed"
	metaSeconds = "lease_seconds"
)

// BlobStore keeps records in an Azure Blob Storage container, for a team
// that shares one deployment:
//
//	<prefix><id>.yaml                   the record (its latest events inline)
//	<prefix><id>.events.<gen>.jsonl     its event log: a block blob, one block per write
//	<prefix><id>.lock                   an empty blob whose lease is the deployment's lock;
//	                                    its metadata names the holder
//	<prefix>history/<id>-<UTC time>.yaml archived records
//
// Every write of a record is conditional on the ETag it was read with, so a
// write based on an old read fails (ErrConflict) instead of overwriting. The
// lock is a finite lease renewed while the command runs; the lease of a
// holder that died runs out and is then taken over. Kubeconfigs, keys and
// secrets never go to the container: they stay in the local state folder.
type BlobStore struct {
	cc      *container.Client
	url     string // the container's URL, without credentials
	prefix  string
	lease   time.Duration
	host    string
	user    string
	command string
	pid     int
	now     func() time.Time
	// maxLogBlocks: an event log with this many blocks is rewritten as
	// one block under a new name (maxEventLogBlocks; tests lower it).
	maxLogBlocks int

	mu      sync.Mutex
	held    map[string]*BlobLock
	created bool // the container is known to exist
}

var _ Store = (*BlobStore)(nil)

// BlobStoreOptions configures NewBlobStore.
type BlobStoreOptions struct {
	// Client is the container; see NewBlobContainerClient.
	Client *container.Client
	// Prefix goes before every blob name, e.g. "k0rdentctl/".
	Prefix string
	// LeaseDuration is how long a lease lasts between renewals: 15 to 60
	// seconds (DefaultLeaseDuration when zero). A dead holder's lock is
	// taken over after it.
	LeaseDuration time.Duration
	// Command names what takes the lock, e.g. "deploy", for the holder's
	// description.
	Command string
}

// NewBlobStore opens a record store in a blob container. It makes no
// request: a missing container is created by the first write.
func NewBlobStore(o BlobStoreOptions) (*BlobStore, error) {
	if o.Client == nil {
		return nil, errors.New("opening the blob state store: no container client given")
	}
	d := o.LeaseDuration
	if d == 0 {
		d = DefaultLeaseDuration
	}
	if d < MinLeaseDuration || d > MaxLeaseDuration {
		return nil, fmt.Errorf("lease duration %s: Azure Storage leases last 15 to 60 seconds", d)
	}
	if strings.HasPrefix(o.Prefix, "/") || strings.Contains(o.Prefix, "//") {
		return nil, fmt.Errorf("blob prefix %q: it must not start with / or hold //", o.Prefix)
	}
	u := o.Client.URL()
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i] // never show a SAS token
	}
	s := &BlobStore{
		cc:      o.Client,
		url:     strings.TrimSuffix(u, "/"),
		prefix:  o.Prefix,
		lease:   d,
		host:    hostname(),
		user:    currentUser(),
		command: o.Command,
		pid:     os.Getpid(),
		now:     time.Now,
		held:    map[string]*BlobLock{},

		maxLogBlocks: maxEventLogBlocks,
	}
	return s, nil
}

// Where says where the records are, for messages.
func (s *BlobStore) Where() string { return s.url + "/" + s.prefix }

// Location is the URL of the record of deployment id.
func (s *BlobStore) Location(id string) string { return s.url + "/" + s.recordName(id) }

// LeaseDuration is how long the store's leases last between renewals.
func (s *BlobStore) LeaseDuration() time.Duration { return s.lease }

func (s *BlobStore) recordName(id string) string { return s.prefix + id + recordSuffix }
func (s *BlobStore) lockName(id string) string   { return s.prefix + id + lockBlobSuffix }

// blobError words a failed request for an operator.
func (s *BlobStore) blobError(what string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%s in the state container %s: %w", what, s.url, err)
	}
	return fmt.Errorf("%s in the state container %s: %w; check the network, the storage account and the credentials (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN or an Azure login), then run the command again: what was recorded before is unchanged", what, s.url, err)
}

// reqCtx bounds one request.
func reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, blobRequestTimeout)
}

// download reads a blob (its first n bytes when n > 0); ok is false when
// it (or its container) does not exist.
func (s *BlobStore) download(ctx context.Context, name string, n int64) (data []byte, etag string, ok bool, err error) {
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	opts := &blob.DownloadStreamOptions{}
	if n > 0 {
		opts.Range = blob.HTTPRange{Offset: 0, Count: n}
	}
	resp, err := s.cc.NewBlobClient(name).DownloadStream(ctx, opts)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, s.blobError("reading "+name, err)
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", false, s.blobError("reading "+name, err)
	}
	if resp.ETag != nil {
		etag = string(*resp.ETag)
	}
	return data, etag, true, nil
}

// ensureContainer creates the container when it does not exist yet.
func (s *BlobStore) ensureContainer(ctx context.Context) error {
	if s.created {
		return nil
	}
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	_, err := s.cc.Create(ctx, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return s.blobError("creating the container", err)
	}
	s.created = true
	return nil
}

// upload writes a whole block blob. ifMatch "" with create means "only if
// it does not exist"; ifMatch "*" means unconditionally.
func (s *BlobStore) upload(ctx context.Context, name string, data []byte, ifMatch string) (string, error) {
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	cond := &blob.ModifiedAccessConditions{}
	switch ifMatch {
	case "":
		cond.IfNoneMatch = to(azcore.ETagAny)
	case "*":
		cond = nil
	default:
		cond.IfMatch = to(azcore.ETag(ifMatch))
	}
	opts := &blockblob.UploadOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to(contentType(name))}}
	if cond != nil {
		opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: cond}
	}
	resp, err := s.cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), opts)
	if bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists) {
		return "", ErrConflict
	}
	if err != nil {
		return "", s.blobError("writing "+name, err)
	}
	return string(*resp.ETag), nil
}

func contentType(name string) string {
	if strings.HasSuffix(name, eventLogSuffix) {
		return "application/jsonl"
	}
	return "application/yaml"
}

func (s *BlobStore) delete(ctx context.Context, name, ifMatch string) error {
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	var opts *blob.DeleteOptions
	if ifMatch != "" {
		opts = &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to(azcore.ETag(ifMatch))}}}
	}
	_, err := s.cc.NewBlobClient(name).Delete(ctx, opts)
	switch {
	case err == nil, bloberror.HasCode(err, bloberror.BlobNotFound):
		return nil
	case bloberror.HasCode(err, bloberror.ConditionNotMet):
		return ErrConflict
	}
	return s.blobError("deleting "+name, err)
}

// LoadSummary reads the record of id with only its latest events.
func (s *BlobStore) LoadSummary(ctx context.Context, id string) (*Record, error) {
	if !ValidDeploymentID(id) {
		return nil, fmt.Errorf("reading a state record: %w", invalidIDError(id))
	}
	data, etag, ok, err := s.download(ctx, s.recordName(id), 0)
	if err != nil {
		return nil, err
	}
	loc := s.Location(id)
	if !ok {
		return nil, fmt.Errorf("%w for deployment %s (%s does not exist)", ErrNotFound, id, loc)
	}
	r, err := decodeStored(data)
	if err != nil {
		return nil, fmt.Errorf("state record %s: %w; restore it from a `k0rdentctl state export` file with `k0rdentctl state import --force FILE` (the unreadable record is kept in the history)", loc, err)
	}
	if r.DeploymentID != id {
		return nil, fmt.Errorf("state record %s holds deployment %q, not %s", loc, r.DeploymentID, id)
	}
	if r.EventLog != nil && !validEventLogName(id, r.EventLog.File) {
		return nil, fmt.Errorf("state record %s names the event log %q, which is not one of its own", loc, r.EventLog.File)
	}
	r.version = etag
	return asSummary(r), nil
}

// Load reads the record of id with all its events.
func (s *BlobStore) Load(ctx context.Context, id string) (*Record, error) {
	r, err := s.LoadSummary(ctx, id)
	if err != nil || r.EventLog == nil {
		return r, err
	}
	events, err := s.readLog(ctx, r.EventLog, EventFilter{}, 0)
	if err != nil {
		return nil, err
	}
	if len(events) != r.EventLog.Count {
		return nil, fmt.Errorf("the event log %s holds %d events where the record %s says %d", s.url+"/"+s.prefix+r.EventLog.File, len(events), s.Location(id), r.EventLog.Count)
	}
	v := r.version
	withAllEvents(r, events)
	r.version = v
	return r, nil
}

// Events reads the events of id matching f (the last tail of them).
func (s *BlobStore) Events(ctx context.Context, id string, f EventFilter, tail int) ([]Event, error) {
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
	return s.readLog(ctx, r.EventLog, f, tail)
}

func (s *BlobStore) readLog(ctx context.Context, ref *EventLogRef, f EventFilter, tail int) ([]Event, error) {
	if ref.Bytes == 0 {
		return []Event{}, nil
	}
	name := s.prefix + ref.File
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	resp, err := s.cc.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: ref.Bytes}})
	if err != nil {
		return nil, s.blobError("reading the event log "+name, err)
	}
	defer resp.Body.Close()
	return readEvents(resp.Body, f, tail, s.url+"/"+name)
}

// Save writes r: new events as a block appended to the event log, then the
// record, conditional on the ETag it was read with (ErrConflict when it
// changed since). It takes the lock for the call unless this store holds it.
func (s *BlobStore) Save(ctx context.Context, r *Record) error {
	if r == nil {
		return errors.New("saving a state record: no record given")
	}
	id := r.DeploymentID
	if !ValidDeploymentID(id) {
		return fmt.Errorf("saving a state record: %w", invalidIDError(id))
	}
	switch {
	case r.SchemaVersion == 0:
		r.SchemaVersion = SchemaVersion
	case r.SchemaVersion != SchemaVersion:
		return fmt.Errorf("saving the state record of %s: it has schema_version %d and this k0rdentctl writes %d", id, r.SchemaVersion, SchemaVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.held[id]; l == nil {
		l, err := s.lockLocked(ctx, id)
		if err != nil {
			return err
		}
		defer func() { _ = l.releaseLocked() }()
	} else if err := l.lost(); err != nil {
		return fmt.Errorf("saving the state record of %s: %w", id, err)
	}
	fail := func(err error) error { return fmt.Errorf("saving the state record of %s: %w", id, err) }
	cur, err := s.LoadSummary(ctx, id)
	var stored *EventLogRef
	var last *Event
	etag := ""
	switch {
	case err == nil:
		stored, etag, last = cur.EventLog, cur.version, lastEvent(cur)
	case !errors.Is(err, ErrNotFound):
		return fail(err)
	}
	if r.version != "" && r.version != etag {
		return fail(fmt.Errorf("%w (another command wrote %s)", ErrConflict, s.Location(id)))
	}
	w, err := planEventWrite(r, stored, last)
	if err != nil {
		return fail(err)
	}
	if err := s.ensureContainer(ctx); err != nil {
		return fail(err)
	}
	var ref EventLogRef
	if !w.rewrite {
		ref, err = s.appendLog(ctx, stored, w.data)
	} else {
		ref = EventLogRef{File: newEventLogName(id), Count: len(w.events), Bytes: int64(len(w.data))}
		err = s.writeLog(ctx, ref.File, w.data)
	}
	if err != nil {
		return fail(err)
	}
	prevUpdated := r.UpdatedAt
	r.UpdatedAt = s.now().UTC()
	data, err := encodeRecord(storedHead(r, ref))
	if err != nil {
		r.UpdatedAt = prevUpdated
		return fail(err)
	}
	newTag, err := s.upload(ctx, s.recordName(id), data, etag)
	if errors.Is(err, ErrConflict) {
		// A retried request whose first try was written, but whose answer
		// was lost, finds its own record: that is success, not a conflict.
		if now, nerr := s.LoadSummary(ctx, id); nerr == nil && now.UpdatedAt.Equal(r.UpdatedAt) && now.EventLog != nil && *now.EventLog == ref {
			newTag, err = now.version, nil
		} else {
			err = fmt.Errorf("%w (another command wrote %s)", ErrConflict, s.Location(id))
		}
	}
	if err != nil {
		r.UpdatedAt = prevUpdated
		return fail(err)
	}
	if stored != nil && ref.File != stored.File {
		_ = s.delete(context.WithoutCancel(ctx), s.prefix+stored.File, "")
	}
	afterSave(r, ref)
	r.version = newTag
	return nil
}

// blockID names block n of an event log (all ids of a blob have one length).
func blockID(n int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%010d", n)))
}

// writeLog writes a new event log as one committed block.
func (s *BlobStore) writeLog(ctx context.Context, file string, data []byte) error {
	return s.commitBlocks(ctx, s.prefix+file, nil, data)
}

// commitBlocks stages data (when any) as the block after keep and commits
// keep and it: the blob then holds exactly those blocks.
func (s *BlobStore) commitBlocks(ctx context.Context, name string, keep []string, data []byte) error {
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	bb := s.cc.NewBlockBlobClient(name)
	ids := keep
	if len(data) > 0 {
		id := blockID(len(keep))
		if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(data)), nil); err != nil {
			return s.blobError("appending to the event log "+name, err)
		}
		ids = append(slicesClone(keep), id)
	}
	if _, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to("application/jsonl")}}); err != nil {
		return s.blobError("committing the event log "+name, err)
	}
	return nil
}

func slicesClone(ids []string) []string { return append([]string(nil), ids...) }

// appendLog adds data to the log ref points at. Blocks committed past
// ref.Bytes (an append whose record write never happened) are dropped. A
// log with many blocks is rewritten as one, under a new name.
func (s *BlobStore) appendLog(ctx context.Context, ref *EventLogRef, data []byte) (EventLogRef, error) {
	next := EventLogRef{File: ref.File, Count: ref.Count + bytes.Count(data, []byte{'\n'}), Bytes: ref.Bytes + int64(len(data))}
	if len(data) == 0 {
		return *ref, nil
	}
	name := s.prefix + ref.File
	lctx, cancel := reqCtx(ctx)
	list, err := s.cc.NewBlockBlobClient(name).GetBlockList(lctx, blockblob.BlockListTypeCommitted, nil)
	cancel()
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return EventLogRef{}, s.blobError("reading the blocks of the event log "+name, err)
	}
	var keep []string
	var size int64
	for _, b := range list.CommittedBlocks {
		if size >= ref.Bytes {
			break
		}
		keep = append(keep, *b.Name)
		size += *b.Size
	}
	if size != ref.Bytes {
		return EventLogRef{}, fmt.Errorf("the event log %s/%s holds %d bytes in whole blocks where the record says %d; restore the record from a `k0rdentctl state export`", s.url, name, size, ref.Bytes)
	}
	if len(keep) >= s.maxLogBlocks {
		old, _, ok, err := s.download(ctx, name, ref.Bytes)
		if err != nil {
			return EventLogRef{}, err
		}
		if !ok {
			return EventLogRef{}, fmt.Errorf("the event log %s/%s is gone", s.url, name)
		}
		next.File = newEventLogName(strings.SplitN(ref.File, eventLogInfix, 2)[0])
		return next, s.writeLog(ctx, next.File, append(old, data...))
	}
	return next, s.commitBlocks(ctx, name, keep, data)
}

// List returns the ids of the records in the container, sorted.
func (s *BlobStore) List(ctx context.Context) ([]string, error) {
	ids := []string{}
	err := s.listNames(ctx, s.prefix, func(name string) {
		rest := strings.TrimPrefix(name, s.prefix)
		if id, ok := strings.CutSuffix(rest, recordSuffix); ok && ValidDeploymentID(id) {
			ids = append(ids, id)
		}
	})
	sort.Strings(ids)
	return ids, err
}

func (s *BlobStore) listNames(ctx context.Context, prefix string, fn func(string)) error {
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil
		}
		if err != nil {
			return s.blobError("listing "+prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name != nil {
				fn(*b.Name)
			}
		}
	}
	return nil
}

// Archive copies the record of id, with all its events, to
// <prefix>history/<id>-<UTC time>.yaml, then deletes the record and its log.
func (s *BlobStore) Archive(ctx context.Context, id string) (string, error) {
	if !ValidDeploymentID(id) {
		return "", fmt.Errorf("archiving a deployment: %w", invalidIDError(id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[id] == nil {
		l, err := s.lockLocked(ctx, id)
		if err != nil {
			return "", err
		}
		defer func() { _ = l.releaseLocked() }()
	}
	now := s.now().UTC()
	var out []byte
	rec, err := s.Load(ctx, id)
	etag, logFile := "", ""
	switch {
	case err == nil:
		etag = rec.version
		if rec.EventLog != nil {
			logFile = rec.EventLog.File
		}
		if sum, err := s.LoadSummary(ctx, id); err == nil && sum.EventLog != nil {
			logFile = sum.EventLog.File
		}
		rec.ArchivedAt = &now
		if out, err = encodeRecord(rec); err != nil {
			return "", fmt.Errorf("archiving deployment %s: %w", id, err)
		}
	case errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("archiving deployment %s: %w", id, err)
	default:
		// A record that cannot be read is archived as it is.
		data, tag, ok, derr := s.download(ctx, s.recordName(id), 0)
		if derr != nil || !ok {
			return "", fmt.Errorf("archiving deployment %s: %w", id, err)
		}
		out, etag = data, tag
	}
	base := s.prefix + historyBlobFolder + id + "-" + now.Format(historyTimeLayout)
	dst := base + recordSuffix
	for n := 2; ; n++ {
		_, err := s.upload(ctx, dst, out, "")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConflict) || n > 50 {
			return "", fmt.Errorf("archiving deployment %s: %w", id, err)
		}
		dst = fmt.Sprintf("%s-%d%s", base, n, recordSuffix)
	}
	if err := s.delete(ctx, s.recordName(id), etag); err != nil {
		return s.url + "/" + dst, fmt.Errorf("deployment %s was archived to %s, but removing its record failed: %w", id, s.url+"/"+dst, err)
	}
	if logFile != "" {
		_ = s.delete(ctx, s.prefix+logFile, "")
	}
	return s.url + "/" + dst, nil
}

// History lists the archived records, newest first.
func (s *BlobStore) History(ctx context.Context) ([]HistoryEntry, error) {
	var names []string
	if err := s.listNames(ctx, s.prefix+historyBlobFolder, func(n string) { names = append(names, n) }); err != nil {
		return nil, err
	}
	out := []HistoryEntry{}
	for _, name := range names {
		id, at, ok := parseHistoryName(path.Base(name))
		if !ok {
			continue
		}
		h := HistoryEntry{ID: id, ArchivedAt: at, Path: s.url + "/" + name}
		data, _, _, err := s.download(ctx, name, 0)
		var r *Record
		if err == nil {
			r, err = decodeStored(data)
		}
		if err != nil {
			h.Error, h.Status = err.Error(), "UNREADABLE"
			out = append(out, h)
			continue
		}
		h.Name = r.Name
		if r.ArchivedAt != nil {
			h.ArchivedAt = r.ArchivedAt.UTC()
		}
		h.Status, h.Summary, h.PhaseCounts = r.Overall(), r.PhaseSummary(), r.PhaseCounts()
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

// Lock takes the lease of deployment id's lock blob, or fails at once with
// *LockError naming the holder and when its lease runs out. The lease is
// renewed in the background until Unlock.
func (s *BlobStore) Lock(ctx context.Context, id string) (Unlocker, error) {
	if !ValidDeploymentID(id) {
		return nil, fmt.Errorf("locking a deployment: %w", invalidIDError(id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockLocked(ctx, id)
}

// Holder reads who holds the lock of id, without taking it: nil when
// nobody does; Running is false when the holder's lease ran out without
// being released (the command died).
func (s *BlobStore) Holder(id string) (*LockHolder, error) {
	e, leased, err := s.readHolder(context.Background(), id)
	if err != nil || e == nil {
		return nil, err
	}
	return &LockHolder{LockInfo: LockInfo{DeploymentID: id, PID: e.PID, Host: e.Host, Since: e.Since, User: e.User, Command: e.Command},
		Running: leased, Expires: e.Expires}, nil
}

// readHolder reads the lock blob of id: the holder its metadata names (nil
// when none) and whether its lease is held now.
func (s *BlobStore) readHolder(ctx context.Context, id string) (*LockError, bool, error) {
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	props, err := s.cc.NewBlobClient(s.lockName(id)).GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.blobError("reading the lock of "+id, err)
	}
	leased := props.LeaseState != nil && *props.LeaseState == lease.StateTypeLeased
	if info, _, _ := parseHolder(props.Metadata); info.PID == 0 && !leased {
		return nil, false, nil
	}
	return s.holderError(id, props.Metadata), leased, nil
}

func (s *BlobStore) holderError(id string, meta map[string]*string) *LockError {
	info, renewed, secs := parseHolder(meta)
	e := &LockError{ID: id, Path: s.url + "/" + s.lockName(id), PID: info.PID, Host: info.Host, User: info.User,
		Command: info.Command, Since: info.Since, CheckedAt: s.now()}
	if secs > 0 && !renewed.IsZero() {
		e.Expires = renewed.Add(time.Duration(secs) * time.Second)
	} else {
		e.Expires = s.now().Add(MaxLeaseDuration) // at the latest
	}
	return e
}

func (s *BlobStore) lockLocked(ctx context.Context, id string) (*BlobLock, error) {
	if l := s.held[id]; l != nil {
		return nil, &LockError{ID: id, Path: s.url + "/" + s.lockName(id), PID: l.info.PID, Host: l.info.Host, User: l.info.User,
			Command: l.info.Command, Since: l.info.Since, CheckedAt: s.now(), Expires: s.now().Add(s.lease)}
	}
	if err := s.ensureContainer(ctx); err != nil {
		return nil, err
	}
	name := s.lockName(id)
	// The lock blob is made once and never deleted; making it again fails
	// harmlessly (it exists, or it is leased).
	if _, err := s.upload(ctx, name, nil, ""); err != nil && !errors.Is(err, ErrConflict) && !bloberror.HasCode(err, bloberror.LeaseIDMissing) {
		return nil, err
	}
	bb := s.cc.NewBlockBlobClient(name)
	leaseID := newLeaseID()
	lc, err := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: &leaseID})
	if err != nil {
		return nil, fmt.Errorf("locking deployment %s: %w", id, err)
	}
	actx, cancel := reqCtx(ctx)
	_, err = lc.AcquireLease(actx, int32(s.lease/time.Second), nil)
	cancel()
	if bloberror.HasCode(err, bloberror.LeaseAlreadyPresent) {
		h, _, herr := s.readHolder(ctx, id)
		if herr != nil {
			return nil, herr
		}
		if h == nil {
			h = &LockError{ID: id, Path: s.url + "/" + name, CheckedAt: s.now()}
		}
		return nil, h
	}
	if err != nil {
		return nil, s.blobError("taking the lease of "+name, err)
	}
	l := &BlobLock{store: s, id: id, lc: lc, bb: bb, leaseID: leaseID, stop: make(chan struct{}), done: make(chan struct{})}
	// Metadata left behind names a holder that never released its lease:
	// it died, and its lease ran out.
	pctx, cancel := reqCtx(ctx)
	props, err := bb.GetProperties(pctx, nil)
	cancel()
	if err == nil {
		if prev, _, _ := parseHolder(props.Metadata); prev.PID != 0 {
			prev.DeploymentID = id
			l.prev = &prev
		}
	}
	l.info = LockInfo{DeploymentID: id, PID: s.pid, Host: s.host, User: s.user, Command: s.command, Since: s.now().UTC()}
	if err := l.writeHolder(ctx, l.info.Since); err != nil {
		_, _ = lc.ReleaseLease(context.WithoutCancel(ctx), nil)
		return nil, err
	}
	s.held[id] = l
	go l.renew()
	return l, nil
}

func parseHolder(meta map[string]*string) (info LockInfo, renewed time.Time, seconds int) {
	get := func(k string) string {
		for mk, v := range meta {
			if strings.EqualFold(mk, k) && v != nil {
				return *v
			}
		}
		return ""
	}
	info.User, info.Host, info.Command = get(metaUser), get(metaHost), get(metaCommand)
	info.PID, _ = strconv.Atoi(get(metaPID))
	info.Since, _ = time.Parse(time.RFC3339, get(metaSince))
	renewed, _ = time.Parse(time.RFC3339, get(metaRenewed))
	seconds, _ = strconv.Atoi(get(metaSeconds))
	return info, renewed, seconds
}

// BlobLock is a lease taken by BlobStore.Lock.
type BlobLock struct {
	store   *BlobStore
	id      string
	lc      *lease.BlobClient
	bb      *blockblob.Client
	leaseID string
	info    LockInfo
	prev    *LockInfo

	stop, done chan struct{}
	mu         sync.Mutex
	lostErr    error
	released   bool
}

var _ LockTakeover = (*BlobLock)(nil)

// Info says who holds this lock (this process).
func (l *BlobLock) Info() LockInfo { return l.info }

// Previous names the holder whose expired lease was taken over, or is nil.
func (l *BlobLock) Previous() *LockInfo {
	if l.prev == nil {
		return nil
	}
	p := *l.prev
	return &p
}

func (l *BlobLock) leaseCond() *blob.AccessConditions {
	return &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &l.leaseID}}
}

// writeHolder records the holder (and when the lease was last renewed) as
// the lock blob's metadata.
func (l *BlobLock) writeHolder(ctx context.Context, renewed time.Time) error {
	meta := map[string]*string{
		metaUser:    to(l.info.User),
		metaHost:    to(l.info.Host),
		metaPID:     to(strconv.Itoa(l.info.PID)),
		metaCommand: to(l.info.Command),
		metaSince:   to(l.info.Since.UTC().Format(time.RFC3339)),
		metaRenewed: to(renewed.UTC().Format(time.RFC3339)),
		metaSeconds: to(strconv.Itoa(int(l.store.lease / time.Second))),
	}
	ctx, cancel := reqCtx(ctx)
	defer cancel()
	if _, err := l.bb.SetMetadata(ctx, meta, &blob.SetMetadataOptions{AccessConditions: l.leaseCond()}); err != nil {
		return l.store.blobError("writing the holder of the lock of "+l.id, err)
	}
	return nil
}

// renew keeps the lease until Unlock, renewing it at a third of its
// duration, so that two renewals can fail before it runs out.
func (l *BlobLock) renew() {
	defer close(l.done)
	t := time.NewTicker(l.store.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.store.lease/3)
		_, err := l.lc.RenewLease(ctx, nil)
		if err == nil {
			err = l.writeHolder(ctx, l.store.now())
		}
		cancel()
		if err != nil && bloberror.HasCode(err, bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseNotPresentWithLeaseOperation, bloberror.LeaseIsBrokenAndCannotBeRenewed, bloberror.LeaseLost) {
			l.mu.Lock()
			l.lostErr = fmt.Errorf("the lease of %s was lost (%w); another command may have taken the deployment over", l.id, err)
			l.mu.Unlock()
			return
		}
	}
}

// lost says why the lease is no longer held, nil while it is.
func (l *BlobLock) lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// Unlock stops renewing, clears the holder and releases the lease. It is
// safe to call more than once.
func (l *BlobLock) Unlock() error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	return l.releaseLocked()
}

func (l *BlobLock) releaseLocked() error {
	if l.released {
		return nil
	}
	l.released = true
	if l.store.held[l.id] == l {
		delete(l.store.held, l.id)
	}
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), blobRequestTimeout)
	defer cancel()
	_, _ = l.bb.SetMetadata(ctx, map[string]*string{}, &blob.SetMetadataOptions{AccessConditions: l.leaseCond()})
	if _, err := l.lc.ReleaseLease(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseNotPresentWithLeaseOperation) {
		return l.store.blobError("releasing the lease of "+l.store.lockName(l.id), err)
	}
	return nil
}

// newLeaseID returns a random UUID, the form lease ids take.
func newLeaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown-user"
}

func to[T any](v T) *T { return &v }
