package prepare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/cloudinit"
)

func prepared(t *testing.T, vms ...string) (*Material, string) {
	t.Helper()
	cfg := &config.Config{}
	cfg.ApplyDefaults()
	dir := filepath.Join(t.TempDir(), "secrets")
	m, err := Prepare(cfg, t.TempDir(), "k0rdent-ab12cd34", dir, vms)
	if err != nil {
		t.Fatal(err)
	}
	return m, dir
}

func TestKeysAreMadeOnceAndKeptPrivate(t *testing.T) {
	m, dir := prepared(t, "k0s-controller-1", "k0s-worker-1")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1+1+2*2 { // ssh, hub, per VM wg and host key
		t.Errorf("%d files in %s, want 6", len(entries), dir)
	}
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(m.SSH.AuthorizedKey)); err != nil || m.SSH.Signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("SSH key: %v, type %s", err, m.SSH.Signer.PublicKey().Type())
	}
	again, err := Prepare(&config.Config{}, t.TempDir(), "k0rdent-ab12cd34", dir, []string{"k0s-controller-1", "k0s-worker-1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.SSH.AuthorizedKey != m.SSH.AuthorizedKey || again.Hub.Public != m.Hub.Public || again.Nodes[1].WireGuard.Private != m.Nodes[1].WireGuard.Private ||
		again.Nodes[0].HostKey.AuthorizedKey != m.Nodes[0].HostKey.AuthorizedKey {
		t.Error("a second run made new keys instead of reading the ones it made")
	}
	if m.Hub.Public == m.Nodes[0].WireGuard.Public || m.Nodes[0].WireGuard.Public == m.Nodes[1].WireGuard.Public {
		t.Error("WireGuard keys repeat")
	}

	// A key file others can read is refused, naming the fix.
	if err := os.Chmod(WireGuardKeyPath(dir, "k0rdent-ab12cd34", "hub"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(&config.Config{}, t.TempDir(), "k0rdent-ab12cd34", dir, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("err = %v, want the mode refused with chmod 600", err)
	}
}

func TestAddresses(t *testing.T) {
	hub, vms, err := Addresses("192.168.100.0/24", 5)
	if err != nil || hub.String() != "192.168.100.1" || len(vms) != 5 || vms[0].String() != "192.168.100.11" || vms[4].String() != "192.168.100.15" {
		t.Errorf("hub %s, vms %v, err %v", hub, vms, err)
	}
	if _, _, err := Addresses("10.9.0.0/28", 5); err == nil || !strings.Contains(err.Error(), "/27") || !strings.Contains(err.Error(), "network.wireguard_network") {
		t.Errorf("a /28 for 5 VMs: %v, want the field and a /27", err)
	}
	if _, _, err := Addresses("fd00::/64", 1); err == nil {
		t.Error("an IPv6 network was taken")
	}
}

func TestCloudInitGivesEachVMOnlyItsOwnSecrets(t *testing.T) {
	m, _ := prepared(t, "k0s-controller-1", "k0s-worker-1")
	data, err := m.CloudInit("k0s-worker-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#cloud-config\n") {
		t.Fatalf("no #cloud-config header:\n%s", data)
	}
	var cc cloudConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	w := m.Nodes[1]
	if len(cc.WriteFiles) != 1 || cc.WriteFiles[0].Path != "/etc/wireguard/wg0.conf" || cc.WriteFiles[0].Permissions != "0600" {
		t.Fatalf("write_files %+v", cc.WriteFiles)
	}
	conf := cc.WriteFiles[0].Content
	for _, want := range []string{"Address = 192.168.100.12/32", "PrivateKey = " + w.WireGuard.Private, "PublicKey = " + m.Hub.Public, "AllowedIPs = 192.168.100.1/32", "ListenPort = 51820"} {
		if !strings.Contains(conf, want) {
			t.Errorf("wg0.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "Endpoint") {
		t.Error("a VM has an endpoint for the hub: the hub dials in")
	}
	for _, secret := range []string{m.Hub.Private, m.Nodes[0].WireGuard.Private} {
		if strings.Contains(string(data), secret) {
			t.Error("the cloud-init holds another machine's private WireGuard key")
		}
	}
	hk, err := ssh.ParsePrivateKey([]byte(cc.SSHKeys["ed25519_private"]))
	if err != nil || string(hk.PublicKey().Marshal()) != string(w.HostKey.Signer.PublicKey().Marshal()) {
		t.Errorf("host key in cloud-init: %v", err)
	}
	if !cc.SSHDeleteKeys || strings.Join(cc.RunCmd[0], " ") != "systemctl enable --now wg-quick@wg0" || cc.Packages[0] != "wireguard" {
		t.Errorf("cloud-config %+v", cc)
	}
}

func TestOperatorConfig(t *testing.T) {
	m, _ := prepared(t, "k0s-controller-1", "k0s-worker-1")
	conf, err := m.OperatorConfig(map[string]string{"k0s-controller-1": "20.1.2.3", "k0s-worker-1": "20.1.2.4"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Address = 192.168.100.1/32", "PrivateKey = " + m.Hub.Private,
		"PublicKey = " + m.Nodes[0].WireGuard.Public, "AllowedIPs = 192.168.100.11/32", "Endpoint = 20.1.2.3:51820",
		"PublicKey = " + m.Nodes[1].WireGuard.Public, "Endpoint = 20.1.2.4:51820", "PersistentKeepalive = 25"} {
		if !strings.Contains(conf, want) {
			t.Errorf("operator config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "DNS") {
		t.Error("the operator config changes this machine's DNS")
	}
	if _, err := m.OperatorConfig(map[string]string{"k0s-controller-1": "20.1.2.3"}); err == nil || !strings.Contains(err.Error(), "k0s-worker-1") {
		t.Errorf("a VM without an address: %v", err)
	}
	if m.OperatorInterface() != "wgk0ab12cd34" {
		t.Errorf("interface %q", m.OperatorInterface())
	}
}

// Each VM's user data passes the real cloud-init's schema check (Debian's
// cloud-init, `make cloudinit`): a key cloud-init does not know or a value
// of the wrong shape is only a warning on the VM, where cloud-init 23.4 and
// later then report "done" with exit status 2 and ignore the setting. The
// check itself refuses what cloud-init refuses (an empty
// ssh_genkeytypes, as this user data once had).
func TestCloudInitPassesCloudInitsSchema(t *testing.T) {
	m, _ := prepared(t, "k0s-controller-1", "k0s-worker-1")
	dir := t.TempDir()
	for _, n := range m.Nodes {
		data, err := m.CloudInit(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, n.Name+".yaml")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := cloudinit.Schema(t.Context(), f); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("#cloud-config\nssh_genkeytypes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cloudinit.Schema(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "ssh_genkeytypes") {
		t.Errorf("the schema check took an empty ssh_genkeytypes: %v", err)
	}
}
