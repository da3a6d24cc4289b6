package armsim

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
)

const (
	typeVNet   = "Microsoft.Network/virtualNetworks"
	typeSubnet = "Microsoft.Network/virtualNetworks/subnets"
	typeNSG    = "Microsoft.Network/networkSecurityGroups"
	typeRule   = "Microsoft.Network/networkSecurityGroups/securityRules"
	typeIP     = "Microsoft.Network/publicIPAddresses"
	typeNIC    = "Microsoft.Network/networkInterfaces"
)

var succeeded = to.Ptr(armnetwork.ProvisioningStateSucceeded)

func (s *Sim) networkTransports(m map[string]policy.Transporter) {
	t := netfake.NewServerFactoryTransport(&netfake.ServerFactory{
		VirtualNetworksServer: netfake.VirtualNetworksServer{
			BeginCreateOrUpdate: s.putVNet, Get: s.getVNet, BeginDelete: s.deleteVNet, NewListPager: s.listVNets,
		},
		SubnetsServer: netfake.SubnetsServer{
			BeginCreateOrUpdate: s.putSubnet, Get: s.getSubnet, BeginDelete: s.deleteSubnet,
		},
		SecurityGroupsServer: netfake.SecurityGroupsServer{
			BeginCreateOrUpdate: s.putNSG, Get: s.getNSG, BeginDelete: s.deleteNSG,
		},
		SecurityRulesServer: netfake.SecurityRulesServer{
			BeginCreateOrUpdate: s.putRule, Get: s.getRule, BeginDelete: s.deleteRule, NewListPager: s.listRules,
		},
		PublicIPAddressesServer: netfake.PublicIPAddressesServer{
			BeginCreateOrUpdate: s.putIP, Get: s.getIP, BeginDelete: s.deleteIP, NewListPager: s.listIPs,
		},
		InterfacesServer: netfake.InterfacesServer{
			BeginCreateOrUpdate: s.putNIC, Get: s.getNIC, BeginDelete: s.deleteNIC, NewListPager: s.listNICs,
		},
	})
	for _, c := range []string{"VirtualNetworksClient", "SubnetsClient", "SecurityGroupsClient", "SecurityRulesClient",
		"PublicIPAddressesClient", "InterfacesClient"} {
		m[c] = t
	}
}

// lowerID is a reference as the store keys it ("" for none).
func lowerID(id *string) string {
	if id == nil {
		return ""
	}
	return strings.ToLower(*id)
}

// --- virtual networks and subnets ---

func (s *Sim) putVNet(ctx context.Context, group, name string, v armnetwork.VirtualNetwork, _ *armnetwork.VirtualNetworksClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTopLevel(group, v.Location); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	id := s.resourceID(group, typeVNet, name)
	var space []netip.Prefix
	if v.Properties != nil && v.Properties.AddressSpace != nil {
		for _, p := range v.Properties.AddressSpace.AddressPrefixes {
			pfx, err := netip.ParsePrefix(deref(p, ""))
			if err != nil {
				answer(ctx, &errResp, &simError{http.StatusBadRequest, "InvalidAddressPrefixFormat", fmt.Sprintf("Address prefix %s of %s is not valid.", deref(p, ""), id)})
				return
			}
			space = append(space, pfx)
		}
	}
	if len(space) == 0 {
		answer(ctx, &errResp, &simError{http.StatusBadRequest, "InvalidRequestFormat", "Virtual network " + id + " needs an address space."})
		return
	}
	// The subnets in the body replace the ones there (a PUT without
	// subnets removes them, as ARM does, unless they are in use).
	var subnets []armnetwork.Subnet
	if v.Properties.Subnets != nil {
		for _, sn := range v.Properties.Subnets {
			subnets = append(subnets, *sn)
		}
	}
	keep := map[string]bool{}
	for _, sn := range subnets {
		keep[strings.ToLower(id+"/subnets/"+deref(sn.Name, ""))] = true
	}
	for k, e := range s.res {
		if e.typ == typeSubnet && e.parent == strings.ToLower(id) && !keep[k] {
			if u := s.usedBy(k, nil); u != nil {
				answer(ctx, &errResp, &simError{http.StatusBadRequest, "InUseSubnetCannotBeDeleted",
					fmt.Sprintf("Subnet %s is in use by %s and cannot be deleted.", e.name, u.id)})
				return
			}
		}
	}
	v.ID, v.Name, v.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeVNet)
	v.Properties.Subnets = nil
	v.Properties.ProvisioningState = succeeded
	s.put(&entry{id: id, typ: typeVNet, name: name, group: group, location: deref(v.Location, ""),
		tags: tagsIn(v.Tags), state: "Succeeded", body: encode(v)})
	for k, e := range s.res {
		if e.typ == typeSubnet && e.parent == strings.ToLower(id) && !keep[k] {
			delete(s.res, k)
		}
	}
	for _, sn := range subnets {
		if err := s.storeSubnet(group, name, deref(sn.Name, ""), sn, space); err != nil {
			answer(ctx, &errResp, err)
			return
		}
	}
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.VirtualNetworksClientCreateOrUpdateResponse{VirtualNetwork: s.vnet(id)}, nil)
	return
}

