package armsim

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	compfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

const (
	typeVM   = "Microsoft.Compute/virtualMachines"
	typeDisk = "Microsoft.Compute/disks"
)

// VMFault is how a VM create fails.
type VMFault struct {
	// Code is Azure's error code, e.g. "SkuNotAvailable" (no Spot
	// capacity), "AllocationFailed", "OSProvisioningTimedOut".
	Code string
	// Provisioned: the create is accepted and the VM (with its OS disk)
	// exists but ends in provisioning state Failed; a second PUT leaves it
	// Failed, so it must be deleted and created again. Otherwise the PUT
	// itself is refused (409) and nothing is created.
	Provisioned bool
}

// FailVM makes the next n creates of the VM with this name fail with f.
func (s *Sim) FailVM(name string, n int, f VMFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.vmFaults[strings.ToLower(name)] = append(s.vmFaults[strings.ToLower(name)], f)
	}
}

// FailSpot makes the next n creates of Spot VMs, whatever their name, fail
// for lack of Spot capacity (409 SkuNotAvailable, nothing created).
func (s *Sim) FailSpot(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.spotFaults = append(s.spotFaults, VMFault{Code: "SkuNotAvailable"})
	}
}

// CustomData is the custom data a VM was created with (ARM never returns
// it on GET; a test can read it here), decoded from base64 by the caller.
func (s *Sim) CustomData(vmID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.get(vmID)
	if !ok {
		return ""
	}
	return e.customData
}

func (s *Sim) computeTransports(m map[string]policy.Transporter) {
	t := compfake.NewServerFactoryTransport(&compfake.ServerFactory{
		VirtualMachinesServer: compfake.VirtualMachinesServer{
			BeginCreateOrUpdate: s.putVM, Get: s.getVM, BeginDelete: s.deleteVM,
			NewListPager: s.listVMs,
		},
		DisksServer: compfake.DisksServer{
			Get: s.getDisk, BeginDelete: s.deleteDisk, NewListByResourceGroupPager: s.listDisks,
		},
		ResourceSKUsServer:         compfake.ResourceSKUsServer{NewListPager: s.listSKUs},
		UsageServer:                compfake.UsageServer{NewListPager: s.listUsage},
		VirtualMachineImagesServer: compfake.VirtualMachineImagesServer{Get: s.getImage, List: s.listImages},
	})
	for _, c := range []string{"VirtualMachinesClient", "DisksClient", "ResourceSKUsClient", "UsageClient", "VirtualMachineImagesClient"} {
		m[c] = t
	}
}

func decodeVM(e *entry) armcompute.VirtualMachine { return decode[armcompute.VirtualMachine](e) }

func vmSize(vm armcompute.VirtualMachine) string {
	if vm.Properties == nil || vm.Properties.HardwareProfile == nil || vm.Properties.HardwareProfile.VMSize == nil {
		return ""
	}
	return string(*vm.Properties.HardwareProfile.VMSize)
}

func isSpot(vm armcompute.VirtualMachine) bool {
	return vm.Properties != nil && vm.Properties.Priority != nil &&
		(*vm.Properties.Priority == armcompute.VirtualMachinePriorityTypesSpot || *vm.Properties.Priority == armcompute.VirtualMachinePriorityTypesLow)
}

