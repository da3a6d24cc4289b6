package mgmt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/prepare"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// The operator's side of the VPN: its wg-quick file, bringing it up and
// down, what WireGuard says of each VM, and closing public SSH once the VPN
// works. wg-quick and wg run as programs (wireguard-tools): k0rdentctl
// never configures interfaces itself.

// VPNConfig writes the operator's wg-quick file again from the keys and
// the VMs' public addresses in the record (0600) and records its path.
func (e *Env) VPNConfig(ctx context.Context) (string, error) {
	if a := e.recorded(); a == nil || len(a.VMs) == 0 {
		return "", errors.New("no VM is recorded for this deployment: the VPN has no peers yet; run k0rdentctl deploy")
	}
	m, err := e.existingMaterial()
	if err != nil {
		return "", err
	}
	conf, err := (&vpnConfigPhase{e}).conf(m)
	if err != nil {
		return "", err
	}
	path := e.vpnPath()
	if err := state.WriteFileAtomic(ctx, path, []byte(conf)); err != nil {
		return "", err
	}
	if e.Session != nil {
		if err := e.record(ctx, func(a *state.AzureManagement) { a.WireGuardConfig = path }); err != nil {
			return "", err
		}
	}
	return path, nil
}

// WGQuickError says what the operator runs when this process cannot run
// wg-quick itself (not root, or wireguard-tools missing).
type WGQuickError struct {
	Action, Config, Why string
}

func (e *WGQuickError) Error() string {
	return fmt.Sprintf("%s: run this, then the same k0rdentctl command again: sudo wg-quick %s %s", e.Why, e.Action, e.Config)
}

// wgQuick is the wg-quick program when this process may run it, else why
// not.
func wgQuick() (string, string) {
	bin, err := exec.LookPath("wg-quick")
	if err != nil {
		return "", "wg-quick is not on this machine's PATH (install wireguard-tools)"
	}
	if os.Geteuid() != 0 {
		return "", "wg-quick needs root and k0rdentctl is not running as root"
	}
	return bin, ""
}

// vpnFiles are the wg-quick file and the interface it makes.
func (e *Env) vpnFiles() (conf, iface string, err error) {
	conf = e.vpnPath()
	if a := e.recorded(); a != nil && a.WireGuardConfig != "" {
		conf = a.WireGuardConfig
	}
	if _, err := os.Stat(conf); err != nil {
		return "", "", fmt.Errorf("no WireGuard configuration at %s: write it with k0rdentctl vpn config", conf)
	}
	return conf, prepare.OperatorInterface(e.id()), nil
}

