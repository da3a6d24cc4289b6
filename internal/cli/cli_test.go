package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

type result struct {
	out, err string
	code     int
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, BuildInfo{Version: "v0.0.0-test", Commit: "abc1234"})
	return result{out.String(), errOut.String(), code}
}

// workdir makes a folder with a configuration from a template and returns
// the -c and --state-dir flags for it.
func workdir(t *testing.T, template string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	if r := run(t, "config", "init", "--template", template, "-c", cfg); r.code != 0 {
		t.Fatalf("config init: code %d: %s", r.code, r.err)
	}
	return dir, []string{"-c", cfg, "--state-dir", filepath.Join(dir, "state")}
}

func TestVersion(t *testing.T) {
	r := run(t, "version", "-o", "json")
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.err)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r.out)
	}
	if v["version"] != "v0.0.0-test" || v["commit"] != "abc1234" || v["k0rdent_version"] != "1.5.0" {
		t.Fatalf("unexpected version output: %v", v)
	}
}

func TestInitValidatePlanProduction(t *testing.T) {
	dir, flags := workdir(t, "production")
	first, err := os.ReadFile(filepath.Join(dir, "k0rdent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(first), "# yaml-language-server: $schema=./"+config.SchemaFileName) {
		t.Errorf("first line does not point editors at the schema: %q", strings.SplitN(string(first), "\n", 2)[0])
	}
	if _, err := os.Stat(filepath.Join(dir, config.SchemaFileName)); err != nil {
		t.Errorf("schema not written beside the file: %v", err)
	}
	if r := run(t, append([]string{"config", "validate"}, flags...)...); r.code != 0 || !strings.Contains(r.out, "valid") {
		t.Fatalf("validate: code %d\n%s%s", r.code, r.out, r.err)
	}
	r := run(t, append([]string{"plan"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("plan: code %d\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"azure-preflight", "k0s-install", "Nothing was contacted or changed"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.out)
		}
	}
	// plan changes nothing: not even the state folder is created.
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Errorf("plan created the state folder")
	}
	r = run(t, append([]string{"plan", "-o", "json"}, flags...)...)
	var pv struct {
		Phases []struct {
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(r.out), &pv); err != nil || len(pv.Phases) == 0 || pv.Phases[0].Name != "azure-preflight" || len(pv.Phases[0].Actions) == 0 {
		t.Fatalf("plan -o json: %v\n%s", err, r.out)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	_, flags := workdir(t, "minimal")
	r := run(t, append([]string{"config", "init"}, flags...)...)
	if r.code != ExitRefused || !strings.Contains(r.err, "--force") {
		t.Fatalf("want exit 3 naming --force, got %d: %s", r.code, r.err)
	}
	if r := run(t, append([]string{"config", "init", "--force", "-t", "small"}, flags...)...); r.code != 0 {
		t.Fatalf("--force: %d %s", r.code, r.err)
	}
	if r := run(t, append([]string{"config", "init", "--force", "-t", "no-such"}, flags...)...); r.code != ExitUsage || !strings.Contains(r.err, "production") {
		t.Fatalf("unknown template: want exit 2 listing the names, got %d: %s", r.code, r.err)
	}
}

func TestValidateSeedsWesteu(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k0rdent.yaml")
	flags := []string{"-c", path, "--state-dir", filepath.Join(dir, "state")}
	// The seed's own example, with its "westeu".
	seed := `metadata:
  name: seed-example
management:
  mode: existing
  kubeconfig: ./mgmt.kubeconfig
software:
  k0rdent:
    version: "1.5.0"
    regional:
      enabled: true
      clusters:
        - name: "regional-useast"
          location: "eastus"
          cluster_deployment_ref: "regional-cluster-useast"
          credential_propagation: true
          components: {cert_manager: true, velero: true, capi_providers: true}
        - name: "regional-westeu"
          location: "westeu"
          kubeconfig_secret: "external-westeu-cluster"
          credential_propagation: true
          components: {cert_manager: true, velero: true, capi_providers: true}
`
	if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, append([]string{"config", "validate"}, flags...)...)
	if r.code != ExitUsage {
		t.Fatalf("want exit 2, got %d\n%s%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, "software.k0rdent.regional.clusters[1].location") || !strings.Contains(r.err, `did you mean "westeurope"`) {
		t.Fatalf("no suggestion of westeurope with the field path:\n%s", r.err)
	}
	// plan refuses an invalid file the same way, and touches nothing.
	if r := run(t, append([]string{"plan"}, flags...)...); r.code != ExitUsage {
		t.Fatalf("plan on an invalid file: want 2, got %d", r.code)
	}
	r = run(t, append([]string{"config", "validate", "-o", "json"}, flags...)...)
	var v struct {
		Valid       bool `json:"valid"`
		Diagnostics []struct {
			Path string `json:"path"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.Valid || len(v.Diagnostics) == 0 {
		t.Fatalf("validate -o json: %v %s", err, r.out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":    {"status", "--no-such-flag"},
		"bad output":      {"version", "-o", "xml"},
		"extra argument":  {"status", "extra"},
		"missing config":  {"plan", "-c", filepath.Join(t.TempDir(), "none.yaml")},
		"bad since":       {"events", "--since", "yesterday-ish", "--state-dir", t.TempDir()},
		"import no args":  {"state", "import"},
		"unknown command": {"no-such-command"},
	} {
		t.Run(name, func(t *testing.T) {
			if r := run(t, args...); r.code != ExitUsage {
				t.Fatalf("want exit 2, got %d: %s", r.code, r.err)
			}
		})
	}
}

// seedRecord writes a deployment record as a run would leave it.
func seedRecord(t *testing.T, stateDir, name string, mutate func(*state.Record)) *state.Record {
	t.Helper()
	s, err := state.NewFileStore(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, err := state.OpenOrCreate(ctx, s, "", name)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name   string
		region string
		status state.PhaseStatus
		err    error
	}{
		{"preflight", "", state.PhaseCompleted, nil},
		{"k0rdent-install", "", state.PhaseCompleted, nil},
		{"region/regional-useast/region", "regional-useast", state.PhaseFailed, errors.New("Region regional-useast not ready: NotAllComponentsHealthy")},
	}
	for i, st := range steps {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := sess.RecordPhase(state.PhaseTransition{Name: st.name, Group: st.region, Status: state.PhaseInProgress, At: at}); err != nil {
			t.Fatal(err)
		}
		if err := sess.RecordPhase(state.PhaseTransition{Name: st.name, Group: st.region, Status: st.status, At: at.Add(30 * time.Second), Err: st.err}); err != nil {
			t.Fatal(err)
		}
	}
	if mutate != nil {
		if err := sess.Update(ctx, func(r *state.Record) error { mutate(r); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return sess.Snapshot()
}

func TestStatusAndEvents(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	flags := []string{"-c", filepath.Join(dir, "none.yaml"), "--state-dir", sd}

	r := run(t, append([]string{"status"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.out, "NOT DEPLOYED") || !strings.Contains(r.out, "config init") {
		t.Fatalf("status without a record: %d\n%s%s", r.code, r.out, r.err)
	}

	rec := seedRecord(t, sd, "demo", nil)
	r = run(t, append([]string{"status"}, flags...)...)
	if r.code != ExitFailed {
		t.Fatalf("status of a FAILED deployment: exit %d, want %d %s", r.code, ExitFailed, r.err)
	}
	// The failed phase is a region's: the next step retries the region.
	for _, want := range []string{rec.DeploymentID, "FAILED", "preflight", "k0rdent-install", "NotAllComponentsHealthy", "k0rdentctl region deploy regional-useast", "30.0s", "Timeline"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status lacks %q:\n%s", want, r.out)
		}
	}
	r = run(t, append([]string{"status", "-o", "json"}, flags...)...)
	var sv struct {
		DeploymentID string `json:"deployment_id"`
		Status       string `json:"status"`
		Phases       []struct {
			Name            string  `json:"name"`
			Status          string  `json:"status"`
			DurationSeconds float64 `json:"duration_seconds"`
		} `json:"phases"`
		Counts map[string]int `json:"counts"`
		Next   []string       `json:"next"`
	}
	if err := json.Unmarshal([]byte(r.out), &sv); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.out)
	}
	if sv.DeploymentID != rec.DeploymentID || sv.Status != "FAILED" || len(sv.Phases) != 3 || sv.Counts["completed"] != 2 || sv.Counts["failed"] != 1 || sv.Phases[0].DurationSeconds != 30 || len(sv.Next) == 0 {
		t.Fatalf("status -o json: %+v", sv)
	}

	r = run(t, append([]string{"events", "--region", "regional-useast", "-o", "json"}, flags...)...)
	var ev struct {
		Events []state.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.out), &ev); err != nil {
		t.Fatalf("events: %v %s", err, r.out)
	}
	if len(ev.Events) == 0 {
		t.Fatal("no events for the region")
	}
	for _, e := range ev.Events {
		if e.Region != "regional-useast" {
			t.Errorf("event of another region: %+v", e)
		}
	}
	r = run(t, append([]string{"events", "--phase", "preflight"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.out, "preflight") || strings.Contains(r.out, "k0rdent-install") {
		t.Fatalf("events --phase preflight:\n%s", r.out)
	}
	// preflight completed at 10:00:30, k0rdent-install at 10:01:30.
	r = run(t, append([]string{"events", "--type", "phase_completed", "--since", "2026-11-25T10:01:00Z", "-o", "json"}, flags...)...)
	ev.Events = nil
	if err := json.Unmarshal([]byte(r.out), &ev); err != nil || len(ev.Events) != 1 || ev.Events[0].Phase != "k0rdent-install" {
		t.Fatalf("events --type --since: %v %s", err, r.out)
	}
}

func TestStateExportImport(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	flags := []string{"-c", filepath.Join(dir, "none.yaml"), "--state-dir", sd}
	rec := seedRecord(t, sd, "demo", nil)
	export := filepath.Join(dir, "export.json")
	if r := run(t, append([]string{"state", "export", "-o", "json", "--file", export}, flags...)...); r.code != 0 {
		t.Fatalf("export: %d %s", r.code, r.err)
	}
	if fi, err := os.Stat(export); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", err, fi)
	}
	// Importing over an existing record is refused.
	r := run(t, append([]string{"state", "import", export}, flags...)...)
	if r.code != ExitRefused || !strings.Contains(r.err, "--force") {
		t.Fatalf("import over an existing record: %d %s", r.code, r.err)
	}
	// Into another state folder it lands whole.
	other := filepath.Join(dir, "other")
	if r := run(t, "state", "import", export, "--state-dir", other); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.err)
	}
	s, _ := state.NewFileStore(other)
	got, err := s.Load(context.Background(), rec.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phases) != len(rec.Phases) || len(got.Events) != len(rec.Events) {
		t.Fatalf("imported record differs: %d/%d phases, %d/%d events", len(got.Phases), len(rec.Phases), len(got.Events), len(rec.Events))
	}
}

func TestLockedDeploymentExit3(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	rec := seedRecord(t, sd, "demo", nil)
	s, _ := state.NewFileStore(sd)
	lock, err := s.Lock(context.Background(), rec.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	export := filepath.Join(dir, "export.yaml")
	if r := run(t, "state", "export", "--file", export, "--state-dir", sd); r.code != 0 {
		t.Fatalf("export (read-only) under a lock: %d %s", r.code, r.err)
	}
	r := run(t, "state", "import", export, "--force", "--state-dir", sd)
	if r.code != ExitRefused || !strings.Contains(r.err, "locked by pid") {
		t.Fatalf("import under a lock: want exit 3 naming the holder, got %d: %s", r.code, r.err)
	}
}
