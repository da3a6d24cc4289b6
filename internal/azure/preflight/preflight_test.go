package preflight_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/preflight"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
)

// template is a configuration template with defaults applied.
func template(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, diags, err := config.ParseTemplate(name)
	if err != nil || diags.HasErrors() {
		t.Fatalf("template %s: %v %v", name, err, diags)
	}
	return cfg
}

func run(t *testing.T, sim *armsim.Sim, in preflight.Input) []preflight.Problem {
	t.Helper()
	c, err := preflight.NewClients(in.Subscription, armsim.Credential(), sim.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = preflight.Check(context.Background(), c, in)
	var pe *preflight.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return pe.Problems
	default:
		t.Fatalf("preflight could not ask Azure: %v", err)
		return nil
	}
}

// Every check reads: preflight never creates, changes or deletes.
func assertReadOnly(t *testing.T, sim *armsim.Sim) {
	t.Helper()
	if m := sim.Mutations(); len(m) > 0 {
		t.Fatalf("preflight changed something: %+v", m)
	}
	if r := sim.Resources(); len(r) > 0 {
		t.Fatalf("preflight created %+v", r)
	}
}

func find(probs []preflight.Problem, field string) *preflight.Problem {
	for i := range probs {
		if probs[i].Field == field {
			return &probs[i]
		}
	}
	return nil
}

func TestTemplatesPassOnAnOrdinarySubscription(t *testing.T) {
	for _, name := range []string{"production", "production-spot", "small", "minimal", "large", "development", "single-node"} {
		t.Run(name, func(t *testing.T) {
			sim := armsim.New(armsim.Options{})
			cfg := template(t, name)
			if probs := run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID())); len(probs) > 0 {
				t.Fatalf("template %s refused: %v", name, probs)
			}
			assertReadOnly(t, sim)
		})
	}
}

func TestZoneRestrictionNamesWhatWorks(t *testing.T) {
	sim := armsim.New(armsim.Options{})
	cfg := template(t, "production")
	sim.RestrictZone(cfg.Azure.Location, cfg.VMSizing.Controller, "3")
	probs := run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID()))
	p := find(probs, "cluster.controllers.zones")
	if p == nil || p.Value != "3" {
		t.Fatalf("no problem for zone 3 of the controllers: %v", probs)
	}
	if !strings.Contains(p.Fix, "1, 2") || !strings.Contains(p.Fix, "Standard_") {
		t.Fatalf("the fix does not name the zones and sizes that work: %q", p.Fix)
	}
	assertReadOnly(t, sim)
}

func TestQuotaShortAndExistingVMsCounted(t *testing.T) {
	sim := armsim.New(armsim.Options{})
	cfg := template(t, "production") // 6 × Standard_D4s_v5 = 24 vCPUs of standardDSv5Family
	sim.SetQuota(cfg.Azure.Location, "standardDSv5Family", 20)
	in := preflight.FromConfig(cfg, sim.SubscriptionID())
	probs := run(t, sim, in)
	p := find(probs, "vm_sizing.controller")
	if p == nil || !strings.Contains(p.Message, "24 vCPUs") || !strings.Contains(p.Message, "standardDSv5Family") || !strings.Contains(p.Message, "20 of 20") {
		t.Fatalf("quota problem: %v", probs)
	}
	// A resumed deploy with 2 VMs already there needs 16 more: it fits.
	in.Groups[0].Existing = 2
	if probs := run(t, sim, in); len(probs) > 0 {
		t.Fatalf("with 2 VMs existing: %v", probs)
	}
	// Spot counts against lowPriorityCores, not the family.
	spot := template(t, "production-spot")
	sim.SetQuota(spot.Azure.Location, "lowPriorityCores", 8)
	probs = run(t, sim, preflight.FromConfig(spot, sim.SubscriptionID()))
	if p := find(probs, "vm_sizing.controller"); p == nil || !strings.Contains(p.Message, "lowPriorityCores") {
		t.Fatalf("spot quota: %v", probs)
	}
	assertReadOnly(t, sim)
}

func TestArchitectureImageAndSizeProblemsAllAtOnce(t *testing.T) {
	sim := armsim.New(armsim.Options{})
	cfg := template(t, "small")
	cfg.VMSizing.Worker = "Standard_D4ps_v5" // Arm64 with the x64 default image
	cfg.VMSizing.Controller = "Standard_Z99s_v9"
	probs := run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID()))
	if p := find(probs, "vm_sizing.worker"); p == nil || !strings.Contains(p.Message, "Arm64") || !strings.Contains(p.Fix, "Standard_") {
		t.Fatalf("arch problem: %v", probs)
	}
	if p := find(probs, "vm_sizing.controller"); p == nil || !strings.Contains(p.Message, "not offered") || !strings.Contains(p.Fix, "Standard_") {
		t.Fatalf("unknown size: %v", probs)
	}

	cfg = template(t, "small")
	cfg.Azure.Image = "Canonical:ubuntu-99_04-lts:server:latest"
	probs = run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID()))
	if p := find(probs, "azure.image"); p == nil || !strings.Contains(p.Fix, config.DefaultImage) {
		t.Fatalf("missing image: %v", probs)
	}
	// An Arm64 image the configuration calls x64.
	cfg.Azure.Image, cfg.Azure.ImageArchitecture = "Debian:debian-12:12-arm64:latest", config.ArchitectureX64
	probs = run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID()))
	if p := find(probs, "azure.image"); p == nil || !strings.Contains(p.Message, "Arm64") {
		t.Fatalf("image architecture: %v", probs)
	}
	assertReadOnly(t, sim)
}

func TestSubscriptionAndProviders(t *testing.T) {
	sim := armsim.New(armsim.Options{})
	cfg := template(t, "small")
	probs := run(t, sim, preflight.FromConfig(cfg, "11111111-2222-3333-4444-555555555555"))
	if len(probs) != 1 || probs[0].Field != "azure.subscription_id" || !strings.Contains(probs[0].Message, "SubscriptionNotFound") {
		t.Fatalf("unreachable subscription: %v", probs)
	}
	sim.SetProviderRegistered("Microsoft.Network", false)
	probs = run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID()))
	if p := find(probs, "azure.subscription_id"); p == nil || !strings.Contains(p.Fix, "az provider register --namespace Microsoft.Network") {
		t.Fatalf("unregistered provider: %v", probs)
	}
	assertReadOnly(t, sim)
}

// Faults on a fifth of the calls: the SDK's retries absorb them.
func TestPreflightUnderFaults(t *testing.T) {
	sim := armsim.New(armsim.Options{FaultRate: 0.2, Seed: 3})
	cfg := template(t, "production")
	if probs := run(t, sim, preflight.FromConfig(cfg, sim.SubscriptionID())); len(probs) > 0 {
		t.Fatalf("with faults: %v", probs)
	}
}
