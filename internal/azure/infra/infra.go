// Package infra creates and removes the Azure resources of the management
// cluster: the resource group, the network security group (only SSH and
// the WireGuard port open), the virtual network and subnet, and per VM a
// public IP, a NIC and the VM with its OS disk. Every call is idempotent:
// it looks first or puts by name, so a run that was interrupted at any
// point is finished by the next one, without duplicates.
package infra

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Clients are the ARM clients of the management cluster's resources.
type Clients struct {
	Groups  *armresources.ResourceGroupsClient
	Generic *armresources.Client
	NSGs    *armnetwork.SecurityGroupsClient
	Rules   *armnetwork.SecurityRulesClient
	VNets   *armnetwork.VirtualNetworksClient
	IPs     *armnetwork.PublicIPAddressesClient
	NICs    *armnetwork.InterfacesClient
	VMs     *armcompute.VirtualMachinesClient
	Disks   *armcompute.DisksClient
}

// NewClients makes the clients of a session.
func NewClients(s *azure.Session) (*Clients, error) {
	c := &Clients{}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	c.Groups, err = armresources.NewResourceGroupsClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.Generic, err = armresources.NewClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.NSGs, err = armnetwork.NewSecurityGroupsClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.Rules, err = armnetwork.NewSecurityRulesClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.VNets, err = armnetwork.NewVirtualNetworksClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.IPs, err = armnetwork.NewPublicIPAddressesClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.NICs, err = armnetwork.NewInterfacesClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.VMs, err = armcompute.NewVirtualMachinesClient(s.Subscription, s.Credential, s.Options)
	add(err)
	c.Disks, err = armcompute.NewDisksClient(s.Subscription, s.Credential, s.Options)
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("making the Azure clients: %w", err)
	}
	return c, nil
}

// Spec is the management cluster's infrastructure.
type Spec struct {
	DeploymentID string
	Location     string
	Names        azure.Names
	Tags         map[string]*string
	VNetCIDR     string
	SubnetCIDR   string
	// WireGuardPort is the UDP port open to the internet.
	WireGuardPort int
	// AllowSSH keeps TCP 22 open to the internet (until `vpn lockdown`).
	AllowSSH bool
	SSHUser  string
	// SSHPublicKey is the OpenSSH authorized_keys line.
	SSHPublicKey string
	// Image is a Marketplace URN or an image resource id.
	Image          string
	Spot           bool
	EvictionPolicy string
	MaxPrice       *float64
	VMs            []VM
	// CustomData is each VM's cloud-init; nil for none.
	CustomData func(vm string) ([]byte, error)
	// MaxAttempts is how many times a VM is created before the run fails
	// (default 3).
	MaxAttempts int
	// Parallel is how many VMs are created at once (default all).
	Parallel int
	// PollFrequency is how often long-running operations are polled when
	// Azure does not say (default 5s).
	PollFrequency time.Duration
}

// VM is one VM of the management cluster.
type VM struct {
	Name string
	Role string // controller or worker
	Size string
	Zone string // "" for none
}

// Rule names of the NSG.
const (
	RuleWireGuard = "AllowWireGuard"
	RuleSSH       = "AllowSSH"
)

// Infra does the work on Azure.
type Infra struct {
	C *Clients
	// Progress receives one line per step; nil for none.
	Progress func(string)
}

