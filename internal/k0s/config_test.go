package k0s

import (
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k0sproject/k0sctl/pkg/apis/k0sctl.k0sproject.io/v1beta1"
	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v2"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/prepare"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenMaterial is prepared material with keys derived from the VM names,
// so that the configuration is the same on every run.
func goldenMaterial(t *testing.T, cfg *config.Config, vms []VM) *prepare.Material {
	t.Helper()
	hub, addrs, err := prepare.Addresses(cfg.Network.WireGuardNetwork, len(vms))
	if err != nil {
		t.Fatal(err)
	}
	m := &prepare.Material{DeploymentID: "k0rdent-golden01", User: cfg.SSH.User, HubAddress: hub,
		SSH: &prepare.SSHKey{Path: "/home/operator/state/secrets/k0rdent-golden01-ssh"}}
	for i, vm := range vms {
		seed := sha256.Sum256([]byte(vm.Name))
		signer, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
		if err != nil {
			t.Fatal(err)
		}
		m.Nodes = append(m.Nodes, prepare.Node{Name: vm.Name, Address: addrs[i], HostKey: &prepare.SSHKey{Signer: signer}})
	}
	return m
}

// TestClusterConfigurationPerTemplate: for every template that builds a
// management cluster, the k0sctl configuration is accepted by k0sctl
// (read back through its loader and validated) and equals its golden file
// (go test ./internal/k0s -update rewrites them).
func TestClusterConfigurationPerTemplate(t *testing.T) {
	for _, tm := range config.Templates() {
		cfg, diags, err := config.ParseTemplate(tm.Name)
		if err != nil || diags.HasErrors() {
			t.Fatalf("%s: %v %v", tm.Name, err, diags.Errors())
		}
		if cfg.Management.Mode != config.ModeAzure {
			continue
		}
		t.Run(tm.Name, func(t *testing.T) {
			vms := VMs(cfg)
			c, err := Cluster(cfg, goldenMaterial(t, cfg, vms), vms)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tm.Name+".k0sctl.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/k0s -update to write it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("k0sctl configuration differs from %s:\n%s", golden, got)
			}
			// What k0sctl reads back, through its own loader (yaml.v2,
			// strict: no field k0sctl does not know).
			back := &v1beta1.Cluster{}
			if err := yaml.UnmarshalStrict(got, back); err != nil {
				t.Fatalf("k0sctl cannot read it: %v", err)
			}
			if err := back.Validate(); err != nil {
				t.Fatalf("k0sctl refuses it: %v", err)
			}
			roles := map[string]int{}
			for _, h := range back.Spec.Hosts {
				roles[h.Role]++
				if h.SSH == nil || h.SSH.HostKey == "" || !strings.HasPrefix(h.SSH.Address, "192.168.") || h.SSH.KeyPath == nil {
					t.Errorf("host %+v: want a WireGuard address, the operator's key and a host key", h.SSH)
				}
			}
			c0, w0 := cfg.Cluster.Controllers.Replicas(), cfg.Cluster.Workers.Replicas()
			switch {
			case c0 == 1 && w0 == 0:
				if roles[RoleSingle] != 1 {
					t.Errorf("roles %v, want single", roles)
				}
			case w0 == 0:
				if roles[RoleControllerWorker] != c0 {
					t.Errorf("roles %v", roles)
				}
			default:
				if roles[RoleController] != c0 || roles[RoleWorker] != w0 {
					t.Errorf("roles %v, want %d controllers and %d workers", roles, c0, w0)
				}
			}
		})
	}
}

// A wrong k0s version is named with its field.
func TestClusterConfigurationRefusesABadVersion(t *testing.T) {
	cfg, _, err := config.ParseTemplate("minimal")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Software.K0s.Version = "one-point-thirty"
	vms := VMs(cfg)
	if _, err := Cluster(cfg, goldenMaterial(t, cfg, vms), vms); err == nil || !strings.Contains(err.Error(), "software.k0s.version") {
		t.Fatalf("err = %v", err)
	}
}

// Only hosts with a kubelet register nodes: with workers, the controllers
// (role controller) are no nodes; without, every controller is one.
func TestNodesAreTheHostsWithAKubelet(t *testing.T) {
	for _, tc := range []struct {
		controllers, workers int
		want                 string
	}{
		{1, 2, "k0s-worker-1 k0s-worker-2"},
		{3, 1, "k0s-worker-1"},
		{1, 0, "k0s-controller-1"},
		{3, 0, "k0s-controller-1 k0s-controller-2 k0s-controller-3"},
	} {
		cfg := &config.Config{}
		cfg.Cluster.Controllers.Count, cfg.Cluster.Workers.Count = &tc.controllers, &tc.workers
		if got := strings.Join(Nodes(VMs(cfg)), " "); got != tc.want {
			t.Errorf("%d controllers, %d workers: nodes %q, want %q", tc.controllers, tc.workers, got, tc.want)
		}
	}
}
