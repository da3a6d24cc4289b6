package config

import (
	"strings"
	"testing"
)

// TestBadConfigurations: each named configuration has one mistake; Parse must
// report it as an error with the expected field path and a message that says
// what to do, and (unless errors says otherwise) nothing else as an error.
func TestBadConfigurations(t *testing.T) {
	twoRegions := func(second string) string {
		return withRegional(`
- name: regional-useast
  location: eastus
  cluster_deployment_ref: regional-cluster-useast
` + second)
	}
	cases := []struct {
		name   string
		yaml   string
		path   string
		msg    string
		line   int // expected line; 0: not checked
		errors int // expected number of errors; 0 means 1
	}{
		{
			name: "seed westeu location suggests westeurope",
			yaml: twoRegions(`
- name: regional-westeu
  location: westeu
  kubeconfig_secret: external-westeu-cluster
`),
			path: "software.k0rdent.regional.clusters[1].location",
			msg:  `"westeu" is not an Azure location; did you mean "westeurope"?`,
			line: 15,
		},
		{
			name: "both cluster_deployment_ref and kubeconfig_secret",
			yaml: withRegional(`
- name: regional-useast
  location: eastus
  cluster_deployment_ref: regional-cluster-useast
  kubeconfig_secret: external-useast
`),
			path: "software.k0rdent.regional.clusters[0]",
			msg:  "set exactly one of cluster_deployment_ref or kubeconfig_secret (both are set)",
			line: 10,
		},
		{
			name: "neither cluster_deployment_ref nor kubeconfig_secret",
			yaml: withRegional(`
- name: regional-useast
  location: eastus
`),
			path: "software.k0rdent.regional.clusters[0]",
			msg:  "set exactly one of cluster_deployment_ref or kubeconfig_secret (neither is set)",
		},
		{
			name: "duplicate regional cluster names",
			yaml: twoRegions(`
- name: regional-useast
  location: eastus2
  kubeconfig_secret: other
`),
			path: "software.k0rdent.regional.clusters[1].name",
			msg:  `duplicate regional cluster name "regional-useast" (also clusters[0])`,
		},
		{
			name: "regional name not a DNS-1123 label",
			yaml: withRegional(`
- name: Regional_EU
  location: westeurope
  kubeconfig_secret: eu
`),
			path: "software.k0rdent.regional.clusters[0].name",
			msg:  `"Regional_EU" is not a valid regional cluster name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. "regional-eu"`,
		},
		{
			name: "regional needs k0rdent 1.5.0",
			yaml: baseYAML + `software:
  k0rdent:
    version: "1.4.2"
    regional:
      enabled: true
      clusters:
        - {name: r1, location: eastus, kubeconfig_secret: r1}
`,
			path: "software.k0rdent.version",
			msg:  "regional needs k0rdent 1.5.0 or newer",
		},
		{
			name: "kubeconfig_file without kubeconfig_secret",
			yaml: withRegional(`
- name: r1
  location: eastus
  cluster_deployment_ref: cd-r1
  kubeconfig_file: ./r1.kubeconfig
`),
			path: "software.k0rdent.regional.clusters[0].kubeconfig_file",
			msg:  "kubeconfig_file is only used with kubeconfig_secret",
		},
		{
			name: "cluster_deployment without cluster_deployment_ref",
			yaml: withRegional(`
- name: r1
  location: eastus
  kubeconfig_secret: r1
  cluster_deployment:
    control_plane: {count: 1, vm_size: Standard_A4_v2}
`),
			path: "software.k0rdent.regional.clusters[0].cluster_deployment",
			msg:  "cluster_deployment is only used with cluster_deployment_ref",
		},
		{
			name: "same ClusterDeployment backs two regions",
			yaml: twoRegions(`
- name: regional-useast2
  location: eastus2
  cluster_deployment_ref: regional-cluster-useast
`),
			path: "software.k0rdent.regional.clusters[1].cluster_deployment_ref",
			msg:  "ClusterDeployment kcm-system/regional-cluster-useast is already the cluster of clusters[0]: a cluster can back only one Region",
		},
		{
			name: "regional cluster without location",
			yaml: withRegional(`
- name: r1
  kubeconfig_secret: r1
`),
			path: "software.k0rdent.regional.clusters[0].location",
			msg:  "location is required",
		},
		{
			name: "parallel out of range",
			yaml: baseYAML + "software:\n  k0rdent:\n    regional:\n      parallel: 100\n",
			path: "software.k0rdent.regional.parallel",
			msg:  "parallel 100 is out of range: use 1 to 32",
		},
		{
			name: "invalid CIDR",
			yaml: baseYAML + "network:\n  vnet_cidr: 10.0.0.0/33\n",
			path: "network.vnet_cidr",
			msg:  `"10.0.0.0/33" is not a CIDR`,
		},
		{
			name: "CIDR with host bits",
			yaml: baseYAML + "network:\n  subnet_cidr: 10.0.1.5/24\n",
			path: "network.subnet_cidr",
			msg:  "has host bits set: write the network address, 10.0.1.0/24",
		},
		{
			name: "subnet outside the vnet",
			yaml: baseYAML + "network:\n  vnet_cidr: 10.0.0.0/16\n  subnet_cidr: 10.1.0.0/24\n",
			path: "network.subnet_cidr",
			msg:  "subnet 10.1.0.0/24 is not inside vnet_cidr 10.0.0.0/16",
		},
		{
			name: "WireGuard network overlaps the vnet",
			yaml: baseYAML + "network:\n  wireguard_network: 10.0.200.0/24\n",
			path: "network.wireguard_network",
			msg:  "wireguard_network 10.0.200.0/24 overlaps network.vnet_cidr 10.0.0.0/16",
		},
		{
			name: "pod network overlaps the vnet",
			yaml: baseYAML + "network:\n  vnet_cidr: 10.0.0.0/8\n  subnet_cidr: 10.1.0.0/24\n",
			path: "network.pod_cidr",
			msg:  "pod_cidr 10.244.0.0/16 overlaps network.vnet_cidr 10.0.0.0/8",
			// The default service CIDR 10.96.0.0/12 is inside 10.0.0.0/8 too.
			errors: 2,
		},
		{
			name: "WireGuard network too small",
			yaml: baseYAML + "network:\n  wireguard_network: 192.168.100.0/30\ncluster:\n  controllers: {count: 3}\n  workers: {count: 2}\n",
			path: "network.wireguard_network",
			msg:  "has room for 2 addresses but needs 6 (one per VM and one for this machine): use a /29 or larger network",
		},
		{
			// 300 workers do not fit a /24 (251 VMs): the advice must be a
			// network that is really larger, not the same size.
			name: "subnet too small for 300 workers",
			yaml: baseYAML + "network:\n  subnet_cidr: 10.0.1.0/24\n  wireguard_network: 192.168.96.0/22\ncluster:\n  controllers: {count: 3}\n  workers: {count: 300}\n",
			path: "network.subnet_cidr",
			msg:  "subnet 10.0.1.0/24 has room for 251 VMs (Azure reserves 5 addresses) but the cluster has 303: use a /23 or larger subnet",
		},
		{
			name: "WireGuard port out of range",
			yaml: baseYAML + "network:\n  wireguard_port: 70000\n",
			path: "network.wireguard_port",
			msg:  "wireguard_port 70000 is not a port",
		},
		{
			name: "availability zone 4",
			yaml: baseYAML + "cluster:\n  controllers:\n    count: 3\n    zones: [1, 4, 3]\n",
			path: "cluster.controllers.zones[1]",
			msg:  "zone 4 does not exist: Azure availability zones are 1, 2 and 3",
		},
		{
			name: "zone listed twice",
			yaml: baseYAML + "cluster:\n  workers:\n    zones: [2, 2]\n",
			path: "cluster.workers.zones[1]",
			msg:  "zone 2 is listed twice",
		},
		{
			name: "no controllers",
			yaml: baseYAML + "cluster:\n  controllers:\n    count: 0\n",
			path: "cluster.controllers.count",
			msg:  "controllers.count must be at least 1",
		},
		{
			name: "Arm64 size with an x64 image",
			yaml: `metadata: {name: test}
azure:
  location: eastus
  image: Canonical:ubuntu-24_04-lts:server:latest
vm_sizing:
  controller: Standard_D4ps_v5
`,
			path: "vm_sizing.controller",
			msg:  `"Standard_D4ps_v5" is an Arm64 VM size but azure.image "Canonical:ubuntu-24_04-lts:server:latest" is an x64 image: use an x64 size such as Standard_D4s_v5`,
		},
		{
			name: "x64 size with an Arm64 image",
			yaml: `metadata: {name: test}
azure:
  location: eastus
  image: Canonical:ubuntu-24_04-lts:server-arm64:latest
vm_sizing:
  controller: Standard_D4ps_v5
  worker: Standard_D4s_v5
`,
			path: "vm_sizing.worker",
			msg:  `"Standard_D4s_v5" is an x64 VM size but azure.image "Canonical:ubuntu-24_04-lts:server-arm64:latest" is an Arm64 image`,
		},
		{
			name: "not a VM size name",
			yaml: baseYAML + "vm_sizing:\n  worker: D4s_v5\n",
			path: "vm_sizing.worker",
			msg:  `"D4s_v5" is not an Azure VM size name: write it like Standard_D4s_v5 or Standard_A4_v2 (did you mean "Standard_D4s_v5"?)`,
		},
		{
			name: "image is not a URN",
			yaml: baseYAML[:len(baseYAML)-1] + "\n  image: ubuntu-24.04\n",
			path: "azure.image",
			msg:  `"ubuntu-24.04" is not an image reference: use a Marketplace URN publisher:offer:sku:version`,
		},
		{
			name: "eviction policy without Spot",
			yaml: baseYAML + "  eviction_policy: Delete\n",
			path: "azure.eviction_policy",
			msg:  "eviction_policy applies to Spot VMs only: remove it, or set azure.priority: Spot",
		},
		{
			name: "max price without Spot",
			yaml: baseYAML + "  priority: Regular\n  max_price: 0.05\n",
			path: "azure.max_price",
			msg:  "max_price applies to Spot VMs only",
		},
		{
			name: "Spot max price zero",
			yaml: baseYAML + "  priority: Spot\n  max_price: 0\n",
			path: "azure.max_price",
			msg:  "max_price 0 is not valid",
		},
		{
			name: "priority in the wrong case",
			yaml: baseYAML + "  priority: spot\n",
			path: "azure.priority",
			msg:  `"spot" is not a VM priority: use Regular or Spot; did you mean "Spot"?`,
		},
		{
			name: "subscription ID not a GUID",
			yaml: baseYAML + "  subscription_id: my-subscription\n",
			path: "azure.subscription_id",
			msg:  `"my-subscription" is not a subscription ID`,
		},
		{
			name: "forbidden character in a tag name",
			yaml: baseYAML + "  tags:\n    cost/center: x\n",
			path: "azure.tags.cost/center",
			msg:  "contains one of the characters Azure forbids",
		},
		{
			name: "management location missing",
			yaml: "metadata:\n  name: test\n",
			path: "azure.location",
			msg:  "azure.location is required with management mode azure",
		},
		{
			name: "deployment name missing",
			yaml: "azure:\n  location: eastus\n",
			path: "metadata.name",
			msg:  "metadata.name is required",
		},
		{
			name: "mode existing without kubeconfig",
			yaml: "metadata: {name: test}\nmanagement:\n  mode: existing\n",
			path: "management.kubeconfig",
			msg:  "kubeconfig is required with mode existing: set it to the path of the management cluster's kubeconfig",
		},
		{
			name: "kubeconfig with mode azure",
			yaml: baseYAML + "management:\n  kubeconfig: ./mgmt.kubeconfig\n",
			path: "management.kubeconfig",
			msg:  "kubeconfig is only used with mode existing",
		},
		{
			name: "unknown management mode",
			yaml: baseYAML + "management:\n  mode: Azure\n",
			path: "management.mode",
			msg:  `"Azure" is not a management mode: use azure (build the cluster on Azure VMs) or existing (use the cluster in management.kubeconfig); did you mean "azure"?`,
		},
		{
			name: "reserved SSH user",
			yaml: baseYAML + "ssh:\n  user: admin\n",
			path: "ssh.user",
			msg:  `Azure does not allow "admin" as the VM admin user`,
		},
		{
			name: "k0s version without the k0s suffix",
			yaml: baseYAML + "software:\n  k0s:\n    version: 1.32.8\n",
			path: "software.k0s.version",
			msg:  `"1.32.8" is not a k0s version: write it as k0s releases are tagged, e.g. v1.32.8+k0s.0`,
		},
		{
			name: "disk CSI driver with a disk kind Azure does not have",
			yaml: baseYAML + "software:\n  azure_disk_csi:\n    disk_sku: StandardSSD\n",
			path: "software.azure_disk_csi.disk_sku",
			msg:  `"StandardSSD" is not a managed disk kind: use one of StandardSSD_ZRS, StandardSSD_LRS`,
		},
		{
			name: "disk CSI driver chart version not a version",
			yaml: baseYAML + "software:\n  azure_disk_csi:\n    version: latest\n",
			path: "software.azure_disk_csi.version",
			msg:  `"latest" is not a chart version`,
		},
		{
			name: "k0rdent version with a leading v",
			yaml: baseYAML + "software:\n  k0rdent:\n    version: v1.5.0\n",
			path: "software.k0rdent.version",
			msg:  `write the k0rdent version without the leading v: "1.5.0"`,
		},
		{
			name: "k0rdent version not semver",
			yaml: baseYAML + "software:\n  k0rdent:\n    version: 1.5\n",
			path: "software.k0rdent.version",
			msg:  `"1.5" is not a k0rdent version: write major.minor.patch`,
		},
		{
			name: "chart from an https repository",
			yaml: baseYAML + "software:\n  k0rdent:\n    chart: https://charts.example.com/kcm\n",
			path: "software.k0rdent.chart",
			msg:  "only oci:// chart references and local chart paths are supported",
		},
		{
			name: "KOF without a domain",
			yaml: baseYAML + "kof:\n  enabled: true\n  regional:\n    admin_email: admin@example.com\n",
			path: "kof.regional.domain",
			msg:  "domain is required when KOF is enabled",
		},
		{
			name: "KOF with a bad admin e-mail",
			yaml: baseYAML + "kof:\n  enabled: true\n  regional:\n    domain: kof.example.com\n    admin_email: admin-at-example.com\n",
			path: "kof.regional.admin_email",
			msg:  `"admin-at-example.com" is not an e-mail address`,
		},
		{
			name: "KOF without an admin e-mail",
			yaml: baseYAML + "kof:\n  enabled: true\n  regional:\n    domain: kof.example.com\n",
			path: "kof.regional.admin_email",
			msg:  "admin_email is required when KOF is enabled",
		},
		{
			name: "old KOF with Istio on k0rdent 1.5",
			yaml: baseYAML + "kof:\n  enabled: true\n  version: 1.4.0\n  regional:\n    domain: kof.example.com\n    admin_email: admin@example.com\n",
			path: "kof.version",
			msg:  "kof-istio users must move to KOF 1.5.0 together with k0rdent 1.5.0",
		},
		{
			name: "child cluster in an unknown region",
			yaml: withRegional(`
- {name: regional-useast, location: eastus, kubeconfig_secret: useast}
`) + "child_clusters:\n  - name: app\n    region: regional-us-east\n",
			path: "child_clusters[0].region",
			msg:  `"regional-us-east" is not a regional cluster; did you mean "regional-useast"?`,
		},
		{
			name: "child cluster in a region while regional is disabled",
			yaml: baseYAML + `software:
  k0rdent:
    regional:
      clusters:
        - {name: r1, location: eastus, kubeconfig_secret: r1}
child_clusters:
  - {name: app, region: r1}
`,
			path: "child_clusters[0].region",
			msg:  `region "r1" is set but software.k0rdent.regional.enabled is false`,
		},
		{
			name: "child cluster in a region without Azure providers",
			yaml: withRegional(`
- name: r1
  location: eastus
  kubeconfig_secret: r1
  components: {capi_providers: [cluster-api-provider-aws]}
`) + "child_clusters:\n  - {name: app, region: r1}\n",
			path: "child_clusters[0].region",
			msg:  "Azure clusters need the CAPI providers cluster-api-provider-azure, cluster-api-provider-k0sproject-k0smotron, projectsveltos there",
		},
		{
			name: "two child clusters with one name",
			yaml: baseYAML + "child_clusters:\n  - name: app\n  - name: app\n",
			path: "child_clusters[1].name",
			msg:  "ClusterDeployment kcm-system/app is also child_clusters[0].name",
		},
		{
			name: "child cluster on Arm64 without k0s arch",
			yaml: baseYAML + "child_clusters:\n  - name: app\n    workers: {count: 2, vm_size: Standard_D4ps_v5}\n",
			path: "child_clusters[0].workers.vm_size",
			msg:  "k0rdent's Azure template deploys x64 images and k0s",
		},
		{
			name: "child cluster location misspelt",
			yaml: baseYAML + "child_clusters:\n  - name: app\n    location: West Europe\n",
			path: "child_clusters[0].location",
			msg:  `"West Europe" is not an Azure location; did you mean "westeurope"?`,
		},
		{
			name: "invalid duration",
			yaml: baseYAML + "timeouts:\n  k0s_install: 20 minutes\n",
			path: "timeouts.k0s_install",
			msg:  `"20 minutes" is not a duration; write it like 30m, 1h or 1h30m`,
			line: 6,
		},
		{
			name: "negative duration",
			yaml: baseYAML + "timeouts:\n  region_ready: -5m\n",
			path: "timeouts.region_ready",
			msg:  "timeout -5m is negative",
		},
		{
			name: "azure_blob backend without its section",
			yaml: baseYAML + "state:\n  backend: azure_blob\n",
			path: "state.azure_blob",
			msg:  "backend azure_blob needs the azure_blob section",
		},
		{
			name: "azure_blob section with the local backend",
			yaml: baseYAML + "state:\n  backend: local\n  azure_blob: {storage_account: acct, container: state}\n",
			path: "state.azure_blob",
			msg:  "azure_blob is only used with backend azure_blob",
		},
		{
			name: "invalid storage account name",
			yaml: baseYAML + "state:\n  backend: azure_blob\n  azure_blob: {storage_account: My-Account, container: state}\n",
			path: "state.azure_blob.storage_account",
			msg:  `"My-Account" is not a storage account name`,
		},
		{
			name: "unknown key with a suggestion (strict decoding)",
			yaml: baseYAML + "software:\n  k0rdent:\n    regional:\n      enabled: true\n      clusterz: []\n",
			path: "software.k0rdent.regional.clusterz",
			msg:  `unknown key "clusterz"; did you mean "clusters"?`,
			line: 9,
			// regional enabled with no clusters is only a warning.
		},
		{
			name: "wrong type",
			yaml: baseYAML + "cluster:\n  controllers:\n    count: three\n",
			path: "cluster.controllers.count",
			msg:  `expected a whole number, got "three"`,
			line: 7,
		},
		{
			name: "capi_providers as a mapping",
			yaml: withRegional(`
- name: r1
  location: eastus
  kubeconfig_secret: r1
  components:
    capi_providers: {azure: true}
`),
			path: "software.k0rdent.regional.clusters[0].components.capi_providers",
			msg:  "expected true, false or a list of provider names, got a mapping",
		},
		{
			name: "duplicate key",
			yaml: "metadata:\n  name: test\nazure:\n  location: eastus\n  location: westus\n",
			path: "azure.location",
			msg:  `duplicate key "location" (first at line 4)`,
			line: 5,
		},
		{
			name: "two YAML documents",
			yaml: baseYAML + "---\nmetadata: {name: other}\n",
			path: "",
			msg:  "the file holds more than one YAML document",
		},
		{
			name: "YAML syntax error",
			yaml: "metadata:\n  name: test\n azure: [\n",
			path: "",
			msg:  "invalid YAML",
		},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d bad configurations; want at least 25", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := Parse([]byte(tc.yaml))
			d, ok := findDiag(ds.Errors(), tc.path, tc.msg)
			if !ok {
				t.Fatalf("no error at %q containing %q; got:\n%s\n--- config:\n%s", tc.path, tc.msg, ds.Error(), tc.yaml)
			}
			if tc.line != 0 && d.Line != tc.line {
				t.Errorf("line = %d, want %d (%s)", d.Line, tc.line, d)
			}
			want := tc.errors
			if want == 0 {
				want = 1
			}
			if n := len(ds.Errors()); n != want {
				t.Errorf("%d errors, want %d:\n%s", n, want, ds.Errors().Error())
			}
		})
	}
}