func (i *Infra) say(format string, args ...any) {
	if i.Progress != nil {
		i.Progress(fmt.Sprintf(format, args...))
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// AzureError describes an ARM error for an operator: its code and message.
func AzureError(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if re.RawResponse != nil {
			if m := responseMessage(re); m != "" && m != re.ErrorCode {
				msg += ": " + m
			}
		}
		return msg
	}
	return err.Error()
}

// responseMessage is the "message" of ARM's error body, or "".
func responseMessage(re *azcore.ResponseError) string {
	s := re.Error()
	const marker = `"message": "`
	if i := strings.Index(s, marker); i >= 0 {
		rest := s[i+len(marker):]
		if j := strings.Index(rest, `"`); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}

// Code is the ARM error code of err, or "".
func Code(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

func (s *Spec) pollOptions() *runtime.PollUntilDoneOptions {
	f := s.PollFrequency
	if f == 0 {
		f = 5 * time.Second
	}
	return &runtime.PollUntilDoneOptions{Frequency: f}
}

func wait[T any](ctx context.Context, opts *runtime.PollUntilDoneOptions, p *runtime.Poller[T], err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return p.PollUntilDone(ctx, opts)
}

// --- network ---

// Network is what EnsureNetwork made.
type Network struct {
	ResourceGroupID string `json:"resource_group_id"`
	NSGID           string `json:"nsg_id"`
	VNetID          string `json:"vnet_id"`
	SubnetID        string `json:"subnet_id"`
	// PublicIPs are the VMs' public IPs, by VM name, when EnsureNetwork
	// made them (while the security group and the virtual network were
	// made): the VMs' creation then starts at their NICs.
	PublicIPs map[string]PublicIP `json:"-"`
}

// PublicIP is a VM's public IP resource and its address.
type PublicIP struct{ ID, Address string }

// EnsureNetwork creates or brings back the resource group, the NSG with
// its two rules and the virtual network with its subnet. A resource group
// that another deployment's tags claim is refused.
func (i *Infra) EnsureNetwork(ctx context.Context, s *Spec) (*Network, error) {
	n := s.Names
	g, err := i.C.Groups.Get(ctx, n.ResourceGroup, nil)
	switch {
	case err == nil:
		if other := deref(g.Tags[azure.TagDeployment]); other != "" && other != s.DeploymentID {
			return nil, fmt.Errorf("resource group %s belongs to deployment %s (its %s tag); choose another azure.resource_group", n.ResourceGroup, other, azure.TagDeployment)
		}
		if !strings.EqualFold(deref(g.Location), s.Location) {
			return nil, fmt.Errorf("resource group %s exists in %s, not in azure.location %s; choose another azure.resource_group or location", n.ResourceGroup, deref(g.Location), s.Location)
		}
		if deref(g.Tags[azure.TagDeployment]) == "" {
			i.say("resource group %s exists and is not k0rdentctl's: it is used as it is and never deleted", n.ResourceGroup)
			break
		}
		fallthrough
	case isNotFound(err):
		i.say("resource group %s", n.ResourceGroup)
		g2, err := i.C.Groups.CreateOrUpdate(ctx, n.ResourceGroup, armresources.ResourceGroup{Location: &s.Location, Tags: s.Tags}, nil)
		if err != nil {
			return nil, fmt.Errorf("creating resource group %s: %s", n.ResourceGroup, AzureError(err))
		}
		g.ResourceGroup = g2.ResourceGroup
	default:
		return nil, fmt.Errorf("reading resource group %s: %s", n.ResourceGroup, AzureError(err))
	}
	out := &Network{ResourceGroupID: deref(g.ID)}
	// The public IPs need only the group: they are made while the security
	// group and the virtual network are.
	type ipsResult struct {
		ips map[string]PublicIP
		err error
	}
	ipsDone := make(chan ipsResult, 1)
	go func() {
		ips, err := i.ensurePublicIPs(ctx, s)
		ipsDone <- ipsResult{ips, err}
	}()
	if err := i.ensureSecurityAndVNet(ctx, s, out); err != nil {
		<-ipsDone
		return nil, err
	}
	r := <-ipsDone
	if r.err != nil {
		return nil, r.err
	}
	out.PublicIPs = r.ips
	return out, nil
}

// ensureSecurityAndVNet makes the NSG, then the virtual network whose
// subnet names it.
func (i *Infra) ensureSecurityAndVNet(ctx context.Context, s *Spec, out *Network) error {
	n := s.Names
	i.say("network security group %s (UDP %d%s)", n.NSG, s.WireGuardPort, map[bool]string{true: " and TCP 22", false: ""}[s.AllowSSH])
	nsg, err := wait2[armnetwork.SecurityGroupsClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.NSGs.BeginCreateOrUpdate(ctx, n.ResourceGroup, n.NSG, armnetwork.SecurityGroup{
		Location: &s.Location, Tags: s.Tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: s.rules()}}, nil))
	if err != nil {
		return fmt.Errorf("creating network security group %s: %s", n.NSG, AzureError(err))
	}
	out.NSGID = deref(nsg.ID)

	i.say("virtual network %s %s, subnet %s %s", n.VNet, s.VNetCIDR, n.Subnet, s.SubnetCIDR)
	vnet, err := wait2[armnetwork.VirtualNetworksClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.VNets.BeginCreateOrUpdate(ctx, n.ResourceGroup, n.VNet, armnetwork.VirtualNetwork{
		Location: &s.Location, Tags: s.Tags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{&s.VNetCIDR}},
			Subnets: []*armnetwork.Subnet{{Name: &n.Subnet, Properties: &armnetwork.SubnetPropertiesFormat{
				AddressPrefix: &s.SubnetCIDR, NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: nsg.ID}}}},
		}}, nil))
	if err != nil {
		return fmt.Errorf("creating virtual network %s: %s", n.VNet, AzureError(err))
	}
	out.VNetID = deref(vnet.ID)
	for _, sn := range vnet.Properties.Subnets {
		if deref(sn.Name) == n.Subnet {
			out.SubnetID = deref(sn.ID)
		}
	}
	if out.SubnetID == "" {
		return fmt.Errorf("virtual network %s has no subnet %s after its creation", n.VNet, n.Subnet)
	}
	return nil
}

