// Package netns makes Linux network namespaces for tests (with ip(8), as
// root), joins them with veth pairs, and runs Go code inside one: sockets
// and TUN devices opened there belong to it. It exists so that the
// WireGuard configurations k0rdentctl writes are proven by a real
// handshake between two machines' worth of network stacks on one host.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NS is a network namespace made by New.
type NS struct{ Name string }

// New makes a namespace named prefix-<random> with its loopback up. It
// fails, saying why and what is needed, where namespaces cannot be made.
func New(prefix string) (*NS, error) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ns := &NS{Name: prefix + "-" + hex.EncodeToString(b)}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot make network namespace %s (%v: %s): this test needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip command (iproute2); CI runs as root",
			ns.Name, err, strings.TrimSpace(string(out)))
	}
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		_ = ns.Delete()
		return nil, err
	}
	return ns, nil
}

// IP runs ip(8) in the namespace.
func (n *NS) IP(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Delete removes the namespace (and the interfaces in it).
func (n *NS) Delete() error {
	if out, err := exec.Command("ip", "netns", "delete", n.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// Link joins a and b with a veth pair, addressed addrA and addrB (CIDR).
func Link(a, b *NS, addrA, addrB string) error {
	// Each end is named after the namespace it leads to: one namespace
	// may be linked to several.
	ia, ib := "v"+b.Name, "v"+a.Name
	if len(ia) > 15 {
		ia = ia[:15]
	}
	if len(ib) > 15 {
		ib = ib[:15]
	}
	if out, err := exec.Command("ip", "link", "add", ia, "netns", a.Name, "type", "veth", "peer", "name", ib, "netns", b.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("making a veth pair between %s and %s: %v: %s", a.Name, b.Name, err, out)
	}
	for _, s := range []struct {
		ns   *NS
		dev  string
		addr string
	}{{a, ia, addrA}, {b, ib, addrB}} {
		if err := s.ns.IP("addr", "add", s.addr, "dev", s.dev); err != nil {
			return err
		}
		if err := s.ns.IP("link", "set", s.dev, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Do runs f on an OS thread that is inside the namespace: what f opens
// (sockets, TUN devices) belongs to it. The thread is discarded after.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with the goroutine rather than
		// going back to the pool in another namespace.
		fd, err := os.Open("/var/run/netns/" + n.Name)
		if err != nil {
			errc <- err
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering network namespace %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// WireGuardTools is the folder with wg, wg-quick and wireguard-go that
// `make wgtools` fills (.cache/wgtools/bin of the repository), or an error
// that says how to get it.
func WireGuardTools() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, ".cache", "wgtools", "bin")
			for _, p := range []string{"wg", "wg-quick", "wireguard-go"} {
				if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
					return "", fmt.Errorf("%s is missing: run `make wgtools` in %s (it unpacks Debian's wireguard-tools and builds wireguard-go into .cache/wgtools)", filepath.Join(bin, p), dir)
				}
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s: run the tests from the repository", dir)
		}
		dir = parent
	}
}
