package vmcheck

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/sshvm"
)

func signer(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fleet struct {
	user  ssh.Signer
	vms   map[string]*sshvm.VM
	hosts []Host
}

// newFleet starts one SSH server per state, each with its own host key,
// and returns the hosts as k0rdentctl knows them.
func newFleet(t *testing.T, states map[string]sshvm.State, advance func(vm, cmd string, s *sshvm.State)) *fleet {
	t.Helper()
	f := &fleet{user: signer(t), vms: map[string]*sshvm.VM{}}
	for name, st := range states {
		hk := signer(t)
		vm, err := sshvm.Start(sshvm.Options{HostKey: hk, User: "k0rdent", Authorized: f.user.PublicKey(), State: st,
			OnCommand: func(cmd string, s *sshvm.State) {
				if advance != nil {
					advance(name, cmd, s)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(vm.Close)
		f.vms[name] = vm
		f.hosts = append(f.hosts, Host{Name: name, Address: vm.Addr(), HostKey: hk.PublicKey(), WireGuardKey: "key-of-" + name})
	}
	return f
}

func (f *fleet) checker(timeout time.Duration) *Checker {
	return &Checker{User: "k0rdent", Signer: f.user, Timeout: timeout, Interval: 5 * time.Millisecond}
}

func TestWaitsUntilCloudInitAndWireGuardAreDone(t *testing.T) {
	// Each VM finishes cloud-init after 3 checks and starts WireGuard after
	// 2 more, as a VM booting does; worker-1's cloud-init ends with a
	// warning (exit status 2, as cloud-init 23.4 and later report it),
	// which is done all the same.
	var mu sync.Mutex
	checks := map[string]int{}
	f := newFleet(t, map[string]sshvm.State{
		"k0s-controller-1": {CloudInit: "running"},
		"k0s-worker-1":     {CloudInit: "running"},
	}, func(vm, cmd string, s *sshvm.State) {
		if cmd != "cloud-init status" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		checks[vm]++
		switch checks[vm] {
		case 3:
			s.CloudInit = "done"
			if vm == "k0s-worker-1" {
				s.CloudInit = "degraded" // done with a warning: exit 2
			}
		case 5:
			s.WireGuardActive, s.WireGuardKey = true, "key-of-"+vm
		}
	})
	var said []string
	c := f.checker(time.Minute)
	c.Progress = func(s string) { said = append(said, s) }
	if err := c.WaitReady(context.Background(), f.hosts); err != nil {
		t.Fatal(err)
	}
	for name, vm := range f.vms {
		cmds := strings.Join(vm.Commands(), "\n")
		if !strings.HasSuffix(cmds, "sudo -n wg show wg0 public-key") || !strings.Contains(cmds, "systemctl is-active wg-quick@wg0") {
			t.Errorf("%s ran:\n%s", name, cmds)
		}
	}
	joined := strings.Join(said, "\n")
	for _, want := range []string{"k0s-worker-1: cloud-init has not finished", "WireGuard (wg-quick@wg0) is not active", "k0s-controller-1: cloud-init finished, WireGuard up"} {
		if !strings.Contains(joined, want) {
			t.Errorf("progress lacks %q:\n%s", want, joined)
		}
	}
}

func TestNamesEachVMAndWhatItLacks(t *testing.T) {
	f := newFleet(t, map[string]sshvm.State{
		"k0s-controller-1": {CloudInit: "done", WireGuardActive: true, WireGuardKey: "key-of-k0s-controller-1"},
		"k0s-worker-1":     {CloudInit: "done"},                                                   // WireGuard never starts
		"k0s-worker-2":     {CloudInit: "error"},                                                  // final
		"k0s-worker-3":     {CloudInit: "done", WireGuardActive: true, WireGuardKey: "other-key"}, // final
	}, nil)
	// Long enough for a loaded machine to finish the first SSH handshakes.
	err := f.checker(2*time.Second).WaitReady(context.Background(), f.hosts)
	var nr *NotReadyError
	if !errors.As(err, &nr) || len(nr.Problems) != 3 {
		t.Fatalf("err = %v, want 3 VMs not ready", err)
	}
	want := map[string]string{
		"k0s-worker-1": "WireGuard (wg-quick@wg0) is not active",
		"k0s-worker-2": "cloud-init failed",
		"k0s-worker-3": "not the one k0rdentctl generated",
	}
	for _, p := range nr.Problems {
		if !strings.Contains(p.Missing, want[p.VM]) {
			t.Errorf("%s: %q, want %q", p.VM, p.Missing, want[p.VM])
		}
	}
	if !nr.Problems[1].Final || !nr.Problems[2].Final || nr.Problems[0].Final {
		t.Errorf("final flags: %+v", nr.Problems)
	}
}

func TestFinalProblemsStopTheWait(t *testing.T) {
	f := newFleet(t, map[string]sshvm.State{"k0s-worker-2": {CloudInit: "error"}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An hour of timeout: only a final answer can end this.
	err := f.checker(time.Hour).WaitReady(ctx, f.hosts)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !nr.Problems[0].Final || len(f.vms["k0s-worker-2"].Commands()) != 1 {
		t.Fatalf("err = %v, commands %v: want one check, then the cloud-init failure", err, f.vms["k0s-worker-2"].Commands())
	}
}

func TestAWrongHostKeyIsRefusedBeforeAnythingIsSent(t *testing.T) {
	f := newFleet(t, map[string]sshvm.State{"k0s-controller-1": {CloudInit: "done"}}, nil)
	f.hosts[0].HostKey = signer(t).PublicKey() // not the server's
	err := f.checker(time.Hour).WaitReady(context.Background(), f.hosts)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !strings.Contains(nr.Problems[0].Missing, "host key") || !nr.Problems[0].Final {
		t.Fatalf("err = %v, want a final host-key refusal", err)
	}
	if n := len(f.vms["k0s-controller-1"].Commands()); n != 0 {
		t.Errorf("%d commands reached a server with the wrong host key", n)
	}
}

func TestSudoWithAPasswordIsNamed(t *testing.T) {
	f := newFleet(t, map[string]sshvm.State{"k0s-controller-1": {CloudInit: "done", WireGuardActive: true, WireGuardKey: "key-of-k0s-controller-1", SudoNeedsPassword: true}}, nil)
	err := f.checker(time.Hour).WaitReady(context.Background(), f.hosts)
	if err == nil || !strings.Contains(err.Error(), "passwordless sudo") {
		t.Fatalf("err = %v", err)
	}
}
