// Package config is the k0rdentctl configuration file: its typed schema,
// defaults, strict decoding, validation with field paths, embedded templates
// and examples, and the JSON Schema generated from the Go types.
//
// The YAML keys are snake_case and keep the spelling of the user's design
// document (software.k0rdent.regional.clusters[] with cluster_deployment_ref /
// kubeconfig_secret, credential_propagation, components). Every struct carries
// the same names as json tags, so `-o json` and the JSON Schema agree with the
// YAML file.
package config

// Config is the whole configuration file.
type Config struct {
	Metadata      Metadata       `yaml:"metadata" json:"metadata" jsonschema_description:"Who and what this deployment is."`
	Management    Management     `yaml:"management" json:"management" jsonschema_description:"Where the k0rdent management cluster comes from: Azure VMs built by k0rdentctl (mode azure) or an existing cluster (mode existing)."`
	Azure         Azure          `yaml:"azure" json:"azure" jsonschema_description:"The Azure subscription, location and VM settings of the management cluster."`
	Network       Network        `yaml:"network,omitempty" json:"network" jsonschema_description:"Address ranges of the management cluster (mode azure only)."`
	VMSizing      VMSizing       `yaml:"vm_sizing,omitempty" json:"vm_sizing" jsonschema_description:"Azure VM sizes of the management cluster (mode azure only)."`
	Cluster       Cluster        `yaml:"cluster,omitempty" json:"cluster" jsonschema_description:"Node counts and availability zones of the management cluster (mode azure only)."`
	SSH           SSH            `yaml:"ssh,omitempty" json:"ssh" jsonschema_description:"SSH access to the management cluster VMs, over WireGuard (mode azure only)."`
	Software      Software       `yaml:"software" json:"software" jsonschema_description:"k0s, the Azure disk CSI driver and k0rdent, with k0rdent's regional management clusters."`
	KOF           KOF            `yaml:"kof,omitempty" json:"kof" jsonschema_description:"KOF observability and FinOps, independent of k0rdent regions."`
	ChildClusters []ChildCluster `yaml:"child_clusters,omitempty" json:"child_clusters,omitempty" jsonschema_description:"Azure child clusters (ClusterDeployments) to create, on the management cluster or in a k0rdent region."`
	Timeouts      Timeouts       `yaml:"timeouts" json:"timeouts" jsonschema_description:"How long each kind of wait may take, as Go durations such as 30m or 1h30m."`
	State         State          `yaml:"state" json:"state" jsonschema_description:"Where the deployment record is kept."`
}

// Metadata names the deployment.
type Metadata struct {
	Name  string `yaml:"name" json:"name" jsonschema:"required" jsonschema_description:"Short name of this deployment: lowercase letters, digits and '-', at most 63 characters. Used in Azure tags and names."`
	Owner string `yaml:"owner,omitempty" json:"owner,omitempty" jsonschema_description:"Who owns this deployment (free text, e.g. an e-mail address); set as the Azure tag 'owner'."`
}

// Management modes.
const (
	ModeAzure    = "azure"
	ModeExisting = "existing"
)

// Management says where the management cluster comes from.
type Management struct {
	Mode       string `yaml:"mode" json:"mode" jsonschema:"enum=azure,enum=existing" jsonschema_description:"azure: k0rdentctl builds the management cluster on Azure VMs (k0s over WireGuard). existing: use the cluster in 'kubeconfig'; the azure VM, network, cluster and ssh sections are then ignored."`
	Kubeconfig string `yaml:"kubeconfig,omitempty" json:"kubeconfig,omitempty" jsonschema_description:"Path of the existing management cluster's kubeconfig; required with mode existing, not allowed with mode azure. Relative paths are relative to this file's directory; ~ is the home directory."`
	Context    string `yaml:"context,omitempty" json:"context,omitempty" jsonschema_description:"Context to use from 'kubeconfig' (mode existing); empty: its current context."`
}

// Azure VM priorities and Spot eviction policies.
const (
	PriorityRegular  = "Regular"
	PrioritySpot     = "Spot"
	EvictDeallocate  = "Deallocate"
	EvictDelete      = "Delete"
	ArchitectureX64  = "x64"
	ArchitectureArm  = "arm64"
	DefaultImage     = "Canonical:ubuntu-24_04-lts:server:latest"
	DefaultArmImage  = "Canonical:ubuntu-24_04-lts:server-arm64:latest"
	DefaultVMSize    = "Standard_A4_v2"
	DefaultArmVMSize = "Standard_D4ps_v5"
)

