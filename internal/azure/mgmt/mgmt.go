// Package mgmt is the Azure half of making the management cluster, as
// phases of the engine: check the subscription (azure-preflight), make the
// keys and WireGuard material (azure-prepare), the network (azure-network),
// the VMs (azure-vms) and the operator's WireGuard configuration
// (vpn-config). Each records what it made in the deployment record
// (management.azure) and verifies it on the next run, so a second deploy
// creates nothing and an interrupted one goes on.
//
// Not in this package (nor in this build): bringing the VPN up, waiting for
// the VMs over SSH (internal/vmcheck), installing k0s (internal/k0s) and
// the rest of the chain; deploy refuses management.mode azure until they
// are wired in.
package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/preflight"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/prepare"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Phase names.
const (
	PhasePreflight = "azure-preflight"
	PhasePrepare   = "azure-prepare"
	PhaseNetwork   = "azure-network"
	PhaseVMs       = "azure-vms"
	PhaseVPNConfig = "vpn-config"
)

// Env is what the phases share.
type Env struct {
	Config *config.Config
	// BaseDir is the configuration's folder (paths in it).
	BaseDir string
	Session *state.Session
	// Record is read instead of Session's by the commands that only look
	// (vpn status); nil when Session is set.
	Record *state.Record
	Azure  *azure.Session
	// SecretsDir holds the keys (0600).
	SecretsDir string
	// PollFrequency is how often Azure's long operations are polled; 0:
	// infra's default.
	PollFrequency time.Duration
	// SSHAddress is where a VM's SSH server is reached given its WireGuard
	// address; nil: that address, port 22 (tests map it to their servers).
	SSHAddress func(wireGuardIP string) string
	Now        func() time.Time

	// made is what the network phase made in this run (the VMs' public IPs
	// among it); nil when it was only verified.
	made *infra.Network
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// id is the deployment's id; a placeholder when planning (no record).
func (e *Env) sshAddress(wg string) string {
	if e.SSHAddress != nil {
		return e.SSHAddress(wg)
	}
	return net.JoinHostPort(wg, "22")
}

func (e *Env) id() string {
	if r := e.snapshot(); r != nil {
		return r.DeploymentID
	}
	return "<deployment-id>"
}

// snapshot is the record: the session's, else the one read, else nil
// (planning).
func (e *Env) snapshot() *state.Record {
	if e.Session != nil {
		return e.Session.Snapshot()
	}
	return e.Record
}

// record changes management.azure in the record.
func (e *Env) record(ctx context.Context, fn func(*state.AzureManagement)) error {
	return e.Session.Update(ctx, func(r *state.Record) error {
		if r.Management.Azure == nil {
			r.Management.Azure = &state.AzureManagement{SubscriptionID: e.Azure.Subscription, Location: e.Config.Azure.Location}
		}
		fn(r.Management.Azure)
		return nil
	})
}

func (e *Env) recorded() *state.AzureManagement {
	if r := e.snapshot(); r != nil {
		return r.Management.Azure
	}
	return nil
}

// vmNames are the VMs of the configuration, controllers first.
func (e *Env) vmNames() []string {
	var out []string
	for _, vm := range e.spec("", nil).VMs {
		out = append(out, vm.Name)
	}
	return out
}

// spec is the infra spec of the configuration; created is the record's
// creation time (the created tag stays the same on every run).
func (e *Env) spec(sshKey string, customData func(string) ([]byte, error)) *infra.Spec {
	created := e.now()
	if r := e.snapshot(); r != nil {
		created = r.CreatedAt
	}
	s := infra.FromConfig(e.Config, e.id(), created, sshKey, customData)
	s.PollFrequency = e.PollFrequency
	// Once vpn lockdown removed public SSH, no later run puts it back.
	if a := e.recorded(); a != nil && a.SSHLockedDown {
		s.AllowSSH = false
	}
	return s
}

func (e *Env) material() (*prepare.Material, error) {
	return prepare.Prepare(e.Config, e.BaseDir, e.id(), e.SecretsDir, e.vmNames())
}

// existingMaterial is the material of VMs that exist: nothing is made.
func (e *Env) existingMaterial() (*prepare.Material, error) {
	return prepare.Load(e.Config, e.BaseDir, e.id(), e.SecretsDir, e.vmNames())
}

func (e *Env) infra(prog phase.Progress) (*infra.Infra, error) {
	c, err := infra.NewClients(e.Azure)
	if err != nil {
		return nil, err
	}
	return &infra.Infra{C: c, Progress: func(s string) { prog.Printf("%s", s) }}, nil
}

// Phases are the Azure phases in order.
func Phases(e *Env) []phase.Phase {
	return []phase.Phase{&preflightPhase{e}, &preparePhase{e}, &networkPhase{e}, &vmsPhase{e}, &vpnConfigPhase{e}}
}

type preflightPhase struct{ e *Env }

func (p *preflightPhase) Name() string       { return PhasePreflight }
func (p *preflightPhase) Title() string      { return "Check the Azure subscription" }
func (p *preflightPhase) Requires() []string { return nil }
func (p *preflightPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *preflightPhase) DryRun(context.Context) ([]string, error) {
	return []string{"check providers, sizes and zones, Spot, vCPU quota and the image in " + p.e.Config.Azure.Location,
		"check that k0sctl is on this machine's PATH (k0s-install runs it)"}, nil
}

func (p *preflightPhase) Run(ctx context.Context, prog phase.Progress) error {
	c, err := preflight.NewClients(p.e.Azure.Subscription, p.e.Azure.Credential, p.e.Azure.Options)
	if err != nil {
		return err
	}
	in := preflight.FromConfig(p.e.Config, p.e.Azure.Subscription)
	// This deployment's VMs already there count back toward the quota.
	if rec := p.e.recorded(); rec != nil {
		for i := range in.Groups {
			for _, vm := range rec.VMs {
				if vm.Role == in.Groups[i].Role {
					in.Groups[i].Existing++
				}
			}
		}
	}
	// k0s-install needs k0sctl on this machine: said now, with what
	// Azure says, before anything is created.
	_, tool := FindK0sctl()
	err = preflight.Check(ctx, c, in)
	var pe *preflight.Error
	switch {
	case errors.As(err, &pe):
		return phase.Permanent(errors.Join(err, tool))
	case err != nil:
		return err
	case tool != nil:
		return phase.Permanent(tool)
	}
	prog.Printf("the subscription can hold %d VMs in %s", len(p.e.vmNames()), p.e.Config.Azure.Location)
	return nil
}

type preparePhase struct{ e *Env }

func (p *preparePhase) Name() string  { return PhasePrepare }
func (p *preparePhase) Title() string { return "Make the SSH and WireGuard keys" }

// Requires nothing: the keys are made on this machine while preflight asks
// Azure (made for nothing when preflight refuses; kept for the next run).
func (p *preparePhase) Requires() []string { return nil }
func (p *preparePhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *preparePhase) DryRun(context.Context) ([]string, error) {
	return []string{"an ed25519 SSH key, a host key per VM and WireGuard keys in 0600 files under the state folder's secrets/ (kept for later runs)",
		"WireGuard addresses from " + p.e.Config.Network.WireGuardNetwork + ": this machine .1, the VMs from ." + fmt.Sprint(prepare.FirstVMOffset)}, nil
}

func (p *preparePhase) Run(ctx context.Context, prog phase.Progress) error {
	m, err := p.e.material()
	if err != nil {
		return phase.Permanent(err)
	}
	prog.Printf("keys in %s; this machine is %s on WireGuard", p.e.SecretsDir, m.HubAddress)
	return p.e.record(ctx, func(a *state.AzureManagement) {
		a.SSHKeyPath = m.SSH.Path
		byName := map[string]string{}
		for _, n := range m.Nodes {
			byName[n.Name] = n.Address.String()
		}
		for i := range a.VMs {
			a.VMs[i].WireGuardIP = byName[a.VMs[i].Name]
		}
	})
}

// Verify: the keys are there and readable (a run made them).
func (p *preparePhase) Verify(context.Context) (bool, string, error) {
	for _, path := range []string{prepare.SSHKeyPath(p.e.SecretsDir, p.e.id()), prepare.WireGuardKeyPath(p.e.SecretsDir, p.e.id(), "hub")} {
		if _, err := os.Stat(path); err != nil {
			return false, path + " is missing", nil
		}
	}
	return true, "", nil
}

type networkPhase struct{ e *Env }

func (p *networkPhase) Name() string       { return PhaseNetwork }
func (p *networkPhase) Title() string      { return "Create the resource group and network" }
func (p *networkPhase) Requires() []string { return []string{PhasePreflight, PhasePrepare} }
func (p *networkPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *networkPhase) DryRun(context.Context) ([]string, error) {
	var out []string
	s := p.e.spec("", nil)
	for _, r := range s.Planned()[:4] {
		out = append(out, "create "+r.Type+" "+r.Name+" ("+r.Detail+")")
	}
	out = append(out, fmt.Sprintf("create the %d VMs' public IPs (static, Standard) while the security group and the virtual network are made", len(s.VMs)))
	return out, nil
}

func (p *networkPhase) Run(ctx context.Context, prog phase.Progress) error {
	inf, err := p.e.infra(prog)
	if err != nil {
		return err
	}
	s := p.e.spec("", nil)
	made, err := inf.EnsureNetwork(ctx, s)
	if err != nil {
		return err
	}
	p.e.made = made
	return p.e.record(ctx, func(a *state.AzureManagement) {
		a.ResourceGroup, a.VNet, a.Subnet, a.NSG = s.Names.ResourceGroup, s.Names.VNet, s.Names.Subnet, s.Names.NSG
	})
}

// Verify: the resource group, the VNet and the NSG are still there.
func (p *networkPhase) Verify(ctx context.Context) (bool, string, error) {
	c, err := infra.NewClients(p.e.Azure)
	if err != nil {
		return false, "", err
	}
	n := p.e.spec("", nil).Names
	if _, err := c.Groups.Get(ctx, n.ResourceGroup, nil); err != nil {
		return false, "resource group " + n.ResourceGroup + ": " + infra.AzureError(err), nil
	}
	if _, err := c.VNets.Get(ctx, n.ResourceGroup, n.VNet, nil); err != nil {
		return false, "virtual network " + n.VNet + ": " + infra.AzureError(err), nil
	}
	if _, err := c.NSGs.Get(ctx, n.ResourceGroup, n.NSG, nil); err != nil {
		return false, "network security group " + n.NSG + ": " + infra.AzureError(err), nil
	}
	return true, "", nil
}

// network is the ids EnsureVMs needs, from the names (the network phase
// made them).
func (e *Env) network(s *infra.Spec) *infra.Network {
	if e.made != nil {
		return e.made
	}
	rg := "/subscriptions/" + e.Azure.Subscription + "/resourceGroups/" + s.Names.ResourceGroup
	vnet := rg + "/providers/Microsoft.Network/virtualNetworks/" + s.Names.VNet
	return &infra.Network{ResourceGroupID: rg, VNetID: vnet, SubnetID: vnet + "/subnets/" + s.Names.Subnet,
		NSGID: rg + "/providers/Microsoft.Network/networkSecurityGroups/" + s.Names.NSG}
}

type vmsPhase struct{ e *Env }

func (p *vmsPhase) Name() string       { return PhaseVMs }
func (p *vmsPhase) Title() string      { return "Create the VMs" }
func (p *vmsPhase) Requires() []string { return []string{PhaseNetwork} }
func (p *vmsPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *vmsPhase) DryRun(context.Context) ([]string, error) {
	s := p.e.spec("", nil)
	return []string{fmt.Sprintf("create %d VMs at the same time (NIC, VM, OS disk each; a public IP too when the network phase did not make it), zones round robin; a VM that fails to provision is deleted and created again, up to 3 times", len(s.VMs))}, nil
}

func (p *vmsPhase) Run(ctx context.Context, prog phase.Progress) error {
	m, err := p.e.material()
	if err != nil {
		return phase.Permanent(err)
	}
	inf, err := p.e.infra(prog)
	if err != nil {
		return err
	}
	s := p.e.spec(m.SSH.AuthorizedKey, m.CloudInit)
	vms, err := inf.EnsureVMs(ctx, s, p.e.network(s))
	// What exists is recorded even when some VMs failed.
	rerr := p.e.record(ctx, func(a *state.AzureManagement) {
		a.VMs = a.VMs[:0]
		for _, vm := range vms {
			if vm.Name == "" {
				continue
			}
			wg := ""
			if n, ok := m.Node(vm.Name); ok {
				wg = n.Address.String()
			}
			a.VMs = append(a.VMs, state.AzureVM{Name: vm.Name, Role: vm.Role, Size: vm.Size, Zone: vm.Zone, Priority: vm.Priority,
				PrivateIP: vm.PrivateIP, PublicIP: vm.PublicIP, WireGuardIP: wg})
		}
	})
	return errors.Join(err, rerr)
}

// Verify: every VM of the configuration is recorded with a public address
// and is Succeeded in Azure.
func (p *vmsPhase) Verify(ctx context.Context) (bool, string, error) {
	rec := p.e.recorded()
	if rec == nil || len(rec.VMs) != len(p.e.vmNames()) {
		return false, "not every VM is recorded", nil
	}
	c, err := infra.NewClients(p.e.Azure)
	if err != nil {
		return false, "", err
	}
	for _, vm := range rec.VMs {
		got, err := c.VMs.Get(ctx, rec.ResourceGroup, vm.Name, nil)
		if err != nil {
			return false, "VM " + vm.Name + ": " + infra.AzureError(err), nil
		}
		if st := got.Properties.ProvisioningState; st == nil || !strings.EqualFold(*st, "Succeeded") {
			return false, "VM " + vm.Name + " is not Succeeded", nil
		}
	}
	return true, "", nil
}

type vpnConfigPhase struct{ e *Env }

func (p *vpnConfigPhase) Name() string       { return PhaseVPNConfig }
func (p *vpnConfigPhase) Title() string      { return "Write this machine's WireGuard configuration" }
func (p *vpnConfigPhase) Requires() []string { return []string{PhaseVMs} }
func (p *vpnConfigPhase) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}
func (p *vpnConfigPhase) DryRun(context.Context) ([]string, error) {
	return []string{"write the wg-quick configuration (0600) with one peer per VM at its public address"}, nil
}