// checkTopLevel checks what every top-level resource needs: its group,
// and a location the subscription has; s.mu held.
func (s *Sim) checkTopLevel(group string, location *string) *simError {
	if !s.groupExists(group) {
		return groupNotFound(group)
	}
	if s.location(deref(location, "")) == nil {
		return &simError{http.StatusBadRequest, "LocationRequired", fmt.Sprintf("The location '%s' is not available for this subscription.", deref(location, ""))}
	}
	return nil
}

// vnet is a stored virtual network with its subnets; s.mu held.
func (s *Sim) vnet(id string) armnetwork.VirtualNetwork {
	e, _ := s.get(id)
	v := decode[armnetwork.VirtualNetwork](e)
	for _, sub := range s.sorted() {
		if sub.typ == typeSubnet && sub.parent == strings.ToLower(id) {
			v.Properties.Subnets = append(v.Properties.Subnets, to.Ptr(decode[armnetwork.Subnet](sub)))
		}
	}
	return v
}

// storeSubnet checks and stores a subnet of an existing virtual network;
// s.mu held.
func (s *Sim) storeSubnet(group, vnetName, name string, sn armnetwork.Subnet, space []netip.Prefix) *simError {
	vnetID := s.resourceID(group, typeVNet, vnetName)
	id := vnetID + "/subnets/" + name
	if sn.Properties == nil || sn.Properties.AddressPrefix == nil {
		return &simError{http.StatusBadRequest, "InvalidRequestFormat", "Subnet " + id + " needs an address prefix."}
	}
	pfx, err := netip.ParsePrefix(*sn.Properties.AddressPrefix)
	if err != nil {
		return &simError{http.StatusBadRequest, "InvalidAddressPrefixFormat", fmt.Sprintf("Address prefix %s of %s is not valid.", *sn.Properties.AddressPrefix, id)}
	}
	inside := false
	for _, sp := range space {
		if sp.Contains(pfx.Addr()) && pfx.Bits() >= sp.Bits() {
			inside = true
		}
	}
	if !inside {
		return &simError{http.StatusBadRequest, "NetcfgSubnetRangeOutsideVnet",
			fmt.Sprintf("Subnet '%s' is not valid because its IP address range is outside the IP address range of virtual network '%s'.", name, vnetName)}
	}
	var uses []string
	if sn.Properties.NetworkSecurityGroup != nil {
		ref := lowerID(sn.Properties.NetworkSecurityGroup.ID)
		if s.missingRef([]string{ref}) != "" {
			return invalidRef(id, *sn.Properties.NetworkSecurityGroup.ID)
		}
		uses = append(uses, ref)
	}
	vnet, _ := s.get(vnetID)
	sn.ID, sn.Name, sn.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeSubnet)
	sn.Properties.ProvisioningState = succeeded
	sn.Properties.IPConfigurations = nil
	s.put(&entry{id: id, typ: typeSubnet, name: name, group: group, location: vnet.location, state: "Succeeded",
		body: encode(sn), parent: strings.ToLower(vnetID), uses: uses})
	return nil
}