// rules are the NSG's inbound rules: WireGuard, and SSH unless locked down.
func (s *Spec) rules() []*armnetwork.SecurityRule {
	rule := func(name string, prio int32, proto armnetwork.SecurityRuleProtocol, port string) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{Name: ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
			Priority: ptr(prio), Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Access: ptr(armnetwork.SecurityRuleAccessAllow),
			Protocol: ptr(proto), SourceAddressPrefix: ptr("*"), SourcePortRange: ptr("*"),
			DestinationAddressPrefix: ptr("*"), DestinationPortRange: ptr(port)}}
	}
	out := []*armnetwork.SecurityRule{rule(RuleWireGuard, 1000, armnetwork.SecurityRuleProtocolUDP, fmt.Sprint(s.WireGuardPort))}
	if s.AllowSSH {
		out = append(out, rule(RuleSSH, 1010, armnetwork.SecurityRuleProtocolTCP, "22"))
	}
	return out
}

// wait2 adapts a Begin call's results for PollUntilDone.
func wait2[T any](ctx context.Context, opts *runtime.PollUntilDoneOptions) func(*runtime.Poller[T], error) (T, error) {
	return func(p *runtime.Poller[T], err error) (T, error) { return wait(ctx, opts, p, err) }
}

// --- VMs ---

// VMResult is one VM as created.
type VMResult struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	ID        string `json:"id"`
	Size      string `json:"size"`
	Zone      string `json:"zone,omitempty"`
	Priority  string `json:"priority"`
	PrivateIP string `json:"private_ip"`
	PublicIP  string `json:"public_ip"`
	// Attempts is how many creates it took in this run (0: it was there).
	Attempts int `json:"attempts"`
}

// VMError is a VM that could not be created.
type VMError struct {
	VM       string
	Attempts int
	Reason   string // Azure's code and message
}

func (e *VMError) Error() string {
	return fmt.Sprintf("VM %s could not be created after %d attempt(s): %s", e.VM, e.Attempts, e.Reason)
}

// EnsureVMs creates the VMs concurrently (Spec.Parallel at once) and
// returns them in Spec order; it fails with every VM that could not be
// created.
func (i *Infra) EnsureVMs(ctx context.Context, s *Spec, net *Network) ([]VMResult, error) {
	out := make([]VMResult, len(s.VMs))
	errs := make([]error, len(s.VMs))
	i.forEachVM(ctx, s, errs, func(k int, vm VM) {
		r, err := i.EnsureVM(ctx, s, net, vm)
		if r != nil {
			out[k] = *r
		}
		errs[k] = err
	})
	return out, errors.Join(errs...)
}

// forEachVM runs f for every VM of s, Spec.Parallel at once (all when 0);
// a VM that never got its turn has ctx's error in errs.
func (i *Infra) forEachVM(ctx context.Context, s *Spec, errs []error, f func(k int, vm VM)) {
	par := s.Parallel
	if par <= 0 {
		par = len(s.VMs)
	}
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for k, vm := range s.VMs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[k] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			f(k, vm)
		}()
	}
	wg.Wait()
}

