package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/diskcsi"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// DiskCSIName is the phase that installs the Azure disk CSI driver on a
// management cluster k0rdentctl built on Azure VMs, after the Credential
// (it uses the same service principal) and before KOF (which needs
// persistent volumes).
const DiskCSIName = "azure-disk-csi"

type diskCSIPhase struct{ env *Env }

func (p *diskCSIPhase) Name() string { return DiskCSIName }
func (p *diskCSIPhase) Title() string {
	return "Install the Azure disk CSI driver " + p.env.Config.Software.AzureDiskCSI.Version
}
func (p *diskCSIPhase) Requires() []string { return []string{CredentialsName} }

func (p *diskCSIPhase) Wanted() (bool, string) {
	if !p.env.Config.Software.AzureDiskCSI.IsEnabled() {
		return false, "software.azure_disk_csi.enabled is false: no persistent volumes on the management cluster (KOF needs them)"
	}
	if ok, _ := (&credentialsPhase{env: p.env}).Wanted(); !ok {
		return false, "no service principal in software.k0rdent.credential (client_id, or create_principal: true) for the Azure disk CSI driver: the management cluster has no persistent volumes (KOF needs them)"
	}
	return true, ""
}

func (p *diskCSIPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *diskCSIPhase) DryRun(context.Context) ([]string, error) {
	c := p.env.Config.Software.AzureDiskCSI
	return []string{
		"apply Secret kube-system/azure-cloud-provider: the cloud provider configuration (azure.json) with the Credential's service principal and the VMs' resource group and network",
		fmt.Sprintf("install Helm chart %s %s from %s into %s (kubelet folder %s) and wait for its controller and node pods", diskcsi.Release, c.Version, c.Charts, diskcsi.Namespace, diskcsi.KubeletDir),
		fmt.Sprintf("apply StorageClass %s (%s, %s, disks tagged with the deployment id so that reset finds them), the default unless another StorageClass is", diskcsi.StorageClass, diskcsi.Provisioner, c.DiskSKU),
	}, nil
}

func (p *diskCSIPhase) Run(ctx context.Context, prog phase.Progress) error {
	if p.env.Session == nil {
		return phase.Permanent(errors.New("the Azure disk CSI driver needs the deployment record (the VMs' network)"))
	}
	a := p.env.Session.Snapshot().Management.Azure
	if a == nil || a.ResourceGroup == "" {
		return phase.Permanent(errors.New("no Azure resources are recorded for the management cluster: the disk CSI driver is for a management cluster k0rdentctl built on Azure VMs"))
	}
	pr, err := (&credentialsPhase{env: p.env}).principal(ctx)
	if err != nil {
		return err
	}
	secret, err := credentials.ManagementCloudSecret(pr, credentials.ManagementCloud{SubscriptionID: a.SubscriptionID, Location: a.Location,
		ResourceGroup: a.ResourceGroup, VNet: a.VNet, Subnet: a.Subnet, SecurityGroup: a.NSG})
	if err != nil {
		return err
	}
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return err
	}
	c := p.env.Config.Software.AzureDiskCSI
	charts := helmrelease.ResolveRepo(c.Charts, filepath.Dir(p.env.ConfigPath))
	_, err = (&diskcsi.Install{Kube: kc, Secret: secret, DiskSKU: c.DiskSKU, Tags: map[string]string{azure.TagDeployment: p.env.Session.ID()},
		Chart:    helmrelease.Source{Repo: charts, Name: diskcsi.Release, Version: c.Version, Field: "software.azure_disk_csi.charts", VersionField: "software.azure_disk_csi.version"},
		Progress: func(s string) { prog.Printf("%s", s) }}).Run(ctx)
	return err
}

// Verify: the release is deployed and ready, and the StorageClass is there.
func (p *diskCSIPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return false, "", err
	}
	return diskcsi.Check(ctx, kc)
}
