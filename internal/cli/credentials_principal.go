package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// notCreatedHint is said when a command needs a principal k0rdentctl made.
const notCreatedHint = "k0rdentctl credentials setup --create-principal makes one it can rotate and delete; the secret of a principal of yours is rotated with k0rdentctl region rotate-credentials"

// principalRotation is the outcome of `credentials rotate`.
type principalRotation struct {
	DisplayName string `json:"display_name"`
	ClientID    string `json:"client_id"`
	// PasswordKeyID is the new password's key id.
	PasswordKeyID string `json:"password_key_id"`
	// Finished: every holder has the new secret and the old password is
	// removed. False: the old one still works; run the command again.
	Finished bool                     `json:"finished"`
	Rotation *regional.RotationReport `json:"rotation"`
}

type credentialsRotateOptions struct {
	*Options
	Timeout time.Duration
}

func newCredentialsRotateCommand(o *Options) *cobra.Command {
	ro := &credentialsRotateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Give the service principal k0rdentctl created a new password, everywhere, then remove the old one",
		Long: `Rotate the password of the service principal k0rdentctl created (credentials
setup --create-principal), in an order that never leaves k0rdent without a
working secret:

  1. add a new password to the application (its secret to a 0600 file);
  2. put it into the Secret on the management cluster and have k0rdent copy it
     to every region, then check each region's copy (compared by hash);
  3. only when every region holds it, remove the old password.

When a region does not get the new secret in time, the old password is kept,
the exit code is 1, and running the command again takes up the same new
password (no third one is added). The secret is never printed, logged or
recorded.`,
		Example: `  k0rdentctl credentials rotate
  k0rdentctl credentials rotate --timeout 10m -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ro.run(cmd.Context()) },
	}
	cmd.Flags().DurationVar(&ro.Timeout, "timeout", 0, "how long to wait for each region to hold the new secret (default: timeouts.region_ready)")
	return cmd
}

func (o *credentialsRotateOptions) run(ctx context.Context) error {
	e, err := o.loadRegion()
	if err != nil {
		return err
	}
	closeFn, err := o.openRecord(ctx, e, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	rec := e.sess.Snapshot().AzurePrincipal
	if rec == nil {
		return usageError(fmt.Errorf("deployment %s has no service principal that k0rdentctl created: %s", e.sess.ID(), notCreatedHint))
	}
	p := *rec
	entra, err := o.entra(e.cfg, e.sess.ID())
	if err != nil {
		return err
	}
	save := credentials.Saver(ctx, e.sess)
	secret, err := entra.StartRotation(ctx, &p, save)
	if err != nil {
		return err
	}
	defer clear(secret)
	out := &principalRotation{DisplayName: p.DisplayName, ClientID: p.ClientID, PasswordKeyID: p.PendingPasswordKeyID}
	rep, err := (&regional.RotateCredentials{Env: e.env, Secret: secret,
		RotateOptions: regional.RotateOptions{Timeout: o.Timeout, Progress: o.progressFunc()}}).Run(ctx)
	if err != nil {
		return fmt.Errorf("%w; the new password %s is added and the old one still works: run k0rdentctl credentials rotate again", err, p.PendingPasswordKeyID)
	}
	out.Rotation = rep
	if len(rep.Failed()) == 0 {
		if err := entra.FinishRotation(ctx, &p, save); err != nil {
			return err
		}
		out.Finished = true
	}
	if err := o.emit(out, func(w io.Writer, st ui.Style) { renderPrincipalRotation(w, st, out) }); err != nil {
		return err
	}
	if !out.Finished {
		return failed(ExitFailed)
	}
	return nil
}

func renderPrincipalRotation(w io.Writer, st ui.Style, r *principalRotation) {
	renderRegionRotation(w, st, r.Rotation)
	if r.Finished {
		fmt.Fprintf(w, "%s %s (client %s): new password %s in use everywhere; the old one is removed\n", st.Green(ui.MarkDone), r.DisplayName, r.ClientID, r.PasswordKeyID)
		return
	}
	fmt.Fprintf(w, "%s rotation not finished: %s do not hold the new secret yet, so the old password of %s stays valid.\n  Run k0rdentctl credentials rotate again once they are reachable.\n",
		st.Red(ui.MarkFailed), strings.Join(r.Rotation.Failed(), ", "), r.DisplayName)
}

type credentialsCleanupOptions struct {
	*Options
	Force bool
}

// principalCleanup is the outcome of `credentials cleanup`.
type principalCleanup struct {
	Deleted *state.AzurePrincipal `json:"deleted,omitempty"`
	// Nothing says why nothing was deleted.
	Nothing string `json:"nothing,omitempty"`
}

func newCredentialsCleanupCommand(o *Options) *cobra.Command {
	co := &credentialsCleanupOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete the service principal k0rdentctl created: its role assignment, then the application",
		Long: `Delete what credentials setup --create-principal made in Azure: the Contributor
role assignment on the subscription first (a role assignment of a deleted
principal stays behind otherwise), then the application, which takes its
service principal with it (Entra ID keeps it soft-deleted for 30 days), then
the secret's file. A principal you gave is never touched.

It asks first (-y answers yes). It refuses while ClusterDeployments on the
management cluster use a Credential of this principal: without it, k0rdent can
no longer delete their Azure resources. Delete those clusters first (k0rdentctl
child delete NAME), or give --force. The Credential objects on the management
cluster are left; they no longer work.`,
		Example: `  k0rdentctl credentials cleanup
  k0rdentctl credentials cleanup -y -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return co.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&co.Force, "force", false, "delete it even while clusters use it, or when the management cluster cannot be checked")
	return cmd
}

