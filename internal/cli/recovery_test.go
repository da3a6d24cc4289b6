package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A corrupt record's error gives advice, and following it word for word
// restores the record from an export; the unreadable one stays in history.
func TestCorruptRecordAdviceWorks(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	flags := []string{"--state-dir", sd, "-c", filepath.Join(dir, "none.yaml")}
	id := seedRecord(t, sd, "recover", nil).DeploymentID
	backup := filepath.Join(dir, "backup.yaml")
	if r := run(t, append([]string{"state", "export", "--file", backup}, flags...)...); r.code != ExitOK {
		t.Fatalf("export: %d %s", r.code, r.err)
	}
	if err := os.WriteFile(filepath.Join(sd, id+".yaml"), []byte("{not: [yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, append([]string{"status"}, flags...)...)
	advice := regexp.MustCompile("`(k0rdentctl state import --force) FILE`").FindStringSubmatch(r.err)
	if r.code == ExitOK || advice == nil {
		t.Fatalf("status of a corrupt record: exit %d, no advice to follow:\n%s", r.code, r.err)
	}
	args := append(strings.Fields(advice[1])[1:], backup)
	if r := run(t, append(args, flags...)...); r.code != ExitOK {
		t.Fatalf("following the advice (%v): exit %d %s", args, r.code, r.err)
	}
	// The seeded deployment has a failed region: status reads it and exits 1.
	if r := run(t, append([]string{"status", "-o", "json"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.out, id) {
		t.Fatalf("status after the restore: exit %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, append([]string{"state", "history", "-o", "json"}, flags...)...); !strings.Contains(r.out, id) {
		t.Fatalf("the unreadable record is not in the history: %s", r.out)
	}
}

// A folder with two deployments: import refuses to make one without --force;
// once there, commands say how to choose, --deployment chooses, and state
// archive (the other advice) leaves one record.
func TestSeveralRecordsInOneFolder(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	flags := []string{"--state-dir", sd, "-c", filepath.Join(dir, "none.yaml")}
	first := seedRecord(t, sd, "first", nil).DeploymentID
	other := t.TempDir()
	second := seedRecord(t, other, "second", nil).DeploymentID
	export := filepath.Join(dir, "second.yaml")
	if r := run(t, "state", "export", "--file", export, "--state-dir", other, "-c", filepath.Join(dir, "none.yaml")); r.code != ExitOK {
		t.Fatal(r.err)
	}
	r := run(t, append([]string{"state", "import", export}, flags...)...)
	if r.code != ExitRefused || !strings.Contains(r.err, "k0rdentctl state archive "+first) {
		t.Fatalf("import of a second deployment: exit %d: %s", r.code, r.err)
	}
	if r := run(t, append([]string{"state", "import", "--force", export}, flags...)...); r.code != ExitOK {
		t.Fatalf("import --force: %d %s", r.code, r.err)
	}
	r = run(t, append([]string{"status"}, flags...)...)
	if r.code == ExitOK || !strings.Contains(r.err, "--deployment ID") || !strings.Contains(r.err, "k0rdentctl state archive ID") {
		t.Fatalf("status with two records: exit %d: %s", r.code, r.err)
	}
	// (The seeded deployments have a failed region: status reads them and exits 1.)
	if r := run(t, append([]string{"status", "-o", "json", "--deployment", second}, flags...)...); r.code != ExitFailed || !strings.Contains(r.out, second) {
		t.Fatalf("status --deployment %s: exit %d %s", second, r.code, r.err)
	}
	if r := run(t, append([]string{"status", "--deployment", "k0rdent-zzzzzzzz"}, flags...)...); r.code != ExitUsage {
		t.Fatalf("status --deployment of no record: exit %d %s", r.code, r.err)
	}
	if r := run(t, append([]string{"state", "archive", first}, flags...)...); r.code != ExitRefused {
		t.Fatalf("state archive without a terminal or -y: exit %d", r.code)
	}
	if r := run(t, append([]string{"state", "archive", first, "-y"}, flags...)...); r.code != ExitOK {
		t.Fatalf("state archive -y: exit %d %s", r.code, r.err)
	}
	if r := run(t, append([]string{"status", "-o", "json"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.out, second) {
		t.Fatalf("status after archiving the other: exit %d %s", r.code, r.err)
	}
}
