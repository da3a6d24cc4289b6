package mgmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"

	"github.com/k0rdentctl/k0rdentctl/internal/k0s"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/podnet"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/vmcheck"
)

// Phases after the VMs.
const (
	PhaseVPNUp      = "vpn-up"
	PhaseVMReady    = "vm-ready"
	PhaseK0sInstall = "k0s-install"
	PhasePodNetwork = "pod-network"
)

// ClusterPhases are the phases that make k0s run on the VMs: the VPN up,
// the VMs ready over it, k0s installed with k0sctl and its kubeconfig
// written to Kubeconfig, and the pod network proven between nodes.
func ClusterPhases(e *Env, kubeconfig string) []phase.Phase {
	return []phase.Phase{&vpnUpPhase{e}, &vmReadyPhase{e}, &k0sPhase{e: e, kubeconfig: kubeconfig}, &podNetPhase{e: e, kubeconfig: kubeconfig}}
}

// reachable reports whether every VM's SSH port answers on its WireGuard
// address (the VPN is up), naming the first that does not.
func (e *Env) reachable(ctx context.Context) (bool, string) {
	rec := e.recorded()
	if rec == nil || len(rec.VMs) == 0 {
		return false, "no VM is recorded"
	}
	for _, vm := range rec.VMs {
		if err := sshAnswers(ctx, e.sshAddress(vm.WireGuardIP)); err != nil {
			return false, fmt.Sprintf("%s is not reachable at %s over WireGuard (%v)", vm.Name, vm.WireGuardIP, err)
		}
	}
	return true, ""
}

// sshAnswers connects to addr and reads the SSH server's version line: a
// connection alone proves little (a proxy on the way may accept any).
func sshAnswers(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("no SSH server answers: %w", err)
	}
	if string(buf) != "SSH-" {
		return fmt.Errorf("what answers is not an SSH server")
	}
	return nil
}

type vpnUpPhase struct{ e *Env }

func (p *vpnUpPhase) Name() string       { return PhaseVPNUp }
func (p *vpnUpPhase) Title() string      { return "Bring the WireGuard VPN up" }
func (p *vpnUpPhase) Requires() []string { return []string{PhaseVPNConfig} }
func (p *vpnUpPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *vpnUpPhase) DryRun(context.Context) ([]string, error) {
	return []string{"bring the VPN up with wg-quick (as root, where it exists), else stop and print the command to run; then reach every VM's SSH port over it"}, nil
}

// VPNDownError stops the run until the operator brings the VPN up.
type VPNDownError struct {
	Config, Why string
}

func (e *VPNDownError) Error() string {
	return fmt.Sprintf("the VMs are not reachable over WireGuard (%s): bring the VPN up, then run the same command again: sudo wg-quick up %s", e.Why, e.Config)
}

func (p *vpnUpPhase) Run(ctx context.Context, prog phase.Progress) error {
	err := p.e.VPNUp(ctx, func(s string) { prog.Printf("%s", s) })
	var down *VPNDownError
	if errors.As(err, &down) {
		return phase.Permanent(err)
	}
	return err
}

// Verify: the VMs still answer over WireGuard.
func (p *vpnUpPhase) Verify(ctx context.Context) (bool, string, error) {
	ok, why := p.e.reachable(ctx)
	return ok, why, nil
}

type vmReadyPhase struct{ e *Env }

func (p *vmReadyPhase) Name() string       { return PhaseVMReady }
func (p *vmReadyPhase) Title() string      { return "Wait for cloud-init and WireGuard on every VM" }
func (p *vmReadyPhase) Requires() []string { return []string{PhaseVPNUp} }
func (p *vmReadyPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *vmReadyPhase) DryRun(context.Context) ([]string, error) {
	return []string{"over SSH (host keys checked against the ones the VMs were given): cloud-init finished, wg-quick@wg0 active with the key made for the VM"}, nil
}

