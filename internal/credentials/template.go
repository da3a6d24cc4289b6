package credentials

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cloudConfigKeys are the keys of the Azure cloud provider's configuration
// (the azure.json of cloud-provider-azure and the Azure disk CSI driver),
// each with the Sveltos template expression that gives its value for a
// child cluster. $c is the child's AzureCluster, $id its AzureClusterIdentity
// and $sec the identity's Secret; $subnet, $nsg and $rt come from its node
// subnet.
var cloudConfigKeys = [][2]string{
	{"cloud", "$c.spec.azureEnvironment"},
	{"tenantId", "$id.spec.tenantID"},
	{"subscriptionId", "$c.spec.subscriptionID"},
	{"aadClientId", "$id.spec.clientID"},
	{"aadClientSecret", `(index $sec.data "clientSecret" | b64dec)`},
	{"resourceGroup", "$c.spec.resourceGroup"},
	{"location", "$c.spec.location"},
	{"vmType", `"vmss"`},
	{"vnetName", "$c.spec.networkSpec.vnet.name"},
	{"vnetResourceGroup", "$c.spec.networkSpec.vnet.resourceGroup"},
	{"subnetName", "$subnet"},
	{"securityGroupName", "$nsg"},
	{"securityGroupResourceGroup", "$c.spec.networkSpec.vnet.resourceGroup"},
	{"routeTableName", "$rt"},
	{"loadBalancerSku", `"Standard"`},
	{"loadBalancerName", `""`},
	{"maximumLoadBalancerRuleCount", "250"},
	{"useInstanceMetadata", "true"},
	{"useManagedIdentityExtension", "false"},
}

// CloudProviderTemplate is the resource template k0rdent (through Sveltos)
// renders into each Azure child cluster that propagates credentials: the
// Secret kube-system/azure-cloud-provider that the child's cloud controller
// manager and disk CSI driver read, and a default StorageClass managed-csi
// (KOF's storage needs persistent volumes).
func CloudProviderTemplate() string {
	var b strings.Builder
	b.WriteString(`{{- $c := .InfrastructureProvider -}}
{{- $id := getResource "InfrastructureProviderIdentity" -}}
{{- $sec := getResource "InfrastructureProviderIdentitySecret" -}}
{{- $subnet := "" -}}{{- $nsg := "" -}}{{- $rt := "" -}}
{{- range $c.spec.networkSpec.subnets -}}
{{- if and (eq .role "node") (eq $subnet "") -}}
{{- $subnet = .name -}}{{- $nsg = .securityGroup.name -}}{{- $rt = .routeTable.name -}}
{{- end -}}
{{- end -}}
{{- $cfg := dict`)
	for _, kv := range cloudConfigKeys {
		fmt.Fprintf(&b, "\n  %q %s", kv[0], kv[1])
	}
	b.WriteString(` -}}
---
apiVersion: v1
kind: Secret
metadata:
  name: azure-cloud-provider
  namespace: kube-system
type: Opaque
data:
  cloud-config: {{ $cfg | toJson | b64enc }}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: managed-csi
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: disk.csi.azure.com
parameters:
  skuName: StandardSSD_LRS
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
`)
	return b.String()
}

// ManagementCloud is where the management cluster's VMs live, for the
// cloud provider configuration of its disk CSI driver.
type ManagementCloud struct {
	SubscriptionID, Location, ResourceGroup string
	VNet, Subnet, SecurityGroup             string
}

// ManagementCloudSecret is the Secret kube-system/azure-cloud-provider
// that the Azure disk CSI driver of the management cluster reads (key
// cloud-config, cloud-provider-azure's azure.json): the service principal
// p, and the VMs as plain VMs (vmType standard, no scale sets).
func ManagementCloudSecret(p Principal, m ManagementCloud) (*corev1.Secret, error) {
	cfg := map[string]any{
		"cloud":                       "AzurePublicCloud",
		"tenantId":                    p.TenantID,
		"subscriptionId":              m.SubscriptionID,
		"aadClientId":                 p.ClientID,
		"aadClientSecret":             string(p.secret),
		"resourceGroup":               m.ResourceGroup,
		"location":                    m.Location,
		"vmType":                      "standard",
		"vnetName":                    m.VNet,
		"vnetResourceGroup":           m.ResourceGroup,
		"subnetName":                  m.Subnet,
		"securityGroupName":           m.SecurityGroup,
		"securityGroupResourceGroup":  m.ResourceGroup,
		"useInstanceMetadata":         true,
		"useManagedIdentityExtension": false,
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "azure-cloud-provider", Labels: map[string]string{labelManagedBy: "k0rdentctl"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"cloud-config": data},
	}, nil
}
