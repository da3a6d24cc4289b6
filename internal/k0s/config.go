// Package k0s makes the k0sctl configuration of the management cluster:
// one host per VM reached over WireGuard with the operator's key and the
// host key k0rdentctl gave the VM, roles from the cluster section, and the
// k0s cluster configuration (version, API SANs, Calico, node-local load
// balancing when there are several controllers). The result is k0sctl's
// own Cluster type, validated by k0sctl.
package k0s

import (
	"encoding/base64"
	"fmt"

	"github.com/k0sproject/dig"
	"github.com/k0sproject/k0sctl/pkg/apis/k0sctl.k0sproject.io/v1beta1"
	"github.com/k0sproject/k0sctl/pkg/apis/k0sctl.k0sproject.io/v1beta1/cluster"
	"github.com/k0sproject/rig"
	"github.com/k0sproject/version"
	"gopkg.in/yaml.v2"

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

// VM is one host: its name and whether it is a controller.
type VM struct {
	Name       string
	Controller bool
}

// Cluster is the k0sctl configuration for the VMs of m (controllers
// first), validated by k0sctl.
func Cluster(cfg *config.Config, m *prepare.Material, vms []VM) (*v1beta1.Cluster, error) {
	ver := cfg.Software.K0s.Version
	if ver == "" {
		ver = config.DefaultK0sVersion
	}
	kv, err := version.NewVersion(ver)
	if err != nil {
		return nil, fmt.Errorf("software.k0s.version %q is not a k0s version such as %s: %w", ver, config.DefaultK0sVersion, err)
	}
	controllers, workers := 0, 0
	for _, vm := range vms {
		if vm.Controller {
			controllers++
		} else {
			workers++
		}
	}
	var sans []string
	hosts := cluster.Hosts{}
	keyPath := m.SSH.Path
	for _, vm := range vms {
		n, ok := m.Node(vm.Name)
		if !ok {
			return nil, fmt.Errorf("no WireGuard address or keys prepared for VM %s", vm.Name)
		}
		role := RoleWorker
		switch {
		case vm.Controller && controllers == 1 && workers == 0:
			role = RoleSingle
		case vm.Controller && workers == 0:
			role = RoleControllerWorker
		case vm.Controller:
			role = RoleController
		}
		if vm.Controller {
			sans = append(sans, n.Address.String())
		}
		kp := keyPath
		hosts = append(hosts, &cluster.Host{
			Connection: rig.Connection{SSH: &rig.SSH{Address: n.Address.String(), User: m.User, Port: 22, KeyPath: &kp,
				HostKey: hostKeyString(n)}},
			Role:             role,
			HostnameOverride: vm.Name,
			// Node traffic stays in the VNet; WireGuard is for the operator.
			PrivateInterface: "eth0",
		})
	}
	network := dig.Mapping{
		"provider":    "calico",
		"podCIDR":     orDefault(cfg.Network.PodCIDR, config.DefaultPodCIDR),
		"serviceCIDR": orDefault(cfg.Network.ServiceCIDR, config.DefaultServiceCIDR),
		"calico": dig.Mapping{
			"mode": "vxlan",
			// Reach out through eth0 (the VNet), not wg0.
			"ipAutodetectionMethod": "interface=eth0",
			"envVars":               dig.Mapping{"FELIX_IGNORELOOSERPF": "true"},
		},
	}
	if controllers > 1 {
		network["nodeLocalLoadBalancing"] = dig.Mapping{"enabled": true, "type": "EnvoyProxy"}
	}
	c := &v1beta1.Cluster{
		APIVersion: v1beta1.APIVersion,
		Kind:       "Cluster",
		Metadata:   &v1beta1.ClusterMetadata{Name: m.DeploymentID, User: "admin"},
		Spec: &cluster.Spec{
			Hosts: hosts,
			K0s: &cluster.K0s{Version: kv, DynamicConfig: false, Config: dig.Mapping{
				"apiVersion": "k0s.k0sproject.io/v1beta1",
				"kind":       "ClusterConfig",
				"metadata":   dig.Mapping{"name": m.DeploymentID},
				"spec": dig.Mapping{
					"api":     dig.Mapping{"sans": toAny(sans)},
					"network": network,
				},
			}},
		},
	}
	if err := validate(c); err != nil {
		return nil, err
	}
	return c, nil
}

// hostKeyString is the VM's host key as rig's static host-key check
// compares it: "<type> <base64>".
func hostKeyString(n *prepare.Node) string {
	k := n.HostKey.Signer.PublicKey()
	return k.Type() + " " + base64Std(k.Marshal())
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// validate runs k0sctl's own checks on the configuration as k0sctl reads
// it: the YAML is read back through k0sctl's loader (defaults included)
// and validated.
func validate(c *v1beta1.Cluster) error {
	data, err := Marshal(c)
	if err != nil {
		return err
	}
	back := &v1beta1.Cluster{}
	if err := yaml.UnmarshalStrict(data, back); err != nil {
		return fmt.Errorf("k0sctl cannot read the configuration k0rdentctl made: %w", err)
	}
	if err := back.Validate(); err != nil {
		return fmt.Errorf("k0sctl refuses the configuration k0rdentctl made: %w", err)
	}
	return nil
}

// Marshal is the k0sctl.yaml content, as k0sctl writes it (yaml.v2),
// without spec.options: k0rdentctl sets none, and k0sctl fills in its
// defaults when it reads the file.
func Marshal(c *v1beta1.Cluster) ([]byte, error) {
	data, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	for i, item := range doc {
		spec, ok := item.Value.(yaml.MapSlice)
		if item.Key != "spec" || !ok {
			continue
		}
		kept := spec[:0]
		for _, f := range spec {
			if f.Key != "options" {
				kept = append(kept, f)
			}
		}
		doc[i].Value = kept
	}
	return yaml.Marshal(doc)
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

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