// Azure holds the subscription, the location and the VM settings of the
// management cluster.
//
// The image is an Azure Marketplace URN "publisher:offer:sku:version" (the
// form `az vm create --image` takes), e.g.
// "Canonical:ubuntu-24_04-lts:server:latest", or the resource ID of a custom
// or gallery image ("/subscriptions/..."). Its CPU architecture is arm64 when
// the offer or SKU of a URN contains "arm64", x64 otherwise; set
// image_architecture for a resource ID of an Arm64 image.
type Azure struct {
	SubscriptionID    string            `yaml:"subscription_id,omitempty" json:"subscription_id,omitempty" jsonschema_description:"Azure subscription ID (a GUID). Empty: the AZURE_SUBSCRIPTION_ID environment variable at run time."`
	TenantID          string            `yaml:"tenant_id,omitempty" json:"tenant_id,omitempty" jsonschema_description:"Microsoft Entra tenant ID (a GUID). Empty: the AZURE_TENANT_ID environment variable, or the subscription's tenant."`
	Location          string            `yaml:"location,omitempty" json:"location,omitempty" jsonschema_description:"Azure location (region) name such as eastus or westeurope; required with management mode azure, and the default location of child and KOF clusters."`
	ResourceGroup     string            `yaml:"resource_group,omitempty" json:"resource_group,omitempty" jsonschema_description:"Resource group of the management cluster. Empty: <deployment-id>-rg, created and deleted by k0rdentctl."`
	Image             string            `yaml:"image,omitempty" json:"image,omitempty" jsonschema_description:"VM image: a Marketplace URN publisher:offer:sku:version (e.g. Canonical:ubuntu-24_04-lts:server:latest) or an image resource ID (/subscriptions/...)."`
	ImageArchitecture string            `yaml:"image_architecture,omitempty" json:"image_architecture,omitempty" jsonschema:"enum=x64,enum=arm64" jsonschema_description:"CPU architecture of the image. Empty: arm64 when the URN's offer or SKU contains 'arm64', x64 otherwise."`
	Priority          string            `yaml:"priority,omitempty" json:"priority,omitempty" jsonschema:"enum=Regular,enum=Spot" jsonschema_description:"VM priority: Regular (default) or Spot (cheaper, can be evicted at any time)."`
	EvictionPolicy    string            `yaml:"eviction_policy,omitempty" json:"eviction_policy,omitempty" jsonschema:"enum=Deallocate,enum=Delete" jsonschema_description:"Spot only: what Azure does to an evicted VM. Default Deallocate."`
	MaxPrice          *float64          `yaml:"max_price,omitempty" json:"max_price,omitempty" jsonschema_description:"Spot only: the most to pay per VM hour in US dollars, or -1 (default) for up to the regular price."`
	Tags              map[string]string `yaml:"tags,omitempty" json:"tags,omitempty" jsonschema_description:"Azure tags added to every resource k0rdentctl creates."`
}

// Network holds the address ranges of the management cluster.
type Network struct {
	VNetCIDR         string `yaml:"vnet_cidr,omitempty" json:"vnet_cidr,omitempty" jsonschema_description:"Address space of the Azure virtual network. Default 10.0.0.0/16."`
	SubnetCIDR       string `yaml:"subnet_cidr,omitempty" json:"subnet_cidr,omitempty" jsonschema_description:"Subnet of the VMs, inside vnet_cidr. Default 10.0.1.0/24."`
	WireGuardNetwork string `yaml:"wireguard_network,omitempty" json:"wireguard_network,omitempty" jsonschema_description:"WireGuard overlay network: one address per VM and one for this machine. Default 192.168.100.0/24."`
	WireGuardPort    int    `yaml:"wireguard_port,omitempty" json:"wireguard_port,omitempty" jsonschema:"minimum=1,maximum=65535" jsonschema_description:"UDP port WireGuard listens on, the only port open to the internet. Default 51820."`
	PodCIDR          string `yaml:"pod_cidr,omitempty" json:"pod_cidr,omitempty" jsonschema_description:"k0s pod network. Default 10.244.0.0/16."`
	ServiceCIDR      string `yaml:"service_cidr,omitempty" json:"service_cidr,omitempty" jsonschema_description:"k0s service network. Default 10.96.0.0/12."`
}

// VMSizing holds the Azure VM sizes of the management cluster.
type VMSizing struct {
	Controller string `yaml:"controller,omitempty" json:"controller,omitempty" jsonschema_description:"VM size of the controllers, e.g. Standard_D4s_v5. Default Standard_A4_v2. Arm64 sizes (a 'p' among the size's feature letters, e.g. Standard_D4ps_v5) need an Arm64 image."`
	Worker     string `yaml:"worker,omitempty" json:"worker,omitempty" jsonschema_description:"VM size of the workers. Default Standard_A4_v2."`
}

