package k0rdent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionPrereleaseCountsAsItsRelease(t *testing.T) {
	rc1 := MustParseVersion("1.5.0-rc1")
	ga := MustParseVersion("v1.5.0")
	if rc1.Compare(ga) != 0 || ga.Compare(rc1) != 0 {
		t.Fatal("1.5.0-rc1 and 1.5.0 should compare equal")
	}
	if !rc1.AtLeast(MinimumVersion) {
		t.Fatal("1.5.0-rc1 should count as 1.5.0 for the minimum version")
	}
	if MustParseVersion("1.4.9").AtLeast(MinimumVersion) || !MustParseVersion("1.6.0").AtLeast(MinimumVersion) {
		t.Fatal("AtLeast")
	}
	if MustParseVersion("1.6.0-rc1").Compare(ga) <= 0 {
		t.Fatal("1.6.0-rc1 is newer than 1.5.0")
	}
	if ga.String() != "1.5.0" || rc1.Core() != "1.5.0" || rc1.Prerelease() != "rc1" {
		t.Fatalf("%s %s %s", ga, rc1.Core(), rc1.Prerelease())
	}
	if w := prereleaseWarning("x", rc1); !strings.Contains(w, "pre-release of 1.5.0") {
		t.Fatalf("warning %q", w)
	}
	if prereleaseWarning("x", ga) != "" {
		t.Fatal("no warning for a release")
	}
	if _, err := ParseVersion("latest"); err == nil {
		t.Fatal("latest is not a version")
	}
}

func TestReleaseName(t *testing.T) {
	for in, want := range map[string]string{"1.5.0": "kcm-1-5-0", "v1.5.0-rc1": "kcm-1-5-0-rc1", "1.6.0+build.1": "kcm-1-6-0-build-1"} {
		if got := ReleaseName(in); got != want {
			t.Errorf("ReleaseName(%q) = %q, want %q", in, got, want)
		}
	}
}

// moduleChart is the kcm chart in the kcm module required by go.mod.
func moduleChart(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-m", "-json", "github.com/K0rdent/kcm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m github.com/K0rdent/kcm: %v", err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go list -m: %s (%v); run go mod download github.com/K0rdent/kcm", out, err)
	}
	return filepath.Join(m.Dir, "templates", "provider", "kcm")
}

func TestLoadModuleChart(t *testing.T) {
	dir := moduleChart(t)
	values := map[string]any{
		"flux2":        map[string]any{"enabled": false},
		"rbac-manager": map[string]any{"enabled": false},
		"regional":     map[string]any{"cert-manager": map[string]any{"enabled": false}, "velero": map[string]any{"enabled": false}},
	}
	lc, err := LoadChart(context.Background(), ChartSource{Chart: dir, Version: "1.5.0"}, values)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Version.String() != "1.5.0-rc1" || len(lc.Warnings) != 1 || !strings.Contains(lc.Warnings[0], "pre-release") {
		t.Fatalf("version %s, warnings %v", lc.Version, lc.Warnings)
	}
	if len(lc.Resolved) != 1 || !strings.HasPrefix(lc.Resolved[0], "kcm-regional 1.0.5") {
		t.Fatalf("resolved %v: the local kcm-regional dependency should be loaded", lc.Resolved)
	}

	// The version asked for must match (a pre-release counting as its release).
	if _, err := LoadChart(context.Background(), ChartSource{Chart: dir, Version: "1.6.0"}, values); err == nil || !strings.Contains(err.Error(), "is version 1.5.0-rc1, but version 1.6.0 was asked for") {
		t.Fatalf("version mismatch: %v", err)
	}

	// Defaults: Flux, rbac-manager, cert-manager and velero are all needed and
	// missing.
	_, err = LoadChart(context.Background(), ChartSource{Chart: dir}, nil)
	var md *MissingDependencyError
	if !errors.As(err, &md) {
		t.Fatalf("err = %v, want MissingDependencyError", err)
	}
	var paths []string
	for _, m := range md.Missing {
		paths = append(paths, m.Path+"|"+m.Condition)
	}
	want := "flux2|flux2.enabled rbac-manager|rbac-manager.enabled regional.cert-manager|regional.cert-manager.enabled regional.velero|regional.velero.enabled"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("missing %q, want %q", got, want)
	}

	// Not a chart at all.
	if _, err := LoadChart(context.Background(), ChartSource{Chart: filepath.Join(t.TempDir(), "nope")}, nil); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("missing chart: %v", err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "Chart.yaml"), []byte("apiVersion: v2\nname: other\nversion: 1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadChart(context.Background(), ChartSource{Chart: other}, nil); err == nil || !strings.Contains(err.Error(), "not k0rdent's kcm chart") {
		t.Fatalf("other chart: %v", err)
	}
}

func TestSameValues(t *testing.T) {
	a := map[string]any{"replicas": 1, "flux2": map[string]any{"enabled": false}}
	b := map[string]any{"replicas": float64(1), "flux2": map[string]any{"enabled": false}}
	if same, err := sameValues(a, b); err != nil || !same {
		t.Fatalf("int 1 and float 1 should compare equal: %v %v", same, err)
	}
	if same, _ := sameValues(nil, map[string]any{}); !same {
		t.Fatal("nil and empty values are the same")
	}
	if same, _ := sameValues(a, map[string]any{"replicas": 2}); same {
		t.Fatal("different values compare equal")
	}
}

func TestInstallPhaseDryRunNeedsNoCluster(t *testing.T) {
	p := &InstallPhase{Install: Install{
		ChartSource: ChartSource{Version: "1.5.0"},
		Values:      map[string]any{"controller": map[string]any{"createManagement": true, "logger": map[string]any{"devel": false}}, "flux2": map[string]any{"enabled": true}},
	}}
	lines, err := p.DryRun(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{DefaultChart, "version 1.5.0", "namespace kcm-system", "values: controller.createManagement, controller.logger.devel, flux2.enabled", "refuse a downgrade", "Release kcm-1-5-0"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run does not say %q:\n%s", want, text)
		}
	}
	if p.Name() != PhaseInstall || p.Title() != "Install k0rdent 1.5.0" {
		t.Fatalf("%s %q", p.Name(), p.Title())
	}
	r := &ReadyPhase{}
	if got := r.Requires(); len(got) != 1 || got[0] != PhaseInstall {
		t.Fatalf("ready requires %v", got)
	}
}
