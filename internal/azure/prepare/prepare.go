package prepare

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// FirstVMOffset is where VM addresses start in the WireGuard network: the
// hub (this machine) is .1, the VMs .11, .12, …, controllers first, as the
// shell tool numbers them.
const FirstVMOffset = 11

// Node is one VM's side of the material.
type Node struct {
	Name string
	// Address is its WireGuard address.
	Address   netip.Addr
	WireGuard *WireGuardKey
	// HostKey is the SSH host key the VM is given through cloud-init.
	HostKey *SSHKey
}

// Material is everything the VMs are created with.
type Material struct {
	DeploymentID string
	User         string
	// SSH is the operator's key, authorized on every VM.
	SSH *SSHKey
	// Network is network.wireguard_network; Port the UDP port.
	Network netip.Prefix
	Port    int
	// Hub is this machine's WireGuard side.
	HubAddress netip.Addr
	Hub        *WireGuardKey
	Nodes      []Node
}

// Node finds a VM by name.
func (m *Material) Node(name string) (*Node, bool) {
	for i := range m.Nodes {
		if m.Nodes[i].Name == name {
			return &m.Nodes[i], true
		}
	}
	return nil, false
}

// Addresses are the WireGuard addresses of the hub and of n VMs in
// network: the first host address, then from FirstVMOffset on.
func Addresses(network string, n int) (hub netip.Addr, vms []netip.Addr, err error) {
	p, err := netip.ParsePrefix(network)
	if err != nil || !p.Addr().Is4() {
		return hub, nil, fmt.Errorf("network.wireguard_network %q is not an IPv4 network such as %s", network, config.DefaultWireGuardNetwork)
	}
	p = p.Masked()
	size := 1 << (32 - p.Bits())
	// Network address, hub, a gap to FirstVMOffset, the VMs, broadcast.
	if need := FirstVMOffset + n + 1; need > size {
		return hub, nil, fmt.Errorf("network.wireguard_network %s has %d addresses; %d VMs from .%d on need %d: use a /%d or larger",
			network, size, n, FirstVMOffset, need, prefixFor(need))
	}
	hub = p.Addr().Next()
	a := p.Addr()
	for i := 0; i < FirstVMOffset; i++ {
		a = a.Next()
	}
	for i := 0; i < n; i++ {
		vms = append(vms, a)
		a = a.Next()
	}
	return hub, vms, nil
}

func prefixFor(n int) int {
	bits := 32
	for 1<<(32-bits) < n {
		bits--
	}
	return bits
}

// Paths of the secrets of a deployment in dir.
func SSHKeyPath(dir, id string) string { return filepath.Join(dir, id+"-ssh") }
func WireGuardKeyPath(dir, id, who string) string {
	return filepath.Join(dir, id+"-wg-"+who+".key")
}
func HostKeyPath(dir, id, vm string) string { return filepath.Join(dir, id+"-hostkey-"+vm) }

// Prepare loads or makes the material for the VMs named (controllers
// first), keys in secretsDir. An SSH key the configuration names
// (ssh.private_key_path) is used, never made.
func Prepare(cfg *config.Config, baseDir, deploymentID, secretsDir string, vms []string) (*Material, error) {
	m := &Material{DeploymentID: deploymentID, User: cfg.SSH.User, Port: cfg.Network.WireGuardPort}
	if m.User == "" {
		m.User = config.DefaultSSHUser
	}
	if m.Port == 0 {
		m.Port = config.DefaultWireGuardPort
	}
	network := cfg.Network.WireGuardNetwork
	if network == "" {
		network = config.DefaultWireGuardNetwork
	}
	hub, addrs, err := Addresses(network, len(vms))
	if err != nil {
		return nil, err
	}
	m.Network, m.HubAddress = netip.MustParsePrefix(network).Masked(), hub
	if p := userKeyPath(cfg, baseDir); p != "" {
		if m.SSH, err = loadSSHKey(p); err != nil {
			return nil, fmt.Errorf("ssh.private_key_path: %w", err)
		}
	} else if m.SSH, err = LoadOrCreateSSHKey(SSHKeyPath(secretsDir, deploymentID), "k0rdentctl@"+deploymentID); err != nil {
		return nil, err
	}
	if m.Hub, err = LoadOrCreateWireGuardKey(WireGuardKeyPath(secretsDir, deploymentID, "hub")); err != nil {
		return nil, err
	}
	for i, name := range vms {
		n := Node{Name: name, Address: addrs[i]}
		if n.WireGuard, err = LoadOrCreateWireGuardKey(WireGuardKeyPath(secretsDir, deploymentID, name)); err != nil {
			return nil, err
		}
		if n.HostKey, err = LoadOrCreateSSHKey(HostKeyPath(secretsDir, deploymentID, name), "root@"+name); err != nil {
			return nil, err
		}
		m.Nodes = append(m.Nodes, n)
	}
	return m, nil
}

// Load is Prepare for material that must exist already (the VPN of a
// deployment whose VMs have their keys): a missing key is an error naming
// it, never made again.
func Load(cfg *config.Config, baseDir, deploymentID, secretsDir string, vms []string) (*Material, error) {
	paths := []string{WireGuardKeyPath(secretsDir, deploymentID, "hub")}
	if userKeyPath(cfg, baseDir) == "" {
		paths = append(paths, SSHKeyPath(secretsDir, deploymentID))
	}
	for _, name := range vms {
		paths = append(paths, WireGuardKeyPath(secretsDir, deploymentID, name), HostKeyPath(secretsDir, deploymentID, name))
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("the deployment's key %s is missing (%w): the VMs were given keys that are gone from this machine; restore the state folder's secrets/ from a backup, or reset and deploy again", p, err)
		}
	}
	return Prepare(cfg, baseDir, deploymentID, secretsDir, vms)
}

// userKeyPath is the private key the configuration names, "" for none.
func userKeyPath(cfg *config.Config, baseDir string) string {
	p := cfg.SSH.PrivateKeyPath
	if p == "" && cfg.SSH.PublicKeyPath != "" {
		p = strings.TrimSuffix(cfg.SSH.PublicKeyPath, ".pub")
	}
	if p == "" {
		return ""
	}
	return config.ResolvePath(p, baseDir)
}

// loadSSHKey reads a key the user gave; it is never made.
func loadSSHKey(path string) (*SSHKey, error) {
	if _, err := readSecret(path); err != nil {
		return nil, err
	}
	return LoadOrCreateSSHKey(path, "")
}
