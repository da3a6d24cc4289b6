//go:build live

// Package live runs k0rdentctl against a real Azure subscription. It is
// built only with -tags live and never by CI:
//
//	export AZURE_SUBSCRIPTION_ID=...   # the subscription to use
//	export K0RDENTCTL_LIVE_LOCATION=westeurope
//	export K0RDENTCTL_LIVE_CONFIRM=yes # it creates (and deletes) things
//	az login                           # or AZURE_CLIENT_ID/SECRET/TENANT_ID
//	go test -tags live -count=1 -v -timeout 90m ./test/live/
//
// What it does and costs: TestLivePreflight only reads (SKUs, usage,
// images; free). TestLiveServicePrincipal creates an application, its
// service principal, a password and a Contributor role assignment on the
// subscription, then deletes them (free; your identity needs to be allowed
// to create applications and assign roles). TestLiveDeployMinimal deploys
// the minimal template (two Standard_A4_v2 VMs, two static public IPs, two
// 64 GiB Standard SSD disks) with k0s and k0rdent, checks the nodes
// through the VPN, then resets: about 30 to 45 minutes of those resources,
// well under one US dollar at list prices; it runs as root with
// wireguard-tools and k0sctl on the PATH.
package live

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
)

func env(t *testing.T) (sub, location string) {
	t.Helper()
	sub, location = os.Getenv("AZURE_SUBSCRIPTION_ID"), os.Getenv("K0RDENTCTL_LIVE_LOCATION")
	if sub == "" || location == "" || os.Getenv("K0RDENTCTL_LIVE_CONFIRM") != "yes" {
		t.Fatal("the live suite needs AZURE_SUBSCRIPTION_ID, K0RDENTCTL_LIVE_LOCATION and K0RDENTCTL_LIVE_CONFIRM=yes (see the package comment)")
	}
	return sub, location
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), args, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, cli.BuildInfo{Version: "live"})
	t.Logf("k0rdentctl %s → exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// minimalConfig writes the minimal template into dir for the subscription
// and location, and returns its path.
func minimalConfig(t *testing.T, dir, sub, location string) string {
	t.Helper()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	if _, _, code := run(t, "config", "init", "--template", "minimal", "-c", cfg); code != 0 {
		t.Fatal("config init")
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("azure:\n"), []byte("azure:\n  subscription_id: "+sub+"\n"), 1)
	data = bytes.Replace(data, []byte("location: eastus"), []byte("location: "+location), 1)
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The minimal template passes the online checks in the given location
// (or names what would work there).
func TestLivePreflight(t *testing.T) {
	sub, location := env(t)
	cfg := minimalConfig(t, t.TempDir(), sub, location)
	out, errOut, code := run(t, "config", "validate", "--online", "-c", cfg)
	if code == 1 {
		t.Fatalf("Azure could not be asked: %s", errOut)
	}
	if code == 0 && !strings.Contains(out, "the Azure subscription can hold it") {
		t.Errorf("validate --online passed without saying so: %s", out)
	}
}

// A service principal made, then cleaned up with nothing left.
func TestLiveServicePrincipal(t *testing.T) {
	sub, location := env(t)
	kubeconfig := os.Getenv("K0RDENTCTL_LIVE_KUBECONFIG")
	if kubeconfig == "" {
		t.Fatal("TestLiveServicePrincipal needs K0RDENTCTL_LIVE_KUBECONFIG: a cluster with k0rdent 1.5 installed, where the Credential is made")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	content := "metadata: {name: live-principal}\nmanagement: {mode: existing, kubeconfig: " + kubeconfig + "}\n" +
		"azure: {location: " + location + ", subscription_id: " + sub + "}\n" +
		"software: {k0rdent: {version: \"1.5.0\", credential: {create_principal: true}}}\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := run(t, "credentials", "setup", "-c", cfg, "--timeout", "10m"); code != 0 {
		t.Fatal("credentials setup --create-principal")
	}
	if _, _, code := run(t, "credentials", "cleanup", "-y", "--force", "-c", cfg); code != 0 {
		t.Fatal("credentials cleanup")
	}
}
