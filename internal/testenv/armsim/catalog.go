package armsim

import (
	"strings"
)

// Catalog is what a subscription is offered: VM sizes per location (with
// zones and restrictions), vCPU quota, Marketplace images and resource
// providers.
type Catalog struct {
	// Locations by name (lower case, as ARM names them: "westeurope").
	Locations map[string]*Location
	Images    []Image
	// Providers by namespace: true when registered.
	Providers map[string]bool
}

// Location is what one Azure location offers.
type Location struct {
	SKUs []SKU
	// Quota is the vCPU limit by usage name: a SKU family
	// ("standardDSv5Family"), "cores" (all regular vCPUs of the location)
	// and "lowPriorityCores" (Spot vCPUs).
	Quota map[string]int
}

// SKU is one VM size as ResourceSKUs lists it.
type SKU struct {
	Name   string // Standard_D4s_v5
	Family string // standardDSv5Family
	VCPUs  int
	// Arch is "x64" or "Arm64" (the CpuArchitectureType capability).
	Arch string
	// Zones are the zones it is offered in.
	Zones []string
	// RestrictedZones are zones where the subscription may not use it
	// (a Zone restriction, reason NotAvailableForSubscription).
	RestrictedZones []string
	// Restricted is a Location restriction: not usable in the location.
	Restricted bool
	// NoSpot: not LowPriorityCapable.
	NoSpot bool
	// NoPremiumIO: its disks cannot be Premium SSD (PremiumIO False, as
	// the A-series v2 and sizes without "s" in their name).
	NoPremiumIO bool
}

// Image is one Marketplace image (publisher:offer:sku) and its versions.
type Image struct {
	Publisher, Offer, SKU string
	Versions              []string
	// Arch is "x64" or "Arm64".
	Arch string
}

// URN is the image's publisher:offer:sku.
func (i Image) URN() string { return i.Publisher + ":" + i.Offer + ":" + i.SKU }

// DefaultQuota is the vCPU limit of each family in DefaultCatalog.
const DefaultQuota = 100

// DefaultCatalog offers, in the locations k0rdentctl's templates and
// examples use, the sizes they name (and a few more) in zones 1-3 without
// restrictions, each family with DefaultQuota vCPUs, 350 regular and 100
// Spot vCPUs in all; Ubuntu 24.04 and Debian 12 images for x64 and Arm64;
// and every resource provider registered.
func DefaultCatalog() *Catalog {
	zones := []string{"1", "2", "3"}
	skus := []SKU{
		{Name: "Standard_A4_v2", Family: "standardAv2Family", VCPUs: 4, Arch: "x64", NoPremiumIO: true},
		{Name: "Standard_B2s", Family: "standardBSFamily", VCPUs: 2, Arch: "x64"},
		{Name: "Standard_B2pls_v2", Family: "standardBplsv2Family", VCPUs: 2, Arch: "Arm64"},
		{Name: "Standard_D2s_v5", Family: "standardDSv5Family", VCPUs: 2, Arch: "x64"},
		{Name: "Standard_D4s_v5", Family: "standardDSv5Family", VCPUs: 4, Arch: "x64"},
		{Name: "Standard_D8s_v5", Family: "standardDSv5Family", VCPUs: 8, Arch: "x64"},
		{Name: "Standard_D2ps_v5", Family: "standardDPSv5Family", VCPUs: 2, Arch: "Arm64"},
		{Name: "Standard_D4ps_v5", Family: "standardDPSv5Family", VCPUs: 4, Arch: "Arm64"},
		{Name: "Standard_E8pds_v6", Family: "standardEPDSv6Family", VCPUs: 8, Arch: "Arm64"},
	}
	c := &Catalog{Locations: map[string]*Location{}, Providers: map[string]bool{}}
	for _, loc := range []string{"eastus", "eastus2", "centralus", "westus2", "westus3", "westeurope",
		"northeurope", "swedencentral", "uksouth", "southeastasia"} {
		l := &Location{Quota: map[string]int{"cores": 350, "lowPriorityCores": 100}}
		for _, s := range skus {
			s.Zones = zones
			l.SKUs = append(l.SKUs, s)
			l.Quota[s.Family] = DefaultQuota
		}
		c.Locations[loc] = l
	}
	versions := []string{"24.04.202509090", "24.04.202510010"}
	debian := []string{"0.20250814.2196", "0.20251001.2250"}
	c.Images = []Image{
		{Publisher: "Canonical", Offer: "ubuntu-24_04-lts", SKU: "server", Versions: versions, Arch: "x64"},
		{Publisher: "Canonical", Offer: "ubuntu-24_04-lts", SKU: "server-arm64", Versions: versions, Arch: "Arm64"},
		{Publisher: "Debian", Offer: "debian-12", SKU: "12-gen2", Versions: debian, Arch: "x64"},
		{Publisher: "Debian", Offer: "debian-12", SKU: "12-arm64", Versions: debian, Arch: "Arm64"},
	}
	for _, p := range []string{"Microsoft.Compute", "Microsoft.Network", "Microsoft.Storage",
		"Microsoft.ContainerService", "Microsoft.ManagedIdentity", "Microsoft.Authorization"} {
		c.Providers[p] = true
	}
	return c
}

