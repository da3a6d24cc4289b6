package config

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Validate checks a configuration that has had its defaults applied (Parse
// does both) and returns every problem at once, each with its field path.
// Errors make the configuration unusable; warnings point at something that
// works but is probably not meant. Validate reads no files and uses no network.
func Validate(c *Config) Diagnostics {
	if c == nil {
		return Diagnostics{{Severity: SeverityError, Message: "no configuration"}}
	}
	v := &validator{c: c}
	v.metadata()
	v.management()
	v.azure()
	if c.Management.Mode == ModeAzure {
		v.network()
		v.vmSizing()
		v.cluster()
		v.ssh()
		v.k0s()
	} else if c.Management.Mode == ModeExisting {
		v.unusedWithExisting()
	}
	v.k0rdent()
	v.regional()
	v.kof()
	v.children()
	v.clusterDeploymentNames()
	v.timeouts()
	v.state()
	return v.diags
}

type validator struct {
	c     *Config
	diags Diagnostics
}

func (v *validator) errorf(path, hint, format string, args ...any) {
	v.diags = append(v.diags, Diagnostic{Path: path, Severity: SeverityError, Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (v *validator) warnf(path, hint, format string, args ...any) {
	v.diags = append(v.diags, Diagnostic{Path: path, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// --- names -----------------------------------------------------------------

// dnsLabel checks a Kubernetes object name that must be a DNS-1123 label
// (cluster, Region and namespace names). Empty is "required".
func (v *validator) dnsLabel(path, value, what string) {
	if value == "" {
		v.errorf(path, "", "%s is required: set %s", what, path)
		return
	}
	if len(validation.IsDNS1123Label(value)) > 0 {
		v.errorf(path, "", "%q is not a valid %s: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit%s",
			value, what, suggestName(value))
	}
}

// namespace checks a namespace name; one equal to software.k0rdent.namespace
// (most are defaulted from it) is reported there only.
func (v *validator) namespace(path, ns string) {
	if path != "software.k0rdent.namespace" && ns != "" && ns == v.c.Software.K0rdent.Namespace {
		return
	}
	v.dnsLabel(path, ns, "namespace")
}

// dnsSubdomain checks a Kubernetes object name that may contain dots.
func (v *validator) dnsSubdomain(path, value, what string) {
	if value == "" {
		v.errorf(path, "", "%s is required: set %s", what, path)
		return
	}
	if len(validation.IsDNS1123Subdomain(value)) > 0 {
		v.errorf(path, "", "%q is not a valid %s: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit%s",
			value, what, suggestName(value))
	}
}

// suggestName proposes a valid name close to s (", e.g. \"regional-eu\"").
func suggestName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '_' || r == ' ' || r == '-' || r == '.':
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	for strings.Contains(out, "--") {
		out = strings.ReplaceAll(out, "--", "-")
	}
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	if out == "" || out == s || len(validation.IsDNS1123Label(out)) > 0 {
		return ""
	}
	return fmt.Sprintf(", e.g. %q", out)
}

// --- metadata, management, azure ----------------------------------------------

func (v *validator) metadata() {
	m := v.c.Metadata
	if m.Name == "" {
		v.errorf("metadata.name", "", "metadata.name is required: set a short name for this deployment, e.g. k0rdent-dev")
	} else {
		v.dnsLabel("metadata.name", m.Name, "deployment name")
	}
	if len(m.Owner) > 256 {
		v.errorf("metadata.owner", "", "owner is %d characters long; Azure tag values hold at most 256", len(m.Owner))
	}
}

func (v *validator) management() {
	m := v.c.Management
	switch m.Mode {
	case ModeAzure:
		if m.Kubeconfig != "" {
			v.errorf("management.kubeconfig", "", "kubeconfig is only used with mode existing; with mode azure k0rdentctl writes the management kubeconfig itself (state/kubeconfigs/): remove it, or set mode: existing")
		}
		if m.Context != "" {
			v.errorf("management.context", "", "context is only used with mode existing: remove it, or set mode: existing")
		}
	case ModeExisting:
		if m.Kubeconfig == "" {
			v.errorf("management.kubeconfig", "", "kubeconfig is required with mode existing: set it to the path of the management cluster's kubeconfig")
		}
	default:
		v.errorf("management.mode", "", "%q is not a management mode: use azure (build the cluster on Azure VMs) or existing (use the cluster in management.kubeconfig)%s",
			m.Mode, didYouMean(m.Mode, []string{ModeAzure, ModeExisting}))
	}
}

var guidRe = lazyRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

var resourceGroupRe = lazyRegexp(`^[-\w\._\(\)]{1,90}$`)

func (v *validator) azure() {
	az := v.c.Azure
	azureMode := v.c.Management.Mode == ModeAzure
	if az.SubscriptionID != "" && !guidRe().MatchString(az.SubscriptionID) {
		v.errorf("azure.subscription_id", "", "%q is not a subscription ID: use the GUID shown by the Azure portal or `az account show --query id` (e.g. 00000000-0000-0000-0000-000000000000), or leave it empty to use AZURE_SUBSCRIPTION_ID", az.SubscriptionID)
	}
	if az.TenantID != "" && !guidRe().MatchString(az.TenantID) {
		v.errorf("azure.tenant_id", "", "%q is not a tenant ID: use the GUID shown by `az account show --query tenantId`, or leave it empty", az.TenantID)
	}
	if az.Location == "" {
		if azureMode {
			v.errorf("azure.location", "", "azure.location is required with management mode azure: set the Azure location of the management cluster, e.g. eastus or westeurope")
		}
	} else {
		v.location("azure.location", az.Location)
	}
	if az.ResourceGroup != "" && (!resourceGroupRe().MatchString(az.ResourceGroup) || strings.HasSuffix(az.ResourceGroup, ".")) {
		v.errorf("azure.resource_group", "", "%q is not a valid resource group name: use 1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending with '.'", az.ResourceGroup)
	}
	v.tags("azure.tags", az.Tags)
	if !azureMode {
		return
	}
	if az.Image != "" {
		if _, err := imageArchitecture(az.Image, ""); err != nil {
			v.errorf("azure.image", "", "%v", err)
		}
	}
	switch az.ImageArchitecture {
	case "", ArchitectureX64, ArchitectureArm:
	default:
		v.errorf("azure.image_architecture", "", "%q is not an image architecture: use x64 or arm64, or leave it empty to derive it from the image%s",
			az.ImageArchitecture, didYouMean(az.ImageArchitecture, []string{ArchitectureX64, ArchitectureArm}))
	}
	switch az.Priority {
	case PriorityRegular, PrioritySpot:
	default:
		v.errorf("azure.priority", "", "%q is not a VM priority: use Regular or Spot%s", az.Priority, didYouMean(az.Priority, []string{PriorityRegular, PrioritySpot}))
	}
	spot := az.Priority == PrioritySpot
	if az.EvictionPolicy != "" {
		switch {
		case !spot:
			v.errorf("azure.eviction_policy", "", "eviction_policy applies to Spot VMs only: remove it, or set azure.priority: Spot")
		case az.EvictionPolicy != EvictDeallocate && az.EvictionPolicy != EvictDelete:
			v.errorf("azure.eviction_policy", "", "%q is not an eviction policy: use Deallocate (keep the disks, pay for storage) or Delete%s",
				az.EvictionPolicy, didYouMean(az.EvictionPolicy, []string{EvictDeallocate, EvictDelete}))
		}
	}
	if az.MaxPrice != nil {
		switch p := *az.MaxPrice; {
		case !spot:
			v.errorf("azure.max_price", "", "max_price applies to Spot VMs only: remove it, or set azure.priority: Spot")
		case p != -1 && p <= 0:
			v.errorf("azure.max_price", "", "max_price %v is not valid: use a price per hour in US dollars greater than 0, or -1 to pay up to the regular price", p)
		}
	}
}

var tagKeyForbidden = "<>%&\\?/"

func (v *validator) tags(path string, tags map[string]string) {
	if len(tags) > 50 {
		v.errorf(path, "", "%d tags: Azure allows at most 50 per resource, and k0rdentctl adds a few of its own; keep at most 45", len(tags))
	}
	for _, k := range sortedKeys(tags) {
		p := joinPath(path, k)
		switch {
		case k == "":
			v.errorf(p, "", "a tag name cannot be empty")
		case len(k) > 512:
			v.errorf(p, "", "tag name is %d characters long; Azure allows at most 512", len(k))
		case strings.ContainsAny(k, tagKeyForbidden):
			v.errorf(p, "", "tag name %q contains one of the characters Azure forbids in tag names: < > %% & \\ ? /", k)
		}
		if len(tags[k]) > 256 {
			v.errorf(p, "", "tag value is %d characters long; Azure allows at most 256", len(tags[k]))
		}
	}
}

// defaultedLocation checks a location that defaults to azure.location (child
// and KOF clusters): an invalid azure.location is reported there only.
func (v *validator) defaultedLocation(path, loc string) {
	if loc == v.c.Azure.Location {
		return
	}
	v.location(path, loc)
}

func (v *validator) location(path, loc string) {
	if IsLocation(loc) {
		return
	}
	if s := SuggestLocation(loc); s != "" {
		v.errorf(path, "Azure location names are lowercase without spaces; `az account list-locations -o table` lists them",
			"%q is not an Azure location; did you mean %q?", loc, s)
		return
	}
	v.errorf(path, "`az account list-locations -o table` lists them; examples: eastus, eastus2, westeurope, northeurope, swedencentral, southeastasia",
		"%q is not an Azure location: use an Azure location name (lowercase, no spaces)", loc)
}

// imageArchitecture returns the CPU architecture of an image reference:
// override if set, else arm64 when a URN's offer or SKU contains "arm64".
func imageArchitecture(image, override string) (string, error) {
	if strings.HasPrefix(image, "/subscriptions/") {
		if override != "" {
			return override, nil
		}
		return ArchitectureX64, nil
	}
	parts := strings.Split(image, ":")
	if len(parts) != 4 || slices.Contains(parts, "") || strings.ContainsAny(image, " \t") {
		return "", fmt.Errorf("%q is not an image reference: use a Marketplace URN publisher:offer:sku:version such as %s, or an image resource ID starting with /subscriptions/", image, DefaultImage)
	}
	if override != "" {
		return override, nil
	}
	if strings.Contains(strings.ToLower(parts[1]+":"+parts[2]), "arm64") {
		return ArchitectureArm, nil
	}
	return ArchitectureX64, nil
}

// --- management cluster (mode azure) ------------------------------------------

func (v *validator) network() {
	n := v.c.Network
	type cidr struct {
		path, value string
		prefix      netip.Prefix
		ok          bool
	}
	parse := func(path, value string) cidr {
		c := cidr{path: path, value: value}
		if value == "" {
			v.errorf(path, "", "%s is required", path)
			return c
		}
		p, err := netip.ParsePrefix(value)
		switch {
		case err != nil:
			v.errorf(path, "", "%q is not a CIDR: write an IPv4 network like 10.0.0.0/16", value)
		case !p.Addr().Is4():
			v.errorf(path, "", "%q is not an IPv4 network: k0rdentctl builds IPv4 networks; write one like 10.0.0.0/16", value)
		case p.Masked() != p:
			v.errorf(path, "", "%q has host bits set: write the network address, %s", value, p.Masked())
		default:
			c.prefix, c.ok = p, true
		}
		return c
	}
	vnet := parse("network.vnet_cidr", n.VNetCIDR)
	subnet := parse("network.subnet_cidr", n.SubnetCIDR)
	wg := parse("network.wireguard_network", n.WireGuardNetwork)
	pod := parse("network.pod_cidr", n.PodCIDR)
	svc := parse("network.service_cidr", n.ServiceCIDR)
	if vnet.ok && subnet.ok && !(vnet.prefix.Contains(subnet.prefix.Addr()) && subnet.prefix.Bits() >= vnet.prefix.Bits()) {
		v.errorf(subnet.path, "", "subnet %s is not inside vnet_cidr %s: choose a subnet within the virtual network, e.g. %s",
			subnet.value, vnet.value, exampleSubnet(vnet.prefix))
	}
	// Networks that must not overlap each other (the subnet is inside the
	// vnet, so it is covered by the vnet).
	distinct := []cidr{vnet, wg, pod, svc}
	for i := range distinct {
		for j := range i {
			a, b := distinct[j], distinct[i]
			if a.ok && b.ok && a.prefix.Overlaps(b.prefix) {
				v.errorf(b.path, "", "%s %s overlaps %s %s: choose a range that overlaps none of vnet_cidr, wireguard_network, pod_cidr and service_cidr",
					lastSegment(b.path), b.value, a.path, a.value)
			}
		}
	}
	vms := v.c.Cluster.Controllers.Replicas() + v.c.Cluster.Workers.Replicas()
	if subnet.ok {
		// Azure keeps 5 addresses of every subnet.
		if room := hostRoom(subnet.prefix, 5); room < vms {
			v.errorf(subnet.path, "", "subnet %s has room for %d VMs (Azure reserves 5 addresses) but the cluster has %d: use a /%d or larger subnet",
				subnet.value, room, vms, prefixFor(vms, 5))
		}
	}
	if wg.ok {
		if room := hostRoom(wg.prefix, 2); room < vms+1 {
			v.errorf(wg.path, "", "wireguard_network %s has room for %d addresses but needs %d (one per VM and one for this machine): use a /%d or larger network",
				wg.value, room, vms+1, prefixFor(vms+1, 2))
		}
	}
	if n.WireGuardPort < 1 || n.WireGuardPort > 65535 {
		v.errorf("network.wireguard_port", "", "wireguard_port %d is not a port: use 1 to 65535 (default 51820)", n.WireGuardPort)
	}
}

func hostRoom(p netip.Prefix, reserved int) int {
	bits := 32 - p.Bits()
	if bits >= 20 {
		return 1 << 20
	}
	return max(0, (1<<bits)-reserved)
}

// prefixFor is the longest IPv4 prefix length whose network holds n hosts
// besides reserved addresses (hostRoom's rule): the smallest network that
// fits.
func prefixFor(n, reserved int) int {
	bits := 32
	for bits > 0 && (1<<(32-bits))-reserved < n {
		bits--
	}
	return bits
}

func exampleSubnet(vnet netip.Prefix) string {
	bits := max(vnet.Bits(), 24)
	return netip.PrefixFrom(vnet.Addr(), bits).String()
}

func lastSegment(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// vmSizeRe splits an Azure VM size name: tier, family, vCPUs, constrained
// vCPUs, feature letters, version and accelerator suffixes.
var vmSizeRe = lazyRegexp(`^(Standard|Basic)_([A-Z]+)([0-9]+)(-[0-9]+)?([a-z]*)(_[A-Za-z0-9]+)*$`)

// vmSizeArchitecture returns arm64 for Azure's Arm64 (Ampere/Cobalt) sizes,
// whose feature letters contain 'p' (Standard_D4ps_v5, Standard_E8pds_v6,
// Standard_B2pls_v2), and x64 for every other size.
func vmSizeArchitecture(size string) (string, bool) {
	m := vmSizeRe().FindStringSubmatch(size)
	if m == nil {
		return "", false
	}
	if strings.Contains(m[5], "p") {
		return ArchitectureArm, true
	}
	return ArchitectureX64, true
}

func (v *validator) vmSize(path, size string) (string, bool) {
	if size == "" {
		v.errorf(path, "", "a VM size is required, e.g. Standard_D4s_v5")
		return "", false
	}
	arch, ok := vmSizeArchitecture(size)
	if !ok {
		v.errorf(path, "`az vm list-sizes -l <location> -o table` lists them", "%q is not an Azure VM size name: write it like Standard_D4s_v5 or Standard_A4_v2%s",
			size, vmSizeCaseHint(size))
	}
	return arch, ok
}

func vmSizeCaseHint(size string) string {
	if strings.HasPrefix(size, "Standard_") || strings.HasPrefix(size, "Basic_") {
		return ""
	}
	rest := size
	if strings.HasPrefix(strings.ToLower(size), "standard_") {
		rest = size[len("standard_"):]
	}
	if cand := "Standard_" + rest; vmSizeRe().MatchString(cand) {
		return fmt.Sprintf(" (did you mean %q?)", cand)
	}
	return ""
}

func (v *validator) vmSizing() {
	az := v.c.Azure
	imgArch, err := imageArchitecture(az.Image, az.ImageArchitecture)
	if err != nil {
		imgArch = ""
	}
	check := func(path, size string) {
		arch, ok := v.vmSize(path, size)
		if !ok || imgArch == "" || arch == imgArch {
			return
		}
		if arch == ArchitectureArm {
			v.errorf(path, "", "%q is an Arm64 VM size but azure.image %q is an x64 image: use an x64 size such as %s, or an Arm64 image such as %s",
				size, az.Image, armToX64(size), DefaultArmImage)
		} else {
			v.errorf(path, "", "%q is an x64 VM size but azure.image %q is an Arm64 image: use an Arm64 size such as %s, or an x64 image such as %s",
				size, az.Image, DefaultArmVMSize, DefaultImage)
		}
	}
	check("vm_sizing.controller", v.c.VMSizing.Controller)
	check("vm_sizing.worker", v.c.VMSizing.Worker)
}

// armToX64 proposes the x64 size of an Arm64 one (Standard_D4ps_v5 →
// Standard_D4s_v5).
func armToX64(size string) string {
	m := vmSizeRe().FindStringSubmatch(size)
	if m == nil {
		return "Standard_D4s_v5"
	}
	return strings.Replace(size, m[2]+m[3]+m[4]+m[5], m[2]+m[3]+m[4]+strings.ReplaceAll(m[5], "p", ""), 1)
}

func (v *validator) cluster() {
	cl := v.c.Cluster
	ctl := cl.Controllers.Replicas()
	switch {
	case ctl < 1:
		v.errorf("cluster.controllers.count", "", "controllers.count must be at least 1")
	case ctl%2 == 0:
		v.warnf("cluster.controllers.count", "", "%d controllers tolerate no more failures than %d: etcd needs a majority, so use an odd count (1, 3 or 5)", ctl, ctl-1)
	case ctl > 7:
		v.warnf("cluster.controllers.count", "", "%d controllers: more than 7 etcd members slow every write; 3 or 5 is usual", ctl)
	}
	if cl.Workers.Replicas() < 0 {
		v.errorf("cluster.workers.count", "", "workers.count cannot be negative: use 0 (controllers run workloads) or more")
	}
	v.zones("cluster.controllers.zones", cl.Controllers.Zones)
	v.zones("cluster.workers.zones", cl.Workers.Zones)
	if ctl >= 3 && len(cl.Controllers.Zones) == 1 {
		v.warnf("cluster.controllers.zones", "", "all %d controllers are in one availability zone: list zones [1, 2, 3] to survive the loss of a zone", ctl)
	}
}

func (v *validator) zones(path string, zones []int) {
	seen := map[int]bool{}
	for i, z := range zones {
		p := fmt.Sprintf("%s[%d]", path, i)
		if z < 1 || z > 3 {
			v.errorf(p, "", "zone %d does not exist: Azure availability zones are 1, 2 and 3", z)
			continue
		}
		if seen[z] {
			v.errorf(p, "", "zone %d is listed twice: list each zone once", z)
		}
		seen[z] = true
	}
}

var (
	sshUserRe       = lazyRegexp(`^[a-z_][a-z0-9_-]{0,31}$`)
	reservedSSHUser = []string{
		"1", "123", "a", "actuser", "adm", "admin", "admin1", "admin2", "administrator", "aspnet",
		"backup", "console", "david", "guest", "john", "owner", "root", "server", "sql", "support",
		"support_388945a0", "sys", "test", "test1", "test2", "test3", "user", "user1", "user2",
		"user3", "user4", "user5",
	}
)

func (v *validator) ssh() {
	s := v.c.SSH
	switch {
	case !sshUserRe().MatchString(s.User):
		v.errorf("ssh.user", "", "%q is not a valid Linux user name for Azure VMs: use up to 32 lowercase letters, digits, '_' and '-', starting with a letter or '_' (e.g. k0rdent)", s.User)
	case slices.Contains(reservedSSHUser, s.User):
		v.errorf("ssh.user", "", "Azure does not allow %q as the VM admin user: choose another name, e.g. k0rdent", s.User)
	}
	if s.PrivateKeyPath != "" && s.PublicKeyPath == "" {
		v.errorf("ssh.private_key_path", "", "private_key_path is set without public_key_path: set public_key_path to the matching .pub file, or remove both to let k0rdentctl generate a key pair")
	}
}

var k0sVersionRe = lazyRegexp(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?\+k0s\.[0-9]+$`)

func (v *validator) k0s() {
	ver := v.c.Software.K0s.Version
	if !k0sVersionRe().MatchString(ver) {
		v.errorf("software.k0s.version", "", "%q is not a k0s version: write it as k0s releases are tagged, e.g. %s", ver, DefaultK0sVersion)
	}
	csi := v.c.Software.AzureDiskCSI
	if !csi.IsEnabled() {
		return
	}
	if _, err := semver.NewVersion(csi.Version); err != nil {
		v.errorf("software.azure_disk_csi.version", "", "%q is not a chart version: write it as the driver's chart repository tags it, e.g. %s", csi.Version, DefaultDiskCSIVersion)
	}
	if !slices.Contains(DiskSKUs, csi.DiskSKU) {
		v.errorf("software.azure_disk_csi.disk_sku", "", "%q is not a managed disk kind: use one of %s", csi.DiskSKU, strings.Join(DiskSKUs, ", "))
	}
}

// unusedWithExisting warns about management-cluster settings that mode
// existing ignores (defaults do not fill them in that mode, so anything here
// was written in the file).
func (v *validator) unusedWithExisting() {
	c := v.c
	ignored := func(path string, set bool) {
		if set {
			v.warnf(path, "", "%s is ignored with management.mode existing (k0rdentctl does not build the management cluster): remove it", path)
		}
	}
	ignored("network", c.Network != Network{})
	ignored("vm_sizing", c.VMSizing != VMSizing{})
	ignored("cluster", c.Cluster.Controllers.Count != nil || c.Cluster.Workers.Count != nil ||
		len(c.Cluster.Controllers.Zones) > 0 || len(c.Cluster.Workers.Zones) > 0)
	ignored("ssh", c.SSH != SSH{})
	ignored("software.k0s", c.Software.K0s != K0s{})
	ignored("software.azure_disk_csi", c.Software.AzureDiskCSI != AzureDiskCSI{})
	ignored("azure.image", c.Azure.Image != "")
	ignored("azure.image_architecture", c.Azure.ImageArchitecture != "")
	ignored("azure.priority", c.Azure.Priority != "")
	ignored("azure.eviction_policy", c.Azure.EvictionPolicy != "")
	ignored("azure.max_price", c.Azure.MaxPrice != nil)
}

// --- k0rdent ------------------------------------------------------------------

func (v *validator) k0rdent() {
	k := v.c.Software.K0rdent
	ver, ok := v.semverField("software.k0rdent.version", k.Version, "k0rdent", DefaultK0rdentVersion)
	if ok {
		release := releaseOf(ver)
		minRegional := semver.MustParse(MinRegionalVersion)
		if ver.Prerelease() != "" {
			v.warnf("software.k0rdent.version", "", "k0rdent %s is a pre-release; it is treated as %s (the chart of kcm's v1.5.0 source tree still says 1.5.0-rc1); use a released version such as %s for anything that matters",
				k.Version, release, DefaultK0rdentVersion)
		}
		if release.LessThan(minRegional) {
			if v.c.RegionalEnabled() {
				v.errorf("software.k0rdent.version", "", "k0rdent %s has no regional management clusters as this tool deploys them: regional needs k0rdent %s or newer; set software.k0rdent.version: %q, or set software.k0rdent.regional.enabled: false",
					k.Version, MinRegionalVersion, DefaultK0rdentVersion)
			} else {
				v.warnf("software.k0rdent.version", "", "k0rdent %s is older than %s, the version k0rdentctl is built and tested for; use %s", k.Version, DefaultK0rdentVersion, DefaultK0rdentVersion)
			}
		}
	}
	v.chart("software.k0rdent.chart", k.Chart)
	v.namespace("software.k0rdent.namespace", k.Namespace)
	cr := k.Credential
	v.dnsSubdomain("software.k0rdent.credential.name", cr.Name, "Credential name")
	v.namespace("software.k0rdent.credential.namespace", cr.Namespace)
	v.dnsSubdomain("software.k0rdent.credential.identity_name", cr.IdentityName, "AzureClusterIdentity name")
	v.dnsSubdomain("software.k0rdent.credential.secret_name", cr.SecretName, "Secret name")
	if cr.IdentityName != "" && cr.IdentityName == cr.SecretName {
		v.errorf("software.k0rdent.credential.secret_name", "", "secret_name must differ from identity_name (%q)", cr.IdentityName)
	}
	if cr.CreatePrincipal && (cr.ClientID != "" || cr.ClientSecretFile != "") {
		v.errorf("software.k0rdent.credential.create_principal", "remove create_principal to use your principal, or remove client_id and client_secret_file to have k0rdentctl create one",
			"create_principal: true makes a new service principal, but client_id or client_secret_file names one you have")
	}
	if cr.ClientID != "" && !guidRe().MatchString(cr.ClientID) {
		v.errorf("software.k0rdent.credential.client_id", "", "%q is not a client ID: use the application (client) ID GUID of the service principal, or leave it empty", cr.ClientID)
	}
}

// semverField parses a strict x.y.z[-pre] version.
func (v *validator) semverField(path, value, what, example string) (*semver.Version, bool) {
	if value == "" {
		v.errorf(path, "", "%s version is required, e.g. %s", what, example)
		return nil, false
	}
	if strings.HasPrefix(value, "v") || strings.HasPrefix(value, "V") {
		v.errorf(path, "", "write the %s version without the leading v: %q (charts are tagged that way)", what, value[1:])
		return nil, false
	}
	ver, err := semver.StrictNewVersion(value)
	if err != nil {
		v.errorf(path, "", "%q is not a %s version: write major.minor.patch, e.g. %s (quote it if your editor turns it into a number)", value, what, example)
		return nil, false
	}
	return ver, true
}

// K0rdentBefore reports whether software.k0rdent.version is a release
// before v (pre-releases count as their release); false when it cannot be
// read.
func (c *Config) K0rdentBefore(v string) bool {
	ver, err := semver.StrictNewVersion(c.Software.K0rdent.Version)
	if err != nil {
		return false
	}
	return releaseOf(ver).LessThan(semver.MustParse(v))
}

func releaseOf(v *semver.Version) *semver.Version {
	r, _ := v.SetPrerelease("")
	r, _ = r.SetMetadata("")
	return &r
}

func (v *validator) chart(path, chart string) {
	switch {
	case chart == "":
		v.errorf(path, "", "chart is required: use %s, or a local chart directory or .tgz file", DefaultChart)
	case strings.HasPrefix(chart, "oci://"):
		u, err := url.Parse(chart)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.RawQuery != "" || u.Fragment != "" {
			v.errorf(path, "", "%q is not an OCI chart reference: write oci://<registry>/<repository>/<chart>, e.g. %s (the version comes from software.k0rdent.version)", chart, DefaultChart)
		} else if strings.Contains(u.Path, ":") || strings.Contains(u.Path, "@") {
			v.errorf(path, "", "%q carries a tag: drop it; the chart version is software.k0rdent.version", chart)
		}
	case strings.Contains(chart, "://"):
		v.errorf(path, "", "%q: only oci:// chart references and local chart paths are supported; for k0rdent use %s", chart, DefaultChart)
	}
}

func (v *validator) regional() {
	r := v.c.Software.K0rdent.Regional
	base := "software.k0rdent.regional"
	if r.Parallel < 1 || r.Parallel > MaxRegionalParallel {
		v.errorf(base+".parallel", "", "parallel %d is out of range: use 1 to %d (default %d)", r.Parallel, MaxRegionalParallel, DefaultRegionalParallel)
	}
	if r.Enabled && len(r.Clusters) == 0 {
		v.warnf(base+".enabled", "", "regional is enabled but no clusters are listed: add clusters under software.k0rdent.regional.clusters, or set enabled: false")
	}
	if !r.Enabled && len(r.Clusters) > 0 {
		v.warnf(base+".enabled", "", "regional is disabled, so the %d regional clusters listed are not deployed: set enabled: true to deploy them", len(r.Clusters))
	}
	names := map[string]int{}
	secrets := map[string]int{}
	for i, rc := range r.Clusters {
		p := fmt.Sprintf("%s.clusters[%d]", base, i)
		v.dnsLabel(p+".name", rc.Name, "regional cluster name")
		if rc.Name != "" {
			if j, dup := names[rc.Name]; dup {
				v.errorf(p+".name", "", "duplicate regional cluster name %q (also clusters[%d]): each Region needs its own name", rc.Name, j)
			} else {
				names[rc.Name] = i
			}
		}
		if rc.Location == "" {
			v.errorf(p+".location", "", "location is required: set the Azure location of this regional cluster, e.g. eastus")
		} else {
			v.location(p+".location", rc.Location)
		}
		hasRef, hasSecret := rc.ClusterDeploymentRef != "", rc.KubeconfigSecret != ""
		switch {
		case hasRef && hasSecret:
			v.errorf(p, "cluster_deployment_ref: a ClusterDeployment k0rdent manages; kubeconfig_secret: an existing cluster's kubeconfig", "set exactly one of cluster_deployment_ref or kubeconfig_secret (both are set)")
		case !hasRef && !hasSecret:
			v.errorf(p, "cluster_deployment_ref: a ClusterDeployment k0rdent manages; kubeconfig_secret: an existing cluster's kubeconfig", "set exactly one of cluster_deployment_ref or kubeconfig_secret (neither is set)")
		}
		if hasRef {
			// Two regions on one ClusterDeployment: see clusterDeploymentNames.
			v.dnsLabel(p+".cluster_deployment_ref", rc.ClusterDeploymentRef, "ClusterDeployment name")
		}
		if hasSecret {
			v.dnsSubdomain(p+".kubeconfig_secret", rc.KubeconfigSecret, "Secret name")
			if j, dup := secrets[rc.KubeconfigSecret]; dup {
				v.errorf(p+".kubeconfig_secret", "", "Secret %q is already the kubeconfig of clusters[%d]: a cluster can back only one Region", rc.KubeconfigSecret, j)
			} else {
				secrets[rc.KubeconfigSecret] = i
			}
		}
		if rc.KubeconfigFile != "" && !hasSecret {
			v.errorf(p+".kubeconfig_file", "", "kubeconfig_file is only used with kubeconfig_secret (it fills that Secret): set kubeconfig_secret, or remove kubeconfig_file")
		}
		if rc.ClusterDeployment != nil && !hasRef {
			v.errorf(p+".cluster_deployment", "", "cluster_deployment is only used with cluster_deployment_ref (it says how to create that ClusterDeployment): set cluster_deployment_ref, or remove cluster_deployment")
		}
		if rc.ClusterDeployment != nil && hasRef {
			cd := rc.ClusterDeployment
			cp := p + ".cluster_deployment"
			v.namespace(cp+".namespace", cd.Namespace)
			if cd.Template != "" {
				v.dnsSubdomain(cp+".template", cd.Template, "ClusterTemplate name")
			}
			v.dnsSubdomain(cp+".credential", cd.Credential, "Credential name")
			v.nodePool(cp+".control_plane", cd.ControlPlane, true)
			v.nodePool(cp+".workers", cd.Workers, false)
			v.templateArch(cp, cd.ControlPlane, cd.Workers, cd.Values)
		}
		if ps := rc.Components.Providers(); ps.IsList() {
			v.providerNames(p+".components.capi_providers", ps.Names)
		}
	}
	v.componentConsistency()
}

func (v *validator) providerNames(path string, names []string) {
	seen := map[string]bool{}
	known := KnownProviders()
	for i, n := range names {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(validation.IsDNS1123Subdomain(n)) > 0 {
			v.errorf(p, "", "%q is not a provider name: names look like %s", n, ProviderAzure)
			continue
		}
		if seen[n] {
			v.errorf(p, "", "provider %q is listed twice: list it once", n)
		}
		seen[n] = true
		if n == "cluster-api" {
			v.errorf(p, "", "cluster-api is the core, always installed with any provider: list infrastructure providers only, e.g. %s", ProviderAzure)
			continue
		}
		if !slices.Contains(known, n) {
			v.warnf(p, "known: "+strings.Join(known, ", "), "%q is not a CAPI provider of k0rdent %s's release%s; it must exist as a ProviderTemplate on the management cluster",
				n, DefaultK0rdentVersion, didYouMean(n, known))
		}
	}
}

// componentConsistency warns when regional clusters install different
// components: regions usually mirror each other, and a region without a
// component a workload expects fails late and far from its cause.
func (v *validator) componentConsistency() {
	clusters := v.c.Software.K0rdent.Regional.Clusters
	if len(clusters) < 2 {
		return
	}
	type field struct {
		key string
		get func(Components) string
	}
	fields := []field{
		{"cert_manager", func(c Components) string { return fmt.Sprint(c.CertManagerEnabled()) }},
		{"velero", func(c Components) string { return fmt.Sprint(c.VeleroEnabled()) }},
		{"capi_providers", func(c Components) string {
			p := c.Providers()
			if p.IsList() {
				n := append([]string(nil), p.Names...)
				slices.Sort(n)
				return "[" + strings.Join(n, ", ") + "]"
			}
			return fmt.Sprint(p.All)
		}},
	}
	for _, f := range fields {
		counts := map[string]int{}
		first := map[string]int{}
		for i, rc := range clusters {
			val := f.get(rc.Components)
			if _, ok := first[val]; !ok {
				first[val] = i
			}
			counts[val]++
		}
		if len(counts) < 2 {
			continue
		}
		// The most common value is the norm (ties: the earliest).
		norm := ""
		for val, n := range counts {
			if norm == "" || n > counts[norm] || n == counts[norm] && first[val] < first[norm] {
				norm = val
			}
		}
		normName := clusters[first[norm]].Name
		for i, rc := range clusters {
			val := f.get(rc.Components)
			if val == norm {
				continue
			}
			others := ""
			switch n := counts[norm] - 1; n {
			case 0:
			case 1:
				others = " and 1 more regional cluster"
			default:
				others = fmt.Sprintf(" and %d more regional clusters", n)
			}
			v.warnf(fmt.Sprintf("software.k0rdent.regional.clusters[%d].components.%s", i, f.key), "",
				"regional clusters install different components: %s is %s here but %s in %s%s; set components.%s the same in every regional cluster unless this region is meant to differ",
				f.key, val, norm, normName, others, f.key)
		}
	}
}

func (v *validator) nodePool(path string, p NodePool, controlPlane bool) {
	if p.Count < 1 {
		v.errorf(path+".count", "", "count must be at least 1")
	} else if controlPlane && p.Count%2 == 0 {
		v.warnf(path+".count", "", "%d control plane nodes tolerate no more failures than %d: use an odd count (1, 3 or 5)", p.Count, p.Count-1)
	}
	v.vmSize(path+".vm_size", p.VMSize)
}

// templateArch checks the VM sizes of a ClusterDeployment against k0rdent's
// Azure template, whose default image and k0s binaries are x64: Arm64 sizes
// need k0s.arch arm64 (and an Arm64 image) in its values.
func (v *validator) templateArch(path string, cp, workers NodePool, values map[string]any) {
	valueArch := ""
	if k0s, ok := values["k0s"].(map[string]any); ok {
		valueArch, _ = k0s["arch"].(string)
	}
	for _, pool := range []struct {
		key string
		p   NodePool
	}{{"control_plane", cp}, {"workers", workers}} {
		arch, ok := vmSizeArchitecture(pool.p.VMSize)
		if ok && arch == ArchitectureArm && valueArch != "arm64" {
			v.errorf(path+"."+pool.key+".vm_size", "", "%q is an Arm64 VM size but k0rdent's Azure template deploys x64 images and k0s: use an x64 size such as %s, or set values k0s.arch: arm64 and an Arm64 image for controlPlane.image and worker.image",
				pool.p.VMSize, armToX64(pool.p.VMSize))
		}
	}
}

// --- KOF ----------------------------------------------------------------------

func (v *validator) kof() {
	k := v.c.KOF
	if !k.Enabled {
		return
	}
	ver, ok := v.semverField("kof.version", k.Version, "KOF", DefaultKOFVersion)
	min15 := semver.MustParse("1.5.0")
	k0rdentVer, err := semver.StrictNewVersion(v.c.Software.K0rdent.Version)
	if ok && err == nil && k.Istio.IsEnabled() && !releaseOf(k0rdentVer).LessThan(min15) && releaseOf(ver).LessThan(min15) {
		v.errorf("kof.version", "", "KOF %s with Istio does not work with k0rdent %s: kof-istio users must move to KOF 1.5.0 together with k0rdent 1.5.0; set kof.version: %q",
			k.Version, v.c.Software.K0rdent.Version, DefaultKOFVersion)
	}
	if k.Istio.IsEnabled() {
		v.namespace("kof.istio.namespace", k.Istio.Namespace)
	}
	v.namespace("kof.mothership.namespace", k.Mothership.Namespace)
	if a := k.Mothership.InstallAttempts; a < 0 || a > 20 {
		v.errorf("kof.mothership.install_attempts", "", "install_attempts %d is out of range: use 1 to 20 (default 6)", a)
	}
	if k.Mothership.RetryDelay < 0 {
		v.errorf("kof.mothership.retry_delay", "", "retry_delay %s is negative: use a duration such as 10s", time.Duration(k.Mothership.RetryDelay))
	}
	r := k.Regional
	v.dnsLabel("kof.regional.name", r.Name, "cluster name")
	v.namespace("kof.regional.namespace", r.Namespace)
	if r.Domain == "" {
		v.errorf("kof.regional.domain", "", "domain is required when KOF is enabled: set the DNS domain of the KOF regional endpoints, e.g. kof.example.com")
	} else if len(validation.IsDNS1123Subdomain(strings.ToLower(r.Domain))) > 0 || !strings.Contains(r.Domain, ".") {
		v.errorf("kof.regional.domain", "", "%q is not a DNS domain: write a domain such as kof.example.com", r.Domain)
	}
	if r.AdminEmail == "" {
		v.errorf("kof.regional.admin_email", "", "admin_email is required when KOF is enabled: set the e-mail address for certificate notices, e.g. admin@example.com")
	} else if a, err := mail.ParseAddress(r.AdminEmail); err != nil || a.Address != r.AdminEmail || !strings.Contains(a.Address[strings.LastIndex(a.Address, "@")+1:], ".") {
		v.errorf("kof.regional.admin_email", "", "%q is not an e-mail address: write a plain address such as admin@example.com", r.AdminEmail)
	}
	if r.Location == "" {
		v.errorf("kof.regional.location", "", "location is required: set the Azure location of the KOF regional cluster, or azure.location")
	} else {
		v.defaultedLocation("kof.regional.location", r.Location)
	}
	if r.Region != "" {
		v.regionRef("kof.regional.region", r.Region, "the KOF regional cluster")
		v.regionNamespace("kof.regional.namespace", r.Region, r.Namespace)
		if ok && releaseOf(ver).LessThan(min15) {
			v.errorf("kof.regional.region", "", "placing the KOF regional cluster in a k0rdent region needs KOF 1.5.0 or newer: set kof.version: %q, or remove region", DefaultKOFVersion)
		}
	}
	if r.Template != "" {
		v.dnsSubdomain("kof.regional.template", r.Template, "ClusterTemplate name")
	}
	v.dnsSubdomain("kof.regional.credential", r.Credential, "Credential name")
	v.nodePool("kof.regional.control_plane", r.ControlPlane, true)
	v.nodePool("kof.regional.workers", r.Workers, false)
	v.templateArch("kof.regional", r.ControlPlane, r.Workers, nil)
}

// regionRef checks that name is a regional cluster that can host Azure
// ClusterDeployments.
func (v *validator) regionRef(path, name, what string) {
	rc, ok := v.c.RegionalCluster(name)
	if !ok {
		var names []string
		for _, r := range v.c.Software.K0rdent.Regional.Clusters {
			names = append(names, r.Name)
		}
		hint := "regional clusters: none"
		if len(names) > 0 {
			hint = "regional clusters: " + strings.Join(names, ", ")
		}
		v.errorf(path, hint, "%q is not a regional cluster%s: set region to a software.k0rdent.regional.clusters[].name, or leave it empty for the management cluster",
			name, didYouMean(name, names))
		return
	}
	if !v.c.RegionalEnabled() {
		v.errorf(path, "", "region %q is set but software.k0rdent.regional.enabled is false: enable regional, or leave region empty", name)
	}
	ps := rc.Components.Providers()
	var missing []string
	for _, p := range AzureProviders() {
		if !ps.Includes(p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		v.errorf(path, "", "region %q cannot run %s: Azure clusters need the CAPI providers %s there; add them to its components.capi_providers (or set it to true)",
			name, what, strings.Join(missing, ", "))
	}
	if !rc.PropagatesCredentials() {
		v.warnf(path, "", "region %q has credential_propagation: false, so k0rdentctl creates no Credential for it; %s needs a Credential with spec.region %q that you create yourself",
			name, what, name)
	}
}

// --- child clusters -------------------------------------------------------------

func (v *validator) children() {
	for i, ch := range v.c.ChildClusters {
		p := fmt.Sprintf("child_clusters[%d]", i)
		v.dnsLabel(p+".name", ch.Name, "cluster name")
		v.namespace(p+".namespace", ch.Namespace)
		if ch.Location == "" {
			v.errorf(p+".location", "", "location is required: set the Azure location of this child cluster, or azure.location")
		} else {
			v.defaultedLocation(p+".location", ch.Location)
		}
		if ch.Template != "" {
			v.dnsSubdomain(p+".template", ch.Template, "ClusterTemplate name")
		}
		v.dnsSubdomain(p+".credential", ch.Credential, "Credential name")
		v.nodePool(p+".control_plane", ch.ControlPlane, true)
		v.nodePool(p+".workers", ch.Workers, false)
		v.templateArch(p, ch.ControlPlane, ch.Workers, ch.Values)
		if ch.KOF && !v.c.KOF.Enabled {
			v.errorf(p+".kof", "", "kof: true labels the cluster for KOF, but kof.enabled is false: enable KOF or remove kof from this child")
		}
		if ch.Region == "" {
			continue
		}
		v.regionRef(p+".region", ch.Region, "child cluster "+fmt.Sprintf("%q", ch.Name))
		v.regionNamespace(p+".namespace", ch.Region, ch.Namespace)
	}
}

// regionNamespace warns about kcm issue 2152 (fixed in 1.6.0): with a
// ClusterDeployment-backed region, k0rdent 1.5 does not copy the regional
// kubeconfig Secret into another namespace, so a ClusterDeployment placed in
// the region from that namespace stays stuck.
func (v *validator) regionNamespace(path, region, namespace string) {
	ver, err := semver.StrictNewVersion(v.c.Software.K0rdent.Version)
	if err != nil || !releaseOf(ver).LessThan(semver.MustParse("1.6.0")) {
		return
	}
	rc, ok := v.c.RegionalCluster(region)
	if !ok || rc.ClusterDeployment == nil || rc.ClusterDeploymentRef == "" || rc.ClusterDeployment.Namespace == namespace {
		return
	}
	v.warnf(path, "", "k0rdent %s does not copy region %q's kubeconfig Secret into namespace %q (kcm issue 2152, fixed in 1.6.0): k0rdentctl copies it there (labelled as its own) when it creates this cluster, and k0rdent's own retries of the cluster wait for that; to do without the copy, put the cluster in namespace %q or use k0rdent 1.6.0 or newer",
		v.c.Software.K0rdent.Version, region, namespace, rc.ClusterDeployment.Namespace)
}

// clusterDeploymentNames checks that no two ClusterDeployments this file
// creates share a namespace and name.
func (v *validator) clusterDeploymentNames() {
	const regionalPrefix = "software.k0rdent.regional.clusters["
	seen := map[string]string{}
	add := func(path, ns, name string) {
		if ns == "" || name == "" {
			return
		}
		key := ns + "/" + name
		other, dup := seen[key]
		switch {
		case !dup:
			seen[key] = path
		case strings.HasPrefix(path, regionalPrefix) && strings.HasPrefix(other, regionalPrefix):
			v.errorf(path, "", "ClusterDeployment %s is already the cluster of %s: a cluster can back only one Region; give this region its own cluster_deployment_ref",
				key, strings.TrimSuffix(strings.TrimPrefix(other, "software.k0rdent.regional."), ".cluster_deployment_ref"))
		default:
			v.errorf(path, "", "ClusterDeployment %s is also %s: give each cluster its own name", key, other)
		}
	}
	for i, rc := range v.c.Software.K0rdent.Regional.Clusters {
		if rc.ClusterDeploymentRef != "" && rc.ClusterDeployment != nil {
			add(fmt.Sprintf("%s%d].cluster_deployment_ref", regionalPrefix, i), rc.ClusterDeployment.Namespace, rc.ClusterDeploymentRef)
		}
	}
	if v.c.KOF.Enabled {
		add("kof.regional.name", v.c.KOF.Regional.Namespace, v.c.KOF.Regional.Name)
	}
	for i, ch := range v.c.ChildClusters {
		add(fmt.Sprintf("child_clusters[%d].name", i), ch.Namespace, ch.Name)
	}
}

// --- timeouts, state ------------------------------------------------------------

func (v *validator) timeouts() {
	t := v.c.Timeouts
	for _, f := range []struct {
		key string
		d   Duration
	}{
		{"azure_resources", t.AzureResources}, {"vpn_connect", t.VPNConnect},
		{"k0s_install", t.K0sInstall}, {"k0rdent_install", t.K0rdentInstall},
		{"regional_cluster", t.RegionalCluster}, {"region_ready", t.RegionReady},
		{"child_cluster", t.ChildCluster}, {"kof_install", t.KOFInstall},
	} {
		p := "timeouts." + f.key
		switch {
		case f.d < 0:
			v.errorf(p, "", "timeout %s is negative: use a positive duration such as 30m", f.d)
		case f.d > 0 && f.d.Std() < time.Second:
			v.errorf(p, "", "timeout %s is too short to wait for anything: use a duration such as 30m", f.d)
		case f.d.Std() > 24*time.Hour:
			v.warnf(p, "", "timeout %s is over a day: a stuck step would go unnoticed that long", f.d)
		}
	}
}

var (
	storageAccountRe = lazyRegexp(`^[a-z0-9]{3,24}$`)
	containerRe      = lazyRegexp(`^[a-z0-9]([a-z0-9-]{1,61})[a-z0-9]$`)
)

func (v *validator) state() {
	s := v.c.State
	switch s.Backend {
	case StateBackendLocal:
		if s.AzureBlob != nil {
			v.errorf("state.azure_blob", "", "azure_blob is only used with backend azure_blob: set state.backend: azure_blob, or remove azure_blob")
		}
	case StateBackendAzureBlob:
		if s.AzureBlob == nil {
			v.errorf("state.azure_blob", "", "backend azure_blob needs the azure_blob section: set storage_account and container")
			return
		}
		b := s.AzureBlob
		if !storageAccountRe().MatchString(b.StorageAccount) {
			if b.StorageAccount == "" {
				v.errorf("state.azure_blob.storage_account", "", "storage_account is required with backend azure_blob")
			} else {
				v.errorf("state.azure_blob.storage_account", "", "%q is not a storage account name: use 3 to 24 lowercase letters and digits", b.StorageAccount)
			}
		}
		if !containerRe().MatchString(b.Container) || strings.Contains(b.Container, "--") {
			if b.Container == "" {
				v.errorf("state.azure_blob.container", "", "container is required with backend azure_blob")
			} else {
				v.errorf("state.azure_blob.container", "", "%q is not a container name: use 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", b.Container)
			}
		}
		if b.ResourceGroup != "" && (!resourceGroupRe().MatchString(b.ResourceGroup) || strings.HasSuffix(b.ResourceGroup, ".")) {
			v.errorf("state.azure_blob.resource_group", "", "%q is not a valid resource group name", b.ResourceGroup)
		}
		if b.Endpoint != "" {
			if u, err := url.Parse(b.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.errorf("state.azure_blob.endpoint", "", "%q is not a blob service URL: write it like https://<account>.blob.core.windows.net/ (or http://127.0.0.1:10000/devstoreaccount1 for Azurite)", b.Endpoint)
			}
		}
	default:
		v.errorf("state.backend", "", "%q is not a state backend: use local or azure_blob%s", s.Backend, didYouMean(s.Backend, []string{StateBackendLocal, StateBackendAzureBlob}))
	}
}

// --- helpers --------------------------------------------------------------------

// didYouMean renders "; did you mean \"x\"?" when a candidate is close to s.
func didYouMean(s string, candidates []string) string {
	if s == "" {
		return ""
	}
	if c := suggest(s, candidates); c != "" && c != s {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ImageArchitecture is the CPU architecture (ArchitectureX64 or
// ArchitectureArm) of azure.image as the configuration states it:
// azure.image_architecture when set, else arm64 when a URN's offer or SKU
// contains "arm64". An invalid reference (refused by validation) counts as
// x64.
func ImageArchitecture(image, override string) string {
	a, err := imageArchitecture(image, override)
	if err != nil {
		return ArchitectureX64
	}
	return a
}
