//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/netns"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/sshvm"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// vmCloudInit is the cloud-init a VM was created with in the simulation:
// its host key and its files.
type vmCloudInit struct {
	SSHKeys    map[string]string `json:"ssh_keys"`
	WriteFiles []struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	} `json:"write_files"`
}

func cloudInitOf(t *testing.T, sim *armsim.Sim, vm string) *vmCloudInit {
	t.Helper()
	for _, r := range sim.Resources() {
		if r.Type != "Microsoft.Compute/virtualMachines" || r.Name != vm {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sim.CustomData(r.ID))
		if err != nil {
			t.Fatal(err)
		}
		var cc vmCloudInit
		if err := yaml.Unmarshal(raw, &cc); err != nil {
			t.Fatal(err)
		}
		return &cc
	}
	t.Fatalf("no VM %s in the simulation", vm)
	return nil
}

// wgQuick runs the real wg-quick in ns (userspace WireGuard: wireguard-go).
func wgQuick(ns *netns.NS, bin, action, conf string) error {
	cmd := exec.Command("ip", "netns", "exec", ns.Name, filepath.Join(bin, "wg-quick"), action, conf)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("wg-quick %s %s in %s: %v\n%s", action, conf, ns.Name, err, out)
	}
	return nil
}

// inNamespace runs k0rdentctl as a separate process inside ns, with
// wireguard-tools on its PATH and env added to its environment.
func inNamespace(t *testing.T, ns *netns.NS, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, os.Args[0]}, args...)...)
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "PATH="+bin+":"+os.Getenv("PATH")), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	return result{out: out.String(), err: errOut.String(), code: cmd.ProcessState.ExitCode()}
}

func vpnStatusOf(t *testing.T, r result) *mgmt.VPNStatus {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("vpn status: exit %d\n%s%s", r.code, r.out, r.err)
	}
	var st mgmt.VPNStatus
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatalf("vpn status -o json: %v\n%s", err, r.out)
	}
	return &st
}

