package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// deploy of management.mode azure without k0sctl on this machine stops in
// the Azure preflight, saying so, with nothing created. With it, the Azure
// phases run against the simulation (network, two VMs, this machine's
// WireGuard configuration), and the run stops at the VPN, which no test
// can bring up in this namespace, saying the exact command (exit 1). Run
// again (with the retired --experimental-azure, still accepted), it
// creates nothing in Azure and stops at the same place: what was made is
// recorded and verified.
func TestDeployAzureStopsAtTheVPN(t *testing.T) {
	dir, flags := workdir(t, "minimal")
	sim := armsim.New(armsim.Options{})
	t.Setenv("PATH", t.TempDir())
	if r := runOnSim(t, sim, append([]string{"deploy"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.out+r.err, "k0sctl is not on this machine's PATH") {
		t.Fatalf("deploy of mode azure without k0sctl: exit %d, want 1 naming k0sctl\n%s%s", r.code, r.out, r.err)
	}
	if len(sim.Resources()) != 0 {
		t.Fatal("a deploy stopped in preflight made resources")
	}
	standin.UseK0sctl(t, standin.K0sctlWorld{})
	r := runOnSim(t, sim, append([]string{"deploy"}, flags...)...)
	if r.code != ExitFailed || !strings.Contains(r.out+r.err, "sudo wg-quick up "+filepath.Join(dir, "state", "secrets")) {
		t.Fatalf("deploy: exit %d, want 1 stopping at the VPN with the command to run\n%s\n%s", r.code, r.out, r.err)
	}
	rec := readRecord(t, dir)
	a := rec.Management.Azure
	if a == nil || len(a.VMs) != 2 || a.WireGuardConfig == "" {
		t.Fatalf("recorded %+v", a)
	}
	for _, p := range []string{"azure-preflight", "azure-prepare", "azure-network", "azure-vms", "vpn-config"} {
		if ph := rec.Phase(p); ph == nil || ph.Status != state.PhaseCompleted {
			t.Errorf("phase %s: %+v", p, ph)
		}
	}
	if ph := rec.Phase("vpn-up"); ph == nil || ph.Status != state.PhaseFailed {
		t.Errorf("vpn-up: %+v, want failed", ph)
	}
	n := len(sim.Resources())
	// status shows the VMs with their zones, sizes, priority and addresses.
	st := run(t, append([]string{"status"}, flags...)...)
	for _, vm := range a.VMs {
		if !strings.Contains(st.out, vm.Name) || !strings.Contains(st.out, vm.PublicIP) || !strings.Contains(st.out, vm.WireGuardIP) {
			t.Errorf("status does not show %s with its addresses:\n%s", vm.Name, st.out)
		}
	}

	sim.ResetLog()
	r = runOnSim(t, sim, append([]string{"deploy", "--experimental-azure"}, flags...)...)
	if r.code != ExitFailed || !strings.Contains(r.out+r.err, "sudo wg-quick up") || !strings.Contains(r.err, "--experimental-azure is no longer needed") {
		t.Fatalf("second deploy: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	for _, c := range sim.Log() {
		if c.Method != http.MethodGet {
			t.Errorf("the second run changed Azure: %s %s", c.Method, c.Path)
		}
	}
	if len(sim.Resources()) != n {
		t.Errorf("resources %d, then %d", n, len(sim.Resources()))
	}

	// reset: asks first; then everything goes, in Azure and in the state
	// folder, and the record is archived.
	if r := runOnSim(t, sim, append([]string{"reset"}, flags...)...); r.code != ExitRefused || !strings.Contains(r.err, "-y") {
		t.Fatalf("reset without -y: exit %d, want 3", r.code)
	}
	if len(sim.Resources()) != n {
		t.Fatal("an unconfirmed reset deleted resources")
	}
	r = runOnSim(t, sim, append([]string{"reset", "-y"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.out, "is reset") {
		t.Fatalf("reset -y: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if left := sim.Resources(); len(left) != 0 {
		t.Errorf("left in Azure after reset: %+v", left)
	}
	if keys, _ := filepath.Glob(filepath.Join(dir, "state", "secrets", rec.DeploymentID+"-*")); len(keys) != 0 {
		t.Errorf("keys left: %v", keys)
	}
	if _, err := os.Stat(a.WireGuardConfig); !os.IsNotExist(err) {
		t.Errorf("WireGuard configuration left: %v", err)
	}
	if hist, _ := filepath.Glob(filepath.Join(dir, "state", "history", rec.DeploymentID+"*")); len(hist) == 0 {
		t.Error("the record was not archived to history/")
	}
	// No record now: reset needs the id, and then finds nothing by its tag.
	if r := runOnSim(t, sim, append([]string{"reset", "-y"}, flags...)...); r.code != ExitUsage || !strings.Contains(r.err, "--deployment") {
		t.Errorf("reset without a record: exit %d, want 2 naming --deployment", r.code)
	}
	if r := runOnSim(t, sim, append([]string{"reset", "-y", "--deployment", rec.DeploymentID}, flags...)...); r.code != 0 {
		t.Errorf("reset --deployment with nothing left: exit %d\n%s", r.code, r.err)
	}
}

// readRecord reads the one deployment record in dir/state.
func readRecord(t *testing.T, dir string) *state.Record {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "state", "k0rdent-*.yaml"))
	if len(paths) != 1 {
		t.Fatalf("records %v", paths)
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec state.Record
	if err := yaml.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return &rec
}