func invalidRef(id, ref string) *simError {
	return &simError{http.StatusBadRequest, "InvalidResourceReference",
		fmt.Sprintf("Resource %s referenced by resource %s was not found.", ref, id)}
}

func (s *Sim) getVNet(ctx context.Context, group, name string, _ *armnetwork.VirtualNetworksClientGetOptions) (resp azfake.Responder[armnetwork.VirtualNetworksClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.resourceID(group, typeVNet, name)
	if _, ok := s.get(id); !ok {
		answer(ctx, &errResp, s.missing(group, typeVNet, name))
		return
	}
	resp.SetResponse(http.StatusOK, armnetwork.VirtualNetworksClientGetResponse{VirtualNetwork: s.vnet(id)}, nil)
	return
}

// missing is the 404 for a resource: ResourceGroupNotFound when its group
// is missing too, as ARM answers; s.mu held.
func (s *Sim) missing(group, typ, name string) *simError {
	if !s.groupExists(group) {
		return groupNotFound(group)
	}
	return notFound(typ, name, group)
}

func (s *Sim) listVNets(group string, _ *armnetwork.VirtualNetworksClientListOptions) (resp azfake.PagerResponder[armnetwork.VirtualNetworksClientListResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*armnetwork.VirtualNetwork
	for _, e := range s.inGroup(group, typeVNet) {
		out = append(out, to.Ptr(s.vnet(e.id)))
	}
	resp.AddPage(http.StatusOK, armnetwork.VirtualNetworksClientListResponse{VirtualNetworkListResult: armnetwork.VirtualNetworkListResult{Value: out}}, nil)
	return
}

// inGroup is the entries of a type in a group, by id; s.mu held.
func (s *Sim) inGroup(group, typ string) []*entry {
	var out []*entry
	for _, e := range s.sorted() {
		if e.typ == typ && strings.EqualFold(e.group, group) {
			out = append(out, e)
		}
	}
	return out
}

// deleteLRO deletes a resource in a long-running operation, or says why
// not; s.mu held. A delete of what does not exist succeeds (204), as ARM's
// does.
func (s *Sim) deleteEntry(id string) *simError {
	if _, ok := s.get(id); !ok {
		return nil
	}
	return s.remove(id)
}

func (s *Sim) deleteVNet(ctx context.Context, group, name string, _ *armnetwork.VirtualNetworksClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.VirtualNetworksClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.VirtualNetworksClientDeleteResponse](s, ctx, s.resourceID(group, typeVNet, name))
}

func (s *Sim) putSubnet(ctx context.Context, group, vnetName, name string, sn armnetwork.Subnet, _ *armnetwork.SubnetsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SubnetsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vnetID := s.resourceID(group, typeVNet, vnetName)
	ve, ok := s.get(vnetID)
	if !ok {
		answer(ctx, &errResp, s.missing(group, typeVNet, vnetName))
		return
	}
	var space []netip.Prefix
	for _, p := range decode[armnetwork.VirtualNetwork](ve).Properties.AddressSpace.AddressPrefixes {
		if pfx, err := netip.ParsePrefix(deref(p, "")); err == nil {
			space = append(space, pfx)
		}
	}
	if err := s.storeSubnet(group, vnetName, name, sn, space); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	e, _ := s.get(vnetID + "/subnets/" + name)
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.SubnetsClientCreateOrUpdateResponse{Subnet: decode[armnetwork.Subnet](e)}, nil)
	return
}