// Cluster holds the node layout of the management cluster.
type Cluster struct {
	Controllers NodeGroup `yaml:"controllers,omitempty" json:"controllers" jsonschema_description:"k0s controllers. Use an odd count (1, 3, 5) so etcd keeps a majority."`
	Workers     NodeGroup `yaml:"workers,omitempty" json:"workers" jsonschema_description:"k0s workers. With 0 workers the controllers also run workloads (k0s controller+worker)."`
}

// NodeGroup is a set of identical VMs spread over availability zones.
type NodeGroup struct {
	Count *int  `yaml:"count,omitempty" json:"count,omitempty" jsonschema:"minimum=0" jsonschema_description:"Number of VMs. Default 1 controller and 1 worker."`
	Zones []int `yaml:"zones,omitempty" json:"zones,omitempty" jsonschema_description:"Availability zones (1, 2, 3) to spread the VMs over, round robin. Empty: no zone pinning."`
}

// Replicas returns Count, or 0 when it is unset.
func (g NodeGroup) Replicas() int {
	if g.Count == nil {
		return 0
	}
	return *g.Count
}

// SSH is the SSH access to the management cluster VMs.
type SSH struct {
	User           string `yaml:"user,omitempty" json:"user,omitempty" jsonschema_description:"Admin user on the VMs. Default k0rdent."`
	PublicKeyPath  string `yaml:"public_key_path,omitempty" json:"public_key_path,omitempty" jsonschema_description:"Path of the SSH public key put on the VMs. Empty: k0rdentctl generates a key pair into the state directory (state/secrets/)."`
	PrivateKeyPath string `yaml:"private_key_path,omitempty" json:"private_key_path,omitempty" jsonschema_description:"Path of the matching private key. Empty: public_key_path without its .pub suffix."`
}

// Software holds k0s and k0rdent.
type Software struct {
	K0s     K0s     `yaml:"k0s,omitempty" json:"k0s" jsonschema_description:"k0s on the management cluster VMs (mode azure only)."`
	K0rdent K0rdent `yaml:"k0rdent" json:"k0rdent" jsonschema_description:"k0rdent (the kcm chart) on the management cluster, its Azure credential and its regional management clusters."`
	// AzureDiskCSI is the Azure disk CSI driver of the management cluster
	// (mode azure).
	AzureDiskCSI AzureDiskCSI `yaml:"azure_disk_csi,omitempty" json:"azure_disk_csi" jsonschema_description:"The Azure disk CSI driver and a default StorageClass managed-csi on the management cluster (mode azure; KOF's storage needs persistent volumes). It uses software.k0rdent.credential's service principal."`
}

// Defaults of the Azure disk CSI driver.
const (
	DefaultDiskCSIVersion = "v1.30.0"
	DefaultDiskCSICharts  = "https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts"
)

// DiskSKUs are the managed disk kinds a StorageClass may ask for.
var DiskSKUs = []string{"StandardSSD_ZRS", "StandardSSD_LRS", "Premium_ZRS", "Premium_LRS", "PremiumV2_LRS", "Standard_LRS", "UltraSSD_LRS"}

// AzureDiskCSI is the Azure disk CSI driver on the management cluster.
type AzureDiskCSI struct {
	Enabled *bool  `yaml:"enabled,omitempty" json:"enabled,omitempty" jsonschema_description:"Install it (mode azure). Default true."`
	Version string `yaml:"version,omitempty" json:"version,omitempty" jsonschema_description:"Chart version of azuredisk-csi-driver, as the chart repository tags it. Default v1.30.0."`
	Charts  string `yaml:"charts,omitempty" json:"charts,omitempty" jsonschema_description:"Where the chart comes from: a Helm repository URL (default the driver's, https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts), an oci:// repository, or a local folder holding azuredisk-csi-driver/ or azuredisk-csi-driver-<version>.tgz (air-gapped)."`
	DiskSKU string `yaml:"disk_sku,omitempty" json:"disk_sku,omitempty" jsonschema_description:"skuName of the StorageClass managed-csi. Default StandardSSD_ZRS when the VMs are spread over zones (a volume can follow its pod to another zone), else StandardSSD_LRS."`
}