// checkVM is what ARM checks of a VM before accepting it; s.mu held.
func (s *Sim) checkVM(id string, vm armcompute.VirtualMachine, old *armcompute.VirtualMachine) *simError {
	loc := deref(vm.Location, "")
	p := vm.Properties
	if p == nil || p.HardwareProfile == nil || p.StorageProfile == nil || p.NetworkProfile == nil {
		return &simError{http.StatusBadRequest, "InvalidParameter", "Virtual machine " + id + " needs hardwareProfile, storageProfile and networkProfile."}
	}
	size := vmSize(vm)
	k := s.sku(loc, size)
	if k == nil || k.Restricted {
		return &simError{http.StatusConflict, "SkuNotAvailable", fmt.Sprintf("The requested VM size '%s' is currently not available in location '%s'.", size, loc)}
	}
	zone := ""
	if len(vm.Zones) > 0 {
		zone = deref(vm.Zones[0], "")
		if !contains(k.Zones, zone) || contains(k.RestrictedZones, zone) {
			return &simError{http.StatusConflict, "SkuNotAvailable", fmt.Sprintf("The requested VM size '%s' is currently not available in location '%s' zones '%s' for subscription '%s'.", size, loc, zone, s.opts.SubscriptionID)}
		}
	}
	if old != nil && !sameZones(old.Zones, vm.Zones) {
		return &simError{http.StatusConflict, "PropertyChangeNotAllowed", "Changing property 'zones' is not allowed."}
	}
	spot := isSpot(vm)
	if p.EvictionPolicy != nil && !spot {
		return &simError{http.StatusBadRequest, "InvalidParameter", "Eviction policy can be set only for Spot (or Low priority) virtual machines."}
	}
	if p.BillingProfile != nil && p.BillingProfile.MaxPrice != nil && !spot {
		return &simError{http.StatusBadRequest, "InvalidParameter", "Max price can be set only for Spot (or Low priority) virtual machines."}
	}
	if spot && k.NoSpot {
		return &simError{http.StatusConflict, "SkuNotAvailable", fmt.Sprintf("The VM size '%s' cannot be used for Spot virtual machines.", size)}
	}
	if d := p.StorageProfile.OSDisk; k.NoPremiumIO && d != nil && d.ManagedDisk != nil && d.ManagedDisk.StorageAccountType != nil &&
		strings.HasPrefix(string(*d.ManagedDisk.StorageAccountType), "Premium") {
		return &simError{http.StatusBadRequest, "BadRequest", fmt.Sprintf("Requested operation cannot be performed because the VM size %s does not support the storage account type %s of disk '%s'. Consider updating the VM to a size that supports Premium storage.",
			size, *d.ManagedDisk.StorageAccountType, deref(d.Name, ""))}
	}
	// Image: a Marketplace URN (version "latest" allowed at create) or an
	// image resource id; its architecture must match the size's.
	ref := p.StorageProfile.ImageReference
	if ref == nil {
		return &simError{http.StatusBadRequest, "InvalidParameter", "Virtual machine " + id + " needs an image reference."}
	}
	if ref.ID == nil {
		im := s.image(deref(ref.Publisher, ""), deref(ref.Offer, ""), deref(ref.SKU, ""))
		v := deref(ref.Version, "latest")
		if im == nil || (v != "latest" && !contains(im.Versions, v)) {
			return &simError{http.StatusNotFound, "PlatformImageNotFound", fmt.Sprintf("The platform image '%s:%s:%s:%s' is not available.", deref(ref.Publisher, ""), deref(ref.Offer, ""), deref(ref.SKU, ""), v)}
		}
		if !strings.EqualFold(im.Arch, k.Arch) {
			return &simError{http.StatusBadRequest, "BadRequest", fmt.Sprintf("The selected VM size '%s' cannot boot an image of architecture %s; it needs %s.", size, im.Arch, k.Arch)}
		}
	}
	// NICs: they exist and no other VM has them.
	for _, n := range p.NetworkProfile.NetworkInterfaces {
		nid := deref(n.ID, "")
		ne, ok := s.get(nid)
		if !ok {
			return invalidRef(id, nid)
		}
		if vmRef := decode[armnetwork.Interface](ne).Properties.VirtualMachine; vmRef != nil && !strings.EqualFold(deref(vmRef.ID, ""), id) {
			return &simError{http.StatusBadRequest, "NicInUse", fmt.Sprintf("Network interface %s is used by virtual machine %s.", nid, deref(vmRef.ID, ""))}
		}
		if !strings.EqualFold(ne.location, loc) {
			return &simError{http.StatusBadRequest, "NicNotInSameLocation", fmt.Sprintf("Network interface %s is in %s, not %s.", nid, ne.location, loc)}
		}
	}
	// Quota: what the location uses, without this VM if it exists, plus it.
	used := s.usage(loc)
	if old != nil {
		if ok := s.sku(loc, vmSize(*old)); ok != nil {
			if isSpot(*old) {
				used["lowPriorityCores"] -= ok.VCPUs
			} else {
				used[ok.Family] -= ok.VCPUs
				used["cores"] -= ok.VCPUs
			}
		}
	}
	l := s.location(loc)
	check := []string{k.Family, "cores"}
	if spot {
		check = []string{"lowPriorityCores"}
	}
	for _, u := range check {
		if limit := l.Quota[u]; used[u]+k.VCPUs > limit {
			return &simError{http.StatusConflict, "OperationNotAllowed", fmt.Sprintf(
				"Operation could not be completed as it results in exceeding approved %s Cores quota. Location: %s, Current Limit: %d, Current Usage: %d, Additional Required: %d, (Minimum) New Limit Required: %d.",
				u, loc, limit, used[u], k.VCPUs, used[u]+k.VCPUs)}
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func sameZones(a, b []*string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if deref(a[i], "") != deref(b[i], "") {
			return false
		}
	}
	return true
}

func (s *Sim) putVM(ctx context.Context, group, name string, vm armcompute.VirtualMachine, _ *armcompute.VirtualMachinesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTopLevel(group, vm.Location); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	id := s.resourceID(group, typeVM, name)
	var old *armcompute.VirtualMachine
	oldEntry, exists := s.get(id)
	if exists {
		o := decodeVM(oldEntry)
		old = &o
	}
	if err := s.checkVM(id, vm, old); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	if exists && oldEntry.state == "Failed" {
		// A VM that failed to provision stays failed: delete it first.
		s.running(&resp, http.StatusCreated)
		resp.SetTerminalError(http.StatusConflict, "OperationNotAllowed")
		s.later(id, "OperationNotAllowed", fmt.Sprintf("Virtual machine %s is in provisioning state Failed; delete it and create it again.", name))
		return
	}
	var fault *VMFault
	if !exists {
		key := strings.ToLower(name)
		if q := s.vmFaults[key]; len(q) > 0 {
			fault, s.vmFaults[key] = &q[0], q[1:]
		} else if isSpot(vm) && len(s.spotFaults) > 0 {
			fault, s.spotFaults = &s.spotFaults[0], s.spotFaults[1:]
		}
	}
	if fault != nil && !fault.Provisioned {
		answer(ctx, &errResp, &simError{http.StatusConflict, fault.Code, fmt.Sprintf("Creating virtual machine %s failed: %s (injected by the simulation).", name, fault.Code)})
		return
	}
	p := vm.Properties
	customData := ""
	if p.OSProfile != nil {
		customData = deref(p.OSProfile.CustomData, "")
		p.OSProfile.CustomData = nil // write-only, as in ARM
	}
	// The OS disk, named as Azure names it unless the body names it.
	disk := p.StorageProfile.OSDisk
	if disk == nil {
		disk = &armcompute.OSDisk{}
		p.StorageProfile.OSDisk = disk
	}
	if old != nil && old.Properties.StorageProfile.OSDisk != nil {
		disk.Name = old.Properties.StorageProfile.OSDisk.Name
	} else if disk.Name == nil {
		disk.Name = to.Ptr(fmt.Sprintf("%s_OsDisk_1_%08x", name, len(s.res)))
	}
	diskID := s.resourceID(group, typeDisk, *disk.Name)
	if disk.ManagedDisk == nil {
		disk.ManagedDisk = &armcompute.ManagedDiskParameters{}
	}
	disk.ManagedDisk.ID = to.Ptr(diskID)
	if ref := p.StorageProfile.ImageReference; ref != nil && ref.ID == nil {
		if im := s.image(deref(ref.Publisher, ""), deref(ref.Offer, ""), deref(ref.SKU, "")); im != nil {
			v := deref(ref.Version, "latest")
			if v == "latest" {
				v = im.Versions[len(im.Versions)-1]
			}
			ref.ExactVersion = to.Ptr(v)
		}
	}
	state := "Succeeded"
	if fault != nil {
		state = "Failed"
	}
	vm.ID, vm.Name, vm.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeVM)
	p.ProvisioningState = to.Ptr(state)
	if old != nil {
		p.VMID = old.Properties.VMID
	} else {
		p.VMID = to.Ptr(fmt.Sprintf("%08x-0000-4000-8000-%012x", len(s.res), len(s.log)))
	}
	uses := []string{strings.ToLower(diskID)}
	for _, n := range p.NetworkProfile.NetworkInterfaces {
		uses = append(uses, lowerID(n.ID))
	}
	tags := tagsIn(vm.Tags)
	e := &entry{id: id, typ: typeVM, name: name, group: group, location: deref(vm.Location, ""),
		tags: tags, state: state, body: encode(vm), uses: uses}
	e.customData = customData
	if customData == "" && oldEntry != nil {
		e.customData = oldEntry.customData
	}
	s.put(e)
	s.put(&entry{id: diskID, typ: typeDisk, name: *disk.Name, group: group, location: e.location, tags: map[string]string{},
		state: "Succeeded", body: encode(armcompute.Disk{ID: to.Ptr(diskID), Name: disk.Name, Type: to.Ptr(typeDisk),
			Location: vm.Location, Zones: vm.Zones, ManagedBy: to.Ptr(id),
			Properties: &armcompute.DiskProperties{DiskSizeGB: disk.DiskSizeGB, ProvisioningState: to.Ptr("Succeeded")}})})
	for _, n := range p.NetworkProfile.NetworkInterfaces {
		ne, _ := s.get(deref(n.ID, ""))
		nic := decode[armnetwork.Interface](ne)
		nic.Properties.VirtualMachine = &armnetwork.SubResource{ID: to.Ptr(id)}
		ne.body = encode(nic)
	}
	s.running(&resp, http.StatusCreated)
	if fault != nil {
		resp.SetTerminalError(http.StatusConflict, fault.Code)
		s.later(id, fault.Code, fmt.Sprintf("Provisioning of VM '%s' did not finish: %s (injected by the simulation).", name, fault.Code))
		return
	}
	resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientCreateOrUpdateResponse{VirtualMachine: decodeVM(e)}, nil)
	return
}