func (s *Sim) getSubnet(ctx context.Context, group, vnetName, name string, _ *armnetwork.SubnetsClientGetOptions) (azfake.Responder[armnetwork.SubnetsClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeSubnet, vnetName+"/"+name, s.resourceID(group, typeVNet, vnetName)+"/subnets/"+name, func(v armnetwork.Subnet) armnetwork.SubnetsClientGetResponse {
		return armnetwork.SubnetsClientGetResponse{Subnet: v}
	})
}

func (s *Sim) deleteSubnet(ctx context.Context, group, vnetName, name string, _ *armnetwork.SubnetsClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.SubnetsClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.SubnetsClientDeleteResponse](s, ctx, s.resourceID(group, typeVNet, vnetName)+"/subnets/"+name)
}

// --- network security groups and their rules ---

func (s *Sim) putNSG(ctx context.Context, group, name string, g armnetwork.SecurityGroup, _ *armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTopLevel(group, g.Location); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	id := s.resourceID(group, typeNSG, name)
	var rules []armnetwork.SecurityRule
	if g.Properties != nil {
		for _, r := range g.Properties.SecurityRules {
			rules = append(rules, *r)
		}
	}
	if err := checkRules(id, rules); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	if g.Properties == nil {
		g.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	g.ID, g.Name, g.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeNSG)
	g.Properties.SecurityRules = nil
	g.Properties.ProvisioningState = succeeded
	s.put(&entry{id: id, typ: typeNSG, name: name, group: group, location: deref(g.Location, ""),
		tags: tagsIn(g.Tags), state: "Succeeded", body: encode(g)})
	// The rules in the body replace the ones there, as in ARM.
	for k, e := range s.res {
		if e.typ == typeRule && e.parent == strings.ToLower(id) {
			delete(s.res, k)
		}
	}
	for _, r := range rules {
		s.storeRule(group, name, r)
	}
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.SecurityGroupsClientCreateOrUpdateResponse{SecurityGroup: s.nsg(id)}, nil)
	return
}

// checkRules refuses two rules with the same priority and direction.
func checkRules(nsgID string, rules []armnetwork.SecurityRule) *simError {
	seen := map[string]string{}
	for _, r := range rules {
		if r.Properties == nil || r.Properties.Priority == nil || r.Properties.Direction == nil {
			return &simError{http.StatusBadRequest, "SecurityRuleInvalidPriority", fmt.Sprintf("Security rule %s of %s needs a priority and a direction.", deref(r.Name, ""), nsgID)}
		}
		if p := *r.Properties.Priority; p < 100 || p > 4096 {
			return &simError{http.StatusBadRequest, "SecurityRuleInvalidPriority", fmt.Sprintf("Security rule %s has invalid Priority %d. Value provided: %d Allowed range 100-4096.", deref(r.Name, ""), p, p)}
		}
		k := fmt.Sprintf("%s/%d", *r.Properties.Direction, *r.Properties.Priority)
		if other, ok := seen[k]; ok {
			return &simError{http.StatusBadRequest, "SecurityRuleConflict",
				fmt.Sprintf("Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction.", deref(r.Name, ""), other)}
		}
		seen[k] = deref(r.Name, "")
	}
	return nil
}

// storeRule stores a rule of an existing NSG; s.mu held.
func (s *Sim) storeRule(group, nsgName string, r armnetwork.SecurityRule) {
	nsgID := s.resourceID(group, typeNSG, nsgName)
	name := deref(r.Name, "")
	id := nsgID + "/securityRules/" + name
	r.ID, r.Name, r.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeRule)
	r.Properties.ProvisioningState = succeeded
	nsg, _ := s.get(nsgID)
	s.put(&entry{id: id, typ: typeRule, name: name, group: group, location: nsg.location, state: "Succeeded",
		body: encode(r), parent: strings.ToLower(nsgID)})
}

// nsg is a stored NSG with its rules; s.mu held.
func (s *Sim) nsg(id string) armnetwork.SecurityGroup {
	e, _ := s.get(id)
	g := decode[armnetwork.SecurityGroup](e)
	for _, r := range s.rules(id) {
		g.Properties.SecurityRules = append(g.Properties.SecurityRules, to.Ptr(r))
	}
	return g
}

