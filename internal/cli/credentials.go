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

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newCredentialsCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "The Azure Credential k0rdent makes clusters with: set it up, check it",
		Long: `k0rdent makes Azure clusters (regional clusters that are ClusterDeployments, child
clusters) with a service principal, given to it as a k0rdent Credential that
references an AzureClusterIdentity and the Secret holding the client secret.

credentials setup makes those objects from a service principal you have, or
from one it creates (--create-principal, or create_principal: true in
software.k0rdent.credential); credentials status checks them. A principal
k0rdentctl created is rotated by credentials rotate and deleted by
credentials cleanup; one you gave stays yours (rotate its secret with
region rotate-credentials).`,
	}
	cmd.AddCommand(newCredentialsSetupCommand(o), newCredentialsStatusCommand(o),
		newCredentialsRotateCommand(o), newCredentialsCleanupCommand(o))
	return cmd
}

// credentialsSetupOptions are the options of `credentials setup`.
type credentialsSetupOptions struct {
	*Options
	Timeout time.Duration
	// CreatePrincipal: make the service principal (also
	// software.k0rdent.credential.create_principal).
	CreatePrincipal bool
}

func newCredentialsSetupCommand(o *Options) *cobra.Command {
	so := &credentialsSetupOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Make the Azure Credential on the management cluster from your service principal",
		Long: `Make, in k0rdent's namespace of the management cluster, the objects k0rdent needs
to create Azure clusters: the Secret with the service principal's client secret
(key clientSecret), the AzureClusterIdentity (usable from every namespace), the
k0rdent Credential (software.k0rdent.credential.name), and the resource-template
ConfigMap that gives Azure child clusters their cloud-provider configuration.
Then wait until k0rdent says the Credential is ready.

The principal comes from the configuration, then the environment:
  client ID      software.k0rdent.credential.client_id, else AZURE_CLIENT_ID
  client secret  software.k0rdent.credential.client_secret_file, else AZURE_CLIENT_SECRET
  tenant         azure.tenant_id, else AZURE_TENANT_ID

With --create-principal (or create_principal: true) k0rdentctl creates it
instead, signed in to Azure as you are (az login, or the AZURE_* variables of
azidentity): application <deployment-id>-cluster-deployment-sp and its service
principal in Microsoft Entra ID (Microsoft Graph), a password whose secret goes
to a 0600 file under state/secrets/, and Contributor on the subscription
(azure.subscription_id or AZURE_SUBSCRIPTION_ID). Your identity needs to be
allowed to create applications and to assign roles on the subscription. The
ids (never the secret) are kept in the deployment record, so a second run
finds them and an interrupted run goes on.
The secret goes only into the Secret: never into the state record, events or
output. Running it again changes nothing, or updates what differs (a new
secret, for example).`,
		Example: `  AZURE_CLIENT_SECRET=... k0rdentctl credentials setup
  k0rdentctl credentials setup --create-principal
  k0rdentctl credentials setup --timeout 10m -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return so.run(cmd.Context()) },
	}
	cmd.Flags().DurationVar(&so.Timeout, "timeout", 5*time.Minute, "how long to wait for the Credential to be ready")
	cmd.Flags().BoolVar(&so.CreatePrincipal, "create-principal", false, "create the service principal in Microsoft Entra ID (as create_principal: true does)")
	return cmd
}

func (o *credentialsSetupOptions) run(ctx context.Context) error {
	if o.Timeout <= 0 {
		return usageError(fmt.Errorf("--timeout %s: give how long to wait, such as 5m", o.Timeout))
	}
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return err
	}
	create := o.CreatePrincipal || cfg.Software.K0rdent.Credential.CreatePrincipal
	if create && (cfg.Software.K0rdent.Credential.ClientID != "" || cfg.Software.K0rdent.Credential.ClientSecretFile != "") {
		return usageError(errors.New("--create-principal makes a new service principal, but software.k0rdent.credential names yours (client_id or client_secret_file): remove those to have k0rdentctl create one, or leave out --create-principal"))
	}
	var p credentials.Principal
	if !create {
		if p, err = credentials.PrincipalFrom(cfg, filepath.Dir(o.ConfigPath), os.Getenv); err != nil {
			var m *credentials.MissingError
			if errors.As(err, &m) {
				return err
			}
			return usageError(err)
		}
	}
	kc, err := o.managementClients(ctx)
	if err != nil {
		return err
	}
	var sess *state.Session
	if create {
		// The principal is recorded: the deployment's record is made
		// when there is none yet, and held locked.
		if sess, _, err = o.openSession(ctx, cfg, raw); err != nil {
			return err
		}
	} else {
		store, err := o.store()
		if err != nil {
			return err
		}
		var warn string
		if sess, warn, err = o.existingSession(ctx, store, cfg); err != nil {
			return err
		}
		if warn != "" {
			fmt.Fprintf(o.IO.ErrOut, "Warning: %s\n", warn)
		}
	}
	deploymentID := ""
	if sess != nil {
		defer sess.Close()
		deploymentID = sess.ID()
	}
	if create {
		e, err := o.entra(cfg, deploymentID)
		if err != nil {
			return err
		}
		if p, err = e.Ensure(ctx, sess.Snapshot().AzurePrincipal, credentials.Saver(ctx, sess)); err != nil {
			return err
		}
	}
	names := credentials.NamesFrom(cfg)
	setup := &credentials.Setup{Client: kc.Client, Names: names, Principal: p, DeploymentID: deploymentID,
		Timeout: o.Timeout, Progress: o.progressFunc()}
	rep, err := setup.Run(ctx)
	if sess != nil {
		ev := state.Event{Timestamp: o.now().UTC(), Type: "credentials_setup",
			Message: fmt.Sprintf("Credential %s/%s for service principal %s applied", names.Namespace, names.Credential, p.ClientID)}
		if err != nil {
			ev.Type, ev.Message = "credentials_setup_failed", ev.Message+"; not ready: "+err.Error()
		}
		if uerr := sess.Update(ctx, func(r *state.Record) error { r.Events = append(r.Events, ev); return nil }); uerr != nil {
			err = errors.Join(err, fmt.Errorf("recording the credential setup: %w", uerr))
		}
	}
	if rep != nil {
		if werr := o.emit(rep, func(w io.Writer, st ui.Style) { renderCredentials(w, st, rep) }); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}

func newCredentialsStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Check the Azure Credential's objects and whether k0rdent says it is ready",
		Long: `Check the Secret, the AzureClusterIdentity, the resource-template ConfigMap and the
k0rdent Credential named by software.k0rdent.credential, and list the regional
Credentials that share the identity. Exit code 1 when anything is missing or
the Credential is not ready. Reads only; the secret is never shown.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCredentialsStatus(cmd.Context(), o) },
	}
}