// IsEnabled reports software.azure_disk_csi.enabled (default true).
func (a AzureDiskCSI) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// K0s is the k0s distribution of the management cluster.
type K0s struct {
	Version string `yaml:"version,omitempty" json:"version,omitempty" jsonschema_description:"k0s version such as v1.32.8+k0s.0. Default v1.32.8+k0s.0, the k0s that k0rdent 1.5.0's Azure template deploys."`
}

// Defaults of the k0rdent section.
const (
	DefaultK0rdentVersion    = "1.5.0"
	MinRegionalVersion       = "1.5.0"
	DefaultChart             = "oci://ghcr.io/k0rdent/kcm/charts/kcm"
	DefaultNamespace         = "kcm-system"
	DefaultCredentialName    = "azure-cluster-credential"
	DefaultIdentityName      = "azure-cluster-identity"
	DefaultIdentitySecret    = "azure-cluster-identity-secret"
	DefaultRegionalParallel  = 4
	MaxRegionalParallel      = 32
	DefaultK0sVersion        = "v1.32.8+k0s.0"
	DefaultKOFVersion        = "1.5.0"
	DefaultKOFCharts         = "oci://ghcr.io/k0rdent/kof/charts"
	DefaultIstioCharts       = "oci://ghcr.io/k0rdent/istio/charts"
	DefaultIstioVersion      = "0.1.0"
	DefaultKOFNamespace      = "kof"
	DefaultIstioNamespace    = "istio-system"
	DefaultKOFRegionalName   = "kof-regional"
	DefaultSSHUser           = "k0rdent"
	DefaultVNetCIDR          = "10.0.0.0/16"
	DefaultSubnetCIDR        = "10.0.1.0/24"
	DefaultWireGuardNetwork  = "192.168.100.0/24"
	DefaultWireGuardPort     = 51820
	DefaultPodCIDR           = "10.244.0.0/16"
	DefaultServiceCIDR       = "10.96.0.0/12"
	KubeconfigSecretDataKey  = "value"
	RegionalTypeDeployment   = "cluster_deployment"
	RegionalTypeExternal     = "external"
	StateBackendLocal        = "local"
	StateBackendAzureBlob    = "azure_blob"
	DefaultStateBlobPrefix   = "k0rdentctl/"
	DefaultClusterNodeCount  = 1
	DefaultKOFRegionalWorker = 2
)

// K0rdent is the k0rdent installation on the management cluster.
type K0rdent struct {
	Version    string         `yaml:"version" json:"version" jsonschema_description:"k0rdent version, the kcm chart version, e.g. 1.5.0 (no leading v). Regional clusters need 1.5.0 or newer. Default 1.5.0."`
	Chart      string         `yaml:"chart,omitempty" json:"chart,omitempty" jsonschema_description:"The kcm chart: an oci:// reference (default oci://ghcr.io/k0rdent/kcm/charts/kcm), or a local chart directory or .tgz file."`
	Namespace  string         `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"k0rdent's system namespace. Default kcm-system."`
	Values     map[string]any `yaml:"values,omitempty" json:"values,omitempty" jsonschema_description:"Values for the kcm chart, merged over the ones k0rdentctl sets."`
	Credential Credential     `yaml:"credential,omitempty" json:"credential" jsonschema_description:"The Azure Credential of the management cluster. Regional Credentials (one per region with credential_propagation) reference the same ClusterIdentity."`
	Regional   Regional       `yaml:"regional" json:"regional" jsonschema_description:"k0rdent regional management clusters (Region objects, k0rdent 1.5.0+). Independent of KOF regional clusters."`
}

// Credential is the management cluster's Azure Credential: a k0rdent
// Credential referencing an AzureClusterIdentity whose client secret lives in
// a Secret. The client secret itself never goes in this file: it comes from
// client_secret_file, the AZURE_CLIENT_SECRET environment variable, or
// `k0rdentctl credentials setup`.
type Credential struct {
	Name             string `yaml:"name,omitempty" json:"name,omitempty" jsonschema_description:"Name of the k0rdent Credential. Default azure-cluster-credential."`
	Namespace        string `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Namespace of the Credential, its AzureClusterIdentity and Secret. Default: software.k0rdent.namespace."`
	IdentityName     string `yaml:"identity_name,omitempty" json:"identity_name,omitempty" jsonschema_description:"Name of the AzureClusterIdentity. Default azure-cluster-identity."`
	SecretName       string `yaml:"secret_name,omitempty" json:"secret_name,omitempty" jsonschema_description:"Name of the Secret holding the service principal's client secret. Default azure-cluster-identity-secret."`
	ClientID         string `yaml:"client_id,omitempty" json:"client_id,omitempty" jsonschema_description:"Application (client) ID of the service principal (a GUID). Empty: AZURE_CLIENT_ID. k0rdentctl credentials setup makes the Credential from it."`
	ClientSecretFile string `yaml:"client_secret_file,omitempty" json:"client_secret_file,omitempty" jsonschema_description:"File holding the service principal's client secret. Empty: AZURE_CLIENT_SECRET."`
	CreatePrincipal  bool   `yaml:"create_principal,omitempty" json:"create_principal,omitempty" jsonschema_description:"k0rdentctl creates the service principal (application <deployment-id>-cluster-deployment-sp, Contributor on the subscription, its secret in a 0600 file under state/secrets/), rotates it (credentials rotate) and deletes it (credentials cleanup). Exclusive with client_id and client_secret_file. Default false."`
}