func (s *Sim) rules(nsgID string) []armnetwork.SecurityRule {
	var out []armnetwork.SecurityRule
	for _, e := range s.sorted() {
		if e.typ == typeRule && e.parent == strings.ToLower(nsgID) {
			out = append(out, decode[armnetwork.SecurityRule](e))
		}
	}
	return out
}

func (s *Sim) getNSG(ctx context.Context, group, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (resp azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.resourceID(group, typeNSG, name)
	if _, ok := s.get(id); !ok {
		answer(ctx, &errResp, s.missing(group, typeNSG, name))
		return
	}
	resp.SetResponse(http.StatusOK, armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: s.nsg(id)}, nil)
	return
}

func (s *Sim) deleteNSG(ctx context.Context, group, name string, _ *armnetwork.SecurityGroupsClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.SecurityGroupsClientDeleteResponse](s, ctx, s.resourceID(group, typeNSG, name))
}

func (s *Sim) putRule(ctx context.Context, group, nsgName, name string, r armnetwork.SecurityRule, _ *armnetwork.SecurityRulesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SecurityRulesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nsgID := s.resourceID(group, typeNSG, nsgName)
	if _, ok := s.get(nsgID); !ok {
		answer(ctx, &errResp, s.missing(group, typeNSG, nsgName))
		return
	}
	r.Name = to.Ptr(name)
	var all []armnetwork.SecurityRule
	for _, old := range s.rules(nsgID) {
		if !strings.EqualFold(deref(old.Name, ""), name) {
			all = append(all, old)
		}
	}
	if err := checkRules(nsgID, append(all, r)); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	s.storeRule(group, nsgName, r)
	e, _ := s.get(nsgID + "/securityRules/" + name)
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.SecurityRulesClientCreateOrUpdateResponse{SecurityRule: decode[armnetwork.SecurityRule](e)}, nil)
	return
}

func (s *Sim) getRule(ctx context.Context, group, nsgName, name string, _ *armnetwork.SecurityRulesClientGetOptions) (azfake.Responder[armnetwork.SecurityRulesClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeRule, nsgName+"/"+name, s.resourceID(group, typeNSG, nsgName)+"/securityRules/"+name, func(v armnetwork.SecurityRule) armnetwork.SecurityRulesClientGetResponse {
		return armnetwork.SecurityRulesClientGetResponse{SecurityRule: v}
	})
}

func (s *Sim) deleteRule(ctx context.Context, group, nsgName, name string, _ *armnetwork.SecurityRulesClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.SecurityRulesClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.SecurityRulesClientDeleteResponse](s, ctx, s.resourceID(group, typeNSG, nsgName)+"/securityRules/"+name)
}

func (s *Sim) listRules(group, nsgName string, _ *armnetwork.SecurityRulesClientListOptions) (resp azfake.PagerResponder[armnetwork.SecurityRulesClientListResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*armnetwork.SecurityRule
	for _, r := range s.rules(s.resourceID(group, typeNSG, nsgName)) {
		out = append(out, to.Ptr(r))
	}
	resp.AddPage(http.StatusOK, armnetwork.SecurityRulesClientListResponse{SecurityRuleListResult: armnetwork.SecurityRuleListResult{Value: out}}, nil)
	return
}

// --- public IP addresses ---

func (s *Sim) putIP(ctx context.Context, group, name string, ip armnetwork.PublicIPAddress, _ *armnetwork.PublicIPAddressesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTopLevel(group, ip.Location); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	id := s.resourceID(group, typeIP, name)
	if ip.Properties == nil {
		ip.Properties = &armnetwork.PublicIPAddressPropertiesFormat{}
	}
	// An address, once given, stays with the resource.
	if old, ok := s.get(id); ok {
		ip.Properties.IPAddress = decode[armnetwork.PublicIPAddress](old).Properties.IPAddress
	} else {
		s.nextIP++
		ip.Properties.IPAddress = to.Ptr(fmt.Sprintf("20.50.%d.%d", s.nextIP/250, 1+s.nextIP%250))
	}
	ip.ID, ip.Name, ip.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeIP)
	ip.Properties.ProvisioningState = succeeded
	s.put(&entry{id: id, typ: typeIP, name: name, group: group, location: deref(ip.Location, ""),
		tags: tagsIn(ip.Tags), state: "Succeeded", body: encode(ip)})
	e, _ := s.get(id)
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.PublicIPAddressesClientCreateOrUpdateResponse{PublicIPAddress: decode[armnetwork.PublicIPAddress](e)}, nil)
	return
}