// EnsureVM makes one VM exist in provisioning state Succeeded: a VM that
// is there and Succeeded is kept; a Failed one, or a create that fails
// (no Spot capacity, allocation or provisioning failure), is deleted and
// created again, up to MaxAttempts creates.
func (i *Infra) EnsureVM(ctx context.Context, s *Spec, net *Network, vm VM) (*VMResult, error) {
	n := azure.ForVM(vm.Name)
	rg := s.Names.ResourceGroup
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	attempts := 0
	var lastErr error
	for {
		got, err := i.C.VMs.Get(ctx, rg, vm.Name, nil)
		switch {
		case err == nil && strings.EqualFold(deref(got.Properties.ProvisioningState), "Succeeded"):
			return i.describe(ctx, s, vm, got.VirtualMachine, attempts)
		case err == nil && strings.EqualFold(deref(got.Properties.ProvisioningState), "Failed"):
			i.say("%s is in provisioning state Failed: deleting it to create it again", vm.Name)
			if err := i.deleteVM(ctx, s, vm.Name); err != nil {
				return nil, err
			}
		case err != nil && !isNotFound(err):
			return nil, fmt.Errorf("reading VM %s: %s", vm.Name, AzureError(err))
		case err == nil:
			// Creating or Updating: the PUT below waits for it.
		}
		if attempts == maxAttempts {
			return nil, &VMError{VM: vm.Name, Attempts: attempts, Reason: AzureError(lastErr)}
		}
		attempts++
		if attempts > 1 {
			i.say("%s: attempt %d of %d", vm.Name, attempts, maxAttempts)
		} else {
			i.say("%s (%s, %s%s)", vm.Name, vm.Size, s.priority(), zoneText(vm.Zone))
		}
		var made *madeVM
		made, lastErr = i.createVM(ctx, s, net, vm, n)
		if lastErr == nil {
			if r := made.result(s, vm, attempts); r != nil {
				return r, nil
			}
			continue // read it back: Succeeded returns
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(lastErr) {
			return nil, &VMError{VM: vm.Name, Attempts: attempts, Reason: AzureError(lastErr)}
		}
		i.say("%s failed: %s", vm.Name, AzureError(lastErr))
	}
}

func zoneText(z string) string {
	if z == "" {
		return ""
	}
	return ", zone " + z
}

func (s *Spec) priority() string {
	if s.Spot {
		return "Spot"
	}
	return "Regular"
}

// retryable: failures another create may get past (capacity, allocation,
// provisioning); not ones the request itself causes.
func retryable(err error) bool {
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests) {
		// Transient and outlasting the SDK's own retries: the PUT is
		// idempotent, so the next attempt puts the same VM again.
		return true
	}
	switch Code(err) {
	case "SkuNotAvailable", "AllocationFailed", "ZonalAllocationFailed", "OverconstrainedAllocationRequest",
		"OverconstrainedZonalAllocationRequest", "OSProvisioningTimedOut", "OSProvisioningInternalError",
		"VMStartTimedOut", "InternalExecutionError", "OperationNotAllowed":
		// OperationNotAllowed also says "quota exceeded": that one is caught
		// by preflight; here it is a VM left Failed by a previous run.
		return !strings.Contains(strings.ToLower(AzureError(err)), "quota")
	}
	return false
}

// createVM puts the public IP (unless EnsureNetwork made it), the NIC and
// the VM.
func (i *Infra) createVM(ctx context.Context, s *Spec, net *Network, vm VM, n azure.VMResources) (*madeVM, error) {
	rg := s.Names.ResourceGroup
	made := &madeVM{}
	pip, ok := net.PublicIPs[vm.Name]
	if !ok {
		var err error
		if pip, err = i.putPublicIP(ctx, s, vm); err != nil {
			return nil, err
		}
	}
	made.publicIP = pip.Address
	nic, err := wait2[armnetwork.InterfacesClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.NICs.BeginCreateOrUpdate(ctx, rg, n.NIC, armnetwork.Interface{
		Location: &s.Location, Tags: s.Tags,
		Properties: &armnetwork.InterfacePropertiesFormat{
			NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: &net.NSGID},
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: ptr("ipconfig1"),
				Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
					Subnet:                    &armnetwork.Subnet{ID: &net.SubnetID},
					PublicIPAddress:           &armnetwork.PublicIPAddress{ID: &pip.ID},
					PrivateIPAllocationMethod: ptr(armnetwork.IPAllocationMethodDynamic),
					Primary:                   ptr(true)}}}}}, nil))
	if err != nil {
		return nil, fmt.Errorf("network interface %s: %w", n.NIC, err)
	}
	if cs := nic.Properties.IPConfigurations; len(cs) > 0 && cs[0].Properties != nil {
		made.privateIP = deref(cs[0].Properties.PrivateIPAddress)
	}
	body, err := s.vmBody(vm, n, deref(nic.ID))
	if err != nil {
		return nil, err
	}
	got, err := wait2[armcompute.VirtualMachinesClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.VMs.BeginCreateOrUpdate(ctx, rg, vm.Name, body, nil))
	if err != nil {
		return nil, err
	}
	made.vm = got.VirtualMachine
	return made, nil
}