// Regional configures k0rdent regional management clusters.
type Regional struct {
	Enabled  bool              `yaml:"enabled" json:"enabled" jsonschema_description:"Deploy the regional clusters below. Default false (opt-in)."`
	Parallel int               `yaml:"parallel,omitempty" json:"parallel,omitempty" jsonschema:"minimum=1,maximum=32" jsonschema_description:"How many regional clusters are deployed at the same time. Default 4."`
	Clusters []RegionalCluster `yaml:"clusters,omitempty" json:"clusters,omitempty" jsonschema_description:"The regional clusters, each becoming one k0rdent Region."`
}

// RegionalCluster is one k0rdent regional management cluster (one Region).
// Exactly one of ClusterDeploymentRef and KubeconfigSecret is set.
type RegionalCluster struct {
	Name                  string                 `yaml:"name" json:"name" jsonschema_description:"Name of the Region object: lowercase letters, digits and '-', at most 63 characters."`
	Location              string                 `yaml:"location" json:"location" jsonschema_description:"Azure location of the regional cluster, e.g. eastus."`
	ClusterDeploymentRef  string                 `yaml:"cluster_deployment_ref,omitempty" json:"cluster_deployment_ref,omitempty" jsonschema_description:"Name of the ClusterDeployment that is the regional cluster: adopted if it exists, else created from cluster_deployment. Exclusive with kubeconfig_secret."`
	ClusterDeployment     *ClusterDeploymentSpec `yaml:"cluster_deployment,omitempty" json:"cluster_deployment,omitempty" jsonschema_description:"How to create the ClusterDeployment named by cluster_deployment_ref when it does not exist. Only with cluster_deployment_ref."`
	KubeconfigSecret      string                 `yaml:"kubeconfig_secret,omitempty" json:"kubeconfig_secret,omitempty" jsonschema_description:"An existing (external) cluster: name of the Secret in k0rdent's namespace holding its kubeconfig under the key 'value'. Exclusive with cluster_deployment_ref."`
	KubeconfigFile        string                 `yaml:"kubeconfig_file,omitempty" json:"kubeconfig_file,omitempty" jsonschema_description:"Optional, only with kubeconfig_secret: create that Secret from this kubeconfig file."`
	CredentialPropagation *bool                  `yaml:"credential_propagation,omitempty" json:"credential_propagation,omitempty" jsonschema_description:"Create a regional Credential so the Azure cluster identity is copied into this region. Default true."`
	Components            Components             `yaml:"components,omitempty" json:"components" jsonschema_description:"Components installed into the regional cluster. Default: all."`
}

// Type returns RegionalTypeDeployment for a ClusterDeployment-backed regional
// cluster and RegionalTypeExternal for one reached through a kubeconfig
// Secret, the "type" of the seed's state schema.
func (r RegionalCluster) Type() string {
	if r.ClusterDeploymentRef != "" {
		return RegionalTypeDeployment
	}
	return RegionalTypeExternal
}

// PropagatesCredentials reports credential_propagation (default true).
func (r RegionalCluster) PropagatesCredentials() bool { return boolOr(r.CredentialPropagation, true) }

// ClusterDeploymentSpec says how to create a regional cluster's
// ClusterDeployment with k0rdent's Azure standalone template.
type ClusterDeploymentSpec struct {
	Namespace    string         `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Namespace of the ClusterDeployment. Default: software.k0rdent.namespace."`
	Template     string         `yaml:"template,omitempty" json:"template,omitempty" jsonschema_description:"ClusterTemplate name. Empty: the newest valid Azure standalone ClusterTemplate on the management cluster."`
	Credential   string         `yaml:"credential,omitempty" json:"credential,omitempty" jsonschema_description:"Credential used to create it. Default: software.k0rdent.credential.name."`
	ControlPlane NodePool       `yaml:"control_plane,omitempty" json:"control_plane" jsonschema_description:"Control plane nodes. Default 1 x Standard_A4_v2."`
	Workers      NodePool       `yaml:"workers,omitempty" json:"workers" jsonschema_description:"Worker nodes. Default 1 x Standard_A4_v2."`
	Values       map[string]any `yaml:"values,omitempty" json:"values,omitempty" jsonschema_description:"Extra ClusterDeployment spec.config values, merged over the generated ones."`
}

