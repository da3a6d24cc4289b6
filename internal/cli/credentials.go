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

credentials setup makes those objects from a service principal you have;
credentials status checks them. Creating the service principal itself, and
rotating or deleting it, are not built yet.`,
	}
	cmd.AddCommand(newCredentialsSetupCommand(o), newCredentialsStatusCommand(o))
	return cmd
}

// credentialsSetupOptions are the options of `credentials setup`.
type credentialsSetupOptions struct {
	*Options
	Timeout time.Duration
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
The secret goes only into the Secret: never into the state record, events or
output. Running it again changes nothing, or updates what differs (a new
secret, for example).`,
		Example: `  AZURE_CLIENT_SECRET=... k0rdentctl credentials setup
  k0rdentctl credentials setup --timeout 10m -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return so.run(cmd.Context()) },
	}
	cmd.Flags().DurationVar(&so.Timeout, "timeout", 5*time.Minute, "how long to wait for the Credential to be ready")
	return cmd
}

func (o *credentialsSetupOptions) run(ctx context.Context) error {
	if o.Timeout <= 0 {
		return usageError(fmt.Errorf("--timeout %s: give how long to wait, such as 5m", o.Timeout))
	}
	cfg, _, err := o.loadConfig()
	if err != nil {
		return err
	}
	p, err := credentials.PrincipalFrom(cfg, filepath.Dir(o.ConfigPath), os.Getenv)
	if err != nil {
		var m *credentials.MissingError
		if errors.As(err, &m) {
			return err
		}
		return usageError(err)
	}
	kc, err := o.managementClients(ctx)
	if err != nil {
		return err
	}
	store, err := o.store()
	if err != nil {
		return err
	}
	sess, warn, err := o.existingSession(ctx, store, cfg)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintf(o.IO.ErrOut, "Warning: %s\n", warn)
	}
	deploymentID := ""
	if sess != nil {
		defer sess.Close()
		deploymentID = sess.ID()
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
