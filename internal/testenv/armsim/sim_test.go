package armsim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
)

// clients are the SDK clients a test uses, all on one simulation.
type clients struct {
	groups   *armresources.ResourceGroupsClient
	generic  *armresources.Client
	vnets    *armnetwork.VirtualNetworksClient
	nsgs     *armnetwork.SecurityGroupsClient
	rules    *armnetwork.SecurityRulesClient
	ips      *armnetwork.PublicIPAddressesClient
	nics     *armnetwork.InterfacesClient
	vms      *armcompute.VirtualMachinesClient
	skus     *armcompute.ResourceSKUsClient
	usage    *armcompute.UsageClient
	images   *armcompute.VirtualMachineImagesClient
	roles    *armauthorization.RoleAssignmentsClient
	sub      string
	location string
}

func newClients(t *testing.T, sub string, opts *arm.ClientOptions) *clients {
	t.Helper()
	cred := armsim.Credential()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := &clients{sub: sub, location: "westeurope"}
	var err error
	c.groups, err = armresources.NewResourceGroupsClient(sub, cred, opts)
	must(err)
	c.generic, err = armresources.NewClient(sub, cred, opts)
	must(err)
	c.vnets, err = armnetwork.NewVirtualNetworksClient(sub, cred, opts)
	must(err)
	c.nsgs, err = armnetwork.NewSecurityGroupsClient(sub, cred, opts)
	must(err)
	c.rules, err = armnetwork.NewSecurityRulesClient(sub, cred, opts)
	must(err)
	c.ips, err = armnetwork.NewPublicIPAddressesClient(sub, cred, opts)
	must(err)
	c.nics, err = armnetwork.NewInterfacesClient(sub, cred, opts)
	must(err)
	c.vms, err = armcompute.NewVirtualMachinesClient(sub, cred, opts)
	must(err)
	c.skus, err = armcompute.NewResourceSKUsClient(sub, cred, opts)
	must(err)
	c.usage, err = armcompute.NewUsageClient(sub, cred, opts)
	must(err)
	c.images, err = armcompute.NewVirtualMachineImagesClient(sub, cred, opts)
	must(err)
	c.roles, err = armauthorization.NewRoleAssignmentsClient(sub, cred, opts)
	must(err)
	return c
}

const rg = "k0rdent-abc12345-resgrp"

// network creates a group, a virtual network with one subnet, an NSG and
// returns the subnet's id.
func (c *clients) network(ctx context.Context, t *testing.T) string {
	t.Helper()
	tags := map[string]*string{"k0rdentctl-deployment": to.Ptr("k0rdent-abc12345")}
	if _, err := c.groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: &c.location, Tags: tags}, nil); err != nil {
		t.Fatalf("creating the group: %v", err)
	}
	nsg, err := poll(c.nsgs.BeginCreateOrUpdate(ctx, rg, "nsg", armnetwork.SecurityGroup{Location: &c.location, Tags: tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			rule("AllowSSH", 1010, "22", armnetwork.SecurityRuleProtocolTCP),
			rule("AllowWireGuard", 1000, "51820", armnetwork.SecurityRuleProtocolUDP),
		}}}, nil))
	if err != nil {
		t.Fatalf("creating the NSG: %v", err)
	}
	vnet, err := poll(c.vnets.BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{Location: &c.location, Tags: tags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("10.0.0.0/16")}},
			Subnets: []*armnetwork.Subnet{{Name: to.Ptr("subnet"), Properties: &armnetwork.SubnetPropertiesFormat{
				AddressPrefix: to.Ptr("10.0.1.0/24"), NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: nsg.ID}}}},
		}}, nil))
	if err != nil {
		t.Fatalf("creating the virtual network: %v", err)
	}
	if len(vnet.Properties.Subnets) != 1 {
		t.Fatalf("virtual network has subnets %v", vnet.Properties.Subnets)
	}
	return *vnet.Properties.Subnets[0].ID
}

func rule(name string, prio int32, port string, proto armnetwork.SecurityRuleProtocol) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr(prio), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
		Protocol: to.Ptr(proto), SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
		DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr(port)}}
}

