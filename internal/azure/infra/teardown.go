package infra

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
)

// Leftover is a resource found by its tags.
type Leftover struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	ResourceGroup string `json:"resource_group"`
}

// Leftovers lists the resource groups and resources that carry a tag
// filter's match (azure.TagFilter or azure.NameFilter): what is left of a
// deployment, found without its state record.
func (i *Infra) Leftovers(ctx context.Context, filter string) ([]Leftover, error) {
	var out []Leftover
	gp := i.C.Groups.NewListPager(&armresources.ResourceGroupsClientListOptions{Filter: &filter})
	for gp.More() {
		page, err := gp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing resource groups by tag: %s", AzureError(err))
		}
		for _, g := range page.Value {
			out = append(out, Leftover{ID: deref(g.ID), Type: deref(g.Type), Name: deref(g.Name), ResourceGroup: deref(g.Name)})
		}
	}
	rp := i.C.Generic.NewListPager(&armresources.ClientListOptions{Filter: &filter})
	for rp.More() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing resources by tag: %s", AzureError(err))
		}
		for _, r := range page.Value {
			out = append(out, Leftover{ID: deref(r.ID), Type: deref(r.Type), Name: deref(r.Name), ResourceGroup: groupOf(deref(r.ID))})
		}
	}
	return out, nil
}

// groupOf is the resource group in an ARM id.
func groupOf(id string) string {
	p := strings.Split(strings.Trim(id, "/"), "/")
	for k := 0; k+1 < len(p); k++ {
		if strings.EqualFold(p[k], "resourceGroups") {
			return p[k+1]
		}
	}
	return ""
}

// deleteOrder is the order of deletion by type: what uses comes before
// what is used.
var deleteOrder = []string{
	"microsoft.compute/virtualmachines",
	"microsoft.network/networkinterfaces",
	"microsoft.network/publicipaddresses",
	"microsoft.compute/disks",
	"microsoft.network/virtualnetworks",
	"microsoft.network/networksecuritygroups",
	"microsoft.resources/resourcegroups",
}

func rank(typ string) int {
	for k, t := range deleteOrder {
		if strings.EqualFold(t, typ) {
			return k
		}
	}
	return len(deleteOrder)
}