func (p *vmReadyPhase) hosts() ([]vmcheck.Host, ssh.Signer, string, error) {
	m, err := p.e.material()
	if err != nil {
		return nil, nil, "", err
	}
	var hosts []vmcheck.Host
	for _, n := range m.Nodes {
		hosts = append(hosts, vmcheck.Host{Name: n.Name, Address: p.e.sshAddress(n.Address.String()),
			HostKey: n.HostKey.Signer.PublicKey(), WireGuardKey: n.WireGuard.Public})
	}
	return hosts, m.SSH.Signer, m.User, nil
}

func (p *vmReadyPhase) Run(ctx context.Context, prog phase.Progress) error {
	hosts, signer, user, err := p.hosts()
	if err != nil {
		return phase.Permanent(err)
	}
	c := &vmcheck.Checker{User: user, Signer: signer, Timeout: time.Duration(p.e.Config.Timeouts.VPNConnect),
		Progress: func(s string) { prog.Printf("%s", s) }}
	err = c.WaitReady(ctx, hosts)
	var nr *vmcheck.NotReadyError
	if errors.As(err, &nr) {
		for _, pr := range nr.Problems {
			if pr.Final {
				return phase.Permanent(err)
			}
		}
	}
	return err
}

type k0sPhase struct {
	e          *Env
	kubeconfig string
}

func (p *k0sPhase) Name() string       { return PhaseK0sInstall }
func (p *k0sPhase) Title() string      { return "Install k0s with k0sctl" }
func (p *k0sPhase) Requires() []string { return []string{PhaseVMReady} }
func (p *k0sPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *k0sPhase) DryRun(context.Context) ([]string, error) {
	v := p.e.Config.Software.K0s.Version
	return []string{fmt.Sprintf("k0sctl apply: k0s %s on every VM over WireGuard (controllers, workers as the cluster section says)", v),
		"write the kubeconfig (0600, API at controller 1's WireGuard address) to " + p.kubeconfig}, nil
}

// K0sctlMissingError stops the run until k0sctl is installed.
type K0sctlMissingError struct{}

func (K0sctlMissingError) Error() string {
	return "k0sctl is not on this machine's PATH: install k0sctl 0.28 or newer (github.com/k0sproject/k0sctl releases, or your package manager), then run the same command again"
}

// FindK0sctl is the k0sctl program on the PATH, or K0sctlMissingError.
func FindK0sctl() (string, error) {
	bin, err := exec.LookPath("k0sctl")
	if err != nil {
		return "", K0sctlMissingError{}
	}
	return bin, nil
}

func (p *k0sPhase) Run(ctx context.Context, prog phase.Progress) error {
	bin, err := FindK0sctl()
	if err != nil {
		return phase.Permanent(err)
	}
	m, err := p.e.material()
	if err != nil {
		return phase.Permanent(err)
	}
	cl, err := k0s.Cluster(p.e.Config, m, k0s.VMs(p.e.Config))
	if err != nil {
		return phase.Permanent(err)
	}
	data, err := k0s.Marshal(cl)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(p.e.SecretsDir, p.e.id()+"-k0sctl.yaml")
	if err := state.WriteFileAtomic(ctx, cfgPath, data); err != nil {
		return err
	}
	api := "https://" + net.JoinHostPort(m.Nodes[0].Address.String(), "6443")
	// k0sctl opens --kubeconfig-out without truncating it: an older, longer
	// file would keep its tail. It writes into a file of its own, which
	// then takes the kubeconfig's name whole.
	fresh := p.kubeconfig + ".k0sctl"
	if err := os.Remove(fresh); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.kubeconfig), 0o700); err != nil {
		return err
	}
	prog.Printf("k0sctl apply --config %s", cfgPath)
	cmd := exec.CommandContext(ctx, bin, "apply", "--config", cfgPath, "--kubeconfig-out", fresh, "--kubeconfig-api-address", api)
	out := progressWriter{prog}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		_ = os.Remove(fresh) // k0sctl opens it before it applies anything
		return fmt.Errorf("k0sctl apply --config %s: %w (its output is above; run the same command again once fixed)", cfgPath, err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Size() == 0 {
		return fmt.Errorf("k0sctl apply succeeded but wrote no kubeconfig to %s; run the same command again", fresh)
	}
	if err := os.Chmod(fresh, 0o600); err != nil {
		return err
	}
	if err := os.Rename(fresh, p.kubeconfig); err != nil {
		return fmt.Errorf("moving the kubeconfig k0sctl wrote into place: %w", err)
	}
	prog.Printf("kubeconfig %s", p.kubeconfig)
	return p.e.Session.Update(ctx, func(r *state.Record) error { r.Management.KubeconfigPath = p.kubeconfig; return nil })
}

