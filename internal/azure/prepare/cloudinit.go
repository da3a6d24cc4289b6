package prepare

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// cloudConfig is the part of cloud-init's #cloud-config k0rdentctl uses.
type cloudConfig struct {
	PackageUpdate bool     `json:"package_update"`
	Packages      []string `json:"packages"`
	SSHDeleteKeys bool     `json:"ssh_deletekeys"`
	// SSHKeys: with host keys given, cloud-init generates none (so no
	// ssh_genkeytypes, which its schema wants non-empty).
	SSHKeys    map[string]string `json:"ssh_keys"`
	WriteFiles []writeFile       `json:"write_files"`
	RunCmd     [][]string        `json:"runcmd"`
}

type writeFile struct {
	Path        string `json:"path"`
	Permissions string `json:"permissions"`
	Owner       string `json:"owner"`
	Content     string `json:"content"`
}

// InterfaceName is the WireGuard interface on the VMs.
const InterfaceName = "wg0"

// VMConfig is the VM's /etc/wireguard/wg0.conf: its own address and key,
// and the hub as its only peer (no endpoint: the hub dials in).
func (m *Material) VMConfig(n *Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Interface]\nAddress = %s/32\nListenPort = %d\nPrivateKey = %s\n\n", n.Address, m.Port, n.WireGuard.Private)
	fmt.Fprintf(&b, "[Peer]\n# %s (the operator's machine)\nPublicKey = %s\nAllowedIPs = %s/32\n", m.DeploymentID, m.Hub.Public, m.HubAddress)
	return b.String()
}

// CloudInit is the VM's cloud-init user data: WireGuard installed and its
// wg0 configured and started, and the VM's SSH host key set to the one
// k0rdentctl made (so that the first connection already checks it).
func (m *Material) CloudInit(vm string) ([]byte, error) {
	n, ok := m.Node(vm)
	if !ok {
		return nil, fmt.Errorf("no prepared material for VM %s", vm)
	}
	hostKey, err := n.HostKey.PrivatePEM()
	if err != nil {
		return nil, fmt.Errorf("reading the host key of %s: %w", vm, err)
	}
	cc := cloudConfig{
		PackageUpdate: true,
		Packages:      []string{"wireguard"},
		SSHDeleteKeys: true,
		SSHKeys: map[string]string{
			"ed25519_private": string(hostKey),
			"ed25519_public":  n.HostKey.AuthorizedKey,
		},
		WriteFiles: []writeFile{{Path: "/etc/wireguard/" + InterfaceName + ".conf", Permissions: "0600", Owner: "root:root", Content: m.VMConfig(n)}},
		RunCmd:     [][]string{{"systemctl", "enable", "--now", "wg-quick@" + InterfaceName}},
	}
	b, err := yaml.Marshal(cc)
	if err != nil {
		return nil, err
	}
	return append([]byte("#cloud-config\n"), b...), nil
}
