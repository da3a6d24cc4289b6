package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewFileStoreLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Opening, listing and reading create nothing (read-only commands).
	if ids, err := s.List(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("List of a folder never written: %v, %v", ids, err)
	}
	if _, err := s.Load(context.Background(), "k0rdent-abc12345"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load of a folder never written: %v", err)
	}
	if h, err := s.History(context.Background()); err != nil || len(h) != 0 {
		t.Errorf("History of a folder never written: %v, %v", h, err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening and reading the store created %s: %v", filepath.Dir(dir), err)
	}
	// The first write creates the folder and its sub-folders, 0700.
	id := "k0rdent-abc12345"
	if err := s.Save(context.Background(), New(id, "layout", time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", "history", "kubeconfigs", "secrets"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s/%s not created 0700 by the first save: %v", dir, sub, err)
		}
	}
	for got, want := range map[string]string{
		s.Location(id):                      filepath.Join(dir, id+".yaml"),
		s.KubeconfigPath("regional-useast"): filepath.Join(dir, "kubeconfigs", "regional-useast.kubeconfig"),
		s.KubeconfigPath("a/../b"):          filepath.Join(dir, "kubeconfigs", "a_.._b.kubeconfig"),
		s.SecretsDir():                      filepath.Join(dir, "secrets"),
		s.HistoryDir():                      filepath.Join(dir, "history"),
		s.Dir():                             dir,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}

	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(file); err == nil || !strings.Contains(err.Error(), "--state-dir") {
		t.Errorf("NewFileStore on a file: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = clock.now
	r := fullRecord(t)
	if err := s.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !r.UpdatedAt.Equal(clock.t) {
		t.Errorf("Save set UpdatedAt to %v, want %v", r.UpdatedAt, clock.t)
	}
	got, err := s.Load(ctx, r.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "loaded record", got, r)

	data, _ := os.ReadFile(s.Location(r.DeploymentID))
	for _, key := range []string{"deployment_id: k0rdent-7fq2m1xz", "k0rdent_regional:", "region_crd_created: true", "cluster_deployment_created: false", "status: failed", "health_checked_at:"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("record file lacks %q:\n%s", key, data)
		}
	}
	// No lock file is left behind by a Save that took the lock for itself.
	if _, err := os.Stat(filepath.Join(s.Dir(), r.DeploymentID+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after Save: %v", err)
	}
	ids, err := s.List(ctx)
	if err != nil || len(ids) != 1 || ids[0] != r.DeploymentID {
		t.Errorf("List = %v, %v", ids, err)
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := "k0rdent-abc12345"

	_, err := s.Load(ctx, id)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), s.Location(id)) {
		t.Errorf("missing record: %v", err)
	}
	if _, err := s.Load(ctx, "../etc/passwd"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not a deployment id") {
		t.Errorf("bad id: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Load(cancelled, id); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	for name, tc := range map[string]struct{ content, want string }{
		"empty":      {"", "empty"},
		"not yaml":   {"deployment_id: [unclosed", "not valid YAML"},
		"no schema":  {"deployment_id: " + id + "\n", "no schema_version"},
		"newer":      {"schema_version: 7\ndeployment_id: " + id + "\n", "upgrade k0rdentctl"},
		"other id":   {"schema_version: 1\ndeployment_id: k0rdent-zzzzzzzz\n", `holds deployment "k0rdent-zzzzzzzz"`},
		"wrong type": {"schema_version: 1\ndeployment_id: " + id + "\nphases: 3\n", "not valid YAML"},
	} {
		if err := os.WriteFile(s.Location(id), []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(ctx, id)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), s.Location(id)) {
			t.Errorf("%s: got %v, want an error naming the file and saying %q", name, err, tc.want)
		}
	}
}

func TestSaveRefuses(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	r := New(NewDeploymentID(), "x", time.Now())

	r.Config.Content = "ssh:\n  key: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    b3BlbnNzaC1rZXk=\n"
	if err := s.Save(ctx, r); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("record with a private key: %v", err)
	}
	r.Config.Content = ""
	r.Management.Server = "client-key-data: LS0tLS1CRUdJTi=="
	if err := s.Save(ctx, r); err == nil || !strings.Contains(err.Error(), "kubeconfig client key") {
		t.Errorf("record with a kubeconfig key: %v", err)
	}
	if _, err := os.Stat(s.Location(r.DeploymentID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused record was written: %v", err)
	}

	r.Management.Server = ""
	r.SchemaVersion = 9
	if err := s.Save(ctx, r); err == nil || !strings.Contains(err.Error(), "schema_version 9") {
		t.Errorf("newer schema: %v", err)
	}
	r.SchemaVersion = 0 // unset: filled in
	if err := s.Save(ctx, r); err != nil || r.SchemaVersion != SchemaVersion {
		t.Errorf("unset schema: %v, version %d", err, r.SchemaVersion)
	}
	bad := New("prod", "x", time.Now())
	if err := s.Save(ctx, bad); err == nil || !strings.Contains(err.Error(), `"prod" is not a deployment id`) {
		t.Errorf("bad id: %v", err)
	}
	if err := s.Save(ctx, nil); err == nil {
		t.Error("nil record saved")
	}
}

