// Package preflight checks, before anything is created, that an Azure
// subscription can hold the management cluster the configuration asks for:
// the subscription answers with the identity in use and has the resource
// providers registered; each VM size is offered in the location and in the
// configured zones (ResourceSKUs, restrictions included) and, for Spot, can
// run as Spot; the vCPU quota of each size family (and of the location, and
// of Spot) has room for the planned VMs; the image exists and its
// architecture matches the sizes'. Every problem names the configuration
// field, its value and what would work, and all of them are reported at
// once.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Providers are the resource providers the management cluster and
// k0rdent's Azure child clusters use.
var Providers = []string{"Microsoft.Compute", "Microsoft.Network"}

// Clients are the ARM clients preflight reads with; it writes nothing.
type Clients struct {
	Providers *armresources.ProvidersClient
	SKUs      *armcompute.ResourceSKUsClient
	Usage     *armcompute.UsageClient
	Images    *armcompute.VirtualMachineImagesClient
}

// NewClients makes the clients for a subscription.
func NewClients(subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Clients, error) {
	c := &Clients{}
	var err error
	if c.Providers, err = armresources.NewProvidersClient(subscription, cred, opts); err != nil {
		return nil, err
	}
	if c.SKUs, err = armcompute.NewResourceSKUsClient(subscription, cred, opts); err != nil {
		return nil, err
	}
	if c.Usage, err = armcompute.NewUsageClient(subscription, cred, opts); err != nil {
		return nil, err
	}
	if c.Images, err = armcompute.NewVirtualMachineImagesClient(subscription, cred, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// Group is a set of identical VMs the deployment needs.
type Group struct {
	Role      string // "controller" or "worker"
	SizeField string // vm_sizing.controller
	Size      string
	ZoneField string // cluster.controllers.zones
	Zones     []string
	Count     int
	// Existing is how many of them already exist (a resumed deploy): their
	// vCPUs are in the usage already.
	Existing int
}

// Input is what preflight checks.
type Input struct {
	Subscription string
	Location     string
	Spot         bool
	// Image is a Marketplace URN publisher:offer:sku:version or an image
	// resource id (not checked beyond its architecture from config).
	Image string
	// Arch is the image's architecture from the configuration: "x64" or
	// "arm64".
	Arch   string
	Groups []Group
}

// FromConfig is the input for a configuration with defaults applied.
func FromConfig(cfg *config.Config, subscription string) Input {
	in := Input{Subscription: subscription, Location: cfg.Azure.Location, Spot: cfg.Azure.Priority == config.PrioritySpot,
		Image: cfg.Azure.Image, Arch: config.ImageArchitecture(cfg.Azure.Image, cfg.Azure.ImageArchitecture)}
	zones := func(z []int) []string {
		var out []string
		for _, n := range z {
			out = append(out, strconv.Itoa(n))
		}
		return out
	}
	in.Groups = []Group{
		{Role: "controller", SizeField: "vm_sizing.controller", Size: cfg.VMSizing.Controller,
			ZoneField: "cluster.controllers.zones", Zones: zones(cfg.Cluster.Controllers.Zones), Count: cfg.Cluster.Controllers.Replicas()},
		{Role: "worker", SizeField: "vm_sizing.worker", Size: cfg.VMSizing.Worker,
			ZoneField: "cluster.workers.zones", Zones: zones(cfg.Cluster.Workers.Zones), Count: cfg.Cluster.Workers.Replicas()},
	}
	return in
}

// Problem is one reason the deployment would fail.
type Problem struct {
	Field   string `json:"field"`
	Value   string `json:"value"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %q: %s; %s", p.Field, p.Value, p.Message, p.Fix)
}

// Error is every problem found.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return fmt.Sprintf("the Azure subscription cannot hold this management cluster (%d problem(s)):\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// Check runs every check and returns an *Error listing the problems, or an
// error when Azure could not be asked. The three independent lines of
// reads (the resource providers; the sizes, then the quota they need; the
// image) run at once: preflight costs the longest of them, two calls.
func Check(ctx context.Context, c *Clients, in Input) error {
	var (
		wg                 sync.WaitGroup
		reachable          bool
		provProbs          []Problem
		sizeProbs          []Problem
		quotaProbs         []Problem
		imageProbs         []Problem
		provErr, sizeErr   error
		quotaErr, imageErr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		reachable, provProbs, provErr = checkProviders(ctx, c, in)
	}()
	go func() {
		defer wg.Done()
		skus, err := listSKUs(ctx, c, in.Location)
		if err != nil {
			sizeErr = err
			return
		}
		sizeProbs = checkSizes(in, skus)
		quotaProbs, quotaErr = checkQuota(ctx, c, in, skus)
	}()
	go func() {
		defer wg.Done()
		imageProbs, imageErr = checkImage(ctx, c, in)
	}()
	wg.Wait()
	// The providers' answer comes first: when the subscription does not
	// answer, the other reads failed for the same reason.
	if provErr != nil {
		return provErr
	}
	if !reachable {
		return &Error{Problems: provProbs}
	}
	if err := errors.Join(sizeErr, quotaErr, imageErr); err != nil {
		return err
	}
	probs := append(append(append(provProbs, sizeProbs...), quotaProbs...), imageProbs...)
	if len(probs) > 0 {
		return &Error{Problems: probs}
	}
	return nil
}

func azureCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// checkProviders is the first call: it proves the subscription answers.
func checkProviders(ctx context.Context, c *Clients, in Input) (bool, []Problem, error) {
	var probs []Problem
	for _, ns := range Providers {
		p, err := c.Providers.Get(ctx, ns, nil)
		if status, code := azureCode(err); err != nil && status != 0 {
			if status == http.StatusNotFound || status == http.StatusForbidden || status == http.StatusUnauthorized || code == "SubscriptionNotFound" {
				return false, []Problem{{Field: "azure.subscription_id", Value: in.Subscription,
					Message: fmt.Sprintf("the subscription does not answer with this identity (%s)", code),
					Fix:     "check the subscription id (az account list -o table) and that the identity in use has a role on it (Contributor to deploy)"}}, nil
			}
			return false, nil, fmt.Errorf("asking Azure about resource provider %s: %w", ns, err)
		} else if err != nil {
			return false, nil, fmt.Errorf("asking Azure about resource provider %s: %w", ns, err)
		}
		if st := deref(p.RegistrationState); st != "Registered" {
			probs = append(probs, Problem{Field: "azure.subscription_id", Value: in.Subscription,
				Message: fmt.Sprintf("resource provider %s is %s in this subscription", ns, st),
				Fix:     fmt.Sprintf("register it once: az provider register --namespace %s --wait", ns)})
		}
	}
	return true, probs, nil
}

// sku is what preflight uses of a ResourceSKU.
type sku struct {
	name, family, arch string
	vcpus              int
	zones, restricted  map[string]bool
	locationRestricted bool
	spot               bool
}

func listSKUs(ctx context.Context, c *Clients, location string) (map[string]*sku, error) {
	out := map[string]*sku{}
	pager := c.SKUs.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: ptr(fmt.Sprintf("location eq '%s'", location))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the VM sizes of %s: %w", location, err)
		}
		for _, r := range page.Value {
			if deref(r.ResourceType) != "virtualMachines" {
				continue
			}
			k := &sku{name: deref(r.Name), family: deref(r.Family), zones: map[string]bool{}, restricted: map[string]bool{}, spot: true}
			for _, li := range r.LocationInfo {
				if strings.EqualFold(deref(li.Location), location) {
					for _, z := range li.Zones {
						k.zones[deref(z)] = true
					}
				}
			}
			for _, cap := range r.Capabilities {
				switch deref(cap.Name) {
				case "vCPUs":
					k.vcpus, _ = strconv.Atoi(deref(cap.Value))
				case "CpuArchitectureType":
					k.arch = deref(cap.Value)
				case "LowPriorityCapable":
					k.spot = strings.EqualFold(deref(cap.Value), "true")
				}
			}
			for _, rs := range r.Restrictions {
				if rs.Type == nil {
					continue
				}
				switch *rs.Type {
				case armcompute.ResourceSKURestrictionsTypeLocation:
					k.locationRestricted = true
				case armcompute.ResourceSKURestrictionsTypeZone:
					if rs.RestrictionInfo != nil {
						for _, z := range rs.RestrictionInfo.Zones {
							k.restricted[deref(z)] = true
						}
					}
				}
			}
			out[strings.ToLower(k.name)] = k
		}
	}
	return out, nil
}

func (k *sku) usable() bool { return !k.locationRestricted }

func (k *sku) inZone(z string) bool { return k.zones[z] && !k.restricted[z] }

func (k *sku) usableZones() []string {
	var out []string
	for z := range k.zones {
		if !k.restricted[z] {
			out = append(out, z)
		}
	}
	sort.Strings(out)
	return out
}

// alternatives are up to five usable sizes with the same architecture and
// as many vCPUs or more, in every zone given, smallest first.
func alternatives(skus map[string]*sku, like *sku, arch string, zones []string, spot bool) string {
	var cands []*sku
	for _, k := range skus {
		if !k.usable() || (spot && !k.spot) || (arch != "" && !strings.EqualFold(k.arch, arch)) {
			continue
		}
		if like != nil && k.vcpus < like.vcpus {
			continue
		}
		ok := true
		for _, z := range zones {
			ok = ok && k.inZone(z)
		}
		if ok {
			cands = append(cands, k)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].vcpus != cands[j].vcpus {
			return cands[i].vcpus < cands[j].vcpus
		}
		return cands[i].name < cands[j].name
	})
	var names []string
	for i, k := range cands {
		if i == 5 {
			break
		}
		names = append(names, k.name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// wantArch is the SKU architecture name for a configuration one.
func wantArch(arch string) string {
	if arch == config.ArchitectureArm {
		return "Arm64"
	}
	return "x64"
}

func checkSizes(in Input, skus map[string]*sku) []Problem {
	var probs []Problem
	for _, g := range in.Groups {
		if g.Count == 0 {
			continue
		}
		k := skus[strings.ToLower(g.Size)]
		switch {
		case k == nil:
			probs = append(probs, Problem{Field: g.SizeField, Value: g.Size,
				Message: fmt.Sprintf("this size is not offered in %s", in.Location),
				Fix:     "sizes offered there with the same architecture: " + alternatives(skus, nil, wantArch(in.Arch), g.Zones, in.Spot)})
			continue
		case !k.usable():
			probs = append(probs, Problem{Field: g.SizeField, Value: g.Size,
				Message: fmt.Sprintf("this subscription may not use this size in %s (restriction NotAvailableForSubscription)", in.Location),
				Fix:     "use another size, e.g. " + alternatives(skus, k, k.arch, g.Zones, in.Spot) + ", or ask Azure support to lift the restriction"})
			continue
		}
		for _, z := range g.Zones {
			if !k.inZone(z) {
				probs = append(probs, Problem{Field: g.ZoneField, Value: z,
					Message: fmt.Sprintf("%s is not available to this subscription in zone %s of %s", g.Size, z, in.Location),
					Fix: fmt.Sprintf("zones where %s is available: %s; or keep zone %s with a size offered there: %s",
						g.Size, orNone(k.usableZones()), z, alternatives(skus, k, k.arch, []string{z}, in.Spot))})
			}
		}
		if in.Spot && !k.spot {
			probs = append(probs, Problem{Field: g.SizeField, Value: g.Size,
				Message: "this size cannot run as Spot (LowPriorityCapable is false)",
				Fix:     "use priority Regular, or a Spot-capable size: " + alternatives(skus, k, k.arch, g.Zones, true)})
		}
		if a := wantArch(in.Arch); !strings.EqualFold(k.arch, a) {
			probs = append(probs, Problem{Field: g.SizeField, Value: g.Size,
				Message: fmt.Sprintf("this size is %s but the image %s is %s", k.arch, in.Image, a),
				Fix:     fmt.Sprintf("use a %s size (%s) or an image for %s (azure.image)", a, alternatives(skus, k, a, g.Zones, in.Spot), k.arch)})
		}
	}
	return probs
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// checkQuota compares the vCPUs the new VMs need, by usage (the size
// family and the location's total, or Spot's), with what is free.
func checkQuota(ctx context.Context, c *Clients, in Input, skus map[string]*sku) ([]Problem, error) {
	need := map[string]int{}
	fields := map[string][]Group{}
	for _, g := range in.Groups {
		k := skus[strings.ToLower(g.Size)]
		n := g.Count - g.Existing
		if k == nil || n <= 0 {
			continue
		}
		names := []string{k.family, "cores"}
		if in.Spot {
			names = []string{"lowPriorityCores"}
		}
		for _, u := range names {
			need[u] += n * k.vcpus
			fields[u] = append(fields[u], g)
		}
	}
	if len(need) == 0 {
		return nil, nil
	}
	type usage struct{ current, limit int64 }
	have := map[string]usage{}
	pager := c.Usage.NewListPager(in.Location, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the vCPU quota of %s: %w", in.Location, err)
		}
		for _, u := range page.Value {
			if u.Name == nil {
				continue
			}
			have[strings.ToLower(deref(u.Name.Value))] = usage{int64(derefInt32(u.CurrentValue)), derefInt64(u.Limit)}
		}
	}
	var names []string
	for u := range need {
		names = append(names, u)
	}
	sort.Strings(names)
	var probs []Problem
	for _, u := range names {
		h, ok := have[strings.ToLower(u)]
		free := h.limit - h.current
		if ok && int64(need[u]) <= free {
			continue
		}
		g := fields[u][0]
		var who []string
		for _, f := range fields[u] {
			who = append(who, fmt.Sprintf("%d × %s", f.Count-f.Existing, f.Size))
		}
		probs = append(probs, Problem{Field: g.SizeField, Value: g.Size,
			Message: fmt.Sprintf("the new VMs (%s) need %d vCPUs of quota %s in %s, and %d of %d are free",
				strings.Join(who, " + "), need[u], u, in.Location, max(free, 0), h.limit),
			Fix: fmt.Sprintf("request more %s quota in %s (Azure portal: Quotas, Compute), use fewer or smaller VMs, or a size of another family", u, in.Location)})
	}
	return probs, nil
}

// checkImage checks that a Marketplace image exists in the location (the
// newest version for "latest") and that its architecture is what the
// configuration says.
func checkImage(ctx context.Context, c *Clients, in Input) ([]Problem, error) {
	if strings.HasPrefix(in.Image, "/subscriptions/") {
		return nil, nil // a custom image: its architecture comes from azure.image_architecture
	}
	parts := strings.Split(in.Image, ":")
	if len(parts) != 4 {
		return []Problem{{Field: "azure.image", Value: in.Image, Message: "not a Marketplace URN",
			Fix: "use publisher:offer:sku:version, e.g. " + config.DefaultImage}}, nil
	}
	notFound := Problem{Field: "azure.image", Value: in.Image,
		Message: fmt.Sprintf("this image is not offered in %s", in.Location),
		Fix:     fmt.Sprintf("check it with: az vm image list --location %s --publisher %s --offer %s --sku %s --all; default images: %s (x64), %s (arm64)", in.Location, parts[0], parts[1], parts[2], config.DefaultImage, config.DefaultArmImage)}
	version := parts[3]
	if strings.EqualFold(version, "latest") {
		list, err := c.Images.List(ctx, in.Location, parts[0], parts[1], parts[2], nil)
		if status, _ := azureCode(err); status == http.StatusNotFound {
			return []Problem{notFound}, nil
		} else if err != nil {
			return nil, fmt.Errorf("listing the versions of image %s: %w", in.Image, err)
		}
		if len(list.VirtualMachineImageResourceArray) == 0 {
			return []Problem{notFound}, nil
		}
		version = newest(list.VirtualMachineImageResourceArray)
	}
	img, err := c.Images.Get(ctx, in.Location, parts[0], parts[1], parts[2], version, nil)
	if status, _ := azureCode(err); status == http.StatusNotFound {
		return []Problem{notFound}, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", in.Image, err)
	}
	if img.Properties == nil || img.Properties.Architecture == nil {
		return nil, nil
	}
	if got, want := string(*img.Properties.Architecture), wantArch(in.Arch); !strings.EqualFold(got, want) {
		return []Problem{{Field: "azure.image", Value: in.Image,
			Message: fmt.Sprintf("this image is %s, where the configuration expects %s", got, want),
			Fix:     "set azure.image_architecture to match the image, or use " + map[bool]string{true: config.DefaultArmImage, false: config.DefaultImage}[want == "Arm64"]}}, nil
	}
	return nil, nil
}

// newest is the highest version in a list of image versions (numeric
// dotted versions compared part by part).
func newest(list []*armcompute.VirtualMachineImageResource) string {
	best := ""
	for _, v := range list {
		if n := deref(v.Name); best == "" || versionLess(best, n) {
			best = n
		}
	}
	return best
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea != nil || eb != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}

func ptr[T any](v T) *T { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