// madeVM is what creating a VM answered: the VM and its addresses.
type madeVM struct {
	vm                  armcompute.VirtualMachine
	privateIP, publicIP string
}

// putPublicIP creates (or updates) a VM's static public IP.
func (i *Infra) putPublicIP(ctx context.Context, s *Spec, vm VM) (PublicIP, error) {
	name := azure.ForVM(vm.Name).PublicIP
	ip := armnetwork.PublicIPAddress{Location: &s.Location, Tags: s.Tags,
		SKU:        &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodStatic)}}
	if vm.Zone != "" {
		ip.Zones = []*string{ptr(vm.Zone)}
	}
	got, err := wait2[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.IPs.BeginCreateOrUpdate(ctx, s.Names.ResourceGroup, name, ip, nil))
	if err != nil {
		return PublicIP{}, fmt.Errorf("public IP %s: %w", name, err)
	}
	out := PublicIP{ID: deref(got.ID)}
	if got.Properties != nil {
		out.Address = deref(got.Properties.IPAddress)
	}
	return out, nil
}

// ensurePublicIPs makes every VM's public IP that is not there yet,
// Spec.Parallel at once; one that is there is kept as it is.
func (i *Infra) ensurePublicIPs(ctx context.Context, s *Spec) (map[string]PublicIP, error) {
	out := make([]PublicIP, len(s.VMs))
	errs := make([]error, len(s.VMs))
	i.forEachVM(ctx, s, errs, func(k int, vm VM) {
		got, err := i.C.IPs.Get(ctx, s.Names.ResourceGroup, azure.ForVM(vm.Name).PublicIP, nil)
		switch {
		case err == nil && got.Properties != nil && strings.EqualFold(deref((*string)(got.Properties.ProvisioningState)), "Succeeded"):
			out[k] = PublicIP{ID: deref(got.ID), Address: deref(got.Properties.IPAddress)}
		case err == nil || isNotFound(err):
			out[k], errs[k] = i.putPublicIP(ctx, s, vm)
		default:
			errs[k] = fmt.Errorf("reading public IP %s: %s", azure.ForVM(vm.Name).PublicIP, AzureError(err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := make(map[string]PublicIP, len(s.VMs))
	for k, vm := range s.VMs {
		m[vm.Name] = out[k]
	}
	return m, nil
}

func (s *Spec) vmBody(vm VM, n azure.VMResources, nicID string) (armcompute.VirtualMachine, error) {
	img, err := imageReference(s.Image)
	if err != nil {
		return armcompute.VirtualMachine{}, err
	}
	os := &armcompute.OSProfile{ComputerName: &vm.Name, AdminUsername: &s.SSHUser,
		LinuxConfiguration: &armcompute.LinuxConfiguration{DisablePasswordAuthentication: ptr(true),
			SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
				Path: ptr("/home/" + s.SSHUser + "/.ssh/authorized_keys"), KeyData: &s.SSHPublicKey}}}}}
	if s.CustomData != nil {
		data, err := s.CustomData(vm.Name)
		if err != nil {
			return armcompute.VirtualMachine{}, fmt.Errorf("cloud-init of %s: %w", vm.Name, err)
		}
		os.CustomData = ptr(base64.StdEncoding.EncodeToString(data))
	}
	body := armcompute.VirtualMachine{Location: &s.Location, Tags: s.Tags,
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypes(vm.Size))},
			StorageProfile: &armcompute.StorageProfile{ImageReference: img,
				OSDisk: &armcompute.OSDisk{Name: &n.OSDisk, CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage),
					DeleteOption: ptr(armcompute.DiskDeleteOptionTypesDelete), DiskSizeGB: ptr(int32(64)),
					ManagedDisk: &armcompute.ManagedDiskParameters{StorageAccountType: ptr(OSDiskType(vm.Size))}}},
			OSProfile: os,
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{ID: &nicID,
				Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: ptr(true), DeleteOption: ptr(armcompute.DeleteOptionsDelete)}}}},
		}}
	if vm.Zone != "" {
		body.Zones = []*string{ptr(vm.Zone)}
	}
	if s.Spot {
		body.Properties.Priority = ptr(armcompute.VirtualMachinePriorityTypesSpot)
		body.Properties.EvictionPolicy = ptr(armcompute.VirtualMachineEvictionPolicyTypes(s.EvictionPolicy))
		maxPrice := -1.0
		if s.MaxPrice != nil {
			maxPrice = *s.MaxPrice
		}
		body.Properties.BillingProfile = &armcompute.BillingProfile{MaxPrice: &maxPrice}
	}
	return body, nil
}