// The vpn commands against real WireGuard: deploy (on the simulation)
// gives each VM its cloud-init and writes this machine's wg-quick file.
// Each VM is a network namespace that owns the VM's public address and
// runs, with real wg-quick and wireguard-go, the wg0.conf its cloud-init
// carries, and an SSH server (the VM's host key) on its WireGuard address.
// In the operator's namespace, k0rdentctl as its own process: vpn status
// (down, nobody answers), vpn up (wg-quick up, every VM answers), vpn
// status (a handshake and traffic with every VM, read by wg), vpn up again
// (nothing to do), vpn down, vpn down again (nothing to do); then, the VPN
// up again, reset takes the interface down and leaves Azure empty. vpn
// status writes nothing; vpn lockdown is refused while the VMs do not
// answer.
func TestVPNCommandsOverRealWireGuard(t *testing.T) {
	bin, err := netns.WireGuardTools()
	if err != nil {
		t.Fatal(err)
	}
	dir, flags := workdir(t, "minimal")
	sim := armsim.New(armsim.Options{})
	hostPath := os.Getenv("PATH")
	standin.UseK0sctl(t, standin.K0sctlWorld{})
	t.Setenv("PATH", os.Getenv("PATH")+":"+hostPath) // ip, for wg-quick
	if r := runOnSim(t, sim, append([]string{"deploy"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.out+r.err, "wg-quick up") {
		t.Fatalf("deploy: exit %d, want 1 at the VPN\n%s%s", r.code, r.out, r.err)
	}
	a := readRecord(t, dir).Management.Azure

	op, err := netns.New("k0op")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Delete() })
	confDir := t.TempDir()
	for i, vm := range a.VMs {
		ns, err := netns.New("k0vm")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ns.Delete() })
		if err := netns.Link(op, ns, fmt.Sprintf("10.201.%d.1/24", i), fmt.Sprintf("10.201.%d.2/24", i)); err != nil {
			t.Fatal(err)
		}
		if err := ns.IP("addr", "add", vm.PublicIP+"/32", "dev", "lo"); err != nil {
			t.Fatal(err)
		}
		if err := op.IP("route", "add", vm.PublicIP+"/32", "via", fmt.Sprintf("10.201.%d.2", i)); err != nil {
			t.Fatal(err)
		}
		cc := cloudInitOf(t, sim, vm.Name)
		var wg0 string
		for _, f := range cc.WriteFiles {
			if f.Path == "/etc/wireguard/wg0.conf" {
				wg0 = f.Content
			}
		}
		if wg0 == "" {
			t.Fatalf("%s's cloud-init writes no /etc/wireguard/wg0.conf", vm.Name)
		}
		// The interface is named after the file; names are unique on the
		// host (wireguard-go's control sockets are not per namespace).
		conf := filepath.Join(confDir, fmt.Sprintf("k0vm%d%s.conf", i, ns.Name[len(ns.Name)-6:]))
		if err := os.WriteFile(conf, []byte(wg0), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := wgQuick(ns, bin, "up", conf); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = wgQuick(ns, bin, "down", conf) })
		hostKey, err := ssh.ParsePrivateKey([]byte(cc.SSHKeys["ed25519_private"]))
		if err != nil {
			t.Fatalf("%s's host key: %v", vm.Name, err)
		}
		var v *sshvm.VM
		if err := ns.Do(func() (err error) {
			v, err = sshvm.Start(sshvm.Options{HostKey: hostKey, User: "k0rdent", Authorized: hostKey.PublicKey(), Listen: net.JoinHostPort(vm.WireGuardIP, "22")})
			return err
		}); err != nil {
			t.Fatalf("SSH server of %s on %s: %v", vm.Name, vm.WireGuardIP, err)
		}
		t.Cleanup(v.Close)
	}
	t.Cleanup(func() { _ = wgQuick(op, bin, "down", a.WireGuardConfig) })
	vpn := func(args ...string) result {
		return inNamespace(t, op, bin, nil, append(append([]string{"vpn"}, args...), flags...)...)
	}

	before := treeOf(t, dir)
	st := vpnStatusOf(t, vpn("status", "-o", "json"))
	if st.Up || st.HandshakesUnknown == "" || len(st.Peers) != len(a.VMs) || !st.PublicSSH {
		t.Fatalf("status before the VPN is up: %+v", st)
	}
	for _, p := range st.Peers {
		if p.Reachable || p.LatestHandshake != nil {
			t.Errorf("before vpn up %s is reachable or has a handshake: %+v", p.VM, p)
		}
	}
	if after := treeOf(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("vpn status changed the folder:\n%v\n%v", before, after)
	}
	if r := runOnSim(t, sim, append([]string{"vpn", "lockdown", "-y"}, flags...)...); r.code != ExitRefused || !strings.Contains(r.err, "public SSH stays open") {
		t.Errorf("lockdown with the VPN down: exit %d, want 3\n%s", r.code, r.err)
	}

	if r := vpn("up"); r.code != 0 || !strings.Contains(r.out, "the VPN is up") || !strings.Contains(r.out, "wg-quick up "+a.WireGuardConfig) {
		t.Fatalf("vpn up: exit %d\n%s%s", r.code, r.out, r.err)
	}
	st = vpnStatusOf(t, vpn("status", "-o", "json"))
	if !st.Up || st.HandshakesUnknown != "" {
		t.Fatalf("status after vpn up: %+v", st)
	}
	for _, p := range st.Peers {
		if !p.Reachable || p.LatestHandshake == nil || p.ReceivedBytes == 0 || p.SentBytes == 0 {
			t.Errorf("after vpn up, %s: %+v; want reachable with a handshake and traffic both ways", p.VM, p)
		}
	}
	if r := vpn("status"); r.code != 0 || !strings.Contains(r.out, "ago") || !strings.Contains(r.out, "answers") {
		t.Errorf("vpn status (table):\n%s%s", r.out, r.err)
	}
	if r := vpn("up"); r.code != 0 || strings.Contains(r.out, "wg-quick up") || !strings.Contains(r.out, "every VM answers") {
		t.Errorf("vpn up when up: exit %d, want nothing done\n%s%s", r.code, r.out, r.err)
	}
	if r := vpn("down", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"was_up": true`) {
		t.Fatalf("vpn down: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if err := op.IP("link", "show", st.Interface); err == nil {
		t.Errorf("interface %s is still there after vpn down", st.Interface)
	}
	if r := vpn("down"); r.code != 0 || !strings.Contains(r.out, "nothing to do") {
		t.Errorf("vpn down when down: exit %d\n%s%s", r.code, r.out, r.err)
	}
	st = vpnStatusOf(t, vpn("status", "-o", "json"))
	for _, p := range st.Peers {
		if st.Up || p.Reachable {
			t.Errorf("after vpn down: up %v, %+v", st.Up, p)
		}
	}

	// reset with the VPN up takes this machine's interface down before
	// removing its file (Azure being the simulation, served over HTTP to
	// the separate process).
	if r := vpn("up"); r.code != 0 {
		t.Fatalf("vpn up again: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// The simulation listens inside the operator's namespace, where the
	// process runs.
	srv := httptest.NewUnstartedServer(sim.Handler())
	_ = srv.Listener.Close()
	if err := op.Do(func() (err error) { srv.Listener, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	r := inNamespace(t, op, bin, []string{armsimEnv + "=" + srv.URL}, append([]string{"reset", "-y"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.out, "took this machine's WireGuard interface "+st.Interface+" down") {
		t.Fatalf("reset with the VPN up: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if err := op.IP("link", "show", st.Interface); err == nil {
		t.Errorf("interface %s is still there after reset", st.Interface)
	}
	if left := sim.Resources(); len(left) != 0 {
		t.Errorf("left in Azure after reset: %d resources", len(left))
	}
}

// vpn config writes the file again (0600) and says where, without its
// private key; --show prints it, key included, because it was asked for.
func TestVPNConfig(t *testing.T) {
	dir, flags := workdir(t, "minimal")
	sim := armsim.New(armsim.Options{})
	standin.UseK0sctl(t, standin.K0sctlWorld{})
	if r := runOnSim(t, sim, append([]string{"deploy"}, flags...)...); r.code != ExitFailed {
		t.Fatalf("deploy: exit %d\n%s", r.code, r.err)
	}
	a := readRecord(t, dir).Management.Azure
	want, err := os.ReadFile(a.WireGuardConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(a.WireGuardConfig); err != nil {
		t.Fatal(err)
	}
	r := run(t, append([]string{"vpn", "config"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.out, a.WireGuardConfig) || strings.Contains(r.out, "PrivateKey") {
		t.Fatalf("vpn config: exit %d\n%s%s", r.code, r.out, r.err)
	}
	got, err := os.ReadFile(a.WireGuardConfig)
	if err != nil || string(got) != string(want) {
		t.Fatalf("rewritten file differs (%v):\n%s\nwant\n%s", err, got, want)
	}
	if fi, _ := os.Stat(a.WireGuardConfig); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if r := run(t, append([]string{"vpn", "config", "--show"}, flags...)...); r.code != 0 || r.out != string(want) {
		t.Errorf("vpn config --show: exit %d\n%s", r.code, r.out)
	}
	// A key the VMs were given is gone: vpn status says so and makes no new
	// one (it would not match the VM's).
	hub, _ := filepath.Glob(filepath.Join(dir, "state", "secrets", "*-wg-hub.key"))
	if len(hub) != 1 {
		t.Fatalf("hub key %v", hub)
	}
	if err := os.Rename(hub[0], hub[0]+".bak"); err != nil {
		t.Fatal(err)
	}
	if r := run(t, append([]string{"vpn", "status"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.err, hub[0]+" is missing") {
		t.Errorf("vpn status without the hub key: exit %d\n%s", r.code, r.err)
	}
	if _, err := os.Stat(hub[0]); !os.IsNotExist(err) {
		t.Errorf("vpn status made a new key: %v", err)
	}
	if err := os.Rename(hub[0]+".bak", hub[0]); err != nil {
		t.Fatal(err)
	}
	// Without wg-quick (not on PATH) vpn up says what to run.
	t.Setenv("PATH", t.TempDir())
	if r := run(t, append([]string{"vpn", "up"}, flags...)...); r.code != ExitFailed || !strings.Contains(r.err, "sudo wg-quick up "+a.WireGuardConfig) {
		t.Errorf("vpn up without wg-quick: exit %d\n%s", r.code, r.err)
	}
}