// nic creates a public IP and a NIC for a VM.
func (c *clients) nic(ctx context.Context, t *testing.T, subnetID, vm string) string {
	t.Helper()
	ip, err := poll(c.ips.BeginCreateOrUpdate(ctx, rg, vm+"-ip", armnetwork.PublicIPAddress{Location: &c.location,
		SKU:        &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic)}}, nil))
	if err != nil {
		t.Fatalf("creating the public IP: %v", err)
	}
	nic, err := poll(c.nics.BeginCreateOrUpdate(ctx, rg, vm+"-nic", armnetwork.Interface{Location: &c.location,
		Properties: &armnetwork.InterfacePropertiesFormat{IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
			Name: to.Ptr("ipconfig1"), Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
				Subnet: &armnetwork.Subnet{ID: &subnetID}, PublicIPAddress: &armnetwork.PublicIPAddress{ID: ip.ID}}}}}}, nil))
	if err != nil {
		t.Fatalf("creating the NIC: %v", err)
	}
	return *nic.ID
}

func vmBody(location, size, zone, nicID string, spot bool) armcompute.VirtualMachine {
	vm := armcompute.VirtualMachine{Location: &location, Zones: []*string{&zone},
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(size))},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{Publisher: to.Ptr("Canonical"), Offer: to.Ptr("ubuntu-24_04-lts"), SKU: to.Ptr("server"), Version: to.Ptr("latest")},
				OSDisk:         &armcompute.OSDisk{CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage), DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDelete)},
			},
			OSProfile: &armcompute.OSProfile{ComputerName: to.Ptr("vm"), AdminUsername: to.Ptr("k0rdent"), CustomData: to.Ptr("I2Nsb3VkLWNvbmZpZw==")},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{ID: &nicID,
				Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true), DeleteOption: to.Ptr(armcompute.DeleteOptionsDelete)}}}},
		}}
	if spot {
		vm.Properties.Priority = to.Ptr(armcompute.VirtualMachinePriorityTypesSpot)
		vm.Properties.EvictionPolicy = to.Ptr(armcompute.VirtualMachineEvictionPolicyTypesDelete)
		vm.Properties.BillingProfile = &armcompute.BillingProfile{MaxPrice: to.Ptr(-1.0)}
	}
	return vm
}

// poll waits for a long-running operation the SDK started.
func poll[T any](p *runtime.Poller[T], err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return p.PollUntilDone(context.Background(), nil)
}

