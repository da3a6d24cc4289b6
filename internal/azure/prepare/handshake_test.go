package prepare

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/netns"
)

// wgQuick is what a wg-quick file says, as far as the test needs.
type wgQuick struct {
	address string
	uapi    strings.Builder
	routes  []string
}

// parseWGQuick turns a wg-quick file into wireguard-go's UAPI settings,
// the address and the routes wg-quick would add.
func parseWGQuick(t *testing.T, conf string) *wgQuick {
	t.Helper()
	q := &wgQuick{}
	key := func(b64 string) string {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			t.Fatalf("bad key %q", b64)
		}
		return hex.EncodeToString(raw)
	}
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || line == "[Interface]" || line == "[Peer]" {
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			t.Fatalf("not a wg-quick line: %q", line)
		}
		switch k {
		case "Address":
			q.address = v
		case "PrivateKey":
			fmt.Fprintf(&q.uapi, "private_key=%s\n", key(v))
		case "ListenPort":
			fmt.Fprintf(&q.uapi, "listen_port=%s\n", v)
		case "PublicKey":
			fmt.Fprintf(&q.uapi, "public_key=%s\n", key(v))
		case "AllowedIPs":
			fmt.Fprintf(&q.uapi, "allowed_ip=%s\n", v)
			q.routes = append(q.routes, v)
		case "Endpoint":
			fmt.Fprintf(&q.uapi, "endpoint=%s\n", v)
		case "PersistentKeepalive":
			fmt.Fprintf(&q.uapi, "persistent_keepalive_interval=%s\n", v)
		default:
			t.Fatalf("wg-quick key %q is not understood by this test", k)
		}
	}
	return q
}

// nsBind opens WireGuard's UDP sockets inside the namespace whichever
// goroutine asks: wireguard-go brings the device up again from its own
// goroutines when the link changes state.
type nsBind struct {
	conn.Bind
	ns *netns.NS
}

func (b nsBind) Open(port uint16) (fns []conn.ReceiveFunc, actual uint16, err error) {
	err = b.ns.Do(func() error {
		var e error
		fns, actual, e = b.Bind.Open(port)
		return e
	})
	return fns, actual, err
}

// upWireGuard runs a userspace WireGuard interface wg0 in ns configured
// from a wg-quick file, as wg-quick up would.
func upWireGuard(t *testing.T, ns *netns.NS, conf string) *device.Device {
	t.Helper()
	q := parseWGQuick(t, conf)
	var dev *device.Device
	err := ns.Do(func() error {
		td, err := tun.CreateTUN("wg0", 1420)
		if err != nil {
			return fmt.Errorf("creating a TUN device (needs /dev/net/tun): %w", err)
		}
		dev = device.NewDevice(td, nsBind{Bind: conn.NewDefaultBind(), ns: ns}, device.NewLogger(device.LogLevelSilent, ""))
		if err := dev.IpcSet(q.uapi.String()); err != nil {
			dev.Close()
			return fmt.Errorf("configuring wg0: %w", err)
		}
		return dev.Up()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	for _, args := range [][]string{{"addr", "add", q.address, "dev", "wg0"}, {"link", "set", "wg0", "up"}} {
		if err := ns.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range q.routes {
		if err := ns.IP("route", "replace", r, "dev", "wg0"); err != nil {
			t.Fatal(err)
		}
	}
	return dev
}

// TestGeneratedWireGuardConfigurationsHandshake: the operator's
// configuration and a VM's wg0.conf, as k0rdentctl writes them, bring up a
// real WireGuard tunnel between two network namespaces joined by a veth
// pair (the VM's "public address"): a TCP connection from the operator's
// side reaches the VM's WireGuard address, and both sides record a
// handshake.
func TestGeneratedWireGuardConfigurationsHandshake(t *testing.T) {
	m, _ := prepared(t, "k0s-controller-1", "k0s-worker-1")
	hub, err := netns.New("k0hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Delete() })
	vm, err := netns.New("k0vm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vm.Delete() })
	if err := netns.Link(hub, vm, "10.200.0.1/24", "10.200.0.2/24"); err != nil {
		t.Fatal(err)
	}
	// Only controller-1 is reachable; worker-1's peer has an endpoint
	// nobody answers at.
	op, err := m.OperatorConfig(map[string]string{"k0s-controller-1": "10.200.0.2", "k0s-worker-1": "10.200.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	node := &m.Nodes[0]
	// The VM first, as on Azure: it listens; the operator's side dials.
	vmDev := upWireGuard(t, vm, m.VMConfig(node))
	hubDev := upWireGuard(t, hub, op)

	var ln net.Listener
	if err := vm.Do(func() (err error) {
		ln, err = net.Listen("tcp", node.Address.String()+":7070")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	var got string
	err = hub.Do(func() error {
		c, err := net.DialTimeout("tcp", node.Address.String()+":7070", 20*time.Second)
		if err != nil {
			return fmt.Errorf("reaching %s over WireGuard: %w", node.Address, err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write([]byte("k0rdentctl\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		got = line
		return err
	})
	if err != nil || got != "k0rdentctl\n" {
		t.Fatalf("through the tunnel: %q, %v", got, err)
	}
	for name, d := range map[string]*device.Device{"operator": hubDev, "VM": vmDev} {
		state, err := d.IpcGet()
		if err != nil {
			t.Fatal(err)
		}
		handshakes := 0
		for _, line := range strings.Split(state, "\n") {
			if v, ok := strings.CutPrefix(line, "last_handshake_time_sec="); ok && v != "0" {
				handshakes++
			}
		}
		if handshakes != 1 {
			t.Errorf("%s side: %d peers with a handshake, want 1 (controller-1):\n%s", name, handshakes, state)
		}
	}
}
