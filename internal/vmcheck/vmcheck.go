// Package vmcheck waits, over SSH, until each VM of the management cluster
// has finished cloud-init and has WireGuard up with the key k0rdentctl
// generated for it. Host keys are checked against the ones k0rdentctl gave
// the VMs (never trusted on first use).
package vmcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Host is one VM to check.
type Host struct {
	Name string
	// Address is host:port of its SSH server.
	Address string
	// HostKey is the host key it must present.
	HostKey ssh.PublicKey
	// WireGuardKey is the public key its wg0 must have.
	WireGuardKey string
}

// Checker runs the checks.
type Checker struct {
	User   string
	Signer ssh.Signer
	// Timeout bounds the whole wait; 0: 10 minutes.
	Timeout time.Duration
	// Interval between checks of a VM that is not ready; 0: 10s.
	Interval time.Duration
	// DialTimeout bounds one SSH connection; 0: 10s.
	DialTimeout time.Duration
	// Progress receives what each VM lacks as it changes; calls are never
	// concurrent.
	Progress func(string)

	sayMu sync.Mutex
}

// Problem is what one VM lacks.
type Problem struct {
	VM      string `json:"vm"`
	Missing string `json:"missing"`
	// Final: waiting longer would not help.
	Final bool `json:"final"`
}

// NotReadyError lists the VMs that are not ready and why.
type NotReadyError struct {
	Problems []Problem
	Waited   time.Duration
}

func (e *NotReadyError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.VM+": "+p.Missing)
	}
	return fmt.Sprintf("%d VM(s) not ready after %s:\n%s", len(e.Problems), e.Waited.Round(time.Second), strings.Join(lines, "\n"))
}

// WaitReady checks every host at the same time until all are ready, one
// fails in a way waiting does not mend, or the timeout passes. The error
// is a *NotReadyError naming each VM that is not ready and what it lacks.
func (c *Checker) WaitReady(ctx context.Context, hosts []Host) error {
	timeout, every := c.Timeout, c.Interval
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	var probs []Problem
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p := c.waitHost(ctx, h, every); p != nil {
				mu.Lock()
				probs = append(probs, *p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(probs) == 0 {
		return nil
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].VM < probs[j].VM })
	return &NotReadyError{Problems: probs, Waited: time.Since(start)}
}

// deadlinePassed: ctx has ended or its deadline has come (a dial cut by
// that deadline can return before the context says so).
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

func (c *Checker) say(format string, args ...any) {
	if c.Progress != nil {
		c.sayMu.Lock()
		defer c.sayMu.Unlock()
		c.Progress(fmt.Sprintf(format, args...))
	}
}

// waitHost checks h until it is ready (nil) or the context ends or a final
// problem is found.
func (c *Checker) waitHost(ctx context.Context, h Host, every time.Duration) *Problem {
	last := ""
	var prev *Problem
	for {
		p := c.check(ctx, h)
		if p != nil && prev != nil && deadlinePassed(ctx) {
			// The check was cut short by the deadline: what the VM
			// lacked before says more.
			return prev
		}
		prev = p
		if p == nil {
			c.say("%s: cloud-init finished, WireGuard up", h.Name)
			return nil
		}
		if p.Final {
			return p
		}
		if p.Missing != last {
			c.say("%s: %s", h.Name, p.Missing)
			last = p.Missing
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return p
		case <-t.C:
		}
	}
}

// check connects once and runs the checks in order; nil when all pass.
func (c *Checker) check(ctx context.Context, h Host) *Problem {
	if h.HostKey == nil {
		return &Problem{VM: h.Name, Missing: "no host key to check its SSH server against", Final: true}
	}
	dial := c.DialTimeout
	if dial <= 0 {
		dial = 10 * time.Second
	}
	var mismatch error
	cfg := &ssh.ClientConfig{
		User: c.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(c.Signer)}, Timeout: dial,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !bytes.Equal(key.Marshal(), h.HostKey.Marshal()) {
				mismatch = fmt.Errorf("its SSH server at %s presents host key %s, not the one k0rdentctl gave this VM (%s): something else answers at this address; nothing was sent to it",
					h.Address, ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(h.HostKey))
				return mismatch
			}
			return nil
		},
	}
	d := net.Dialer{Timeout: dial}
	conn, err := d.DialContext(ctx, "tcp", h.Address)
	if err != nil {
		return &Problem{VM: h.Name, Missing: fmt.Sprintf("SSH at %s does not answer (%v)", h.Address, err)}
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, h.Address, cfg)
	if err != nil {
		_ = conn.Close()
		if mismatch != nil {
			return &Problem{VM: h.Name, Missing: mismatch.Error(), Final: true}
		}
		return &Problem{VM: h.Name, Missing: fmt.Sprintf("SSH login as %s at %s fails (%v)", c.User, h.Address, err)}
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()

	out, code, err := run(client, "cloud-init status")
	switch {
	case err != nil:
		return &Problem{VM: h.Name, Missing: "cannot run cloud-init status: " + err.Error()}
	case strings.Contains(out, "status: error"):
		return &Problem{VM: h.Name, Missing: "cloud-init failed (see sudo cloud-init status --long and /var/log/cloud-init-output.log on the VM); delete the VM so that deploy creates it again", Final: true}
	case !strings.Contains(out, "status: done") || (code != 0 && code != 2):
		// cloud-init 23.4 and later exit 2 when done with recoverable
		// errors (warnings, deprecated keys): done all the same.
		return &Problem{VM: h.Name, Missing: "cloud-init has not finished (" + firstLine(out) + ")"}
	}
	if out, _, err := run(client, "systemctl is-active wg-quick@wg0"); err != nil || strings.TrimSpace(out) != "active" {
		return &Problem{VM: h.Name, Missing: "WireGuard (wg-quick@wg0) is not active (" + firstLine(out) + ")"}
	}
	out, code, err = run(client, "sudo -n wg show wg0 public-key")
	switch {
	case err != nil || code != 0:
		return &Problem{VM: h.Name, Missing: "cannot read wg0's key with sudo -n wg show (" + firstLine(out) + "): the user needs passwordless sudo",
			Final: strings.Contains(out, "password is required")}
	case strings.TrimSpace(out) != h.WireGuardKey:
		return &Problem{VM: h.Name, Missing: fmt.Sprintf("wg0 has public key %s, not the one k0rdentctl generated for this VM (%s)", strings.TrimSpace(out), h.WireGuardKey), Final: true}
	}
	return nil
}

// run runs cmd and returns its standard output and error together, and its
// exit status; err is for a failure to run it at all.
func run(c *ssh.Client, cmd string) (string, int, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", 0, err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitStatus(), nil
	}
	return string(out), 0, err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "no output"
	}
	return s
}