// later keeps the message of an error that a long-running operation on
// the resource at path gives at its end (on a later poll, another
// request); s.mu held.
func (s *Sim) later(path, code, text string) {
	s.pending[strings.ToLower(path)] = message{code, text}
}

func (s *Sim) getVM(ctx context.Context, group, name string, _ *armcompute.VirtualMachinesClientGetOptions) (azfake.Responder[armcompute.VirtualMachinesClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeVM, name, s.resourceID(group, typeVM, name), func(v armcompute.VirtualMachine) armcompute.VirtualMachinesClientGetResponse {
		return armcompute.VirtualMachinesClientGetResponse{VirtualMachine: v}
	})
}

func (s *Sim) listVMs(group string, _ *armcompute.VirtualMachinesClientListOptions) azfake.PagerResponder[armcompute.VirtualMachinesClientListResponse] {
	return listIn(s, group, typeVM, func(v []*armcompute.VirtualMachine) armcompute.VirtualMachinesClientListResponse {
		return armcompute.VirtualMachinesClientListResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: v}}
	})
}

// deleteVM deletes a VM and, where their deleteOption says Delete, its OS
// disk, NICs and the NICs' public IPs; what it leaves is released.
func (s *Sim) deleteVM(ctx context.Context, group, name string, _ *armcompute.VirtualMachinesClientBeginDeleteOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.resourceID(group, typeVM, name)
	e, ok := s.get(id)
	if ok {
		vm := decodeVM(e)
		delete(s.res, strings.ToLower(id))
		p := vm.Properties
		if d := p.StorageProfile.OSDisk; d != nil && d.ManagedDisk != nil {
			if d.DeleteOption != nil && *d.DeleteOption == armcompute.DiskDeleteOptionTypesDelete {
				delete(s.res, lowerID(d.ManagedDisk.ID))
			} else if de, ok := s.get(deref(d.ManagedDisk.ID, "")); ok {
				disk := decode[armcompute.Disk](de)
				disk.ManagedBy = nil
				de.body = encode(disk)
			}
		}
		for _, n := range p.NetworkProfile.NetworkInterfaces {
			ne, ok := s.get(deref(n.ID, ""))
			if !ok {
				continue
			}
			nic := decode[armnetwork.Interface](ne)
			if n.Properties != nil && n.Properties.DeleteOption != nil && *n.Properties.DeleteOption == armcompute.DeleteOptionsDelete {
				delete(s.res, strings.ToLower(ne.id))
				for _, c := range nic.Properties.IPConfigurations {
					if ip := c.Properties.PublicIPAddress; ip != nil && ip.Properties != nil && ip.Properties.DeleteOption != nil &&
						*ip.Properties.DeleteOption == armnetwork.DeleteOptionsDelete {
						delete(s.res, lowerID(ip.ID))
					}
				}
				continue
			}
			nic.Properties.VirtualMachine = nil
			ne.body = encode(nic)
		}
	}
	s.running(&resp, http.StatusAccepted)
	resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientDeleteResponse{}, nil)
	return
}