func runCredentialsStatus(ctx context.Context, o *Options) error {
	cfg, _, err := o.optionalConfig()
	if err != nil {
		return err
	}
	if cfg == nil {
		cfg = &config.Config{}
		cfg.ApplyDefaults()
	}
	kc, err := o.managementClients(ctx)
	if err != nil {
		return err
	}
	rep, err := (&credentials.Status{Client: kc.Client, Names: credentials.NamesFrom(cfg)}).Run(ctx)
	if err != nil {
		return err
	}
	if _, statErr := os.Stat(o.StateDir); statErr == nil {
		// Read only: the record says whether k0rdentctl made the principal.
		if store, err := o.store(); err == nil {
			if rec, err := o.currentRecord(ctx, store, cfg); err == nil {
				rep.Principal = rec.AzurePrincipal
			}
		}
	}
	if err := o.emit(rep, func(w io.Writer, st ui.Style) { renderCredentials(w, st, rep) }); err != nil {
		return err
	}
	if !rep.Complete() {
		return failed(ExitFailed)
	}
	return nil
}

func renderCredentials(w io.Writer, st ui.Style, r *credentials.Report) {
	mark := func(ok bool) string {
		if ok {
			return st.Green(ui.MarkDone)
		}
		return st.Red(ui.MarkFailed)
	}
	n := r.Names
	fmt.Fprintf(w, "Credential %s/%s  %s %s\n", n.Namespace, n.Credential, mark(r.Ready), r.Message)
	fmt.Fprintf(w, "  %s AzureClusterIdentity %s (client %s, tenant %s)\n", mark(r.IdentityPresent), n.Identity, dash(r.ClientID), dash(r.TenantID))
	fmt.Fprintf(w, "  %s Secret %s (key %s)\n", mark(r.SecretPresent), n.Secret, credentials.SecretKey)
	fmt.Fprintf(w, "  %s ConfigMap %s (cloud-provider configuration of Azure child clusters)\n", mark(r.TemplatePresent), n.ResourceTemplate())
	for _, rc := range r.Regional {
		fmt.Fprintf(w, "  %s regional Credential %s (region %s): %s\n", mark(rc.Ready), rc.Name, rc.Region, rc.Message)
	}
	if p := r.Principal; p != nil {
		fmt.Fprintf(w, "Service principal %s (client %s), made by k0rdentctl %s; password %s, secret in %s\n",
			p.DisplayName, p.ClientID, p.CreatedAt.UTC().Format("2006-01-02"), dash(p.PasswordKeyID), dash(p.SecretFile))
		if p.PendingPasswordKeyID != "" {
			fmt.Fprintf(w, "  %s a rotation is not finished: password %s is not yet held everywhere; run k0rdentctl credentials rotate\n", st.Yellow("!"), p.PendingPasswordKeyID)
		}
	}
}

// managementClients connects to the management cluster of the configuration
// (or of --kubeconfig alone).
func (o *Options) managementClients(ctx context.Context) (*kube.Clients, error) {
	mgmt, _, err := o.k0rdentCluster()
	if err != nil {
		return nil, err
	}
	return mgmt.Clients(ctx)
}
