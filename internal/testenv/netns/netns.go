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
	ia, ib := "v"+a.Name, "v"+b.Name
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