func TestLockInProcess(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := NewDeploymentID()
	lockPath := filepath.Join(s.Dir(), id+".lock")

	u, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := parseLockInfo(mustRead(t, lockPath))
	if !ok || info.PID != os.Getpid() || info.Host != hostname() || info.DeploymentID != id {
		t.Errorf("lock file says %+v", info)
	}
	if p := u.(LockTakeover).Previous(); p != nil {
		t.Errorf("fresh lock reports a previous holder %+v", p)
	}

	// The same store, and another store on the same folder, are refused.
	var le *LockError
	if _, err := s.Lock(ctx, id); !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Errorf("second Lock on the same store: %v", err)
	}
	other, err := NewFileStore(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lock(ctx, id); !errors.As(err, &le) || le.PID != os.Getpid() || le.Host != hostname() {
		t.Errorf("Lock from another store: %v", err)
	}
	if err := other.Save(ctx, New(id, "x", time.Now())); !errors.As(err, &le) {
		t.Errorf("Save from another store while locked: %v", err)
	}
	if _, err := other.Archive(ctx, id); !errors.As(err, &le) {
		t.Errorf("Archive from another store while locked: %v", err)
	}
	// The holder itself saves under its lock.
	if err := s.Save(ctx, New(id, "x", time.Now())); err != nil {
		t.Errorf("Save by the lock holder: %v", err)
	}
	// Other deployments are not affected.
	if u2, err := other.Lock(ctx, NewDeploymentID()); err != nil {
		t.Errorf("Lock of another deployment: %v", err)
	} else {
		_ = u2.Unlock()
	}

	if err := u.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := u.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if _, err := os.Stat(lockPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Unlock: %v", err)
	}
	u, err = other.Lock(ctx, id)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	_ = u.Unlock()

	if _, err := s.Lock(ctx, "nope"); err == nil || errors.As(err, &le) {
		t.Errorf("Lock of a bad id: %v", err)
	}
}

