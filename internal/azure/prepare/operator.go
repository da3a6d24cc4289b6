package prepare

import (
	"fmt"
	"strings"
)

// OperatorInterface is the name of the operator's WireGuard interface (and
// of its wg-quick file): wgk0 and the deployment id's suffix, within the
// 15 characters Linux allows.
func (m *Material) OperatorInterface() string { return OperatorInterface(m.DeploymentID) }

// OperatorInterface is the operator's WireGuard interface of a deployment.
func OperatorInterface(deploymentID string) string {
	name := "wgk0" + strings.TrimPrefix(deploymentID, "k0rdent-")
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// OperatorConfig is this machine's wg-quick configuration: the hub's
// address and key, and one peer per VM at its public address (endpoints
// by VM name; a VM without one is left out and named in the error).
func (m *Material) OperatorConfig(endpoints map[string]string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# k0rdentctl deployment %s: the management cluster's VMs over WireGuard\n", m.DeploymentID)
	fmt.Fprintf(&b, "[Interface]\nAddress = %s/32\nPrivateKey = %s\n", m.HubAddress, m.Hub.Private)
	var missing []string
	for _, n := range m.Nodes {
		ep, ok := endpoints[n.Name]
		if !ok || ep == "" {
			missing = append(missing, n.Name)
			continue
		}
		fmt.Fprintf(&b, "\n[Peer]\n# %s\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s:%d\nPersistentKeepalive = 25\n",
			n.Name, n.WireGuard.Public, n.Address, ep, m.Port)
	}
	if len(missing) > 0 {
		return b.String(), fmt.Errorf("no public address known for %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}
