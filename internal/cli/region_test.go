package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// The region operations against API servers are tested in
// test/integration/regional_ops_test.go; these are the parts that need none.

func regionTestOptions(in string, terminal bool) (*Options, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Options{IO: IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut, InTerminal: terminal}}, &out, &errOut
}

func TestRegionConfirm(t *testing.T) {
	o, _, _ := regionTestOptions("", false)
	if err := o.confirm("Remove regional cluster x?"); ExitCode(err) != ExitRefused || !strings.Contains(err.Error(), "-y") {
		t.Errorf("no terminal, no -y: %v (exit %d), want exit 3 naming -y", err, ExitCode(err))
	}
	o.Yes = true
	if err := o.confirm("Remove regional cluster x?"); err != nil {
		t.Errorf("-y: %v", err)
	}
	for answer, ok := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false} {
		o, _, errOut := regionTestOptions(answer, true)
		err := o.confirm("Remove regional cluster x?")
		if (err == nil) != ok {
			t.Errorf("answer %q: %v", answer, err)
		}
		if !ok && ExitCode(err) != ExitRefused {
			t.Errorf("answer %q: exit %d, want 3", answer, ExitCode(err))
		}
		if !strings.Contains(errOut.String(), "[y/N]") {
			t.Errorf("the question was not asked: %q", errOut.String())
		}
	}
}

func TestRegionReadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, _, errOut := regionTestOptions("", false)
	got, err := o.readSecret(file)
	if err != nil || string(got) != "from-a-file\n" || errOut.Len() != 0 {
		t.Errorf("file: %q %v (stderr %q)", got, err, errOut)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := o.readSecret(file); err != nil || !strings.Contains(errOut.String(), "can be read by other users") {
		t.Errorf("a world-readable file: %v, stderr %q", err, errOut)
	}
	o, _, _ = regionTestOptions("from-stdin\n", false)
	if got, err := o.readSecret(""); err != nil || string(got) != "from-stdin\n" {
		t.Errorf("stdin: %q %v", got, err)
	}
	o, _, _ = regionTestOptions(" \n", false)
	if _, err := o.readSecret(""); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "never as a flag value") {
		t.Errorf("empty: %v", err)
	}
	o, _, _ = regionTestOptions(strings.Repeat("x", maxSecretSize+1), false)
	if _, err := o.readSecret(""); ExitCode(err) != ExitUsage {
		t.Errorf("too long: %v", err)
	}
	if _, err := o.readSecret(filepath.Join(dir, "missing")); ExitCode(err) != ExitUsage {
		t.Errorf("missing file: %v", err)
	}
}

func TestInUseIsARefusal(t *testing.T) {
	err := error(&regional.InUseError{Region: "r", ClusterDeployments: []string{"ns/a"}})
	if ExitCode(err) != ExitRefused {
		t.Errorf("exit %d, want 3", ExitCode(err))
	}
}

func TestRegionStatusTableFits120Columns(t *testing.T) {
	ready, notReady := true, false
	rep := &regional.StatusReport{
		Management: "https://10.0.0.4:6443",
		Total:      3,
		Counts:     map[string]int{state.RegionalDeployed: 2, state.RegionalFailed: 1},
		Regions: []regional.RegionStatus{
			{Name: "regional-useast-production", Type: state.RegionalTypeClusterDeployment, Location: "eastus2", Status: state.RegionalDeployed, Ready: &ready,
				Region: regional.RegionState{Exists: true, Ready: true, Observed: true, Reason: "AllComponentsHealthy"}, ComponentsHealthy: 5, ComponentsTotal: 5,
				Credentials: regional.CredentialsPropagated, Certificates: regional.CertificatesPropagated, ClusterDeployments: []string{"a/b", "c/d"},
				KubeconfigPath: "state/kubeconfigs/regional-useast-production.kubeconfig"},
			{Name: "regional-westeu", Type: state.RegionalTypeExternal, Location: "westeurope", Status: state.RegionalDeployed, Ready: &notReady,
				Region:            regional.RegionState{Exists: true, Observed: true, Reason: "NotAllComponentsHealthy"},
				ComponentsHealthy: 3, ComponentsTotal: 5, Credentials: regional.CredentialsNotReady, Certificates: regional.CertificatesNotPropagated,
				Problem: "Region not Ready: Ready=False NotAllComponentsHealthy · 3/5 components healthy", KubeconfigPath: "state/kubeconfigs/regional-westeu.kubeconfig"},
			{Name: "regional-dead", Type: state.RegionalTypeExternal, Location: "northeurope", Status: state.RegionalFailed, Credentials: regional.CredentialsNone,
				Certificates: regional.CertificatesNotConfigured, Problem: "failed: unreachable"},
		},
	}
	var out bytes.Buffer
	renderRegionStatus(&out, ui.Style{}, rep, "state/k0rdent-abcd1234.yaml")
	text := out.String()
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	for _, want := range []string{
		"NAME", "regional-useast-production", "5/5 healthy", "propagated", "not ready", "none",
		"regional-westeu: Region not Ready", "regional-dead: failed: unreachable",
		"3 regions: 2 deployed, 1 failed · management cluster https://10.0.0.4:6443",
		"kubeconfigs: state/kubeconfigs/<name>.kubeconfig", "state: state/k0rdent-abcd1234.yaml",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
}
