// Package k0s makes the k0sctl configuration of the management cluster:
// one host per VM reached over WireGuard with the operator's key and the
// host key k0rdentctl gave the VM, roles from the cluster section, and the
// k0s cluster configuration (version, API SANs, Calico, node-local load
// balancing when there are several controllers), and runs k0sctl with it.
//
// The configuration is written with this package's own types: linking
// k0sctl's would link its SSH library, whose package initialisation alone
// costs every k0rdentctl command 5 ms. The tests read every configuration
// back through k0sctl's own loader and validation.
package k0s

import (
	"fmt"

	"github.com/k0sproject/version"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/prepare"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Roles of k0sctl hosts.
const (
	RoleController       = "controller"
	RoleControllerWorker = "controller+worker"
	RoleWorker           = "worker"
	RoleSingle           = "single"
)

// APIVersion is k0sctl's configuration version.
const APIVersion = "k0sctl.k0sproject.io/v1beta1"

// VM is one host: its name and whether it is a controller.
type VM struct {
	Name       string
	Controller bool
}

// ClusterConfig is a k0sctl configuration (the fields k0rdentctl sets).
type ClusterConfig struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the cluster.
type Metadata struct {
	Name string `json:"name"`
}

// Spec is the hosts and k0s.
type Spec struct {
	Hosts []Host `json:"hosts"`
	K0s   K0s    `json:"k0s"`
}

// Host is one VM.
type Host struct {
	SSH              SSH    `json:"ssh"`
	Role             string `json:"role"`
	PrivateInterface string `json:"privateInterface,omitempty"`
	Hostname         string `json:"hostname,omitempty"`
}

// SSH is how k0sctl reaches a host; HostKey is checked (rig's static
// host-key check compares "<type> <base64>").
type SSH struct {
	Address string `json:"address"`
	User    string `json:"user"`
	Port    int    `json:"port"`
	KeyPath string `json:"keyPath"`
	HostKey string `json:"hostKey"`
}

// K0s is the k0s version and its cluster configuration.
type K0s struct {
	Version       string         `json:"version"`
	DynamicConfig bool           `json:"dynamicConfig"`
	Config        map[string]any `json:"config"`
}

// Cluster is the k0sctl configuration for the VMs of m (controllers
// first).
func Cluster(cfg *config.Config, m *prepare.Material, vms []VM) (*ClusterConfig, error) {
	ver := cfg.Software.K0s.Version
	if ver == "" {
		ver = config.DefaultK0sVersion
	}
	if _, err := version.NewVersion(ver); err != nil {
		return nil, fmt.Errorf("software.k0s.version %q is not a k0s version such as %s: %w", ver, config.DefaultK0sVersion, err)
	}
	controllers, workers := count(vms)
	var sans []any
	var hosts []Host
	for _, vm := range vms {
		n, ok := m.Node(vm.Name)
		if !ok {
			return nil, fmt.Errorf("no WireGuard address or keys prepared for VM %s", vm.Name)
		}
		role := role(vm, controllers, workers)
		if vm.Controller {
			sans = append(sans, n.Address.String())
		}
		k := n.HostKey.Signer.PublicKey()
		hosts = append(hosts, Host{
			SSH:  SSH{Address: n.Address.String(), User: m.User, Port: 22, KeyPath: m.SSH.Path, HostKey: k.Type() + " " + base64Std(k.Marshal())},
			Role: role, Hostname: vm.Name,
			// Node traffic stays in the VNet; WireGuard is for the operator.
			PrivateInterface: "eth0",
		})
	}
	network := map[string]any{
		"provider":    "calico",
		"podCIDR":     orDefault(cfg.Network.PodCIDR, config.DefaultPodCIDR),
		"serviceCIDR": orDefault(cfg.Network.ServiceCIDR, config.DefaultServiceCIDR),
		"calico": map[string]any{
			"mode": "vxlan",
			// Reach out through eth0 (the VNet), not wg0.
			"ipAutodetectionMethod": "interface=eth0",
			"envVars":               map[string]any{"FELIX_IGNORELOOSERPF": "true"},
		},
	}
	if controllers > 1 {
		network["nodeLocalLoadBalancing"] = map[string]any{"enabled": true, "type": "EnvoyProxy"}
	}
	return &ClusterConfig{
		APIVersion: APIVersion, Kind: "Cluster", Metadata: Metadata{Name: m.DeploymentID},
		Spec: Spec{Hosts: hosts, K0s: K0s{Version: ver, Config: map[string]any{
			"apiVersion": "k0s.k0sproject.io/v1beta1",
			"kind":       "ClusterConfig",
			"metadata":   map[string]any{"name": m.DeploymentID},
			"spec":       map[string]any{"api": map[string]any{"sans": sans}, "network": network},
		}}},
	}, nil
}

// Marshal is the k0sctl.yaml content.
func Marshal(c *ClusterConfig) ([]byte, error) { return yaml.Marshal(c) }

// VMs are the management cluster's VMs of the configuration, controllers
// first, named as internal/azure names them.
func VMs(cfg *config.Config) []VM {
	var out []VM
	for i := 0; i < cfg.Cluster.Controllers.Replicas(); i++ {
		out = append(out, VM{Name: azure.VMName("controller", i+1), Controller: true})
	}
	for i := 0; i < cfg.Cluster.Workers.Replicas(); i++ {
		out = append(out, VM{Name: azure.VMName("worker", i+1)})
	}
	return out
}

// count is how many controllers and workers vms has.
func count(vms []VM) (controllers, workers int) {
	for _, vm := range vms {
		if vm.Controller {
			controllers++
		} else {
			workers++
		}
	}
	return controllers, workers
}

// role is vm's k0s role in a cluster of that many controllers and workers:
// controllers take workloads only when there are no workers.
func role(vm VM, controllers, workers int) string {
	switch {
	case vm.Controller && controllers == 1 && workers == 0:
		return RoleSingle
	case vm.Controller && workers == 0:
		return RoleControllerWorker
	case vm.Controller:
		return RoleController
	}
	return RoleWorker
}

// Nodes are the names of the VMs that run a kubelet and so register as
// Kubernetes nodes: the workers, or the controllers when there are no
// workers. A controller-only k0s host (role controller) is no node.
func Nodes(vms []VM) []string {
	controllers, workers := count(vms)
	var out []string
	for _, vm := range vms {
		if role(vm, controllers, workers) != RoleController {
			out = append(out, vm.Name)
		}
	}
	return out
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