func (s *Sim) getDisk(ctx context.Context, group, name string, _ *armcompute.DisksClientGetOptions) (azfake.Responder[armcompute.DisksClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeDisk, name, s.resourceID(group, typeDisk, name), func(v armcompute.Disk) armcompute.DisksClientGetResponse {
		return armcompute.DisksClientGetResponse{Disk: v}
	})
}

func (s *Sim) deleteDisk(ctx context.Context, group, name string, _ *armcompute.DisksClientBeginDeleteOptions) (azfake.PollerResponder[armcompute.DisksClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armcompute.DisksClientDeleteResponse](s, ctx, s.resourceID(group, typeDisk, name))
}

func (s *Sim) listDisks(group string, _ *armcompute.DisksClientListByResourceGroupOptions) azfake.PagerResponder[armcompute.DisksClientListByResourceGroupResponse] {
	return listIn(s, group, typeDisk, func(v []*armcompute.Disk) armcompute.DisksClientListByResourceGroupResponse {
		return armcompute.DisksClientListByResourceGroupResponse{DiskList: armcompute.DiskList{Value: v}}
	})
}

// listSKUs answers ResourceSKUs for the location in the filter
// ("location eq 'westeurope'"), or for every location without one.
func (s *Sim) listSKUs(opts *armcompute.ResourceSKUsClientListOptions) (resp azfake.PagerResponder[armcompute.ResourceSKUsClientListResponse]) {
	f, err := parseFilter(filterOf(opts != nil, func() *string { return opts.Filter }))
	if err != nil {
		resp.AddResponseError(err.status, err.code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.catalog.Locations {
		if f.location == "" || strings.EqualFold(n, f.location) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []*armcompute.ResourceSKU
	for _, loc := range names {
		for _, k := range s.catalog.Locations[loc].SKUs {
			out = append(out, skuModel(loc, k))
		}
	}
	resp.AddPage(http.StatusOK, armcompute.ResourceSKUsClientListResponse{ResourceSKUsResult: armcompute.ResourceSKUsResult{Value: out}}, nil)
	return
}

func skuModel(loc string, k SKU) *armcompute.ResourceSKU {
	caps := []*armcompute.ResourceSKUCapabilities{
		{Name: to.Ptr("vCPUs"), Value: to.Ptr(fmt.Sprint(k.VCPUs))},
		{Name: to.Ptr("CpuArchitectureType"), Value: to.Ptr(k.Arch)},
		{Name: to.Ptr("LowPriorityCapable"), Value: to.Ptr(fmt.Sprint(!k.NoSpot))},
		{Name: to.Ptr("PremiumIO"), Value: to.Ptr(fmt.Sprint(!k.NoPremiumIO))},
	}
	m := &armcompute.ResourceSKU{Name: to.Ptr(k.Name), ResourceType: to.Ptr("virtualMachines"), Family: to.Ptr(k.Family),
		Tier: to.Ptr("Standard"), Locations: []*string{to.Ptr(loc)}, Capabilities: caps,
		LocationInfo: []*armcompute.ResourceSKULocationInfo{{Location: to.Ptr(loc), Zones: to.SliceOfPtrs(k.Zones...)}}}
	if k.Restricted {
		m.Restrictions = append(m.Restrictions, &armcompute.ResourceSKURestrictions{
			Type: to.Ptr(armcompute.ResourceSKURestrictionsTypeLocation), Values: []*string{to.Ptr(loc)},
			RestrictionInfo: &armcompute.ResourceSKURestrictionInfo{Locations: []*string{to.Ptr(loc)}},
			ReasonCode:      to.Ptr(armcompute.ResourceSKURestrictionsReasonCodeNotAvailableForSubscription)})
	}
	if len(k.RestrictedZones) > 0 {
		m.Restrictions = append(m.Restrictions, &armcompute.ResourceSKURestrictions{
			Type: to.Ptr(armcompute.ResourceSKURestrictionsTypeZone), Values: []*string{to.Ptr(loc)},
			RestrictionInfo: &armcompute.ResourceSKURestrictionInfo{Locations: []*string{to.Ptr(loc)}, Zones: to.SliceOfPtrs(k.RestrictedZones...)},
			ReasonCode:      to.Ptr(armcompute.ResourceSKURestrictionsReasonCodeNotAvailableForSubscription)})
	}
	return m
}

// listUsage answers the vCPU usage of a location: what its VMs use
// against the catalogue's limits.
func (s *Sim) listUsage(location string, _ *armcompute.UsageClientListOptions) (resp azfake.PagerResponder[armcompute.UsageClientListResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.location(location)
	if l == nil {
		resp.AddResponseError(http.StatusNotFound, "NoRegisteredProviderFound")
		return
	}
	used := s.usage(location)
	var names []string
	for n := range l.Quota {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*armcompute.Usage
	for _, n := range names {
		out = append(out, &armcompute.Usage{Name: &armcompute.UsageName{Value: to.Ptr(n), LocalizedValue: to.Ptr(n)},
			CurrentValue: to.Ptr(int32(used[n])), Limit: to.Ptr(int64(l.Quota[n])), Unit: to.Ptr("Count")})
	}
	resp.AddPage(http.StatusOK, armcompute.UsageClientListResponse{ListUsagesResult: armcompute.ListUsagesResult{Value: out}}, nil)
	return
}

// getImage answers one image version; "latest" is not a version ARM's
// GET accepts (list the versions instead).
func (s *Sim) getImage(ctx context.Context, location, publisher, offer, skuName, version string, _ *armcompute.VirtualMachineImagesClientGetOptions) (resp azfake.Responder[armcompute.VirtualMachineImagesClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.image(publisher, offer, skuName)
	if im == nil || s.location(location) == nil || !contains(im.Versions, version) {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "NotFound", fmt.Sprintf("Artifact: VMImage was not found (%s:%s:%s:%s in %s).", publisher, offer, skuName, version, location)})
		return
	}
	resp.SetResponse(http.StatusOK, armcompute.VirtualMachineImagesClientGetResponse{VirtualMachineImage: armcompute.VirtualMachineImage{
		Name: to.Ptr(version), Location: to.Ptr(location), ID: to.Ptr(s.imageID(location, *im, version)),
		Properties: &armcompute.VirtualMachineImageProperties{Architecture: to.Ptr(armcompute.ArchitectureTypes(im.Arch)),
			HyperVGeneration: to.Ptr(armcompute.HyperVGenerationTypesV2)}}}, nil)
	return
}

func (s *Sim) imageID(location string, im Image, version string) string {
	return fmt.Sprintf("%s/providers/Microsoft.Compute/locations/%s/publishers/%s/artifacttypes/vmimage/offers/%s/skus/%s/versions/%s",
		s.subscriptionScope(), location, im.Publisher, im.Offer, im.SKU, version)
}

func (s *Sim) listImages(ctx context.Context, location, publisher, offer, skuName string, _ *armcompute.VirtualMachineImagesClientListOptions) (resp azfake.Responder[armcompute.VirtualMachineImagesClientListResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.image(publisher, offer, skuName)
	if im == nil || s.location(location) == nil {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "NotFound", fmt.Sprintf("Artifact: VMImage was not found (%s:%s:%s in %s).", publisher, offer, skuName, location)})
		return
	}
	var out []*armcompute.VirtualMachineImageResource
	for _, v := range im.Versions {
		out = append(out, &armcompute.VirtualMachineImageResource{Name: to.Ptr(v), Location: to.Ptr(location), ID: to.Ptr(s.imageID(location, *im, v))})
	}
	resp.SetResponse(http.StatusOK, armcompute.VirtualMachineImagesClientListResponse{VirtualMachineImageResourceArray: out}, nil)
	return
}
