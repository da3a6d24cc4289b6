package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Where says where s keeps its records, for messages.
func Where(s Store) string { return storeWhere(s) }

// archive is one archived record, as stored.
type archive struct {
	name string // base name: <id>-<UTC time>[-n].yaml
	data []byte
}

// mover is what Migrate needs of a store beyond Store.
type mover interface {
	archives(ctx context.Context) ([]archive, error)
	putArchive(ctx context.Context, a archive) error
	removeArchive(ctx context.Context, name string) error
	remove(ctx context.Context, id string) error
}

// MigrateResult says what Migrate moved.
type MigrateResult struct {
	Records  []string `json:"records"`
	Archives []string `json:"archives"`
	From     string   `json:"from"`
	To       string   `json:"to"`
}

// Migrate moves every record (with all its events) and every archived
// record from src to dst. Each copy is read back and compared with its
// source before anything is removed from src; a record that dst already has
// is refused (nothing is moved). The records are locked in src and dst while
// they move.
func Migrate(ctx context.Context, src, dst Store) (*MigrateResult, error) {
	from, okf := Unwrap(src).(mover)
	to, okt := Unwrap(dst).(mover)
	if !okf || !okt {
		return nil, errors.New("migrating: one of the stores cannot move records")
	}
	res := &MigrateResult{From: Where(src), To: Where(dst), Records: []string{}, Archives: []string{}}
	ids, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := dst.LoadSummary(ctx, id); err == nil {
			return nil, fmt.Errorf("migrating: %s already has a record of %s (%s); nothing was moved. Archive or remove it there first", res.To, id, dst.Location(id))
		} else if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("migrating: %w", err)
		}
	}
	var unlock []Unlocker
	defer func() {
		for _, u := range unlock {
			_ = u.Unlock()
		}
	}()
	for _, id := range ids {
		for _, s := range []Store{src, dst} {
			l, err := s.Lock(ctx, id)
			if err != nil {
				return nil, err
			}
			unlock = append(unlock, l)
		}
	}
	// Copy and verify everything first.
	for _, id := range ids {
		rec, err := src.Load(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("migrating %s: %w", id, err)
		}
		want, err := copyKey(rec)
		if err != nil {
			return nil, err
		}
		cp := rec.Clone()
		cp.detach()
		if err := dst.Save(ctx, cp); err != nil {
			return nil, fmt.Errorf("migrating %s: writing the copy: %w; the source %s is unchanged", id, err, src.Location(id))
		}
		got, err := dst.Load(ctx, id)
		if err == nil {
			var g []byte
			if g, err = copyKey(got); err == nil && !bytes.Equal(g, want) {
				err = errors.New("the copy differs from the source")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("migrating %s: verifying the copy at %s: %w; the source %s is unchanged", id, dst.Location(id), err, src.Location(id))
		}
		res.Records = append(res.Records, id)
	}
	archives, err := from.archives(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range archives {
		if err := to.putArchive(ctx, a); err != nil {
			return nil, fmt.Errorf("migrating the archived record %s: %w; the source is unchanged", a.name, err)
		}
		res.Archives = append(res.Archives, a.name)
	}
	copied, err := to.archives(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string][]byte{}
	for _, a := range copied {
		have[a.name] = a.data
	}
	for _, a := range archives {
		if !bytes.Equal(have[a.name], a.data) {
			return nil, fmt.Errorf("migrating the archived record %s: the copy differs from the source; the source is unchanged", a.name)
		}
	}
	// Verified: only now remove the source.
	for _, id := range ids {
		if err := from.remove(ctx, id); err != nil {
			return res, fmt.Errorf("migrated and verified %s, but removing it from %s failed: %w", id, res.From, err)
		}
	}
	for _, a := range archives {
		if err := from.removeArchive(ctx, a.name); err != nil {
			return res, fmt.Errorf("migrated and verified %s, but removing it from %s failed: %w", a.name, res.From, err)
		}
	}
	return res, nil
}

// copyKey is the part of a record a copy must keep: all of it but when
// it was last written.
func copyKey(r *Record) ([]byte, error) {
	c := r.Clone()
	c.UpdatedAt = c.CreatedAt
	return json.Marshal(c)
}

func (s *FileStore) archives(ctx context.Context) ([]archive, error) {
	entries, err := os.ReadDir(s.HistoryDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []archive
	for _, e := range entries {
		if _, _, ok := parseHistoryName(e.Name()); !ok || e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.HistoryDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, archive{name: e.Name(), data: data})
	}
	return out, ctx.Err()
}

func (s *FileStore) putArchive(ctx context.Context, a archive) error {
	if err := os.MkdirAll(s.HistoryDir(), 0o700); err != nil {
		return err
	}
	dst := filepath.Join(s.HistoryDir(), a.name)
	if fileExists(dst) {
		return fmt.Errorf("%s already exists", dst)
	}
	return WriteFileAtomic(ctx, dst, a.data)
}

func (s *FileStore) removeArchive(_ context.Context, name string) error {
	return os.Remove(filepath.Join(s.HistoryDir(), name))
}

func (s *FileStore) remove(ctx context.Context, id string) error {
	sum, err := s.LoadSummary(ctx, id)
	if err != nil {
		return err
	}
	if err := os.Remove(s.Location(id)); err != nil {
		return err
	}
	if sum.EventLog != nil {
		_ = os.Remove(filepath.Join(s.dir, sum.EventLog.File))
	}
	return syncDir(s.dir)
}

func (s *BlobStore) archives(ctx context.Context) ([]archive, error) {
	var names []string
	if err := s.listNames(ctx, s.prefix+historyBlobFolder, func(n string) { names = append(names, n) }); err != nil {
		return nil, err
	}
	var out []archive
	for _, n := range names {
		base := path.Base(n)
		if _, _, ok := parseHistoryName(base); !ok {
			continue
		}
		data, _, _, err := s.download(ctx, n, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, archive{name: base, data: data})
	}
	return out, nil
}

func (s *BlobStore) putArchive(ctx context.Context, a archive) error {
	if err := s.ensureContainer(ctx); err != nil {
		return err
	}
	_, err := s.upload(ctx, s.prefix+historyBlobFolder+a.name, a.data, "")
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%s already exists", s.url+"/"+s.prefix+historyBlobFolder+a.name)
	}
	return err
}

func (s *BlobStore) removeArchive(ctx context.Context, name string) error {
	return s.delete(ctx, s.prefix+historyBlobFolder+name, "")
}

func (s *BlobStore) remove(ctx context.Context, id string) error {
	sum, err := s.LoadSummary(ctx, id)
	if err != nil {
		return err
	}
	if err := s.delete(ctx, s.recordName(id), sum.version); err != nil {
		return err
	}
	if sum.EventLog != nil && strings.HasPrefix(sum.EventLog.File, id) {
		_ = s.delete(ctx, s.prefix+sum.EventLog.File, "")
	}
	return nil
}
