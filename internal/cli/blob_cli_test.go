package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/azurite"
)

// TestAzureBlobBackendCommands runs the commands on state.backend:
// azure_blob against Azurite: the records move there and back with state
// migrate, status and events read them, status names the backend and the
// lock's holder, a held lease refuses a command with exit 3 (naming the
// holder and when the lease runs out) and --wait-for-lock waits for it.
func TestAzureBlobBackendCommands(t *testing.T) {
	srv := azurite.Start(t)
	t.Setenv(state.EnvStorageConnectionString, srv.ConnectionString())
	t.Setenv(EnvLeaseDuration, "15s")
	dir, flags := workdir(t, "minimal")
	sd := filepath.Join(dir, "state")
	cfgPath := filepath.Join(dir, "k0rdent.yaml")
	rec := seedRecord(t, sd, "demo", nil)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, []byte("\nstate:\n  backend: azure_blob\n  azure_blob:\n    storage_account: devstoreaccount1\n    container: records\n    prefix: team-a/\n    endpoint: "+srv.Endpoint()+"\n")...)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) result { return run(t, append(args, flags...)...) }

	if r := cmd("state", "migrate", "--to", "azure_blob"); r.code != 0 || !strings.Contains(r.out, "Moved 1 records") {
		t.Fatalf("migrate --to azure_blob: %d %s %s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(sd, rec.DeploymentID+".yaml")); !os.IsNotExist(err) {
		t.Fatalf("the local record is still there after a verified migration: %v", err)
	}
	r := cmd("status", "-o", "json")
	var st statusView
	// The seeded deployment has a failed phase: status exits 1.
	if r.code != ExitFailed || json.Unmarshal([]byte(r.out), &st) != nil {
		t.Fatalf("status: %d %s %s", r.code, r.out, r.err)
	}
	if st.DeploymentID != rec.DeploymentID || st.Backend.Name != "azure_blob" || !strings.HasPrefix(st.Backend.Location, srv.Endpoint()+"/records/team-a/") || st.Backend.Lock != nil {
		t.Fatalf("status on the blob backend: %+v", st)
	}
	if st.Events != len(rec.Events) || len(st.RecentEvents) == 0 || len(st.RecentEvents) > statusRecentEvents ||
		st.RecentEvents[len(st.RecentEvents)-1].Message != rec.Events[len(rec.Events)-1].Message {
		t.Fatalf("status events: %d (want %d), recent %+v", st.Events, len(rec.Events), st.RecentEvents)
	}
	r = cmd("events", "-o", "json")
	var ev struct{ Events []state.Event }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &ev) != nil || len(ev.Events) != len(rec.Events) {
		t.Fatalf("events: %d, %d events (want %d): %s", r.code, len(ev.Events), len(rec.Events), r.err)
	}
	r = cmd("state", "show-backend", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"credentials": "AZURE_STORAGE_CONNECTION_STRING"`) || !strings.Contains(r.out, `"backend": "azure_blob"`) {
		t.Fatalf("show-backend: %d %s %s", r.code, r.out, r.err)
	}

	// Another operator holds the lease.
	c, err := srv.Client("records")
	if err != nil {
		t.Fatal(err)
	}
	other, err := state.NewBlobStore(state.BlobStoreOptions{Client: c, Prefix: "team-a/", LeaseDuration: 15 * time.Second, Command: "k0rdentctl deploy"})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := other.Lock(context.Background(), rec.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "export.yaml")
	if r := cmd("state", "export", "--file", export); r.code != 0 {
		t.Fatalf("export under a lock: %d %s", r.code, r.err)
	}
	r = cmd("state", "import", export, "--force")
	if r.code != ExitRefused || !strings.Contains(r.err, "(k0rdentctl deploy)") || !strings.Contains(r.err, "lease runs out at") {
		t.Fatalf("a command under another's lease: want exit 3 naming the holder and the lease's end, got %d: %s", r.code, r.err)
	}
	r = cmd("status", "-o", "json")
	st = statusView{}
	if r.code != ExitFailed || json.Unmarshal([]byte(r.out), &st) != nil || st.Backend.Lock == nil || !strings.Contains(st.Backend.Lock.Holder, "k0rdentctl deploy") || st.Backend.Lock.Expires == nil {
		t.Fatalf("status does not name the lock's holder: %s %s", r.out, r.err)
	}
	done := make(chan result, 1)
	go func() { done <- cmd("--wait-for-lock", "1m", "state", "import", export, "--force") }()
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("--wait-for-lock: %d %s", r.code, r.err)
	}

	if r := cmd("state", "migrate", "--to", "local"); r.code != 0 {
		t.Fatalf("migrate --to local: %d %s", r.code, r.err)
	}
	s, _ := state.NewFileStore(sd)
	got, err := s.Load(context.Background(), rec.DeploymentID)
	if err != nil || len(got.Events) != len(rec.Events) || len(got.Phases) != len(rec.Phases) {
		t.Fatalf("after migrating back: %v", err)
	}
	if ids, err := other.List(context.Background()); err != nil || len(ids) != 0 {
		t.Fatalf("records left in the container after migrating back: %v %v", ids, err)
	}
}
