package config

import "time"

// Default timeouts.
const (
	DefaultTimeoutAzureResources  = 20 * time.Minute
	DefaultTimeoutVPNConnect      = 5 * time.Minute
	DefaultTimeoutK0sInstall      = 20 * time.Minute
	DefaultTimeoutK0rdentInstall  = 30 * time.Minute
	DefaultTimeoutRegionalCluster = 45 * time.Minute
	DefaultTimeoutRegionReady     = 20 * time.Minute
	DefaultTimeoutChildCluster    = 45 * time.Minute
	DefaultTimeoutKOFInstall      = 30 * time.Minute
)

// ApplyDefaults fills every unset field that has a default. It is the one
// place defaults live; it is idempotent, and it never overwrites a value the
// file sets.
//
// Sections that are not in use are left alone so that `config show` prints
// what matters: with management.mode existing the VM-related sections
// (azure image and priority, network, vm_sizing, cluster, ssh, software.k0s)
// stay empty; Spot settings are filled only with priority Spot; KOF settings
// only when KOF is enabled; a regional cluster's cluster_deployment only when
// it has a cluster_deployment_ref.
func (c *Config) ApplyDefaults() {
	if c == nil {
		return
	}
	setStr(&c.Management.Mode, ModeAzure)

	if c.Management.Mode == ModeAzure {
		az := &c.Azure
		setStr(&az.Image, DefaultImage)
		setStr(&az.Priority, PriorityRegular)
		if az.Priority == PrioritySpot {
			setStr(&az.EvictionPolicy, EvictDeallocate)
			if az.MaxPrice == nil {
				az.MaxPrice = ptr(-1.0)
			}
		}
		n := &c.Network
		setStr(&n.VNetCIDR, DefaultVNetCIDR)
		setStr(&n.SubnetCIDR, DefaultSubnetCIDR)
		setStr(&n.WireGuardNetwork, DefaultWireGuardNetwork)
		if n.WireGuardPort == 0 {
			n.WireGuardPort = DefaultWireGuardPort
		}
		setStr(&n.PodCIDR, DefaultPodCIDR)
		setStr(&n.ServiceCIDR, DefaultServiceCIDR)

		setStr(&c.VMSizing.Controller, DefaultVMSize)
		setStr(&c.VMSizing.Worker, DefaultVMSize)
		if c.Cluster.Controllers.Count == nil {
			c.Cluster.Controllers.Count = ptr(DefaultClusterNodeCount)
		}
		if c.Cluster.Workers.Count == nil {
			c.Cluster.Workers.Count = ptr(DefaultClusterNodeCount)
		}
		setStr(&c.SSH.User, DefaultSSHUser)
		setStr(&c.Software.K0s.Version, DefaultK0sVersion)
		csi := &c.Software.AzureDiskCSI
		setStr(&csi.Version, DefaultDiskCSIVersion)
		setStr(&csi.Charts, DefaultDiskCSICharts)
		if len(c.Cluster.Controllers.Zones) > 0 || len(c.Cluster.Workers.Zones) > 0 {
			setStr(&csi.DiskSKU, "StandardSSD_ZRS")
		}
		setStr(&csi.DiskSKU, "StandardSSD_LRS")
	}

	k := &c.Software.K0rdent
	setStr(&k.Version, DefaultK0rdentVersion)
	setStr(&k.Chart, DefaultChart)
	setStr(&k.Namespace, DefaultNamespace)
	cred := &k.Credential
	setStr(&cred.Name, DefaultCredentialName)
	setStr(&cred.Namespace, k.Namespace)
	setStr(&cred.IdentityName, DefaultIdentityName)
	setStr(&cred.SecretName, DefaultIdentitySecret)

	if k.Regional.Parallel == 0 {
		k.Regional.Parallel = DefaultRegionalParallel
	}
	for i := range k.Regional.Clusters {
		r := &k.Regional.Clusters[i]
		if r.CredentialPropagation == nil {
			r.CredentialPropagation = ptr(true)
		}
		if r.Components.CertManager == nil {
			r.Components.CertManager = ptr(true)
		}
		if r.Components.Velero == nil {
			r.Components.Velero = ptr(true)
		}
		if r.Components.CAPIProviders == nil {
			r.Components.CAPIProviders = &ProviderSelection{All: true}
		}
		if r.ClusterDeploymentRef != "" {
			if r.ClusterDeployment == nil {
				r.ClusterDeployment = &ClusterDeploymentSpec{}
			}
			cd := r.ClusterDeployment
			setStr(&cd.Namespace, k.Namespace)
			setStr(&cd.Credential, cred.Name)
			defaultPool(&cd.ControlPlane, DefaultClusterNodeCount)
			defaultPool(&cd.Workers, DefaultClusterNodeCount)
		}
	}

	if c.KOF.Enabled {
		kof := &c.KOF
		setStr(&kof.Version, DefaultKOFVersion)
		setStr(&kof.Charts, DefaultKOFCharts)
		if kof.Istio.Enabled == nil {
			kof.Istio.Enabled = ptr(true)
		}
		if kof.Istio.IsEnabled() {
			setStr(&kof.Istio.Namespace, DefaultIstioNamespace)
			setStr(&kof.Istio.Version, DefaultIstioVersion)
			setStr(&kof.Istio.Charts, DefaultIstioCharts)
		}
		setStr(&kof.Mothership.Namespace, DefaultKOFNamespace)
		reg := &kof.Regional
		setStr(&reg.Name, DefaultKOFRegionalName)
		setStr(&reg.Namespace, k.Namespace)
		setStr(&reg.Location, c.Azure.Location)
		setStr(&reg.Credential, c.RegionalCredentialName(reg.Region))
		defaultPool(&reg.ControlPlane, DefaultClusterNodeCount)
		defaultPool(&reg.Workers, DefaultKOFRegionalWorker)
	}

	for i := range c.ChildClusters {
		ch := &c.ChildClusters[i]
		setStr(&ch.Namespace, k.Namespace)
		setStr(&ch.Location, c.Azure.Location)
		setStr(&ch.Credential, c.RegionalCredentialName(ch.Region))
		defaultPool(&ch.ControlPlane, DefaultClusterNodeCount)
		defaultPool(&ch.Workers, DefaultClusterNodeCount)
	}

	t := &c.Timeouts
	setDur(&t.AzureResources, DefaultTimeoutAzureResources)
	setDur(&t.VPNConnect, DefaultTimeoutVPNConnect)
	setDur(&t.K0sInstall, DefaultTimeoutK0sInstall)
	setDur(&t.K0rdentInstall, DefaultTimeoutK0rdentInstall)
	setDur(&t.RegionalCluster, DefaultTimeoutRegionalCluster)
	setDur(&t.RegionReady, DefaultTimeoutRegionReady)
	setDur(&t.ChildCluster, DefaultTimeoutChildCluster)
	setDur(&t.KOFInstall, DefaultTimeoutKOFInstall)

	setStr(&c.State.Backend, StateBackendLocal)
	if c.State.Backend == StateBackendAzureBlob && c.State.AzureBlob != nil {
		setStr(&c.State.AzureBlob.Prefix, DefaultStateBlobPrefix)
	}
}

func setStr(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func defaultPool(p *NodePool, count int) {
	if p.Count == 0 {
		p.Count = count
	}
	setStr(&p.VMSize, DefaultVMSize)
}