// Path is where the operator's configuration goes: secrets/<interface>.conf
// (wg-quick names the interface after the file).
func (e *Env) vpnPath() string {
	return filepath.Join(e.SecretsDir, prepare.OperatorInterface(e.id())+".conf")
}

func (p *vpnConfigPhase) Run(ctx context.Context, prog phase.Progress) error {
	path, err := p.e.VPNConfig(ctx)
	if err != nil {
		return err
	}
	prog.Printf("WireGuard configuration in %s", path)
	return nil
}

func (p *vpnConfigPhase) conf(m *prepare.Material) (string, error) {
	rec := p.e.recorded()
	endpoints := map[string]string{}
	if rec != nil {
		for _, vm := range rec.VMs {
			endpoints[vm.Name] = vm.PublicIP
		}
	}
	return m.OperatorConfig(endpoints)
}

// Verify: the file holds what would be written now.
func (p *vpnConfigPhase) Verify(context.Context) (bool, string, error) {
	m, err := p.e.material()
	if err != nil {
		return false, "", err
	}
	want, err := p.conf(m)
	if err != nil {
		return false, err.Error(), nil
	}
	got, err := os.ReadFile(p.e.vpnPath())
	if err != nil || string(got) != want {
		return false, "the WireGuard configuration is missing or out of date", nil
	}
	return true, "", nil
}
