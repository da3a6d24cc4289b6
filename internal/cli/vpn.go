package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newVPNCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vpn",
		Short: "This machine's WireGuard VPN to the management cluster's VMs (management.mode azure)",
		Long: `With management.mode azure the management cluster's VMs are reached over
WireGuard: this machine is a peer of every VM, with the configuration deploy
wrote to the state folder (secrets/, 0600). These commands manage that side:

  vpn config     write the wg-quick file again from the record (--show prints it)
  vpn up         bring the interface up with wg-quick, then reach every VM over it
  vpn down       take the interface down
  vpn status     each VM's latest WireGuard handshake and whether its SSH answers
  vpn lockdown   close public SSH in the security group once the VPN works

wg-quick and wg come with wireguard-tools and need root. When k0rdentctl cannot
run them (not root, not installed) it prints the exact command to run instead.`,
	}
	cmd.AddCommand(newVPNConfigCommand(o), newVPNUpCommand(o), newVPNDownCommand(o),
		newVPNStatusCommand(o), newVPNLockdownCommand(o))
	return cmd
}

// vpnEnv is the deployment's Azure management environment for the vpn
// commands: with the record open for writing (closeFn releases it) when
// write, else the record as read; with Azure access when azure.
func (o *Options) vpnEnv(ctx context.Context, write, azure bool) (e *mgmt.Env, closeFn func(), err error) {
	closeFn = func() {}
	cfg, _, err := o.loadConfig()
	if err != nil {
		return nil, closeFn, err
	}
	if cfg.ExistingManagement() {
		return nil, closeFn, usageError(errors.New("management.mode is existing: k0rdentctl made no VPN for this management cluster (only management.mode azure has one)"))
	}
	store, err := o.store()
	if err != nil {
		return nil, closeFn, err
	}
	files, err := o.files()
	if err != nil {
		return nil, closeFn, err
	}
	id, err := o.currentID(ctx, store, cfg)
	if err != nil {
		return nil, closeFn, noRecordError(o, err)
	}
	e = &mgmt.Env{Config: cfg, BaseDir: filepath.Dir(o.ConfigPath), SecretsDir: files.SecretsDir(), Now: o.Now}
	if write {
		sess, err := state.Open(ctx, store, id)
		if err != nil {
			return nil, closeFn, err
		}
		e.Session, closeFn = sess, func() { _ = sess.Close() }
	} else if e.Record, err = store.Load(ctx, id); err != nil {
		return nil, closeFn, err
	}
	if azure {
		access, err := o.azureAccess(cfg)
		if err != nil {
			closeFn()
			return nil, func() {}, usageError(err)
		}
		e.Azure = access.Session
	}
	return e, closeFn, nil
}

// withVPN runs f with the vpn commands' environment (see vpnEnv), then
// releases the record.
func (o *Options) withVPN(ctx context.Context, write, azure bool, f func(*mgmt.Env) error) error {
	e, closeFn, err := o.vpnEnv(ctx, write, azure)
	if err != nil {
		return err
	}
	defer closeFn()
	return f(e)
}

type vpnConfigOptions struct {
	*Options
	Show bool
}

func newVPNConfigCommand(o *Options) *cobra.Command {
	vo := &vpnConfigOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write this machine's wg-quick file again (0600) from the keys and the VMs' addresses",
		Long: `Write the wg-quick file of this machine's side of the VPN again: its
WireGuard address and private key, and one peer per VM at the VM's public
address. deploy writes it too; run this after a VM's public address changed or
when the file was removed. The file name is the interface's (wgk0...).

--show prints the file, private key included: only when you ask for it.`,
		Example: `  k0rdentctl vpn config
  k0rdentctl vpn config --show > /etc/wireguard/wgk0ab12cd34.conf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return vo.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&vo.Show, "show", false, "print the file (it holds this machine's WireGuard private key)")
	return cmd
}

func (o *vpnConfigOptions) run(ctx context.Context) error {
	return o.withVPN(ctx, true, false, func(e *mgmt.Env) error { return o.write(ctx, e) })
}

func (o *vpnConfigOptions) write(ctx context.Context, e *mgmt.Env) error {
	path, err := e.VPNConfig(ctx)
	if err != nil {
		return err
	}
	if o.Show {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = o.IO.Out.Write(data)
		return err
	}
	res := map[string]string{"config": path}
	return o.emit(res, func(w io.Writer, st ui.Style) {
		fmt.Fprintf(w, "%s WireGuard configuration in %s (0600)\nBring it up with: k0rdentctl vpn up (or sudo wg-quick up %s)\n", st.Green(ui.MarkDone), path, path)
	})
}

func newVPNUpCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Bring the VPN up with wg-quick and wait until every VM's SSH answers over it",
		Long: `Bring this machine's WireGuard interface up with wg-quick (as root, where
wireguard-tools is installed) and wait (timeouts.vpn_connect) until every VM's SSH
server answers on its WireGuard address. When they already answer, nothing is
done. When k0rdentctl cannot run wg-quick, it prints the command to run and exits 1.`,
		Example: `  sudo k0rdentctl vpn up
  k0rdentctl vpn up     # not root: prints "sudo wg-quick up <file>"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withVPN(cmd.Context(), false, false, func(e *mgmt.Env) error {
				if err := e.VPNUp(cmd.Context(), o.progressFunc()); err != nil {
					return err
				}
				return o.emit(map[string]bool{"up": true}, func(w io.Writer, st ui.Style) {
					fmt.Fprintf(w, "%s the VPN is up: every VM answers over WireGuard\n", st.Green(ui.MarkDone))
				})
			})
		},
	}
}

func newVPNDownCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Take the VPN down with wg-quick",
		Long: `Take this machine's WireGuard interface down with wg-quick (as root, where
wireguard-tools is installed); when it is not up, nothing is done. When
k0rdentctl cannot run wg-quick, it prints the command to run and exits 1.
The VMs and their side of the VPN are not touched.`,
		Example: `  sudo k0rdentctl vpn down`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withVPN(cmd.Context(), false, false, func(e *mgmt.Env) error {
				was, err := e.VPNDown(cmd.Context(), o.progressFunc())
				if err != nil {
					return err
				}
				return o.emit(map[string]bool{"was_up": was}, func(w io.Writer, st ui.Style) {
					if !was {
						fmt.Fprintln(w, "The VPN is not up on this machine: nothing to do")
						return
					}
					fmt.Fprintf(w, "%s the VPN is down\n", st.Green(ui.MarkDone))
				})
			})
		},
	}
}

func newVPNStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each VM's latest WireGuard handshake and whether its SSH answers over the VPN",
		Long: `Show this machine's side of the VPN: whether its interface is up, and for each
VM its WireGuard address, endpoint, latest handshake and traffic (from wg show,
which needs root), and whether its SSH server answers over WireGuard. Also
whether public SSH is still open in the security group (vpn lockdown closes it).
It changes nothing.`,
		Example: `  sudo k0rdentctl vpn status
  k0rdentctl vpn status -o json | jq '.peers[] | select(.reachable | not)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withVPN(cmd.Context(), false, false, func(e *mgmt.Env) error {
				st, err := e.VPNStatus(cmd.Context())
				if err != nil {
					return err
				}
				return o.emit(st, func(w io.Writer, sty ui.Style) { renderVPNStatus(w, sty, st, o.now()) })
			})
		},
	}
}

func renderVPNStatus(w io.Writer, st ui.Style, s *mgmt.VPNStatus, now time.Time) {
	up := st.Red("down")
	if s.Up {
		up = st.Green("up")
	}
	fmt.Fprintf(w, "Interface %s: %s (%s)\n", s.Interface, up, s.Config)
	if s.PublicSSH {
		fmt.Fprintln(w, "Public SSH: open in the security group (close it with k0rdentctl vpn lockdown)")
	} else {
		fmt.Fprintln(w, "Public SSH: closed (vpn lockdown); the VMs are reached over WireGuard only")
	}
	if s.HandshakesUnknown != "" {
		fmt.Fprintf(w, "Handshakes unknown: %s\n", s.HandshakesUnknown)
	}
	t := &ui.Table{}
	t.Row("VM", "WIREGUARD", "ENDPOINT", "HANDSHAKE", "RECEIVED", "SENT", "SSH")
	for _, p := range s.Peers {
		hs := "never"
		if p.LatestHandshake != nil {
			hs = now.Sub(*p.LatestHandshake).Round(time.Second).String() + " ago"
		} else if s.HandshakesUnknown != "" {
			hs = "unknown"
		}
		ssh := st.Green(ui.MarkDone + " answers")
		if !p.Reachable {
			ssh = st.Red(ui.MarkFailed+" ") + p.Problem
		}
		t.Row(p.VM, p.WireGuardIP, p.Endpoint, hs, fmt.Sprint(p.ReceivedBytes), fmt.Sprint(p.SentBytes), ssh)
	}
	_ = t.Write(w)
}

type vpnLockdownOptions struct {
	*Options
	Undo bool
}

func newVPNLockdownCommand(o *Options) *cobra.Command {
	lo := &vpnLockdownOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "lockdown",
		Short: "Close public SSH in the security group once every VM answers over WireGuard",
		Long: `Delete the security group's rule that admits SSH (TCP 22) from anywhere, so
that the VMs are reached over WireGuard only. Refused while a VM's SSH does not
answer over WireGuard (there would be no way in). Recorded: later deploy runs
keep it closed. Asks first; -y answers.

--undo puts the rule back (for example to reach a VM whose WireGuard broke).`,
		Example: `  k0rdentctl vpn lockdown -y
  k0rdentctl vpn lockdown --undo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return lo.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&lo.Undo, "undo", false, "open public SSH again")
	return cmd
}

func (o *vpnLockdownOptions) run(ctx context.Context) error {
	return o.withVPN(ctx, true, true, func(e *mgmt.Env) error { return o.lockdown(ctx, e) })
}

func (o *vpnLockdownOptions) lockdown(ctx context.Context, e *mgmt.Env) error {
	if !o.Undo {
		if err := o.confirm("Remove public SSH (TCP 22 from anywhere) from the management cluster's security group? The VMs are then reached over WireGuard only"); err != nil {
			return err
		}
	}
	changed, err := e.Lockdown(ctx, o.progressFunc(), !o.Undo)
	var refused *mgmt.LockdownRefusedError
	if errors.As(err, &refused) {
		return refusedError(err)
	}
	if err != nil {
		return err
	}
	res := map[string]bool{"public_ssh": o.Undo, "changed": changed}
	return o.emit(res, func(w io.Writer, st ui.Style) {
		msg := "public SSH closed: the VMs are reached over WireGuard only"
		switch {
		case !changed && o.Undo:
			msg = "public SSH was already open; nothing changed"
		case !changed:
			msg = "public SSH was already closed; nothing changed"
		case o.Undo:
			msg = "public SSH open again"
		}
		fmt.Fprintf(w, "%s %s\n", st.Green(ui.MarkDone), msg)
	})
}