// OSDiskType is the OS disk's kind for a VM size: Premium SSD where the
// size can have it (Azure marks those sizes with an "s" after the vCPU
// count: D4s_v5, B2s, E8pds_v6), else Standard SSD (A4_v2, D4_v5), which
// every size takes: Azure refuses a Premium disk on the others.
func OSDiskType(size string) armcompute.StorageAccountTypes {
	if premiumCapable(size) {
		return armcompute.StorageAccountTypesPremiumLRS
	}
	return armcompute.StorageAccountTypesStandardSSDLRS
}

// premiumCapable reads the additive features of a size's name
// (Standard_<family><vCPUs><features>[_<version>]) for the "s" of premium
// storage.
func premiumCapable(size string) bool {
	name := strings.TrimPrefix(strings.ToLower(size), "standard_")
	name, _, _ = strings.Cut(name, "_")
	i := strings.IndexFunc(name, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return false
	}
	features := strings.TrimLeft(name[i:], "0123456789-")
	return strings.Contains(features, "s")
}

// imageReference is an image URN publisher:offer:sku:version or an image
// resource id as the VM body takes it.
func imageReference(image string) (*armcompute.ImageReference, error) {
	if strings.HasPrefix(image, "/subscriptions/") {
		return &armcompute.ImageReference{ID: &image}, nil
	}
	p := strings.Split(image, ":")
	if len(p) != 4 {
		return nil, fmt.Errorf("azure.image %q is not a URN publisher:offer:sku:version", image)
	}
	return &armcompute.ImageReference{Publisher: &p[0], Offer: &p[1], SKU: &p[2], Version: &p[3]}, nil
}

// result is the VM as its creation answered it, or nil when that answer
// is not Succeeded or lacks an address (it is then read back).
func (m *madeVM) result(s *Spec, vm VM, attempts int) *VMResult {
	if m.vm.Properties == nil || !strings.EqualFold(deref(m.vm.Properties.ProvisioningState), "Succeeded") || m.privateIP == "" || m.publicIP == "" {
		return nil
	}
	return &VMResult{Name: vm.Name, Role: vm.Role, ID: deref(m.vm.ID), Size: vm.Size, Zone: vm.Zone, Priority: s.priority(),
		Attempts: attempts, PrivateIP: m.privateIP, PublicIP: m.publicIP}
}

// describe reads a VM's addresses.
func (i *Infra) describe(ctx context.Context, s *Spec, vm VM, got armcompute.VirtualMachine, attempts int) (*VMResult, error) {
	r := &VMResult{Name: vm.Name, Role: vm.Role, ID: deref(got.ID), Size: vm.Size, Zone: vm.Zone, Priority: s.priority(), Attempts: attempts}
	n := azure.ForVM(vm.Name)
	nic, err := i.C.NICs.Get(ctx, s.Names.ResourceGroup, n.NIC, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the network interface of %s: %s", vm.Name, AzureError(err))
	}
	if cs := nic.Properties.IPConfigurations; len(cs) > 0 && cs[0].Properties != nil {
		r.PrivateIP = deref(cs[0].Properties.PrivateIPAddress)
	}
	ip, err := i.C.IPs.Get(ctx, s.Names.ResourceGroup, n.PublicIP, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the public IP of %s: %s", vm.Name, AzureError(err))
	}
	r.PublicIP = deref(ip.Properties.IPAddress)
	return r, nil
}