// NodePool is a number of nodes of one VM size in a ClusterDeployment.
type NodePool struct {
	Count  int    `yaml:"count,omitempty" json:"count,omitempty" jsonschema:"minimum=1" jsonschema_description:"Number of nodes, at least 1. Default 1."`
	VMSize string `yaml:"vm_size,omitempty" json:"vm_size,omitempty" jsonschema_description:"Azure VM size. Default Standard_A4_v2."`
}

// Components selects what a Region installs into its regional cluster.
type Components struct {
	CertManager   *bool              `yaml:"cert_manager,omitempty" json:"cert_manager,omitempty" jsonschema_description:"Install cert-manager. Default true."`
	Velero        *bool              `yaml:"velero,omitempty" json:"velero,omitempty" jsonschema_description:"Install Velero. Default true."`
	CAPIProviders *ProviderSelection `yaml:"capi_providers,omitempty" json:"capi_providers,omitempty" jsonschema_description:"CAPI providers: true (all of the release's providers), false (none), or a list of provider names such as [cluster-api-provider-azure, cluster-api-provider-k0sproject-k0smotron, projectsveltos]. Default true."`
}

// CertManagerEnabled reports cert_manager (default true).
func (c Components) CertManagerEnabled() bool { return boolOr(c.CertManager, true) }

// VeleroEnabled reports velero (default true).
func (c Components) VeleroEnabled() bool { return boolOr(c.Velero, true) }

// Providers returns capi_providers (default: all).
func (c Components) Providers() ProviderSelection {
	if c.CAPIProviders == nil {
		return ProviderSelection{All: true}
	}
	return *c.CAPIProviders
}

// KOF configures KOF observability. KOF regional clusters are ClusterDeployments
// labelled for KOF, separate from k0rdent regional clusters, though KOF 1.5
// can place one in a k0rdent Region (kof.regional.region).
type KOF struct {
	Enabled bool   `yaml:"enabled" json:"enabled" jsonschema_description:"Install KOF. Default false."`
	Version string `yaml:"version,omitempty" json:"version,omitempty" jsonschema_description:"KOF chart version. Default 1.5.0; with Istio and k0rdent 1.5 it must be 1.5.0 or newer."`
	Charts  string `yaml:"charts,omitempty" json:"charts,omitempty" jsonschema_description:"Where the KOF charts come from: an oci:// repository (default oci://ghcr.io/k0rdent/kof/charts), or a local folder holding a directory or <chart>-<version>.tgz per chart (air-gapped)."`
	// StorageClass is kof-mothership's global.storageClass.
	StorageClass string        `yaml:"storage_class,omitempty" json:"storage_class,omitempty" jsonschema_description:"StorageClass of KOF's storage on the management cluster (kof-mothership's global.storageClass). Default: the cluster's default StorageClass, which must then exist."`
	Istio        KOFIstio      `yaml:"istio,omitempty" json:"istio" jsonschema_description:"Istio for KOF (the k0rdent-istio-base and k0rdent-istio charts), connecting KOF clusters through a mesh."`
	Mothership   KOFMothership `yaml:"mothership,omitempty" json:"mothership" jsonschema_description:"The KOF mothership on the management cluster."`
	Regional     KOFRegional   `yaml:"regional,omitempty" json:"regional" jsonschema_description:"The KOF regional cluster that stores metrics and logs."`
}

// KOFIstio configures kof-istio.
type KOFIstio struct {
	Enabled   *bool  `yaml:"enabled,omitempty" json:"enabled,omitempty" jsonschema_description:"Install Istio for KOF (k0rdent-istio-base, k0rdent-istio). Default true."`
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Istio's namespace. Default istio-system."`
	Version   string `yaml:"version,omitempty" json:"version,omitempty" jsonschema_description:"Version of the k0rdent-istio charts. Default 0.1.0, the one KOF 1.5.0 documents."`
	Charts    string `yaml:"charts,omitempty" json:"charts,omitempty" jsonschema_description:"Where the k0rdent-istio charts come from: an oci:// repository (default oci://ghcr.io/k0rdent/istio/charts) or a local folder, as kof.charts."`
}