func (o *credentialsCleanupOptions) run(ctx context.Context) error {
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return err
	}
	store, err := o.store()
	if err != nil {
		return err
	}
	if _, err := o.currentID(ctx, store, cfg); errors.Is(err, state.ErrNotFound) {
		out := &principalCleanup{Nothing: "there is no deployment record, so k0rdentctl created no service principal here"}
		return o.emit(out, func(w io.Writer, _ ui.Style) { fmt.Fprintln(w, "Nothing to delete: "+out.Nothing+".") })
	}
	sess, _, err := o.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	rec := sess.Snapshot().AzurePrincipal
	if rec == nil {
		out := &principalCleanup{Nothing: fmt.Sprintf("deployment %s has no service principal that k0rdentctl created (a principal you gave is yours to delete)", sess.ID())}
		return o.emit(out, func(w io.Writer, _ ui.Style) { fmt.Fprintln(w, "Nothing to delete: "+out.Nothing+".") })
	}
	p := *rec
	if users, err := o.principalUsers(ctx, cfg); err != nil || len(users) > 0 {
		why := ""
		if err != nil {
			why = fmt.Sprintf("the management cluster could not be checked for clusters that use it (%v)", err)
		} else {
			why = fmt.Sprintf("ClusterDeployments use its Credentials: %s; k0rdent could no longer delete their Azure resources. Delete them first (k0rdentctl child delete NAME)", strings.Join(users, ", "))
		}
		if !o.Force {
			return refusedError(fmt.Errorf("not deleting service principal %s: %s, or give --force", p.DisplayName, why))
		}
		fmt.Fprintf(o.IO.ErrOut, "Warning: %s; deleting it anyway (--force)\n", why)
	}
	entra, err := o.entra(cfg, sess.ID())
	if err != nil {
		return err
	}
	if err := o.confirm(fmt.Sprintf("Delete service principal %s (client id %s) and its Contributor role assignment on subscription %s?", p.DisplayName, p.ClientID, entra.SubscriptionID)); err != nil {
		return err
	}
	save := credentials.Saver(ctx, sess)
	deleted := p
	if err := entra.Cleanup(ctx, &p, save); err != nil {
		return err
	}
	if err := save(nil); err != nil {
		return err
	}
	_ = sess.AddEvent(state.Event{Timestamp: o.now().UTC(), Type: "service_principal_deleted",
		Message: fmt.Sprintf("service principal %s (client id %s) and its role assignment deleted", p.DisplayName, p.ClientID)})
	out := &principalCleanup{Deleted: &deleted}
	return o.emit(out, func(w io.Writer, st ui.Style) {
		fmt.Fprintf(w, "%s deleted service principal %s (client id %s), its role assignment and its secret file\n", st.Green(ui.MarkDone), p.DisplayName, p.ClientID)
	})
}

// principalUsers names the ClusterDeployments on the management cluster
// whose Credential references the configured AzureClusterIdentity.
func (o *credentialsCleanupOptions) principalUsers(ctx context.Context, cfg *config.Config) ([]string, error) {
	kc, err := o.managementClients(ctx)
	if err != nil {
		return nil, err
	}
	names := credentials.NamesFrom(cfg)
	var creds kcmv1.CredentialList
	if err := kc.Client.List(ctx, &creds); err != nil {
		return nil, fmt.Errorf("listing Credentials: %w", err)
	}
	uses := map[client.ObjectKey]bool{}
	for _, c := range creds.Items {
		ref := c.Spec.IdentityRef
		if ref != nil && ref.Name == names.Identity && (ref.Namespace == "" || ref.Namespace == names.Namespace) {
			uses[client.ObjectKey{Namespace: c.Namespace, Name: c.Name}] = true
		}
	}
	var cds kcmv1.ClusterDeploymentList
	if err := kc.Client.List(ctx, &cds); err != nil {
		return nil, fmt.Errorf("listing ClusterDeployments: %w", err)
	}
	var out []string
	for _, cd := range cds.Items {
		if uses[client.ObjectKey{Namespace: cd.Namespace, Name: cd.Spec.Credential}] {
			out = append(out, cd.Namespace+"/"+cd.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
