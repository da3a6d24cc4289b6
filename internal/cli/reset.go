package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

type resetOptions struct {
	*Options
	Fast bool
}

// resetResult is what reset did.
type resetResult struct {
	DeploymentID string   `json:"deployment_id"`
	Deleted      []string `json:"deleted"`
	// Pending: --fast asked Azure to delete the group and did not wait.
	Pending          string   `json:"pending,omitempty"`
	Leftovers        []string `json:"leftovers"`
	PrincipalDeleted string   `json:"principal_deleted,omitempty"`
	ArchivedRecord   string   `json:"archived_record,omitempty"`
	RemovedFiles     []string `json:"removed_files"`
	// VPNDown is this machine's WireGuard interface, taken down; VPNLeftUp
	// says why it could not be and what to run.
	VPNDown   string `json:"vpn_down,omitempty"`
	VPNLeftUp string `json:"vpn_left_up,omitempty"`
}

// vpnInterface is the interface wg-quick makes from a configuration file.
func vpnInterface(conf string) string {
	return strings.TrimSuffix(filepath.Base(conf), ".conf")
}

func newResetCommand(o *Options) *cobra.Command {
	ro := &resetOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Remove the management cluster's Azure resources (management.mode azure), then archive the record",
		Long: `Remove what k0rdentctl made in Azure for the management cluster, in reverse
order (VMs with their NICs and disks, public IPs, the network, the security group,
then the resource group when k0rdentctl made it), including anything else that
carries the deployment's tag; then the service principal it created (role
assignment first), then archive the record to the state folder's history/ and
delete the deployment's keys and kubeconfig from the state folder.

--fast deletes the resource group (only when it is this deployment's) without
waiting for Azure to finish. Asks first; -y answers. With no record left, give
--deployment ID: reset then looks for what carries that id's tag.

For management.mode existing there is nothing of k0rdentctl's in Azure to
remove: uninstall k0rdent with k0rdentctl k0rdent uninstall.`,
		Example: `  k0rdentctl reset
  k0rdentctl reset --fast -y
  k0rdentctl reset --deployment k0rdent-ab12cd34 -y   # the record is gone`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ro.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&ro.Fast, "fast", false, "delete the resource group without waiting, instead of resource by resource")
	return cmd
}

