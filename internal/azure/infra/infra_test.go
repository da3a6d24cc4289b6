package infra_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
)

const id = "k0rdent-t3st0001"

var created = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func template(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, diags, err := config.ParseTemplate(name)
	if err != nil || diags.HasErrors() {
		t.Fatalf("template %s: %v %v", name, err, diags)
	}
	return cfg
}

type env struct {
	sim  *armsim.Sim
	inf  *infra.Infra
	spec *infra.Spec
}

func newEnv(t *testing.T, templateName string, opts armsim.Options) *env {
	t.Helper()
	sim := armsim.New(opts)
	s := &azure.Session{Subscription: sim.SubscriptionID(), Credential: armsim.Credential(), Options: sim.ClientOptions()}
	c, err := infra.NewClients(s)
	if err != nil {
		t.Fatal(err)
	}
	cfg := template(t, templateName)
	spec := infra.FromConfig(cfg, id, created, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest k0rdentctl", func(vm string) ([]byte, error) {
		return []byte("#cloud-config\nhostname: " + vm + "\n"), nil
	})
	spec.PollFrequency = time.Millisecond
	return &env{sim: sim, inf: &infra.Infra{C: c}, spec: spec}
}

func (e *env) deploy(t *testing.T) []infra.VMResult {
	t.Helper()
	ctx := context.Background()
	net, err := e.inf.EnsureNetwork(ctx, e.spec)
	if err != nil {
		t.Fatalf("network: %v", err)
	}
	vms, err := e.inf.EnsureVMs(ctx, e.spec, net)
	if err != nil {
		t.Fatalf("VMs: %v", err)
	}
	return vms
}

// The production template: 3 controllers and 3 workers over zones 1-3,
// each VM with its NIC, public IP and OS disk; everything k0rdentctl
// creates carries the deployment's tags; a second run creates nothing.
func TestProductionDeployZonesTagsAndSecondRun(t *testing.T) {
	e := newEnv(t, "production", armsim.Options{Polls: 2})
	vms := e.deploy(t)
	if len(vms) != 6 {
		t.Fatalf("%d VMs", len(vms))
	}
	wantZones := []string{"1", "2", "3", "1", "2", "3"}
	for k, vm := range vms {
		if vm.Zone != wantZones[k] || vm.PrivateIP == "" || vm.PublicIP == "" || vm.Priority != "Regular" || vm.Attempts != 1 {
			t.Fatalf("VM %d: %+v", k, vm)
		}
		if !strings.HasPrefix(vm.PrivateIP, strings.TrimSuffix(e.spec.SubnetCIDR, "0/24")) {
			t.Fatalf("%s private address %s is outside the subnet", vm.Name, vm.PrivateIP)
		}
		var got armcompute.VirtualMachine
		if err := e.sim.Value(vm.ID, &got); err != nil || *got.Zones[0] != vm.Zone {
			t.Fatalf("%s in Azure: %v %v", vm.Name, err, got.Zones)
		}
		cd, _ := base64.StdEncoding.DecodeString(e.sim.CustomData(vm.ID))
		if !strings.Contains(string(cd), "hostname: "+vm.Name) {
			t.Fatalf("%s cloud-init: %q", vm.Name, cd)
		}
	}
	// No dependent call waits for what it does not need: the public IPs
	// are put while the virtual network is (they need only the group),
	// and no VM, NIC or public IP is read back after its creation
	// answered with what deploy records.
	var vnetDone, firstIP time.Time
	for _, c := range e.sim.Log() {
		switch {
		case c.API == "VirtualNetworksClient.BeginCreateOrUpdate" && c.End.After(vnetDone):
			vnetDone = c.End
		case c.API == "PublicIPAddressesClient.BeginCreateOrUpdate" && (firstIP.IsZero() || c.Start.Before(firstIP)):
			firstIP = c.Start
		}
	}
	for _, c := range e.sim.Log() {
		if c.API == "InterfacesClient.Get" || c.API == "PublicIPAddressesClient.Get" && c.Start.After(vnetDone) {
			t.Errorf("read back after creation: %s %s", c.API, c.Path)
		}
	}
	if !firstIP.Before(vnetDone) {
		t.Errorf("the first public IP was put at %v, after the virtual network was done (%v)", firstIP, vnetDone)
	}
	if byAPI, _ := e.sim.Calls(); byAPI["VirtualMachinesClient.Get"] != 6 {
		t.Errorf("VMs read %d times, want 6 (once each, before creating it)", byAPI["VirtualMachinesClient.Get"])
	}

	counts := map[string]int{}
	for _, r := range e.sim.Resources() {
		counts[r.Type]++
		if r.Type == "Microsoft.Compute/disks" || strings.Contains(r.Type, "/subnets") || strings.Contains(r.Type, "/securityRules") {
			continue // OS disks are made by Azure from the VM (Azure does not copy tags); subnets and rules have none
		}
		if r.Tags[azure.TagDeployment] != id || r.Tags[azure.TagCreated] != "2026-12-03T09:00:00Z" || r.Tags[azure.TagName] == "" {
			t.Fatalf("%s %s tags %v", r.Type, r.Name, r.Tags)
		}
	}
	want := map[string]int{"Microsoft.Resources/resourceGroups": 1, "Microsoft.Network/networkSecurityGroups": 1,
		"Microsoft.Network/virtualNetworks": 1, "Microsoft.Network/virtualNetworks/subnets": 1,
		"Microsoft.Network/networkSecurityGroups/securityRules": 2, "Microsoft.Network/publicIPAddresses": 6,
		"Microsoft.Network/networkInterfaces": 6, "Microsoft.Compute/virtualMachines": 6, "Microsoft.Compute/disks": 6}
	for k, v := range want {
		if counts[k] != v {
			t.Fatalf("%d of %s, want %d (all: %v)", counts[k], k, v, counts)
		}
	}

	before := e.sim.Resources()
	e.sim.ResetLog()
	e.deploy(t)
	after := e.sim.Resources()
	if len(after) != len(before) {
		t.Fatalf("second run: %d resources, was %d", len(after), len(before))
	}
	for _, c := range e.sim.Mutations() {
		if strings.Contains(c.API, "VirtualMachines") || strings.Contains(c.API, "Interfaces") || strings.Contains(c.API, "PublicIP") {
			t.Fatalf("second run touched a VM: %s %s", c.API, c.Path)
		}
	}
}