func (s *Sim) getIP(ctx context.Context, group, name string, _ *armnetwork.PublicIPAddressesClientGetOptions) (azfake.Responder[armnetwork.PublicIPAddressesClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeIP, name, s.resourceID(group, typeIP, name), func(v armnetwork.PublicIPAddress) armnetwork.PublicIPAddressesClientGetResponse {
		return armnetwork.PublicIPAddressesClientGetResponse{PublicIPAddress: v}
	})
}

func (s *Sim) deleteIP(ctx context.Context, group, name string, _ *armnetwork.PublicIPAddressesClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.PublicIPAddressesClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.PublicIPAddressesClientDeleteResponse](s, ctx, s.resourceID(group, typeIP, name))
}

func (s *Sim) listIPs(group string, _ *armnetwork.PublicIPAddressesClientListOptions) azfake.PagerResponder[armnetwork.PublicIPAddressesClientListResponse] {
	return listIn(s, group, typeIP, func(v []*armnetwork.PublicIPAddress) armnetwork.PublicIPAddressesClientListResponse {
		return armnetwork.PublicIPAddressesClientListResponse{PublicIPAddressListResult: armnetwork.PublicIPAddressListResult{Value: v}}
	})
}

// --- network interfaces ---

func (s *Sim) putNIC(ctx context.Context, group, name string, nic armnetwork.Interface, _ *armnetwork.InterfacesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.InterfacesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkTopLevel(group, nic.Location); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	id := s.resourceID(group, typeNIC, name)
	if nic.Properties == nil || len(nic.Properties.IPConfigurations) == 0 {
		answer(ctx, &errResp, &simError{http.StatusBadRequest, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", "Network interface " + id + " needs an IP configuration."})
		return
	}
	var old *armnetwork.Interface
	if e, ok := s.get(id); ok {
		o := decode[armnetwork.Interface](e)
		old = &o
	}
	var uses []string
	for i, c := range nic.Properties.IPConfigurations {
		if c.Properties == nil || c.Properties.Subnet == nil || c.Properties.Subnet.ID == nil {
			answer(ctx, &errResp, &simError{http.StatusBadRequest, "InvalidRequestFormat", "IP configuration of " + id + " needs a subnet."})
			return
		}
		sub, ok := s.get(*c.Properties.Subnet.ID)
		if !ok {
			answer(ctx, &errResp, invalidRef(id, *c.Properties.Subnet.ID))
			return
		}
		uses = append(uses, strings.ToLower(sub.id))
		if c.Properties.PublicIPAddress != nil {
			ref := lowerID(c.Properties.PublicIPAddress.ID)
			if s.missingRef([]string{ref}) != "" {
				answer(ctx, &errResp, invalidRef(id, deref(c.Properties.PublicIPAddress.ID, "")))
				return
			}
			if u := s.usedBy(ref, map[string]bool{strings.ToLower(id): true}); u != nil {
				answer(ctx, &errResp, &simError{http.StatusBadRequest, "PublicIPAddressInUse",
					fmt.Sprintf("Public IP address %s is already used by %s.", *c.Properties.PublicIPAddress.ID, u.id)})
				return
			}
			uses = append(uses, ref)
		}
		c.ID = to.Ptr(id + "/ipConfigurations/" + deref(c.Name, "ipconfig1"))
		// The private address stays with the NIC; a new one is the next
		// free address of the subnet (Azure keeps the first four).
		if old != nil && i < len(old.Properties.IPConfigurations) && old.Properties.IPConfigurations[i].Properties != nil {
			c.Properties.PrivateIPAddress = old.Properties.IPConfigurations[i].Properties.PrivateIPAddress
		} else if c.Properties.PrivateIPAddress == nil {
			c.Properties.PrivateIPAddress = to.Ptr(s.nextPrivateIP(sub))
		}
		c.Properties.ProvisioningState = succeeded
	}
	if nic.Properties.NetworkSecurityGroup != nil {
		ref := lowerID(nic.Properties.NetworkSecurityGroup.ID)
		if s.missingRef([]string{ref}) != "" {
			answer(ctx, &errResp, invalidRef(id, deref(nic.Properties.NetworkSecurityGroup.ID, "")))
			return
		}
		uses = append(uses, ref)
	}
	if old != nil {
		nic.Properties.VirtualMachine = old.Properties.VirtualMachine
	}
	nic.ID, nic.Name, nic.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeNIC)
	nic.Properties.ProvisioningState = succeeded
	s.put(&entry{id: id, typ: typeNIC, name: name, group: group, location: deref(nic.Location, ""),
		tags: tagsIn(nic.Tags), state: "Succeeded", body: encode(nic), uses: uses})
	e, _ := s.get(id)
	s.running(&resp, http.StatusCreated)
	resp.SetTerminalResponse(http.StatusOK, armnetwork.InterfacesClientCreateOrUpdateResponse{Interface: decode[armnetwork.Interface](e)}, nil)
	return
}

// nextPrivateIP is the first address of the subnet no NIC has, after the
// four Azure keeps; s.mu held.
func (s *Sim) nextPrivateIP(sub *entry) string {
	sn := decode[armnetwork.Subnet](sub)
	pfx, err := netip.ParsePrefix(deref(sn.Properties.AddressPrefix, ""))
	if err != nil {
		return ""
	}
	taken := map[string]bool{}
	for _, e := range s.res {
		if e.typ != typeNIC {
			continue
		}
		for _, c := range decode[armnetwork.Interface](e).Properties.IPConfigurations {
			if c.Properties != nil && lowerID(c.Properties.Subnet.ID) == strings.ToLower(sub.id) {
				taken[deref(c.Properties.PrivateIPAddress, "")] = true
			}
		}
	}
	a := pfx.Masked().Addr()
	for i := 0; i < 4; i++ {
		a = a.Next()
	}
	for ; pfx.Contains(a); a = a.Next() {
		if !taken[a.String()] {
			return a.String()
		}
	}
	return ""
}

func (s *Sim) getNIC(ctx context.Context, group, name string, _ *armnetwork.InterfacesClientGetOptions) (azfake.Responder[armnetwork.InterfacesClientGetResponse], azfake.ErrorResponder) {
	return getOne(s, ctx, group, typeNIC, name, s.resourceID(group, typeNIC, name), func(v armnetwork.Interface) armnetwork.InterfacesClientGetResponse {
		return armnetwork.InterfacesClientGetResponse{Interface: v}
	})
}

func (s *Sim) deleteNIC(ctx context.Context, group, name string, _ *armnetwork.InterfacesClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.InterfacesClientDeleteResponse], azfake.ErrorResponder) {
	return deleteOne[armnetwork.InterfacesClientDeleteResponse](s, ctx, s.resourceID(group, typeNIC, name))
}

func (s *Sim) listNICs(group string, _ *armnetwork.InterfacesClientListOptions) azfake.PagerResponder[armnetwork.InterfacesClientListResponse] {
	return listIn(s, group, typeNIC, func(v []*armnetwork.Interface) armnetwork.InterfacesClientListResponse {
		return armnetwork.InterfacesClientListResponse{InterfaceListResult: armnetwork.InterfaceListResult{Value: v}}
	})
}