// Teardown deletes the deployment's resources one by one in reverse
// dependency order: VMs (concurrently; their NICs and OS disks go with
// them), NICs, public IPs, disks, the virtual network, the NSG and, when
// k0rdentctl created it (tagged with the deployment id), the resource
// group. It deletes what the Spec names and whatever else carries the
// deployment's tag, and returns what it deleted, in order.
func (i *Infra) Teardown(ctx context.Context, s *Spec) ([]string, error) {
	rg := s.Names.ResourceGroup
	targets := map[string]Leftover{}
	add := func(typ, name string) {
		id := fmt.Sprintf("/subscriptions/-/resourceGroups/%s/providers/%s/%s", rg, typ, name)
		targets[strings.ToLower(typ+"/"+name)] = Leftover{ID: id, Type: typ, Name: name, ResourceGroup: rg}
	}
	for _, vm := range s.VMs {
		n := azure.ForVM(vm.Name)
		add("Microsoft.Compute/virtualMachines", n.VM)
		add("Microsoft.Network/networkInterfaces", n.NIC)
		add("Microsoft.Network/publicIPAddresses", n.PublicIP)
		add("Microsoft.Compute/disks", n.OSDisk)
	}
	add("Microsoft.Network/virtualNetworks", s.Names.VNet)
	add("Microsoft.Network/networkSecurityGroups", s.Names.NSG)
	tagged, err := i.Leftovers(ctx, azure.TagFilter(s.DeploymentID))
	if err != nil {
		return nil, err
	}
	ownGroup := false
	for _, l := range tagged {
		if strings.EqualFold(l.Type, "Microsoft.Resources/resourceGroups") {
			ownGroup = ownGroup || strings.EqualFold(l.Name, rg)
			if !strings.EqualFold(l.Name, rg) {
				targets[strings.ToLower(l.Type+"/"+l.Name)] = l
			}
			continue
		}
		targets[strings.ToLower(l.Type+"/"+l.ResourceGroup+"/"+l.Name)] = l
		delete(targets, strings.ToLower(l.Type+"/"+l.Name))
	}
	if ownGroup {
		targets["group"] = Leftover{Type: "Microsoft.Resources/resourceGroups", Name: rg, ResourceGroup: rg}
	}
	byRank := map[int][]Leftover{}
	for _, t := range targets {
		byRank[rank(t.Type)] = append(byRank[rank(t.Type)], t)
	}
	var deleted []string
	for r := 0; r <= len(deleteOrder); r++ {
		list := byRank[r]
		sort.Slice(list, func(a, b int) bool { return list[a].Name < list[b].Name })
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make([]error, len(list))
		for k, t := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gone, err := i.deleteOne(ctx, s, t)
				errs[k] = err
				if gone {
					mu.Lock()
					deleted = append(deleted, t.Type+"/"+t.Name)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// deleteOne deletes one resource by type; gone is false when it was not
// there.
func (i *Infra) deleteOne(ctx context.Context, s *Spec, t Leftover) (gone bool, err error) {
	rg, name := t.ResourceGroup, t.Name
	po := s.pollOptions()
	switch strings.ToLower(t.Type) {
	case "microsoft.compute/virtualmachines":
		if _, err = i.C.VMs.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting VM %s", name)
			_, err = wait2[armcompute.VirtualMachinesClientDeleteResponse](ctx, po)(i.C.VMs.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.network/networkinterfaces":
		if _, err = i.C.NICs.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting network interface %s", name)
			_, err = wait2[armnetwork.InterfacesClientDeleteResponse](ctx, po)(i.C.NICs.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.network/publicipaddresses":
		if _, err = i.C.IPs.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting public IP %s", name)
			_, err = wait2[armnetwork.PublicIPAddressesClientDeleteResponse](ctx, po)(i.C.IPs.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.compute/disks":
		if _, err = i.C.Disks.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting disk %s", name)
			_, err = wait2[armcompute.DisksClientDeleteResponse](ctx, po)(i.C.Disks.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.network/virtualnetworks":
		if _, err = i.C.VNets.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting virtual network %s", name)
			_, err = wait2[armnetwork.VirtualNetworksClientDeleteResponse](ctx, po)(i.C.VNets.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.network/networksecuritygroups":
		if _, err = i.C.NSGs.Get(ctx, rg, name, nil); err == nil {
			i.say("deleting network security group %s", name)
			_, err = wait2[armnetwork.SecurityGroupsClientDeleteResponse](ctx, po)(i.C.NSGs.BeginDelete(ctx, rg, name, nil))
		}
	case "microsoft.resources/resourcegroups":
		if _, err = i.C.Groups.Get(ctx, name, nil); err == nil {
			i.say("deleting resource group %s", name)
			_, err = wait2[armresources.ResourceGroupsClientDeleteResponse](ctx, po)(i.C.Groups.BeginDelete(ctx, name, nil))
		}
	default:
		return false, fmt.Errorf("%s %s (%s) carries this deployment's tag but k0rdentctl does not delete that type; delete it by hand: az resource delete --ids %s", t.Type, t.Name, t.ID, t.ID)
	}
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting %s %s: %s", t.Type, name, AzureError(err))
	}
	return true, nil
}

// DeleteGroup deletes the resource group and everything in it, without
// waiting for Azure to finish (reset --fast), after checking that the group
// is this deployment's: a group without its tag is refused.
func (i *Infra) DeleteGroup(ctx context.Context, s *Spec) error {
	g, err := i.C.Groups.Get(ctx, s.Names.ResourceGroup, nil)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading resource group %s: %s", s.Names.ResourceGroup, AzureError(err))
	}
	if tag := deref(g.Tags[azure.TagDeployment]); tag != s.DeploymentID {
		return fmt.Errorf("resource group %s is not this deployment's (its %s tag is %q, not %s): it is not deleted; reset without --fast deletes this deployment's resources in it one by one", s.Names.ResourceGroup, azure.TagDeployment, tag, s.DeploymentID)
	}
	i.say("deleting resource group %s and everything in it", s.Names.ResourceGroup)
	if _, err := i.C.Groups.BeginDelete(ctx, s.Names.ResourceGroup, nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting resource group %s: %s", s.Names.ResourceGroup, AzureError(err))
	}
	return nil
}