// A VM that ends Failed, and a Spot create without capacity, are deleted
// and created again; nothing of the failed attempts is left.
func TestVMFailureIsRecreatedWithoutOrphans(t *testing.T) {
	e := newEnv(t, "production-spot", armsim.Options{})
	e.sim.FailVM("k0s-worker-2", 1, armsim.VMFault{Code: "OSProvisioningTimedOut", Provisioned: true})
	e.sim.FailSpot(2)
	vms := e.deploy(t)
	retried := 0
	for _, vm := range vms {
		if vm.Attempts > 1 {
			retried++
		}
		if vm.Priority != "Spot" {
			t.Fatalf("%s priority %s", vm.Name, vm.Priority)
		}
		var got armcompute.VirtualMachine
		if err := e.sim.Value(vm.ID, &got); err != nil {
			t.Fatal(err)
		}
		p := got.Properties
		if *p.Priority != armcompute.VirtualMachinePriorityTypesSpot || *p.EvictionPolicy != armcompute.VirtualMachineEvictionPolicyTypesDeallocate || *p.BillingProfile.MaxPrice != -1 {
			t.Fatalf("%s Spot settings: %v %v %v", vm.Name, *p.Priority, *p.EvictionPolicy, *p.BillingProfile.MaxPrice)
		}
	}
	if retried < 2 {
		t.Fatalf("%d VMs needed more than one attempt, want at least 2", retried)
	}
	counts := map[string]int{}
	for _, r := range e.sim.Resources() {
		counts[r.Type]++
	}
	if counts["Microsoft.Compute/disks"] != 6 || counts["Microsoft.Network/networkInterfaces"] != 6 || counts["Microsoft.Compute/virtualMachines"] != 6 {
		t.Fatalf("orphans after recreating: %v", counts)
	}
}