func TestLockRemovesStaleTempFiles(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	r := saveNew(t, s, "x")
	stale := filepath.Join(s.Dir(), "."+r.DeploymentID+".yaml.tmp-12345")
	otherTemp := filepath.Join(s.Dir(), ".k0rdent-zzzzzzzz.yaml.tmp-1")
	for _, p := range []string{stale, otherTemp} {
		if err := os.WriteFile(p, []byte("schema_version: 1\ndeploym"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := s.List(ctx)
	if len(ids) != 1 {
		t.Errorf("List counts temporary files: %v", ids)
	}
	u, err := s.Lock(ctx, r.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Unlock()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(otherTemp); err != nil {
		t.Errorf("another deployment's temporary file was removed: %v", err)
	}
}

func TestLockErrorMessage(t *testing.T) {
	since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e := &LockError{Path: "state/k0rdent-abc12345.lock", PID: 4242, Host: "h", Since: since, CheckedAt: since.Add(12 * time.Second)}
	want := "deployment k0rdent-abc12345 is locked by pid 4242 on host h since 2026-03-01T10:00:00Z (12s ago); wait for it to finish, or if that process is gone, run the command again (a dead holder's lock is taken over)"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	e.CheckedAt = since.Add(2*time.Hour + 3*time.Minute + 4*time.Second + 600*time.Millisecond)
	if !strings.Contains(e.Error(), "(2h3m5s ago)") {
		t.Errorf("long wait: %s", e.Error())
	}
	unknown := &LockError{ID: "k0rdent-abc12345", Path: "state/k0rdent-abc12345.lock"}
	if msg := unknown.Error(); !strings.Contains(msg, "locked by another process") || !strings.Contains(msg, unknown.Path) {
		t.Errorf("holder unknown: %s", msg)
	}
}

func TestArchiveAndHistory(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = clock.now

	if h, err := s.History(ctx); err != nil || len(h) != 0 || h == nil {
		t.Errorf("empty history = %#v, %v", h, err)
	}
	done := saveNew(t, s, "alpha", PhaseCompleted, PhaseCompleted, PhaseSkipped)
	failed := saveNew(t, s, "beta", PhaseCompleted, PhaseFailed, PhasePending)

	clock.advance(time.Minute)
	p1, err := s.Archive(ctx, done.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.HistoryDir(), done.DeploymentID+"-20260301T120100Z.yaml"); p1 != want {
		t.Errorf("archived to %s, want %s", p1, want)
	}
	// The same deployment again within the same second gets its own file.
	again := New(done.DeploymentID, "alpha", clock.t)
	if err := s.Save(ctx, again); err != nil {
		t.Fatal(err)
	}
	clock.advance(500 * time.Millisecond)
	p3, err := s.Archive(ctx, done.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.HistoryDir(), done.DeploymentID+"-20260301T120100Z-2.yaml"); p3 != want {
		t.Errorf("second archive in the same second went to %s, want %s", p3, want)
	}
	clock.advance(time.Minute)
	p2, err := s.Archive(ctx, failed.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List(ctx); len(ids) != 0 {
		t.Errorf("archived records still listed: %v", ids)
	}
	if _, err := s.Load(ctx, done.DeploymentID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Archive: %v", err)
	}
	if _, err := s.Archive(ctx, done.DeploymentID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Archive of a missing record: %v", err)
	}

	// Unrelated and unreadable files in history/.
	if err := os.WriteFile(filepath.Join(s.HistoryDir(), "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(s.HistoryDir(), "k0rdent-brokenxx-20250101T000000Z.yaml")
	if err := os.WriteFile(broken, []byte("{{{"), 0o600); err != nil {
		t.Fatal(err)
	}

	h, err := s.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 {
		t.Fatalf("History has %d entries, want 4: %+v", len(h), h)
	}
	wantOrder := []string{p2, p3, p1, broken}
	for i, e := range h {
		if e.Path != wantOrder[i] {
			t.Errorf("History[%d] = %s, want %s (newest first)", i, e.Path, wantOrder[i])
		}
	}
	if e := h[0]; e.ID != failed.DeploymentID || e.Name != "beta" || e.Status != OverallFailed ||
		!e.ArchivedAt.Equal(time.Date(2026, 3, 1, 12, 2, 0, 500_000_000, time.UTC)) ||
		e.Summary != "1 pending, 1 completed, 1 failed (phase-b)" || e.PhaseCounts[PhaseFailed] != 1 {
		t.Errorf("entry of the failed deployment: %+v", e)
	}
	if e := h[2]; e.Status != OverallDeployed || e.Summary != "2 completed, 1 skipped" {
		t.Errorf("entry of the deployed one: %+v", e)
	}
	if e := h[1]; e.Status != OverallNotDeployed || !e.ArchivedAt.Equal(time.Date(2026, 3, 1, 12, 1, 0, 500_000_000, time.UTC)) {
		t.Errorf("entry of the re-created record (archived_at from inside the record): %+v", e)
	}
	if e := h[3]; e.Error == "" || e.ID != "k0rdent-brokenxx" || e.Status != "UNREADABLE" {
		t.Errorf("unreadable entry: %+v", e)
	}
	// The archived record is whole and says when it was archived.
	rec, err := decodeStored(mustRead(t, p2))
	if err != nil || rec.ArchivedAt == nil || rec.DeploymentID != failed.DeploymentID || len(rec.Phases) != 3 {
		t.Errorf("archived record: %+v, %v", rec, err)
	}
}

func TestParseHistoryName(t *testing.T) {
	for name, ok := range map[string]bool{
		"k0rdent-abc12345-20260301T120000Z.yaml":        true,
		"k0rdent-abc12345-20260301T120000Z-12.yaml":     true,
		"k0rdent-abc12345-20260301T120000Z-.yaml":       false,
		"k0rdent-abc12345-20260301T120000Zx.yaml":       false,
		"k0rdent-abc12345-2026030.yaml":                 false,
		"k0rdent-ABC12345-20260301T120000Z.yaml":        false,
		".k0rdent-abc12345-20260301T120000Z.yaml.tmp-1": false,
	} {
		if _, _, got := parseHistoryName(name); got != ok {
			t.Errorf("%s: %v, want %v", name, got, ok)
		}
	}
}

func TestFindCurrent(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := FindCurrent(ctx, s, "x"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), s.Dir()) {
		t.Errorf("empty store: %v", err)
	}
	a := saveNew(t, s, "alpha")
	// One record: it, whatever its name.
	for _, name := range []string{"", "alpha", "other"} {
		if id, err := FindCurrent(ctx, s, name); err != nil || id != a.DeploymentID {
			t.Errorf("one record, name %q: %s, %v", name, id, err)
		}
	}
	b := saveNew(t, s, "beta")
	if id, err := FindCurrent(ctx, s, "beta"); err != nil || id != b.DeploymentID {
		t.Errorf("two records, name beta: %s, %v", id, err)
	}
	for name, why := range map[string]string{"gamma": `none is named "gamma"`, "": "no metadata.name"} {
		_, err := FindCurrent(ctx, s, name)
		if !errors.Is(err, ErrAmbiguous) {
			t.Errorf("name %q: %v, want ErrAmbiguous", name, err)
			continue
		}
		for _, want := range []string{a.DeploymentID, b.DeploymentID, `"alpha"`, why, "--deployment ID", "k0rdentctl state archive ID"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("name %q: message %q lacks %q", name, err, want)
			}
		}
	}
	saveNew(t, s, "beta")
	if _, err := FindCurrent(ctx, s, "beta"); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), `2 are named "beta"`) {
		t.Errorf("two named beta: %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "x.kubeconfig")
	for _, content := range []string{"first", "second, longer content"} {
		if err := WriteFileAtomic(ctx, p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got := string(mustRead(t, p)); got != content {
			t.Errorf("got %q, want %q", got, content)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// A missing folder is created, owner only (kubeconfigs/, secrets/).
	missing := filepath.Join(t.TempDir(), "missing", "x")
	if err := WriteFileAtomic(ctx, missing, []byte("k")); err != nil {
		t.Fatalf("write into a missing folder: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(missing)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("folder made for %s: %v, %v", missing, fi, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
