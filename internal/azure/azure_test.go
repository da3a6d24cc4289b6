package azure

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

func TestSessionSubscriptionFromConfigThenEnvironment(t *testing.T) {
	env := map[string]string{EnvSubscription: "11111111-2222-3333-4444-555555555555", EnvTenant: "99999999-2222-3333-4444-555555555555"}
	getenv := func(k string) string { return env[k] }
	cfg := &config.Config{}
	s, err := NewSession(cfg, getenv)
	if err != nil || s.Subscription != env[EnvSubscription] || s.Tenant != env[EnvTenant] || s.Credential == nil {
		t.Fatalf("from the environment: %v %+v", err, s)
	}
	cfg.Azure.SubscriptionID = "aaaaaaaa-2222-3333-4444-555555555555"
	if s, err = NewSession(cfg, getenv); err != nil || s.Subscription != cfg.Azure.SubscriptionID {
		t.Fatalf("the configuration comes first: %v %+v", err, s)
	}
	if s.Scope() != "/subscriptions/aaaaaaaa-2222-3333-4444-555555555555" {
		t.Fatalf("scope %q", s.Scope())
	}
	_, err = NewSession(&config.Config{}, func(string) string { return "" })
	if !errors.As(err, &MissingSubscriptionError{}) || !strings.Contains(err.Error(), "azure.subscription_id") || !strings.Contains(err.Error(), EnvSubscription) {
		t.Fatalf("no subscription: %v", err)
	}
	cfg.Azure.SubscriptionID = "my-sub"
	if _, err := NewSession(cfg, getenv); err == nil || !strings.Contains(err.Error(), "not a GUID") {
		t.Fatalf("a subscription name: %v", err)
	}
}

func TestTagsAreStableAndCannotBeOverridden(t *testing.T) {
	created := time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	tags := Tags("k0rdent-abc12345", "dev", "ops@example.com", created, map[string]string{"cost-center": "42", TagDeployment: "other"})
	want := map[string]string{TagDeployment: "k0rdent-abc12345", TagName: "dev", TagOwner: "ops@example.com", TagCreated: "2026-12-03T09:00:00Z",
		TagCreatedBy: CreatedBy, "cost-center": "42"}
	if len(tags) != len(want) {
		t.Fatalf("tags %v", tags)
	}
	for k, v := range want {
		if tags[k] == nil || *tags[k] != v {
			t.Fatalf("tag %s = %v, want %s", k, tags[k], v)
		}
	}
	if f := TagFilter("k0rdent-abc12345"); f != "tagName eq 'k0rdentctl-deployment' and tagValue eq 'k0rdent-abc12345'" {
		t.Fatalf("filter %q", f)
	}
}

func TestNames(t *testing.T) {
	n := NamesFor("k0rdent-abc12345", "")
	if n.ResourceGroup != "k0rdent-abc12345-rg" || n.VNet != "k0rdent-abc12345-vnet" || n.NSG != "k0rdent-abc12345-nsg" {
		t.Fatalf("names %+v", n)
	}
	if NamesFor("k0rdent-abc12345", "shared-rg").ResourceGroup != "shared-rg" {
		t.Fatal("azure.resource_group is not used")
	}
	if r := ForVM(VMName("worker", 2)); r.VM != "k0s-worker-2" || r.NIC != "k0s-worker-2-nic" || r.PublicIP != "k0s-worker-2-ip" {
		t.Fatalf("VM names %+v", r)
	}
}