func code(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestNetworkAndVMLifecycle(t *testing.T) {
	ctx := context.Background()
	sim := armsim.New(armsim.Options{Polls: 2})
	c := newClients(t, sim.SubscriptionID(), sim.ClientOptions())

	// Nothing there: ARM's 404 codes.
	if _, err := c.groups.Get(ctx, rg, nil); code(err) != "ResourceGroupNotFound" {
		t.Fatalf("get of a missing group: %v", err)
	}
	subnet := c.network(ctx, t)
	if _, err := c.vms.Get(ctx, rg, "k0s-controller-1", nil); code(err) != "ResourceNotFound" {
		t.Fatalf("get of a missing VM: %v", err)
	}

	nic := c.nic(ctx, t, subnet, "k0s-controller-1")
	vm, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "k0s-controller-1", vmBody(c.location, "Standard_D4s_v5", "2", nic, false), nil))
	if err != nil {
		t.Fatalf("creating the VM: %v", err)
	}
	if deref(vm.Properties.ProvisioningState) != "Succeeded" || deref(vm.Properties.StorageProfile.ImageReference.ExactVersion) == "" {
		t.Fatalf("VM after create: state %q, exact version %v", deref(vm.Properties.ProvisioningState), vm.Properties.StorageProfile.ImageReference.ExactVersion)
	}
	if vm.Properties.OSProfile.CustomData != nil || sim.CustomData(*vm.ID) != "I2Nsb3VkLWNvbmZpZw==" {
		t.Fatalf("custom data must be kept but never returned: returned %v, kept %q", vm.Properties.OSProfile.CustomData, sim.CustomData(*vm.ID))
	}
	got, err := c.nics.Get(ctx, rg, "k0s-controller-1-nic", nil)
	if err != nil || got.Properties.VirtualMachine == nil || !strings.EqualFold(*got.Properties.VirtualMachine.ID, *vm.ID) {
		t.Fatalf("NIC after VM create: %v %+v", err, got.Properties)
	}
	if ip := deref(got.Properties.IPConfigurations[0].Properties.PrivateIPAddress); ip != "10.0.1.4" {
		t.Fatalf("first private address = %q, want 10.0.1.4 (Azure keeps .0-.3)", ip)
	}

	// Create-or-update again: nothing new.
	before := len(sim.Resources())
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "k0s-controller-1", vmBody(c.location, "Standard_D4s_v5", "2", nic, false), nil)); err != nil {
		t.Fatalf("second create of the VM: %v", err)
	}
	if n := len(sim.Resources()); n != before {
		t.Fatalf("second create changed the resource count from %d to %d", before, n)
	}
	// Moving a VM to another zone is refused.
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "k0s-controller-1", vmBody(c.location, "Standard_D4s_v5", "3", nic, false), nil)); code(err) != "PropertyChangeNotAllowed" {
		t.Fatalf("zone change: %v", err)
	}

	// In use: the NIC (VM), the subnet (NIC), the NSG (subnet).
	if _, err := poll(c.nics.BeginDelete(ctx, rg, "k0s-controller-1-nic", nil)); code(err) != "NicInUse" {
		t.Fatalf("deleting a NIC a VM uses: %v", err)
	}
	if _, err := poll(c.nsgs.BeginDelete(ctx, rg, "nsg", nil)); code(err) != "InUseNetworkSecurityGroupCannotBeDeleted" {
		t.Fatalf("deleting an NSG a subnet uses: %v", err)
	}
	if _, err := poll(c.vnets.BeginDelete(ctx, rg, "vnet", nil)); code(err) != "InUseSubnetCannotBeDeleted" {
		t.Fatalf("deleting a virtual network with NICs: %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), "in use by") {
		t.Fatalf("the error has no message: %v", err)
	}

	// The VM delete takes the NIC and disk (deleteOption Delete) but not
	// the public IP (no deleteOption on it).
	if _, err := poll(c.vms.BeginDelete(ctx, rg, "k0s-controller-1", nil)); err != nil {
		t.Fatalf("deleting the VM: %v", err)
	}
	var kinds []string
	for _, r := range sim.Resources() {
		kinds = append(kinds, r.Type)
	}
	if strings.Contains(strings.Join(kinds, " "), "Microsoft.Compute") || strings.Contains(strings.Join(kinds, " "), "networkInterfaces") {
		t.Fatalf("after the VM delete: %v", kinds)
	}
	if _, err := c.ips.Get(ctx, rg, "k0s-controller-1-ip", nil); err != nil {
		t.Fatalf("the public IP must stay (no deleteOption): %v", err)
	}

	// Tagged resources are found without a record; the group delete takes all.
	pager := c.generic.NewListPager(&armresources.ClientListOptions{Filter: to.Ptr("tagName eq 'k0rdentctl-deployment' and tagValue eq 'k0rdent-abc12345'")})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 2 { // vnet and NSG are tagged, the IP is not
		t.Fatalf("resources by tag: %v %d", err, len(page.Value))
	}
	if _, err := poll(c.groups.BeginDelete(ctx, rg, nil)); err != nil {
		t.Fatalf("deleting the group: %v", err)
	}
	if r := sim.Resources(); len(r) != 0 {
		t.Fatalf("left after the group delete: %+v", r)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestVMFaultsQuotaAndSKUs(t *testing.T) {
	ctx := context.Background()
	sim := armsim.New(armsim.Options{})
	c := newClients(t, sim.SubscriptionID(), sim.ClientOptions())
	subnet := c.network(ctx, t)

	// Zone restriction shows in ResourceSKUs and refuses a create there.
	sim.RestrictZone(c.location, "Standard_D4s_v5", "3")
	pager := c.skus.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: to.Ptr("location eq 'westeurope'")})
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restricted := false
	for _, k := range page.Value {
		if *k.Name == "Standard_D4s_v5" {
			for _, r := range k.Restrictions {
				restricted = restricted || (*r.Type == armcompute.ResourceSKURestrictionsTypeZone && deref(r.RestrictionInfo.Zones[0]) == "3")
			}
		}
	}
	if !restricted {
		t.Fatal("the zone restriction is not in ResourceSKUs")
	}
	nic := c.nic(ctx, t, subnet, "w1")
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w1", vmBody(c.location, "Standard_D4s_v5", "3", nic, false), nil)); code(err) != "SkuNotAvailable" {
		t.Fatalf("create in a restricted zone: %v", err)
	}

	// A VM that ends Failed stays Failed until deleted.
	sim.FailVM("w1", 1, armsim.VMFault{Code: "OSProvisioningTimedOut", Provisioned: true})
	_, err = poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w1", vmBody(c.location, "Standard_D4s_v5", "1", nic, false), nil))
	if code(err) != "OSProvisioningTimedOut" || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("provisioning failure: %v", err)
	}
	got, err := c.vms.Get(ctx, rg, "w1", nil)
	if err != nil || deref(got.Properties.ProvisioningState) != "Failed" {
		t.Fatalf("failed VM: %v %v", err, got.Properties)
	}
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w1", vmBody(c.location, "Standard_D4s_v5", "1", nic, false), nil)); err == nil {
		t.Fatal("a second PUT of a Failed VM must not succeed")
	}
	// Deleted and created again (an operation on the same path after one
	// that failed), it succeeds.
	if _, err := poll(c.vms.BeginDelete(ctx, rg, "w1", nil)); err != nil {
		t.Fatalf("deleting the failed VM: %v", err)
	}
	nic = c.nic(ctx, t, subnet, "w1")
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w1", vmBody(c.location, "Standard_D4s_v5", "1", nic, false), nil)); err != nil {
		t.Fatalf("creating the VM again: %v", err)
	}

	// Spot capacity: refused, nothing created.
	sim.FailSpot(1)
	nic2 := c.nic(ctx, t, subnet, "w2")
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w2", vmBody(c.location, "Standard_D4s_v5", "1", nic2, true), nil)); code(err) != "SkuNotAvailable" {
		t.Fatalf("spot capacity: %v", err)
	}
	if _, err := c.vms.Get(ctx, rg, "w2", nil); code(err) != "ResourceNotFound" {
		t.Fatalf("a refused Spot create left a VM: %v", err)
	}
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w2", vmBody(c.location, "Standard_D4s_v5", "1", nic2, true), nil)); err != nil {
		t.Fatalf("spot create after the capacity error: %v", err)
	}
	// Spot vCPUs count as lowPriorityCores; the Failed w1 counts in the family.
	usage := map[string][2]int64{}
	up := c.usage.NewListPager(c.location, nil)
	for up.More() {
		p, err := up.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Value {
			usage[*u.Name.Value] = [2]int64{int64(*u.CurrentValue), *u.Limit}
		}
	}
	if usage["lowPriorityCores"][0] != 4 || usage["standardDSv5Family"][0] != 4 {
		t.Fatalf("usage: %v", usage)
	}

	// Quota: 4 + 8 > 10.
	sim.SetQuota(c.location, "standardDSv5Family", 10)
	nic3 := c.nic(ctx, t, subnet, "w3")
	_, err = poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w3", vmBody(c.location, "Standard_D8s_v5", "1", nic3, false), nil))
	if code(err) != "OperationNotAllowed" || !strings.Contains(err.Error(), "quota") {
		t.Fatalf("quota: %v", err)
	}

	// Arm64 size with an x64 image.
	_, err = poll(c.vms.BeginCreateOrUpdate(ctx, rg, "w3", vmBody(c.location, "Standard_D4ps_v5", "1", nic3, false), nil))
	if code(err) != "BadRequest" || !strings.Contains(err.Error(), "architecture") {
		t.Fatalf("arm64 size with an x64 image: %v", err)
	}
	// Images: versions are listed; "latest" is not a version GET takes.
	list, err := c.images.List(ctx, c.location, "Canonical", "ubuntu-24_04-lts", "server-arm64", nil)
	if err != nil || len(list.VirtualMachineImageResourceArray) == 0 {
		t.Fatalf("image versions: %v", err)
	}
	img, err := c.images.Get(ctx, c.location, "Canonical", "ubuntu-24_04-lts", "server-arm64", *list.VirtualMachineImageResourceArray[0].Name, nil)
	if err != nil || *img.Properties.Architecture != armcompute.ArchitectureTypesArm64 {
		t.Fatalf("image: %v", err)
	}
	if _, err := c.images.Get(ctx, c.location, "Canonical", "ubuntu-24_04-lts", "server", "latest", nil); code(err) != "NotFound" {
		t.Fatalf("image get with latest: %v", err)
	}
}