// Verify: the kubeconfig is there and the cluster answers through it.
func (p *k0sPhase) Verify(ctx context.Context) (bool, string, error) {
	if _, err := os.Stat(p.kubeconfig); err != nil {
		return false, "no kubeconfig at " + p.kubeconfig, nil
	}
	kc, err := kube.Connect(ctx, p.kubeconfig)
	if err != nil {
		return false, err.Error(), nil
	}
	if _, err := kc.Ping(ctx); err != nil {
		return false, "the cluster does not answer: " + err.Error(), nil
	}
	return true, "", nil
}

type progressWriter struct{ p phase.Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) > 0 {
			w.p.Printf("%s", line)
		}
	}
	return len(b), nil
}

type podNetPhase struct {
	e          *Env
	kubeconfig string
}

// nodes are the VMs that register as Kubernetes nodes.
func (p *podNetPhase) nodes() []string { return k0s.Nodes(k0s.VMs(p.e.Config)) }

func (p *podNetPhase) Name() string       { return PhasePodNetwork }
func (p *podNetPhase) Title() string      { return "Prove the pod network between nodes" }
func (p *podNetPhase) Requires() []string { return []string{PhaseK0sInstall} }
func (p *podNetPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *podNetPhase) DryRun(context.Context) ([]string, error) {
	nodes := p.nodes()
	wait := fmt.Sprintf("wait until the %d nodes are Ready (%s; a controller-only k0s host is no node)", len(nodes), strings.Join(nodes, ", "))
	if len(nodes) == 1 {
		wait = fmt.Sprintf("wait until node %s is Ready (a controller-only k0s host is no node; with one node there is no pair to check)", nodes[0])
	}
	return []string{wait,
		fmt.Sprintf("a %s pod serving HTTP on every Ready node, and a pod on each fetching from the next node's (namespace %s; the pods are removed after)", podnet.DefaultImage, podnet.Namespace)}, nil
}

func (p *podNetPhase) Run(ctx context.Context, prog phase.Progress) error {
	kc, err := kube.Connect(ctx, p.kubeconfig)
	if err != nil {
		return err
	}
	res, err := podnet.Check(ctx, kc.Client, podnet.Options{Nodes: len(p.nodes()), Timeout: time.Duration(p.e.Config.Timeouts.K0sInstall),
		Progress: func(s string) { prog.Printf("%s", s) }})
	var pe *podnet.Error
	if errors.As(err, &pe) {
		return phase.Permanent(err)
	}
	if err == nil && res.Skipped != "" {
		prog.Printf("not checked between nodes: %s", res.Skipped)
	}
	return err
}

// Verify: every VM is still a Ready node (the check itself is not run
// again on every deploy).
func (p *podNetPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := kube.Connect(ctx, p.kubeconfig)
	if err != nil {
		return false, err.Error(), nil
	}
	var nodes corev1.NodeList
	if err := kc.Client.List(ctx, &nodes); err != nil {
		return false, "listing the nodes: " + err.Error(), nil
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if want := len(p.nodes()); ready < want {
		return false, fmt.Sprintf("%d of %d nodes Ready", ready, want), nil
	}
	return true, "", nil
}
