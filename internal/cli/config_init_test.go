package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// config init: -o json says what was written; -c - writes the template to
// standard output and no file (and no comment naming a schema file that
// is not there); an existing, different schema file is left
// as it is without --force; config schema -o yaml is YAML.
func TestConfigInitOutputsAndFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	r := run(t, "config", "init", "--template", "existing", "-c", cfg, "-o", "json")
	var res configInitResult
	if r.code != ExitOK || json.Unmarshal([]byte(r.out), &res) != nil || res.Config != cfg || !res.SchemaWritten {
		t.Fatalf("config init -o json: exit %d, %q, %+v", r.code, r.out, res)
	}

	t.Chdir(dir)
	r = run(t, "config", "init", "--template", "small", "-c", "-")
	if r.code != ExitOK || strings.Contains(r.out, config.SchemaComment) || !strings.Contains(r.out, "metadata:") {
		t.Fatalf("config init -c - (no schema file is written, so no schema comment): exit %d: %q", r.code, r.out)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); !os.IsNotExist(err) {
		t.Fatalf("config init -c - wrote a file named -: %v", err)
	}

	schema := filepath.Join(dir, config.SchemaFileName)
	if err := os.WriteFile(schema, []byte(`{"edited": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "config", "init", "-c", filepath.Join(dir, "new.yaml"))
	if b, _ := os.ReadFile(schema); r.code != ExitOK || string(b) != `{"edited": true}` || !strings.Contains(r.out, "left as it is") {
		t.Fatalf("config init over an edited schema: exit %d, schema now %q, said %q", r.code, b, r.out)
	}
	r = run(t, "config", "init", "--force", "-c", filepath.Join(dir, "new.yaml"))
	if b, _ := os.ReadFile(schema); r.code != ExitOK || string(b) == `{"edited": true}` {
		t.Fatalf("config init --force did not replace the schema: exit %d", r.code)
	}

	r = run(t, "config", "schema", "-o", "yaml")
	var v map[string]any
	if r.code != ExitOK || strings.HasPrefix(strings.TrimSpace(r.out), "{") || yaml.Unmarshal([]byte(r.out), &v) != nil || v["title"] == nil {
		t.Fatalf("config schema -o yaml is not YAML: exit %d: %.200s", r.code, r.out)
	}
}

// Without --state-dir, the state folder is the one beside the configuration
// file, wherever the command runs from, and status says which it uses.
func TestStateFolderIsBesideTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "elsewhere", "k0rdent.yaml")
	if r := run(t, "config", "init", "-c", cfg); r.code != ExitOK {
		t.Fatal(r.err)
	}
	t.Chdir(t.TempDir())
	r := run(t, "status", "-c", cfg)
	if want := filepath.Join(dir, "elsewhere", "state"); !strings.Contains(r.out, want) {
		t.Fatalf("status -c %s does not use (or name) %s:\n%s", cfg, want, r.out)
	}
	if r := run(t, "events", "--tail", "-1", "-c", cfg); r.code != ExitUsage || !strings.Contains(r.err, "--tail -1") {
		t.Fatalf("events --tail -1: exit %d: %s", r.code, r.err)
	}
}

// A command asked for data gets data even when the configuration is wrong:
// plan -o json prints the same diagnostics object as config validate
// -o json, every error in it, and exits 2.
func TestPlanJSONWithInvalidConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "k0rdent.yaml")
	if err := os.WriteFile(cfg, []byte("bogus: 1\nmetadata: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Valid       bool             `json:"valid"`
		Diagnostics []diagnosticItem `json:"diagnostics"`
	}
	r := run(t, "plan", "-c", cfg, "-o", "json")
	if r.code != ExitUsage || json.Unmarshal([]byte(r.out), &got) != nil || got.Valid {
		t.Fatalf("plan -o json with an invalid configuration: exit %d, stdout %q", r.code, r.out)
	}
	paths := map[string]bool{}
	for _, d := range got.Diagnostics {
		paths[d.Path] = true
	}
	if !paths["bogus"] || !paths["metadata.name"] {
		t.Fatalf("plan -o json does not list every error: %+v", got.Diagnostics)
	}
}