// IsEnabled reports istio.enabled (default true).
func (i KOFIstio) IsEnabled() bool { return boolOr(i.Enabled, true) }

// KOFMothership configures the kof-mothership chart.
type KOFMothership struct {
	Namespace string         `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Namespace of KOF on the management cluster. Default kof."`
	Values    map[string]any `yaml:"values,omitempty" json:"values,omitempty" jsonschema_description:"Values for the kof-mothership chart."`
	// InstallAttempts and RetryDelay bound the webhook race retries.
	InstallAttempts int      `yaml:"install_attempts,omitempty" json:"install_attempts,omitempty" jsonschema:"minimum=1,maximum=20" jsonschema_description:"How many times kof-mothership is installed while the VictoriaMetrics operator's admission webhook is not serving yet. Default 6."`
	RetryDelay      Duration `yaml:"retry_delay,omitempty" json:"retry_delay,omitempty" jsonschema_description:"First pause between those attempts, doubled each time up to a minute. Default 10s."`
}

// KOFRegional is the KOF regional cluster.
type KOFRegional struct {
	Name         string   `yaml:"name,omitempty" json:"name,omitempty" jsonschema_description:"Name of its ClusterDeployment. Default kof-regional."`
	Namespace    string   `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Namespace of its ClusterDeployment. Default: software.k0rdent.namespace."`
	Domain       string   `yaml:"domain,omitempty" json:"domain,omitempty" jsonschema_description:"DNS domain of the KOF regional endpoints, e.g. kof.example.com. Required when KOF is enabled."`
	AdminEmail   string   `yaml:"admin_email,omitempty" json:"admin_email,omitempty" jsonschema_description:"E-mail address for the certificate issuer (Let's Encrypt). Required when KOF is enabled."`
	Location     string   `yaml:"location,omitempty" json:"location,omitempty" jsonschema_description:"Azure location. Default: azure.location."`
	Region       string   `yaml:"region,omitempty" json:"region,omitempty" jsonschema_description:"Name of a k0rdent regional cluster (software.k0rdent.regional.clusters[].name) to place it in; needs KOF 1.5.0+. Empty: the management cluster creates it."`
	Template     string   `yaml:"template,omitempty" json:"template,omitempty" jsonschema_description:"ClusterTemplate name. Empty: the newest valid Azure standalone ClusterTemplate."`
	Credential   string   `yaml:"credential,omitempty" json:"credential,omitempty" jsonschema_description:"Credential to use. Default: the management credential, or the region's Credential when region is set."`
	ControlPlane NodePool `yaml:"control_plane,omitempty" json:"control_plane" jsonschema_description:"Control plane nodes. Default 1 x Standard_A4_v2."`
	Workers      NodePool `yaml:"workers,omitempty" json:"workers" jsonschema_description:"Worker nodes. Default 2 x Standard_A4_v2."`
}

// ChildCluster is an Azure child cluster (a ClusterDeployment).
type ChildCluster struct {
	Name         string         `yaml:"name" json:"name" jsonschema_description:"Name of the ClusterDeployment: lowercase letters, digits and '-', at most 63 characters."`
	Namespace    string         `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema_description:"Namespace of the ClusterDeployment. Default: software.k0rdent.namespace."`
	Location     string         `yaml:"location,omitempty" json:"location,omitempty" jsonschema_description:"Azure location. Default: azure.location."`
	Template     string         `yaml:"template,omitempty" json:"template,omitempty" jsonschema_description:"ClusterTemplate name. Empty: the newest valid Azure standalone ClusterTemplate."`
	Credential   string         `yaml:"credential,omitempty" json:"credential,omitempty" jsonschema_description:"Credential to use. Default: the management credential, or <credential.name>-<region> when region is set."`
	Region       string         `yaml:"region,omitempty" json:"region,omitempty" jsonschema_description:"The k0rdent Region to place it in (a software.k0rdent.regional.clusters[].name). Empty: the management cluster."`
	ControlPlane NodePool       `yaml:"control_plane,omitempty" json:"control_plane" jsonschema_description:"Control plane nodes. Default 1 x Standard_A4_v2."`
	Workers      NodePool       `yaml:"workers,omitempty" json:"workers" jsonschema_description:"Worker nodes. Default 1 x Standard_A4_v2."`
	Values       map[string]any `yaml:"values,omitempty" json:"values,omitempty" jsonschema_description:"Extra ClusterDeployment spec.config values, merged over the generated ones."`
	KOF          bool           `yaml:"kof,omitempty" json:"kof,omitempty" jsonschema_description:"Label it for KOF, so that its collectors ship to the KOF regional cluster (named when it is in the same location). Needs kof.enabled."`
}