// interfaceUp reports whether this machine has the interface.
func interfaceUp(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// VPNUp brings the operator's interface up with wg-quick (or says the
// command to run) and waits until every VM's SSH server answers over it.
// Nothing is done when they already answer.
func (e *Env) VPNUp(ctx context.Context, say func(string)) error {
	ok, unreachable := e.reachable(ctx)
	if ok {
		say("every VM answers over WireGuard")
		return nil
	}
	conf, iface, err := e.vpnFiles()
	if err != nil {
		return err
	}
	if !interfaceUp(iface) {
		bin, why := wgQuick()
		if bin == "" {
			return &VPNDownError{Config: conf, Why: unreachable + "; " + why}
		}
		say("wg-quick up " + conf)
		if out, err := exec.CommandContext(ctx, bin, "up", conf).CombinedOutput(); err != nil {
			return fmt.Errorf("wg-quick up %s: %v: %s", conf, err, bytes.TrimSpace(out))
		}
	} else {
		say("interface " + iface + " is up; waiting for the VMs to answer over it")
	}
	return kube.WaitFor(ctx, "every VM to answer over WireGuard", time.Duration(e.Config.Timeouts.VPNConnect), 2*time.Second, func(ctx context.Context) (bool, string, error) {
		ok, why := e.reachable(ctx)
		return ok, why, nil
	}, say)
}

// VPNDown takes the operator's interface down with wg-quick (or says the
// command to run); it reports whether the interface was up.
func (e *Env) VPNDown(ctx context.Context, say func(string)) (bool, error) {
	if !interfaceUp(prepare.OperatorInterface(e.id())) {
		return false, nil
	}
	conf, iface, err := e.vpnFiles()
	if err != nil {
		return true, err
	}
	bin, why := wgQuick()
	if bin == "" {
		return true, &WGQuickError{Action: "down", Config: conf, Why: "interface " + iface + " is up; " + why}
	}
	say("wg-quick down " + conf)
	if out, err := exec.CommandContext(ctx, bin, "down", conf).CombinedOutput(); err != nil {
		return true, fmt.Errorf("wg-quick down %s: %v: %s", conf, err, bytes.TrimSpace(out))
	}
	return true, nil
}

// VPNStatus is what this machine's side of the VPN looks like.
type VPNStatus struct {
	DeploymentID string `json:"deployment_id"`
	Interface    string `json:"interface"`
	Config       string `json:"config"`
	// Up: the interface exists on this machine.
	Up bool `json:"up"`
	// PublicSSH: the security group still admits SSH from the internet
	// (as recorded; vpn lockdown closes it).
	PublicSSH bool `json:"public_ssh"`
	// HandshakesUnknown says why WireGuard's own view is missing.
	HandshakesUnknown string       `json:"handshakes_unknown,omitempty"`
	Peers             []PeerStatus `json:"peers"`
}

// PeerStatus is one VM as a WireGuard peer.
type PeerStatus struct {
	VM          string `json:"vm"`
	WireGuardIP string `json:"wireguard_ip"`
	Endpoint    string `json:"endpoint"`
	// LatestHandshake is nil when there was none (or it is unknown).
	LatestHandshake *time.Time `json:"latest_handshake,omitempty"`
	ReceivedBytes   int64      `json:"received_bytes"`
	SentBytes       int64      `json:"sent_bytes"`
	// Reachable: the VM's SSH server answers over WireGuard.
	Reachable bool   `json:"reachable"`
	Problem   string `json:"problem,omitempty"`
}

// VPNStatus reads the interface with `wg show <interface> dump` (where wg
// exists and may read it) and tries every VM's SSH server over WireGuard.
// It changes nothing.
func (e *Env) VPNStatus(ctx context.Context) (*VPNStatus, error) {
	a := e.recorded()
	if a == nil || len(a.VMs) == 0 {
		return nil, errors.New("no VM is recorded for this deployment: there is no VPN yet; run k0rdentctl deploy")
	}
	m, err := e.existingMaterial()
	if err != nil {
		return nil, err
	}
	st := &VPNStatus{DeploymentID: e.id(), Interface: m.OperatorInterface(), Config: a.WireGuardConfig, PublicSSH: !a.SSHLockedDown}
	if st.Config == "" {
		st.Config = e.vpnPath()
	}
	st.Up = interfaceUp(st.Interface)
	byKey := map[string]wgPeer{}
	switch {
	case !st.Up:
		st.HandshakesUnknown = "interface " + st.Interface + " is not up on this machine"
	default:
		byKey, err = wgShow(ctx, st.Interface)
		if err != nil {
			st.HandshakesUnknown = err.Error()
		}
	}
	st.Peers = make([]PeerStatus, len(a.VMs))
	var wg sync.WaitGroup
	for i, vm := range a.VMs {
		p := PeerStatus{VM: vm.Name, WireGuardIP: vm.WireGuardIP, Endpoint: net.JoinHostPort(vm.PublicIP, strconv.Itoa(m.Port))}
		if n, ok := m.Node(vm.Name); ok {
			if w, ok := byKey[n.WireGuard.Public]; ok {
				p.LatestHandshake, p.ReceivedBytes, p.SentBytes = w.handshake, w.rx, w.tx
			}
		}
		st.Peers[i] = p
		wg.Add(1)
		go func(p *PeerStatus, addr string) {
			defer wg.Done()
			if err := sshAnswers(ctx, addr); err != nil {
				p.Problem = err.Error()
				return
			}
			p.Reachable = true
		}(&st.Peers[i], e.sshAddress(vm.WireGuardIP))
	}
	wg.Wait()
	return st, nil
}

type wgPeer struct {
	handshake *time.Time
	rx, tx    int64
}

// wgShow reads `wg show <iface> dump`: after the interface's own line
// (which holds its private key and is skipped), a line per peer: public
// key, preshared key, endpoint, allowed IPs, latest handshake (Unix
// seconds, 0 for none), bytes received, bytes sent, keepalive.
func wgShow(ctx context.Context, iface string) (map[string]wgPeer, error) {
	bin, err := exec.LookPath("wg")
	if err != nil {
		return nil, errors.New("wg is not on this machine's PATH (install wireguard-tools)")
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "show", iface, "dump")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		why := strings.TrimSpace(stderr.String())
		if os.Geteuid() != 0 {
			why += " (wg needs root)"
		}
		return nil, fmt.Errorf("wg show %s: %v: %s", iface, err, why)
	}
	peers := map[string]wgPeer{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 8 {
			return nil, fmt.Errorf("wg show %s dump: unexpected line with %d fields", iface, len(f))
		}
		var p wgPeer
		if secs, _ := strconv.ParseInt(f[4], 10, 64); secs > 0 {
			t := time.Unix(secs, 0).UTC()
			p.handshake = &t
		}
		p.rx, _ = strconv.ParseInt(f[5], 10, 64)
		p.tx, _ = strconv.ParseInt(f[6], 10, 64)
		peers[f[0]] = p
	}
	return peers, nil
}

// LockdownRefusedError: public SSH stays while a VM is not reachable over
// WireGuard (closing it would leave no way in).
type LockdownRefusedError struct{ Why string }

func (e *LockdownRefusedError) Error() string {
	return fmt.Sprintf("public SSH stays open: %s, and without it there would be no way into that VM; bring the VPN up (k0rdentctl vpn up), then run vpn lockdown again", e.Why)
}

// Lockdown removes the security group's public SSH rule once every VM
// answers over WireGuard (lock), or puts it back (!lock), and records it so
// that later runs keep it so. It reports whether Azure changed.
func (e *Env) Lockdown(ctx context.Context, say func(string), lock bool) (bool, error) {
	a := e.recorded()
	if a == nil || a.NSG == "" {
		return false, errors.New("no network security group is recorded for this deployment: nothing to lock down; run k0rdentctl deploy")
	}
	if lock {
		if ok, why := e.reachable(ctx); !ok {
			return false, &LockdownRefusedError{Why: why}
		}
	}
	c, err := infra.NewClients(e.Azure)
	if err != nil {
		return false, err
	}
	inf := &infra.Infra{C: c, Progress: say}
	changed, err := inf.SetPublicSSH(ctx, e.spec("", nil), !lock)
	if err != nil {
		return false, err
	}
	return changed, e.record(ctx, func(a *state.AzureManagement) { a.SSHLockedDown = lock })
}
