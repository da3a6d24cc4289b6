package infra

import (
	"fmt"
	"sort"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
)

// Planned is one Azure resource that EnsureNetwork and EnsureVMs create,
// as plan shows it.
type Planned struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Planned lists every resource of the spec, in the order they are made:
// the resource group, the network security group, the virtual network and
// subnet, then per VM its public IP, NIC, VM and OS disk.
func (s *Spec) Planned() []Planned {
	n := s.Names
	tags := make([]string, 0, len(s.Tags))
	for k, v := range s.Tags {
		switch {
		case k == azure.TagCreated:
			tags = append(tags, k+"=(when the deployment began)")
		case v != nil:
			tags = append(tags, k+"="+*v)
		}
	}
	sort.Strings(tags)
	inbound := fmt.Sprintf("inbound UDP %d (WireGuard)", s.WireGuardPort)
	if s.AllowSSH {
		inbound += " and TCP 22 (SSH, until the cluster is reached over WireGuard)"
	}
	out := []Planned{
		{"Microsoft.Resources/resourceGroups", n.ResourceGroup, fmt.Sprintf("in %s, tags %s; every resource below carries the same tags", s.Location, strings.Join(tags, ", "))},
		{"Microsoft.Network/networkSecurityGroups", n.NSG, "only " + inbound + " from the internet"},
		{"Microsoft.Network/virtualNetworks", n.VNet, s.VNetCIDR},
		{"Microsoft.Network/virtualNetworks/subnets", n.VNet + "/" + n.Subnet, s.SubnetCIDR + ", with " + n.NSG},
	}
	priority := "Regular"
	if s.Spot {
		priority = "Spot, eviction " + s.EvictionPolicy
		if s.MaxPrice != nil {
			priority += fmt.Sprintf(", max price %g", *s.MaxPrice)
		}
	}
	for _, vm := range s.VMs {
		r := azure.ForVM(vm.Name)
		zone := "no zone"
		if vm.Zone != "" {
			zone = "zone " + vm.Zone
		}
		out = append(out,
			Planned{"Microsoft.Network/publicIPAddresses", r.PublicIP, "Standard, static" + zoneText(vm.Zone)},
			Planned{"Microsoft.Network/networkInterfaces", r.NIC, "in " + n.Subnet + ", with " + r.PublicIP + "; deleted with the VM"},
			Planned{"Microsoft.Compute/virtualMachines", vm.Name, fmt.Sprintf("%s %s, %s, %s, image %s, admin %s (SSH key only), cloud-init installs WireGuard", vm.Role, vm.Size, zone, priority, s.Image, s.SSHUser)},
			Planned{"Microsoft.Compute/disks", r.OSDisk, "OS disk, 64 GiB " + string(OSDiskType(vm.Size)) + "; deleted with the VM"},
		)
	}
	return out
}