// Timeouts bound each kind of wait. Zero means the default.
type Timeouts struct {
	AzureResources  Duration `yaml:"azure_resources,omitempty" json:"azure_resources,omitempty" jsonschema_description:"Creating the management cluster's Azure resources (network, VMs). Default 20m."`
	VPNConnect      Duration `yaml:"vpn_connect,omitempty" json:"vpn_connect,omitempty" jsonschema_description:"Reaching every VM over WireGuard. Default 5m."`
	K0sInstall      Duration `yaml:"k0s_install,omitempty" json:"k0s_install,omitempty" jsonschema_description:"Installing k0s on the VMs. Default 20m."`
	K0rdentInstall  Duration `yaml:"k0rdent_install,omitempty" json:"k0rdent_install,omitempty" jsonschema_description:"Installing k0rdent until Management is ready. Default 30m."`
	RegionalCluster Duration `yaml:"regional_cluster,omitempty" json:"regional_cluster,omitempty" jsonschema_description:"A regional cluster's ClusterDeployment becoming ready. Default 45m."`
	RegionReady     Duration `yaml:"region_ready,omitempty" json:"region_ready,omitempty" jsonschema_description:"A Region becoming ready (components installed). Default 20m."`
	ChildCluster    Duration `yaml:"child_cluster,omitempty" json:"child_cluster,omitempty" jsonschema_description:"A child cluster becoming ready. Default 45m."`
	KOFInstall      Duration `yaml:"kof_install,omitempty" json:"kof_install,omitempty" jsonschema_description:"Installing KOF (mothership and regional). Default 30m."`
}

// State says where the deployment record lives.
type State struct {
	Backend   string          `yaml:"backend" json:"backend" jsonschema:"enum=local,enum=azure_blob" jsonschema_description:"local: files in --state-dir (default ./state). azure_blob: a blob in Azure Storage, with a lease as the lock, for teams."`
	AzureBlob *AzureBlobState `yaml:"azure_blob,omitempty" json:"azure_blob,omitempty" jsonschema_description:"Only with backend azure_blob."`
}

// AzureBlobState is the Azure Storage location of the deployment record.
type AzureBlobState struct {
	StorageAccount string `yaml:"storage_account" json:"storage_account" jsonschema_description:"Storage account name: 3 to 24 lowercase letters and digits."`
	Container      string `yaml:"container" json:"container" jsonschema_description:"Blob container name: 3 to 63 lowercase letters, digits and single hyphens."`
	ResourceGroup  string `yaml:"resource_group,omitempty" json:"resource_group,omitempty" jsonschema_description:"Resource group of the storage account (informational; k0rdentctl does not create it)."`
	Prefix         string `yaml:"prefix,omitempty" json:"prefix,omitempty" jsonschema_description:"Prefix of the blob names. Default k0rdentctl/."`
	Endpoint       string `yaml:"endpoint,omitempty" json:"endpoint,omitempty" jsonschema_description:"Blob service URL. Empty: https://<storage_account>.blob.core.windows.net/ (set it for Azurite or another cloud)."`
}

// RegionalEnabled reports whether k0rdent regional clusters are enabled.
func (c *Config) RegionalEnabled() bool {
	return c != nil && c.Software.K0rdent.Regional.Enabled
}

// KOFEnabled reports whether KOF is enabled.
func (c *Config) KOFEnabled() bool { return c != nil && c.KOF.Enabled }

// ExistingManagement reports whether the management cluster already exists
// (management.mode existing).
func (c *Config) ExistingManagement() bool {
	return c != nil && c.Management.Mode == ModeExisting
}

// RegionalCluster returns the regional cluster named name.
func (c *Config) RegionalCluster(name string) (*RegionalCluster, bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.Software.K0rdent.Regional.Clusters {
		if c.Software.K0rdent.Regional.Clusters[i].Name == name {
			return &c.Software.K0rdent.Regional.Clusters[i], true
		}
	}
	return nil, false
}

// RegionalCredentialName is the name of the Credential that places
// ClusterDeployments in region: "<credential.name>-<region>", referencing the
// same ClusterIdentity as the management credential. An empty region gives
// the management credential's name.
func (c *Config) RegionalCredentialName(region string) string {
	name := c.Software.K0rdent.Credential.Name
	if name == "" {
		name = DefaultCredentialName
	}
	if region == "" {
		return name
	}
	return name + "-" + region
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func ptr[T any](v T) *T { return &v }
