package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

// cliRun runs k0rdentctl as an operator would, with no terminal.
func cliRun(t *testing.T, args ...string) opsResult {
	t.Helper()
	return cliRunWith(t, cli.Hooks{}, args...)
}

// cliRunWith is cliRun with the test's hooks (simulations of Azure).
func cliRunWith(t *testing.T, hooks cli.Hooks, args ...string) opsResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.ExecuteWith(t.Context(), args, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, cli.BuildInfo{Version: "test"}, hooks)
	t.Logf("k0rdentctl %s → exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return opsResult{out.String(), errOut.String(), code}
}

// TestDeployCommandOnExistingCluster runs `k0rdentctl deploy` end to end on
// an existing management cluster (management.mode existing): the real kcm
// chart from the module, installed through the same phases, recorded in
// state; a second deploy verifies and changes nothing; status and
// k0rdent status read it back.
func TestDeployCommandOnExistingCluster(t *testing.T) {
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true})
	kc := connect(t, cluster)
	startKCM(t, kc, moduleVersion, nil)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "k0rdent.yaml")
	values, err := json.Marshal(chartValues())
	rgMust(t, err)
	cfg := fmt.Sprintf(`metadata:
  name: cli-e2e
management:
  mode: existing
  kubeconfig: %s
software:
  k0rdent:
    version: "%s"
    chart: %s
    values: %s
timeouts:
  k0rdent_install: 2m
`, cluster.KubeconfigPath, moduleVersion, kcmChartDir(t), values)
	rgMust(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	flags := []string{"-c", cfgPath, "--state-dir", filepath.Join(dir, "state")}

	r := cliRun(t, append([]string{"deploy"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("deploy: exit %d", r.code)
	}
	for _, want := range []string{"preflight", "k0rdent-install", "k0rdent-ready", "deploy done"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("deploy output lacks %q", want)
		}
	}
	if helmRevisions(t, kc.Client) != 1 {
		t.Fatalf("want one Helm revision after the first deploy")
	}

	// The record: every phase completed, the installed version read from the
	// Release, the management kubeconfig path, no secrets.
	store, err := state.NewFileStore(filepath.Join(dir, "state"))
	rgMust(t, err)
	id, err := state.FindCurrent(t.Context(), store, "cli-e2e")
	rgMust(t, err)
	rec, err := store.Load(t.Context(), id)
	rgMust(t, err)
	if rec.Overall() != state.OverallDeployed {
		t.Fatalf("record says %s: %s", rec.Overall(), rec.PhaseSummary())
	}
	if rec.K0rdent.Version != moduleVersion || rec.K0rdent.Release == "" || !rec.K0rdent.Ready || rec.K0rdent.HelmRevision != 1 {
		t.Fatalf("k0rdent in the record: %+v", rec.K0rdent)
	}
	if rec.Management.KubeconfigPath != cluster.KubeconfigPath {
		t.Fatalf("management kubeconfig %q", rec.Management.KubeconfigPath)
	}
	raw, err := os.ReadFile(store.Location(id))
	rgMust(t, err)
	if bytes.Contains(raw, []byte("client-key-data")) || bytes.Contains(raw, cluster.Kubeconfig) {
		t.Fatal("the record holds kubeconfig content")
	}

	// Again: every phase is verified, nothing is redone, no new revision.
	r = cliRun(t, append([]string{"deploy", "-o", "json"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("second deploy: exit %d", r.code)
	}
	var second struct {
		Phases []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			Verified bool   `json:"verified"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(r.out), &second); err != nil {
		t.Fatalf("deploy -o json: %v", err)
	}
	for _, p := range second.Phases {
		switch {
		case p.Name == "preflight":
		case p.Name == "credentials":
			// Not wanted: the configuration names no service principal.
			if p.Status != "skipped" {
				t.Errorf("second deploy ran credentials (%s) with no service principal configured", p.Status)
			}
		case !p.Verified || p.Status != "completed":
			t.Errorf("second deploy redid %s (%s, verified %v)", p.Name, p.Status, p.Verified)
		}
	}
	if n := helmRevisions(t, kc.Client); n != 1 {
		t.Fatalf("second deploy made Helm revision %d", n)
	}

	// status and k0rdent status read it back.
	r = cliRun(t, append([]string{"status", "-o", "json"}, flags...)...)
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st.Status != "DEPLOYED" {
		t.Fatalf("status: %v %s", err, r.out)
	}
	r = cliRun(t, append([]string{"k0rdent", "status", "-o", "json"}, flags...)...)
	var ks struct {
		Installed        bool   `json:"installed"`
		Version          string `json:"version"`
		RegionsSupported bool   `json:"regions_supported"`
	}
	if err := json.Unmarshal([]byte(r.out), &ks); err != nil || r.code != 0 || !ks.Installed || ks.Version != moduleVersion || !ks.RegionsSupported {
		t.Fatalf("k0rdent status: exit %d, %v, %+v", r.code, err, ks)
	}

	// A version whose chart is not the one configured fails before anything
	// changes (the downgrade guard itself is TestDowngradeRefused).
	r = cliRun(t, append([]string{"k0rdent", "upgrade", "--version", "1.4.0"}, flags...)...)
	if r.code != cli.ExitFailed || !strings.Contains(r.out, "version 1.4.0 was asked for") {
		t.Fatalf("upgrade to a version the chart is not: exit %d", r.code)
	}
	if n := helmRevisions(t, kc.Client); n != 1 {
		t.Fatalf("the failed upgrade made Helm revision %d", n)
	}

	// Uninstall needs confirmation: with no terminal and no -y it is refused.
	r = cliRun(t, append([]string{"k0rdent", "uninstall"}, flags...)...)
	if r.code != cli.ExitRefused || !strings.Contains(r.err, "-y") {
		t.Fatalf("uninstall without -y: exit %d", r.code)
	}
}
