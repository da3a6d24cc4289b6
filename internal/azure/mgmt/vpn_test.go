package mgmt

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/sshvm"
)

type printfProgress struct{ t *testing.T }

func (p printfProgress) Printf(format string, args ...any) { p.t.Logf(format, args...) }

// sshRuleThere reports whether the simulation holds the security group's
// public SSH rule.
func (w *world) sshRuleThere() bool {
	for _, r := range w.sim.Resources() {
		if strings.HasSuffix(r.ID, "/securityRules/"+infra.RuleSSH) {
			return true
		}
	}
	return false
}

// vpn lockdown closes public SSH only once every VM answers over
// WireGuard: refused while one does not (rule kept); then the rule is
// deleted and the lockdown recorded, a second lockdown changes nothing, a
// network phase run again does not put the rule back, and --undo does.
func TestLockdownOnlyOverAWorkingVPN(t *testing.T) {
	w := newWorld(t, "small")
	ctx := context.Background()
	if _, err := w.run(t); err != nil {
		t.Fatal(err)
	}
	if !w.sshRuleThere() {
		t.Fatal("the network phase made no public SSH rule")
	}
	m, err := w.env.material()
	if err != nil {
		t.Fatal(err)
	}
	// No SSH server behind one VM's WireGuard address: refused.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	addrs := map[string]string{}
	for i, n := range m.Nodes {
		addrs[n.Address.String()] = deadAddr
		if i == 0 {
			vm, err := sshvm.Start(sshvm.Options{HostKey: n.HostKey.Signer, User: m.User, Authorized: m.SSH.Signer.PublicKey()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(vm.Close)
			addrs[n.Address.String()] = vm.Addr()
		}
	}
	w.env.SSHAddress = func(wg string) string { return addrs[wg] }
	say := func(s string) { t.Log(s) }
	_, err = w.env.Lockdown(ctx, say, true)
	var refused *LockdownRefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), m.Nodes[1].Name) {
		t.Fatalf("lockdown with %s unreachable: %v, want a refusal naming it", m.Nodes[1].Name, err)
	}
	if !w.sshRuleThere() || w.sess.Snapshot().Management.Azure.SSHLockedDown {
		t.Fatal("a refused lockdown removed the rule or recorded a lockdown")
	}

	for _, n := range m.Nodes[1:] {
		vm, err := sshvm.Start(sshvm.Options{HostKey: n.HostKey.Signer, User: m.User, Authorized: m.SSH.Signer.PublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(vm.Close)
		addrs[n.Address.String()] = vm.Addr()
	}
	if changed, err := w.env.Lockdown(ctx, say, true); err != nil || !changed {
		t.Fatalf("lockdown over a working VPN: changed %v, %v", changed, err)
	}
	if w.sshRuleThere() || !w.sess.Snapshot().Management.Azure.SSHLockedDown {
		t.Fatal("after lockdown the rule is still there or the lockdown is not recorded")
	}
	if changed, err := w.env.Lockdown(ctx, say, true); err != nil || changed {
		t.Fatalf("second lockdown: changed %v, %v; want nothing changed", changed, err)
	}
	if err := (&networkPhase{w.env}).Run(ctx, printfProgress{t}); err != nil {
		t.Fatal(err)
	}
	if w.sshRuleThere() {
		t.Fatal("the network phase put public SSH back after a lockdown")
	}
	if changed, err := w.env.Lockdown(ctx, say, false); err != nil || !changed {
		t.Fatalf("undo: changed %v, %v", changed, err)
	}
	if !w.sshRuleThere() || w.sess.Snapshot().Management.Azure.SSHLockedDown {
		t.Fatal("undo did not put the rule back or left the lockdown recorded")
	}
}