func TestVMFailingEveryAttemptNamesVMAndReason(t *testing.T) {
	e := newEnv(t, "small", armsim.Options{})
	e.sim.FailVM("k0s-controller-1", 3, armsim.VMFault{Code: "AllocationFailed"})
	ctx := context.Background()
	net, err := e.inf.EnsureNetwork(ctx, e.spec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.inf.EnsureVMs(ctx, e.spec, net)
	var ve *infra.VMError
	if !errors.As(err, &ve) || ve.VM != "k0s-controller-1" || ve.Attempts != 3 || !strings.Contains(ve.Reason, "AllocationFailed") {
		t.Fatalf("error: %v", err)
	}
}

// Teardown deletes in reverse dependency order and leaves nothing; the
// deployment's resources are found by tag alone.
func TestTeardownOrderAndLeftovers(t *testing.T) {
	e := newEnv(t, "production", armsim.Options{})
	e.deploy(t)
	ctx := context.Background()
	left, err := e.inf.Leftovers(ctx, azure.TagFilter(id))
	if err != nil || len(left) != 1+1+1+6+6+6 { // group, NSG, VNet, IPs, NICs, VMs
		t.Fatalf("by tag: %v, %d: %+v", err, len(left), left)
	}
	byName, err := e.inf.Leftovers(ctx, azure.NameFilter(template(t, "production").Metadata.Name))
	if err != nil || len(byName) != len(left) {
		t.Fatalf("by name: %v %d", err, len(byName))
	}
	e.sim.ResetLog()
	// A spec that has lost its VMs (no record) still finds them by tag.
	bare := *e.spec
	bare.VMs = nil
	if _, err := e.inf.Teardown(ctx, &bare); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	if r := e.sim.Resources(); len(r) != 0 {
		t.Fatalf("left: %+v", r)
	}
	// Order: every VM delete before any NIC/IP delete, those before the
	// virtual network, the NSG, then the group.
	order := map[string]int{}
	for k, c := range e.sim.Log() {
		if c.Method != http.MethodDelete || c.Fault != "" {
			continue
		}
		kind := strings.Split(c.API, ".")[0]
		if _, ok := order[kind]; !ok {
			order[kind] = k
		}
	}
	seq := []string{"VirtualMachinesClient", "PublicIPAddressesClient", "VirtualNetworksClient", "SecurityGroupsClient", "ResourceGroupsClient"}
	for k := 1; k < len(seq); k++ {
		if order[seq[k-1]] >= order[seq[k]] {
			t.Fatalf("%s deleted before %s: %v", seq[k], seq[k-1], order)
		}
	}
}

func TestFastResetOnlyForOwnGroup(t *testing.T) {
	e := newEnv(t, "small", armsim.Options{})
	e.deploy(t)
	ctx := context.Background()
	other := *e.spec
	other.DeploymentID = "k0rdent-0ther001"
	if err := e.inf.DeleteGroup(ctx, &other); err == nil || !strings.Contains(err.Error(), "not this deployment's") {
		t.Fatalf("deleting another deployment's group: %v", err)
	}
	if err := e.inf.DeleteGroup(ctx, e.spec); err != nil {
		t.Fatal(err)
	}
	if r := e.sim.Resources(); len(r) != 0 {
		t.Fatalf("left after the group delete: %+v", r)
	}
}

// With a fifth of the calls answered 429 or 500, the deploy completes, and
// the calls stay within twice those of a run without faults.
func TestDeployUnderFaults(t *testing.T) {
	clean := newEnv(t, "production", armsim.Options{})
	clean.deploy(t)
	_, base := clean.sim.Calls()
	e := newEnv(t, "production", armsim.Options{FaultRate: 0.2, Seed: 11})
	e.deploy(t)
	_, total := e.sim.Calls()
	if total > 2*base {
		t.Fatalf("%d calls with faults, %d without: more than twice", total, base)
	}
	if n := len(e.sim.Resources()); n != len(clean.sim.Resources()) {
		t.Fatalf("with faults %d resources, without %d", n, len(clean.sim.Resources()))
	}
}

// The OS disk is Premium SSD only where the size takes it (the simulation,
// like Azure, refuses Premium on the A-series v2 of the minimal template).
func TestOSDiskTypeFollowsTheSize(t *testing.T) {
	for size, want := range map[string]string{
		"Standard_A4_v2": "StandardSSD_LRS", "Standard_D4_v5": "StandardSSD_LRS", "Standard_D4s_v5": "Premium_LRS",
		"Standard_B2s": "Premium_LRS", "Standard_E8pds_v6": "Premium_LRS", "Standard_B2pls_v2": "Premium_LRS", "Standard_D2ps_v5": "Premium_LRS",
		"Standard_M128-64ms": "Premium_LRS", "Standard_F4": "StandardSSD_LRS",
	} {
		if got := string(infra.OSDiskType(size)); got != want {
			t.Errorf("%s: %s, want %s", size, got, want)
		}
	}
	e := newEnv(t, "minimal", armsim.Options{})
	for _, vm := range e.deploy(t) {
		var got armcompute.VirtualMachine
		if err := e.sim.Value(vm.ID, &got); err != nil {
			t.Fatal(err)
		}
		if d := got.Properties.StorageProfile.OSDisk.ManagedDisk.StorageAccountType; d == nil || *d != armcompute.StorageAccountTypesStandardSSDLRS {
			t.Errorf("%s (%s): OS disk %v", vm.Name, vm.Size, d)
		}
	}
}