// deleteVM deletes a VM (its NIC and OS disk go with it).
func (i *Infra) deleteVM(ctx context.Context, s *Spec, name string) error {
	_, err := wait2[armcompute.VirtualMachinesClientDeleteResponse](ctx, s.pollOptions())(i.C.VMs.BeginDelete(ctx, s.Names.ResourceGroup, name, nil))
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting VM %s: %s", name, AzureError(err))
	}
	return nil
}

// FromConfig is the Spec of a configuration (defaults applied) for a
// deployment: VM names k0s-controller-N and k0s-worker-N, each role spread
// round robin over its zones. The SSH key and cloud-init come from the
// preparation phase.
func FromConfig(cfg *config.Config, deploymentID string, created time.Time, sshPublicKey string, customData func(string) ([]byte, error)) *Spec {
	az := cfg.Azure
	s := &Spec{
		DeploymentID: deploymentID, Location: az.Location,
		Names:    azure.NamesFor(deploymentID, az.ResourceGroup),
		Tags:     azure.Tags(deploymentID, cfg.Metadata.Name, cfg.Metadata.Owner, created, az.Tags),
		VNetCIDR: cfg.Network.VNetCIDR, SubnetCIDR: cfg.Network.SubnetCIDR, WireGuardPort: cfg.Network.WireGuardPort,
		AllowSSH: true, SSHUser: cfg.SSH.User, SSHPublicKey: sshPublicKey, Image: az.Image,
		Spot: az.Priority == config.PrioritySpot, EvictionPolicy: az.EvictionPolicy, MaxPrice: az.MaxPrice,
		CustomData: customData,
	}
	if s.SSHUser == "" {
		s.SSHUser = config.DefaultSSHUser
	}
	add := func(role, size string, g config.NodeGroup) {
		for k := 0; k < g.Replicas(); k++ {
			vm := VM{Name: azure.VMName(role, k+1), Role: role, Size: size}
			if len(g.Zones) > 0 {
				vm.Zone = fmt.Sprint(g.Zones[k%len(g.Zones)])
			}
			s.VMs = append(s.VMs, vm)
		}
	}
	add("controller", cfg.VMSizing.Controller, cfg.Cluster.Controllers)
	add("worker", cfg.VMSizing.Worker, cfg.Cluster.Workers)
	return s
}

// SetPublicSSH opens (allow) or closes TCP 22 from the internet in the
// deployment's network security group, leaving its other rules alone. It
// reports whether anything changed.
func (i *Infra) SetPublicSSH(ctx context.Context, s *Spec, allow bool) (bool, error) {
	n := s.Names
	_, err := i.C.Rules.Get(ctx, n.ResourceGroup, n.NSG, RuleSSH, nil)
	switch {
	case err == nil && allow, isNotFound(err) && !allow:
		return false, nil
	case err != nil && !isNotFound(err):
		return false, fmt.Errorf("reading rule %s of network security group %s: %s", RuleSSH, n.NSG, AzureError(err))
	case allow:
		i.say("network security group %s: rule %s (TCP 22 from anywhere)", n.NSG, RuleSSH)
		var ssh *armnetwork.SecurityRule
		for _, r := range (&Spec{AllowSSH: true, WireGuardPort: s.WireGuardPort}).rules() {
			if deref(r.Name) == RuleSSH {
				ssh = r
			}
		}
		_, err := wait2[armnetwork.SecurityRulesClientCreateOrUpdateResponse](ctx, s.pollOptions())(i.C.Rules.BeginCreateOrUpdate(ctx, n.ResourceGroup, n.NSG, RuleSSH, *ssh, nil))
		if err != nil {
			return false, fmt.Errorf("adding rule %s to network security group %s: %s", RuleSSH, n.NSG, AzureError(err))
		}
	default:
		i.say("network security group %s: deleting rule %s (TCP 22 from anywhere)", n.NSG, RuleSSH)
		_, err := wait2[armnetwork.SecurityRulesClientDeleteResponse](ctx, s.pollOptions())(i.C.Rules.BeginDelete(ctx, n.ResourceGroup, n.NSG, RuleSSH, nil))
		if err != nil && !isNotFound(err) {
			return false, fmt.Errorf("deleting rule %s of network security group %s: %s", RuleSSH, n.NSG, AzureError(err))
		}
	}
	return true, nil
}