func (c *Catalog) clone() Catalog {
	out := Catalog{Locations: map[string]*Location{}, Providers: map[string]bool{}}
	for name, l := range c.Locations {
		nl := &Location{Quota: map[string]int{}}
		for k, v := range l.Quota {
			nl.Quota[k] = v
		}
		for _, s := range l.SKUs {
			s.Zones = append([]string(nil), s.Zones...)
			s.RestrictedZones = append([]string(nil), s.RestrictedZones...)
			nl.SKUs = append(nl.SKUs, s)
		}
		out.Locations[strings.ToLower(name)] = nl
	}
	for _, i := range c.Images {
		i.Versions = append([]string(nil), i.Versions...)
		out.Images = append(out.Images, i)
	}
	for k, v := range c.Providers {
		out.Providers[k] = v
	}
	return out
}

// location is the offer of a location, or nil; s.mu held.
func (s *Sim) location(name string) *Location {
	return s.catalog.Locations[strings.ToLower(strings.ReplaceAll(name, " ", ""))]
}

// sku is a size offered in a location, or nil; s.mu held.
func (s *Sim) sku(location, size string) *SKU {
	l := s.location(location)
	if l == nil {
		return nil
	}
	for i := range l.SKUs {
		if strings.EqualFold(l.SKUs[i].Name, size) {
			return &l.SKUs[i]
		}
	}
	return nil
}

// image finds a Marketplace image; s.mu held.
func (s *Sim) image(publisher, offer, sku string) *Image {
	for i := range s.catalog.Images {
		im := &s.catalog.Images[i]
		if strings.EqualFold(im.Publisher, publisher) && strings.EqualFold(im.Offer, offer) && strings.EqualFold(im.SKU, sku) {
			return im
		}
	}
	return nil
}

// SetQuota sets the vCPU limit of a usage ("standardDSv5Family", "cores",
// "lowPriorityCores") in a location.
func (s *Sim) SetQuota(location, usage string, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.location(location); l != nil {
		l.Quota[usage] = limit
	}
}

// RestrictZone makes a size unusable by this subscription in a zone of a
// location, as a Zone restriction in ResourceSKUs says.
func (s *Sim) RestrictZone(location, size, zone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.sku(location, size); k != nil {
		k.RestrictedZones = append(k.RestrictedZones, zone)
	}
}

// SetProviderRegistered registers or unregisters a resource provider.
func (s *Sim) SetProviderRegistered(namespace string, registered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalog.Providers[namespace] = registered
}

// usage is the vCPUs used in a location by family, with "cores" and
// "lowPriorityCores"; s.mu held.
func (s *Sim) usage(location string) map[string]int {
	used := map[string]int{}
	for _, e := range s.res {
		if !strings.EqualFold(e.typ, typeVM) || !strings.EqualFold(e.location, location) {
			continue
		}
		vm := decodeVM(e)
		k := s.sku(location, vmSize(vm))
		if k == nil {
			continue
		}
		if isSpot(vm) {
			used["lowPriorityCores"] += k.VCPUs
			continue
		}
		used[k.Family] += k.VCPUs
		used["cores"] += k.VCPUs
	}
	return used
}