func TestFaultsAreRetriedAndCounted(t *testing.T) {
	ctx := context.Background()
	sim := armsim.New(armsim.Options{FaultRate: 0.3, Seed: 7})
	c := newClients(t, sim.SubscriptionID(), sim.ClientOptions())
	for i := 0; i < 5; i++ {
		if _, err := c.groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: &c.location}, nil); err != nil && code(err) != "TooManyRequests" && code(err) != "InternalServerError" {
			t.Fatalf("create group: %v", err)
		}
	}
	faults := 0
	for _, call := range sim.Log() {
		if call.Fault != "" {
			faults++
		}
	}
	_, total := sim.Calls()
	if faults == 0 || total <= 5 {
		t.Fatalf("with a 30%% fault rate, 5 creates made %d calls with %d faults", total, faults)
	}
	if len(sim.Resources()) != 1 {
		t.Fatalf("resources: %+v", sim.Resources())
	}
}

func TestRemoteAndOtherSubscription(t *testing.T) {
	ctx := context.Background()
	sim := armsim.New(armsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	opts, err := armsim.RemoteClientOptions(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := newClients(t, sim.SubscriptionID(), opts)
	subnet := c.network(ctx, t)
	nic := c.nic(ctx, t, subnet, "vm")
	if _, err := poll(c.vms.BeginCreateOrUpdate(ctx, rg, "vm", vmBody(c.location, "Standard_D4s_v5", "1", nic, false), nil)); err != nil {
		t.Fatalf("create over HTTP: %v", err)
	}
	if _, err := poll(c.nics.BeginDelete(ctx, rg, "vm-nic", nil)); code(err) != "NicInUse" {
		t.Fatalf("error over HTTP: %v", err)
	}
	other := newClients(t, "11111111-2222-3333-4444-555555555555", opts)
	if _, err := other.groups.Get(ctx, rg, nil); code(err) != "SubscriptionNotFound" {
		t.Fatalf("another subscription: %v", err)
	}
	var re *azcore.ResponseError
	if _, err := other.groups.Get(ctx, rg, nil); !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		t.Fatalf("another subscription: %v", err)
	}
}

func TestRoleAssignments(t *testing.T) {
	ctx := context.Background()
	sim := armsim.New(armsim.Options{})
	c := newClients(t, sim.SubscriptionID(), sim.ClientOptions())
	scope := "/subscriptions/" + sim.SubscriptionID()
	role := scope + "/providers/Microsoft.Authorization/roleDefinitions/" + armsim.RoleContributor
	const principal = "7d3e9b3a-0000-4000-8000-000000000001"
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(principal), RoleDefinitionID: &role}}
	if _, err := c.roles.Create(ctx, scope, "a1b2c3d4-0000-4000-8000-000000000001", params, nil); code(err) != "PrincipalNotFound" {
		t.Fatalf("a principal ARM does not know yet: %v", err)
	}
	sim.AddPrincipal(principal)
	if _, err := c.roles.Create(ctx, scope, "a1b2c3d4-0000-4000-8000-000000000001", params, nil); err != nil {
		t.Fatalf("role assignment: %v", err)
	}
	if _, err := c.roles.Create(ctx, scope, "a1b2c3d4-0000-4000-8000-000000000002", params, nil); code(err) != "RoleAssignmentExists" {
		t.Fatalf("the same assignment under another name: %v", err)
	}
	pager := c.roles.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + principal + "'")})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("list for the principal: %v %d", err, len(page.Value))
	}
	if _, err := c.roles.Delete(ctx, scope, "a1b2c3d4-0000-4000-8000-000000000001", nil); err != nil || len(sim.RoleAssignments()) != 0 {
		t.Fatalf("delete: %v, left %v", err, sim.RoleAssignments())
	}
}