func (o *resetOptions) run(ctx context.Context) error {
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return err
	}
	if cfg.ExistingManagement() {
		return usageError(errors.New("management.mode is existing: k0rdentctl made nothing in Azure for the management cluster; to remove k0rdent use k0rdentctl k0rdent uninstall"))
	}
	store, err := o.store()
	if err != nil {
		return err
	}
	var sess *state.Session
	id := o.Deployment
	switch _, err := o.currentID(ctx, store, cfg); {
	case err == nil:
		if sess, _, err = o.openSession(ctx, cfg, raw); err != nil {
			return err
		}
		defer sess.Close()
		id = sess.ID()
	case o.Deployment != "":
		// The record is gone: look in Azure by the id's tag.
	case !errors.Is(err, state.ErrNotFound):
		return err
	}
	if id == "" {
		return usageError(errors.New("there is no deployment record here: give --deployment ID to look in Azure for what carries that deployment's tag"))
	}
	access, err := o.azureAccess(cfg)
	if err != nil {
		return usageError(err)
	}
	c, err := infra.NewClients(access.Session)
	if err != nil {
		return err
	}
	inf := &infra.Infra{C: c, Progress: o.progressFunc()}
	created := time.Time{}
	if sess != nil {
		created = sess.Snapshot().CreatedAt
	}
	spec := infra.FromConfig(cfg, id, created, "", nil)
	found, err := inf.Leftovers(ctx, azure.TagFilter(id))
	if err != nil {
		return err
	}
	var principal *state.AzurePrincipal
	if sess != nil {
		principal = sess.Snapshot().AzurePrincipal
	}
	q := fmt.Sprintf("Delete deployment %s's %d tagged Azure resources (resource group %s)", id, len(found), spec.Names.ResourceGroup)
	if principal != nil {
		q += fmt.Sprintf(" and its service principal %s", principal.DisplayName)
	}
	if err := o.confirm(q + "?"); err != nil {
		return err
	}
	res := &resetResult{DeploymentID: id, Deleted: []string{}, Leftovers: []string{}, RemovedFiles: []string{}}
	if o.Fast {
		if err := inf.DeleteGroup(ctx, spec); err != nil {
			return err
		}
		res.Pending = "Azure is deleting resource group " + spec.Names.ResourceGroup + " and everything in it"
	} else {
		if res.Deleted, err = inf.Teardown(ctx, spec); err != nil {
			return fmt.Errorf("%w; run k0rdentctl reset again to go on", err)
		}
		left, err := inf.Leftovers(ctx, azure.TagFilter(id))
		if err != nil {
			return err
		}
		for _, l := range left {
			res.Leftovers = append(res.Leftovers, l.ID)
		}
	}
	if principal != nil {
		e, err := o.entra(cfg, id)
		if err != nil {
			return err
		}
		p := *principal
		if err := e.Cleanup(ctx, &p, credentials.Saver(ctx, sess)); err != nil {
			return fmt.Errorf("%w; the Azure resources are gone; run k0rdentctl reset again to delete the principal", err)
		}
		if err := credentials.Saver(ctx, sess)(nil); err != nil {
			return err
		}
		res.PrincipalDeleted = p.DisplayName
	}
	files, err := o.files()
	if err != nil {
		return err
	}
	if sess != nil {
		// This machine's side of the VPN goes before its file does
		// (wg-quick down reads it).
		e := &mgmt.Env{Config: cfg, BaseDir: filepath.Dir(o.ConfigPath), Session: sess, SecretsDir: files.SecretsDir(), Now: o.Now}
		if a := sess.Snapshot().Management.Azure; a != nil && a.WireGuardConfig != "" {
			was, err := e.VPNDown(ctx, o.progressFunc())
			switch {
			case err != nil:
				res.VPNLeftUp = err.Error() + "; once reset, remove the interface with: sudo ip link delete " + vpnInterface(a.WireGuardConfig)
			case was:
				res.VPNDown = vpnInterface(a.WireGuardConfig)
			}
		}
	}
	matches, _ := filepath.Glob(filepath.Join(files.SecretsDir(), id+"-*"))
	if sess != nil {
		if a := sess.Snapshot().Management.Azure; a != nil && a.WireGuardConfig != "" {
			matches = append(matches, a.WireGuardConfig)
		}
		if k := sess.Snapshot().Management.KubeconfigPath; k != "" {
			matches = append(matches, k)
		}
	}
	for _, f := range matches {
		if err := os.Remove(f); err == nil {
			res.RemovedFiles = append(res.RemovedFiles, f)
		}
	}
	if sess != nil && len(res.Leftovers) == 0 {
		if res.ArchivedRecord, err = sess.Archive(ctx); err != nil {
			return err
		}
	}
	if err := o.emit(res, func(w io.Writer, st ui.Style) { renderReset(w, st, res) }); err != nil {
		return err
	}
	if len(res.Leftovers) > 0 {
		return failed(ExitFailed)
	}
	return nil
}

func renderReset(w io.Writer, st ui.Style, r *resetResult) {
	for _, d := range r.Deleted {
		fmt.Fprintf(w, "%s deleted %s\n", st.Green(ui.MarkDone), d)
	}
	if r.Pending != "" {
		fmt.Fprintf(w, "%s %s (not waited for)\n", st.Yellow("…"), r.Pending)
	}
	if r.PrincipalDeleted != "" {
		fmt.Fprintf(w, "%s deleted service principal %s and its role assignment\n", st.Green(ui.MarkDone), r.PrincipalDeleted)
	}
	if r.VPNDown != "" {
		fmt.Fprintf(w, "%s took this machine's WireGuard interface %s down\n", st.Green(ui.MarkDone), r.VPNDown)
	}
	if r.VPNLeftUp != "" {
		fmt.Fprintf(w, "%s %s\n", st.Yellow("!"), r.VPNLeftUp)
	}
	if len(r.RemovedFiles) > 0 {
		fmt.Fprintf(w, "%s removed %s\n", st.Green(ui.MarkDone), strings.Join(r.RemovedFiles, ", "))
	}
	if len(r.Leftovers) > 0 {
		fmt.Fprintf(w, "%s still in Azure with the deployment's tag: %s; run k0rdentctl reset again\n", st.Red(ui.MarkFailed), strings.Join(r.Leftovers, ", "))
		return
	}
	if r.ArchivedRecord != "" {
		fmt.Fprintf(w, "Deployment %s is reset; its record is archived at %s\n", r.DeploymentID, r.ArchivedRecord)
	}
}
