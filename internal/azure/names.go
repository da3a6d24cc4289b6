package azure

import "fmt"

// Names are the names of a deployment's Azure resources. One resource
// group holds them all, so VM names repeat across deployments.
type Names struct {
	ResourceGroup string
	VNet          string
	Subnet        string
	NSG           string
}

// NamesFor are the names for a deployment; resourceGroup is
// azure.resource_group, empty for the default <id>-rg.
func NamesFor(deploymentID, resourceGroup string) Names {
	n := Names{ResourceGroup: resourceGroup, VNet: deploymentID + "-vnet", Subnet: deploymentID + "-subnet", NSG: deploymentID + "-nsg"}
	if n.ResourceGroup == "" {
		n.ResourceGroup = deploymentID + "-rg"
	}
	return n
}

// VMName is the name (and host name, and k0s node name) of the i-th VM of
// a role, from 1: k0s-controller-1, k0s-worker-2.
func VMName(role string, i int) string { return fmt.Sprintf("k0s-%s-%d", role, i) }

// VMResources are the names of what belongs to one VM.
type VMResources struct {
	VM, NIC, PublicIP, OSDisk string
}

// ForVM are the names of a VM's NIC, public IP and OS disk.
func ForVM(vm string) VMResources {
	return VMResources{VM: vm, NIC: vm + "-nic", PublicIP: vm + "-ip", OSDisk: vm + "-osdisk"}
}
