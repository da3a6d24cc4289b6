// Package sshvm is an SSH server on loopback that answers as a freshly
// created management-cluster VM would: the commands k0rdentctl runs to
// check that cloud-init has finished and that WireGuard is up (and
// hostname, which the k0sctl stand-in asks) get the answers a Debian VM
// gives, from a state the test changes (cloud-init
// still running, failed, done; wg-quick inactive or active; the interface's
// public key). It is a real SSH server (golang.org/x/crypto/ssh): host key,
// public-key authentication of one user, exec requests with exit status.
package sshvm

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// State is what the VM answers from.
type State struct {
	// CloudInit is "running", "done" or "error" (cloud-init status), or
	// "degraded": done with recoverable errors (a schema warning, a
	// deprecated key), which cloud-init 23.4 and later (Ubuntu 24.04's)
	// report as "status: done" with exit status 2.
	CloudInit string
	// WireGuardActive: wg-quick@wg0 is active.
	WireGuardActive bool
	// WireGuardKey is wg0's public key ("" when there is no wg0).
	WireGuardKey string
	// SudoNeedsPassword: sudo -n refuses (the user has no passwordless sudo).
	SudoNeedsPassword bool
	// Hostname is what hostname answers ("" answers localhost).
	Hostname string
}

// VM is a running server.
type VM struct {
	ln      net.Listener
	cfg     *ssh.ServerConfig
	hostKey ssh.PublicKey

	mu       sync.Mutex
	state    State
	commands []string
	// onCommand runs after each command (a test advances the state).
	onCommand func(cmd string, s *State)
	wg        sync.WaitGroup
}

// Options configure a VM.
type Options struct {
	HostKey ssh.Signer
	User    string
	// Authorized is the one key the user logs in with.
	Authorized ssh.PublicKey
	State      State
	// OnCommand, when set, is called after each command with the state to
	// change (e.g. cloud-init finishing after a few checks).
	OnCommand func(cmd string, s *State)
	// Listen is host:port to listen on; "": 127.0.0.1 at a free port.
	Listen string
}

// Start listens on o.Listen (127.0.0.1 at a free port by default).
func Start(o Options) (*VM, error) {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == o.User && string(key.Marshal()) == string(o.Authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key for %s", c.User())
		},
	}
	cfg.AddHostKey(o.HostKey)
	addr := o.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	vm := &VM{ln: ln, cfg: cfg, hostKey: o.HostKey.PublicKey(), state: o.State, onCommand: o.OnCommand}
	vm.wg.Add(1)
	go vm.serve()
	return vm, nil
}

// Addr is host:port.
func (v *VM) Addr() string { return v.ln.Addr().String() }

// Close stops the server.
func (v *VM) Close() {
	_ = v.ln.Close()
	v.wg.Wait()
}

// Set changes the state.
func (v *VM) Set(f func(*State)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(&v.state)
}

// Commands are the commands run so far.
func (v *VM) Commands() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.commands...)
}

func (v *VM) serve() {
	defer v.wg.Done()
	for {
		c, err := v.ln.Accept()
		if err != nil {
			return
		}
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.handle(c)
		}()
	}
}

func (v *VM) handle(c net.Conn) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, v.cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go v.session(ch, creqs)
	}
}

func (v *VM) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		out, errOut, code := v.run(p.Command)
		_, _ = ch.Write([]byte(out))
		_, _ = ch.Stderr().Write([]byte(errOut))
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, uint32(code))
		_, _ = ch.SendRequest("exit-status", false, status)
		return
	}
}

// run answers one command as Debian 12 with cloud-init and wireguard-tools
// does.
func (v *VM) run(cmd string) (stdout, stderr string, code int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.commands = append(v.commands, cmd)
	defer func() {
		if v.onCommand != nil {
			v.onCommand(cmd, &v.state)
		}
	}()
	s := v.state
	sudo := strings.HasPrefix(cmd, "sudo -n ")
	if sudo && s.SudoNeedsPassword {
		return "", "sudo: a password is required\n", 1
	}
	cmd = strings.TrimPrefix(cmd, "sudo -n ")
	switch cmd {
	case "hostname":
		if s.Hostname == "" {
			return "localhost\n", "", 0
		}
		return s.Hostname + "\n", "", 0
	case "cloud-init status":
		if s.CloudInit == "degraded" {
			return "status: done\n", "", 2
		}
		return "status: " + s.CloudInit + "\n", "", map[string]int{"done": 0, "running": 0, "error": 1}[s.CloudInit]
	case "systemctl is-active wg-quick@wg0":
		if s.WireGuardActive {
			return "active\n", "", 0
		}
		return "inactive\n", "", 3
	case "wg show wg0 public-key":
		if !sudo {
			return "", "Unable to access interface: Operation not permitted\n", 1
		}
		if !s.WireGuardActive || s.WireGuardKey == "" {
			return "", "Unable to access interface: No such device\n", 1
		}
		return s.WireGuardKey + "\n", "", 0
	}
	return "", "bash: " + strings.Fields(cmd + " x")[0] + ": command not found\n", 127
}