func TestValidConfigurationsAndWarnings(t *testing.T) {
	t.Run("pre-release of 1.5.0 counts as 1.5.0 with a warning", func(t *testing.T) {
		yml := baseYAML + `software:
  k0rdent:
    version: 1.5.0-rc1
    regional:
      enabled: true
      clusters:
        - {name: r1, location: eastus, kubeconfig_secret: r1}
`
		_, ds := Parse([]byte(yml))
		if ds.HasErrors() {
			t.Fatalf("errors: %s", ds.Errors().Error())
		}
		if _, ok := findDiag(ds.Warnings(), "software.k0rdent.version", "k0rdent 1.5.0-rc1 is a pre-release; it is treated as 1.5.0"); !ok {
			t.Fatalf("no pre-release warning: %s", ds.Error())
		}
	})
	t.Run("pre-release of 1.4.0 does not count as 1.5.0", func(t *testing.T) {
		yml := baseYAML + `software:
  k0rdent:
    version: 1.5.0-rc1
    regional: {enabled: true, clusters: [{name: r1, location: eastus, kubeconfig_secret: r1}]}
`
		yml = strings.Replace(yml, "1.5.0-rc1", "1.4.9-rc1", 1)
		_, ds := Parse([]byte(yml))
		if _, ok := findDiag(ds.Errors(), "software.k0rdent.version", "regional needs k0rdent 1.5.0 or newer"); !ok {
			t.Fatalf("want a version error: %s", ds.Error())
		}
	})
	t.Run("older k0rdent without regional is a warning", func(t *testing.T) {
		_, ds := Parse([]byte(baseYAML + "software:\n  k0rdent:\n    version: 1.4.0\n"))
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		if _, ok := findDiag(ds.Warnings(), "software.k0rdent.version", "older than 1.5.0"); !ok {
			t.Fatalf("no warning: %s", ds.Error())
		}
	})
	t.Run("inconsistent components across regions are warnings with a recommendation", func(t *testing.T) {
		yml := withRegional(`
- {name: r1, location: eastus, kubeconfig_secret: r1}
- {name: r2, location: westus, kubeconfig_secret: r2}
- {name: r3, location: westeurope, kubeconfig_secret: r3, components: {velero: false, capi_providers: [cluster-api-provider-azure, cluster-api-provider-k0sproject-k0smotron, projectsveltos]}}
`)
		_, ds := Parse([]byte(yml))
		if ds.HasErrors() {
			t.Fatal(ds.Errors().Error())
		}
		d, ok := findDiag(ds.Warnings(), "software.k0rdent.regional.clusters[2].components.velero", "velero is false here but true in r1 and 1 more regional cluster")
		if !ok {
			t.Fatalf("no velero warning: %s", ds.Error())
		}
		if !strings.Contains(d.Message, "set components.velero the same in every regional cluster") {
			t.Errorf("no recommendation: %s", d.Message)
		}
		if _, ok := findDiag(ds.Warnings(), "software.k0rdent.regional.clusters[2].components.capi_providers", "capi_providers is [cluster-api-provider-azure"); !ok {
			t.Errorf("no capi_providers warning: %s", ds.Error())
		}
		if len(ds.Warnings()) != 2 {
			t.Errorf("want 2 warnings, got %s", ds.Warnings().Error())
		}
	})
	t.Run("even controller count warns", func(t *testing.T) {
		_, ds := Parse([]byte(baseYAML + "cluster:\n  controllers: {count: 2}\n"))
		if _, ok := findDiag(ds.Warnings(), "cluster.controllers.count", "use an odd count"); !ok || ds.HasErrors() {
			t.Fatal(ds.Error())
		}
	})
	t.Run("create_principal with a principal of the user's is refused", func(t *testing.T) {
		_, ds := Parse([]byte(baseYAML + "software:\n  k0rdent:\n    credential:\n      create_principal: true\n      client_id: 11111111-2222-3333-4444-555555555555\n"))
		d, ok := findDiag(ds.Errors(), "software.k0rdent.credential.create_principal", "names one you have")
		if !ok || !strings.Contains(d.Hint, "remove create_principal") {
			t.Fatalf("no error naming the conflict and its fix: %s", ds.Error())
		}
		_, ds = Parse([]byte(baseYAML + "software:\n  k0rdent:\n    credential:\n      create_principal: true\n"))
		if ds.HasErrors() {
			t.Fatal(ds.Errors().Error())
		}
	})
	t.Run("child outside the regional ClusterDeployment namespace warns on 1.5 (kcm issue 2152)", func(t *testing.T) {
		yml := withRegional(`
- {name: r1, location: eastus, cluster_deployment_ref: r1-cd}
`) + "child_clusters:\n  - {name: app, namespace: team-a, region: r1}\n"
		_, ds := Parse([]byte(yml))
		if ds.HasErrors() {
			t.Fatal(ds.Errors().Error())
		}
		if _, ok := findDiag(ds.Warnings(), "child_clusters[0].namespace", "kcm issue 2152, fixed in 1.6.0"); !ok {
			t.Fatalf("no warning: %s", ds.Error())
		}
		// 1.6.0 fixes it: no warning.
		_, ds = Parse([]byte(strings.Replace(yml, "    regional:", "    version: 1.6.0\n    regional:", 1)))
		if _, ok := findDiag(ds, "child_clusters[0].namespace", "2152"); ok {
			t.Fatalf("warning with 1.6.0: %s", ds.Error())
		}
	})
	t.Run("mode existing needs no azure section and warns about VM settings", func(t *testing.T) {
		yml := "metadata: {name: test}\nmanagement:\n  mode: existing\n  kubeconfig: ./k.kubeconfig\nnetwork:\n  vnet_cidr: 10.0.0.0/16\n"
		c, ds := Parse([]byte(yml))
		if ds.HasErrors() {
			t.Fatal(ds.Errors().Error())
		}
		if _, ok := findDiag(ds.Warnings(), "network", "ignored with management.mode existing"); !ok {
			t.Fatalf("no warning: %s", ds.Error())
		}
		if c.Network.SubnetCIDR != "" || c.VMSizing.Controller != "" || c.Software.AzureDiskCSI.Version != "" {
			t.Errorf("VM defaults applied in mode existing: %+v %+v %+v", c.Network, c.VMSizing, c.Software.AzureDiskCSI)
		}
		_, ds = Parse([]byte(strings.Replace(yml, "network:", "software:\n  azure_disk_csi: {disk_sku: Premium_LRS}\nnetwork:", 1)))
		if _, ok := findDiag(ds.Warnings(), "software.azure_disk_csi", "ignored with management.mode existing"); !ok {
			t.Fatalf("no warning for software.azure_disk_csi: %s", ds.Error())
		}
	})
	t.Run("disk CSI driver disk kind follows the zones", func(t *testing.T) {
		c, ds := Parse([]byte(baseYAML))
		if ds.HasErrors() || c.Software.AzureDiskCSI.DiskSKU != "StandardSSD_LRS" || c.Software.AzureDiskCSI.Version != DefaultDiskCSIVersion {
			t.Fatalf("no zones: %+v %s", c.Software.AzureDiskCSI, ds.Error())
		}
		c, ds = Parse([]byte(baseYAML + "cluster:\n  workers: {zones: [1, 2]}\n"))
		if ds.HasErrors() || c.Software.AzureDiskCSI.DiskSKU != "StandardSSD_ZRS" {
			t.Fatalf("zones: %+v %s", c.Software.AzureDiskCSI, ds.Error())
		}
	})
	t.Run("regional disabled with clusters warns", func(t *testing.T) {
		_, ds := Parse([]byte(baseYAML + "software:\n  k0rdent:\n    regional:\n      clusters: [{name: r1, location: eastus, kubeconfig_secret: r1}]\n"))
		if _, ok := findDiag(ds.Warnings(), "software.k0rdent.regional.enabled", "regional is disabled"); !ok || ds.HasErrors() {
			t.Fatal(ds.Error())
		}
	})
	t.Run("a defaulted value is reported once, where it is written", func(t *testing.T) {
		yml := `metadata: {name: t}
azure: {location: westeu}
software: {k0rdent: {namespace: KCM}}
child_clusters: [{name: a}, {name: b}]
kof: {enabled: true, regional: {domain: kof.example.com, admin_email: a@example.com}}
`
		_, ds := Parse([]byte(yml))
		if len(ds.Errors()) != 2 {
			t.Fatalf("want one error for azure.location and one for the namespace, got:\n%s", ds.Errors().Error())
		}
		if _, ok := findDiag(ds.Errors(), "azure.location", `did you mean "westeurope"`); !ok {
			t.Error(ds.Error())
		}
		if _, ok := findDiag(ds.Errors(), "software.k0rdent.namespace", `"KCM" is not a valid namespace`); !ok {
			t.Error(ds.Error())
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		yml := withRegional(`
- {name: regional-useast, location: eastus, cluster_deployment_ref: cd1}
- {name: regional-westeu, location: westeu, kubeconfig_secret: s1}
- {name: regional-x, location: northeurope, cluster_deployment_ref: cd2, kubeconfig_secret: s2}
`) + "network:\n  vnet_cidr: nope\ncluster:\n  controllers: {zones: [0]}\n"
		_, ds := Parse([]byte(yml))
		for _, want := range []struct{ path, msg string }{
			{"software.k0rdent.regional.clusters[1].location", `did you mean "westeurope"`},
			{"software.k0rdent.regional.clusters[2]", "(both are set)"},
			{"network.vnet_cidr", "is not a CIDR"},
			{"cluster.controllers.zones[0]", "zone 0 does not exist"},
		} {
			if _, ok := findDiag(ds.Errors(), want.path, want.msg); !ok {
				t.Errorf("missing %s: %s", want.path, want.msg)
			}
		}
		if len(ds.Errors()) != 4 {
			t.Errorf("want exactly 4 errors, got:\n%s", ds.Errors().Error())
		}
	})
}

func TestValidateNil(t *testing.T) {
	if ds := Validate(nil); !ds.HasErrors() {
		t.Fatal("nil config validated")
	}
}

func TestVMSizeArchitecture(t *testing.T) {
	for size, want := range map[string]string{
		"Standard_A4_v2":            ArchitectureX64,
		"Standard_D4s_v5":           ArchitectureX64,
		"Standard_D4ps_v5":          ArchitectureArm,
		"Standard_D8pds_v6":         ArchitectureArm,
		"Standard_E16pds_v5":        ArchitectureArm,
		"Standard_B2pls_v2":         ArchitectureArm,
		"Standard_B2pts_v2":         ArchitectureArm,
		"Standard_NC24ads_A100_v4":  ArchitectureX64,
		"Standard_E64-16ds_v4":      ArchitectureX64,
		"Standard_HB120rs_v3":       ArchitectureX64,
		"Standard_DS3_v2":           ArchitectureX64,
		"Standard_M416ms_v2":        ArchitectureX64,
		"Standard_ND96isr_H100_v5":  ArchitectureX64,
		"Standard_NP10s":            ArchitectureX64,
		"Basic_A1":                  ArchitectureX64,
		"Standard_D2plds_v6":        ArchitectureArm,
		"Standard_DC4as_cc_v5":      ArchitectureX64,
		"Standard_L8s_v3":           ArchitectureX64,
		"Standard_FX4mds":           ArchitectureX64,
		"Standard_NV36ads_A10_v5":   ArchitectureX64,
		"Standard_D96pls_v6":        ArchitectureArm,
		"Standard_E96pds_v6":        ArchitectureArm,
		"Standard_D16plds_v5":       ArchitectureArm,
		"Standard_B1ls":             ArchitectureX64,
		"Standard_A2m_v2":           ArchitectureX64,
		"Standard_NC4as_T4_v3":      ArchitectureX64,
		"Standard_HX176rs":          ArchitectureX64,
		"Standard_D4ads_v5":         ArchitectureX64,
		"Standard_D4as_v5":          ArchitectureX64,
		"Standard_E2bds_v5":         ArchitectureX64,
		"Standard_M12ds_v3":         ArchitectureX64,
		"Standard_D4lds_v5":         ArchitectureX64,
		"Standard_D2pls_v5":         ArchitectureArm,
		"Standard_E2ps_v5":          ArchitectureArm,
		"Standard_D4pls_v5":         ArchitectureArm,
		"Standard_NC40ads_H100_v5":  ArchitectureX64,
		"Standard_NCC40ads_H100_v5": ArchitectureX64,
	} {
		got, ok := vmSizeArchitecture(size)
		if !ok || got != want {
			t.Errorf("%s: got %q (ok %v), want %q", size, got, ok, want)
		}
	}
	for _, bad := range []string{"", "D4s_v5", "standard_D4s_v5", "Standard_", "Standard_d4s_v5", "Standard D4s v5"} {
		if _, ok := vmSizeArchitecture(bad); ok {
			t.Errorf("%q accepted as a VM size", bad)
		}
	}
	if got := armToX64("Standard_D4ps_v5"); got != "Standard_D4s_v5" {
		t.Errorf("armToX64 = %s", got)
	}
	if got := armToX64("Standard_E8pds_v6"); got != "Standard_E8ds_v6" {
		t.Errorf("armToX64 = %s", got)
	}
}

func TestImageArchitecture(t *testing.T) {
	for _, tc := range []struct{ image, override, want string }{
		{DefaultImage, "", ArchitectureX64},
		{DefaultArmImage, "", ArchitectureArm},
		{"Canonical:0001-com-ubuntu-server-jammy:22_04-lts-arm64:latest", "", ArchitectureArm},
		{"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/my-arm", ArchitectureArm, ArchitectureArm},
		{"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/mine", "", ArchitectureX64},
	} {
		got, err := imageArchitecture(tc.image, tc.override)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.image, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ubuntu", "a:b:c", "a::c:d", "a:b:c:d:e", "a b:c:d:e"} {
		if _, err := imageArchitecture(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The override wins, so an Arm64 custom image allows Arm64 sizes.
	yml := `metadata: {name: t}
azure:
  location: eastus
  image: /subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/my-arm
  image_architecture: arm64
vm_sizing: {controller: Standard_D4ps_v5, worker: Standard_D4ps_v5}
`
	mustParse(t, yml)
}
