package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// CredentialsName is the phase that makes the Azure Credential, after k0rdent
// is ready and before the regional phases.
const CredentialsName = "credentials"

// credentialsTimeout bounds the wait for k0rdent to mark the Credential ready.
const credentialsTimeout = 10 * time.Minute

// credentialsPhase is `k0rdentctl credentials setup` as a phase of deploy:
// wanted when the configuration names the service principal
// (software.k0rdent.credential.client_id or client_secret_file).
type credentialsPhase struct{ env *Env }

func (p *credentialsPhase) Name() string       { return CredentialsName }
func (p *credentialsPhase) Title() string      { return "Set up the Azure Credential" }
func (p *credentialsPhase) Requires() []string { return []string{k0rdent.PhaseReady} }

func (p *credentialsPhase) Wanted() (bool, string) {
	c := p.env.Config.Software.K0rdent.Credential
	if c.ClientID == "" && c.ClientSecretFile == "" && !c.CreatePrincipal {
		return false, "no service principal in software.k0rdent.credential (client_id, or create_principal: true): the Credential is expected to exist, or made with k0rdentctl credentials setup"
	}
	return true, ""
}

func (p *credentialsPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *credentialsPhase) DryRun(context.Context) ([]string, error) {
	n := credentials.NamesFrom(p.env.Config)
	c := p.env.Config.Software.K0rdent.Credential
	if c.CreatePrincipal {
		return []string{
			"create (or find) application <deployment-id>-cluster-deployment-sp and its service principal in Microsoft Entra ID",
			"add a password to it, its secret written to a 0600 file under state/secrets/ (never recorded)",
			"assign it Contributor on the subscription",
			fmt.Sprintf("apply Secret %s/%s, AzureClusterIdentity %s/%s, Credential %s/%s and ConfigMap %s/%s with it", n.Namespace, n.Secret, n.Namespace, n.Identity, n.Namespace, n.Credential, n.Namespace, n.ResourceTemplate()),
			fmt.Sprintf("wait up to %s for k0rdent to mark the Credential ready", credentialsTimeout),
		}, nil
	}
	secret := "AZURE_CLIENT_SECRET"
	if c.ClientSecretFile != "" {
		secret = c.ClientSecretFile
	}
	return []string{
		fmt.Sprintf("apply Secret %s/%s with the client secret from %s (never recorded)", n.Namespace, n.Secret, secret),
		fmt.Sprintf("apply AzureClusterIdentity %s/%s for client %s, usable from every namespace", n.Namespace, n.Identity, orEnv(c.ClientID, credentials.EnvClientID)),
		fmt.Sprintf("apply Credential %s/%s and ConfigMap %s/%s (cloud-provider configuration of Azure child clusters)", n.Namespace, n.Credential, n.Namespace, n.ResourceTemplate()),
		fmt.Sprintf("wait up to %s for k0rdent to mark the Credential ready", credentialsTimeout),
	}, nil
}

func orEnv(v, env string) string {
	if v == "" {
		return "from " + env
	}
	return v
}

func (p *credentialsPhase) Run(ctx context.Context, prog phase.Progress) error {
	pr, err := p.principal(ctx)
	if err != nil {
		return err
	}
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return err
	}
	id := p.env.deploymentID()
	_, err = (&credentials.Setup{Client: kc.Client, Names: credentials.NamesFrom(p.env.Config), Principal: pr, DeploymentID: id,
		Timeout: credentialsTimeout, Progress: func(s string) { prog.Printf("%s", s) }}).Run(ctx)
	return err
}

// Verify implements phase.Verifier: every object is there and the Credential
// is ready.
func (p *credentialsPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return false, "", err
	}
	rep, err := (&credentials.Status{Client: kc.Client, Names: credentials.NamesFrom(p.env.Config)}).Run(ctx)
	if err != nil {
		return false, "", err
	}
	return rep.Complete(), "Credential " + rep.Message, nil
}

// principal is the configured one, or the one the deployment creates.
func (p *credentialsPhase) principal(ctx context.Context) (credentials.Principal, error) {
	if !p.env.Config.Software.K0rdent.Credential.CreatePrincipal {
		pr, err := credentials.PrincipalFrom(p.env.Config, filepath.Dir(p.env.ConfigPath), os.Getenv)
		if err != nil {
			return pr, phase.Permanent(err)
		}
		return pr, nil
	}
	if p.env.Session == nil || p.env.Entra == nil {
		return credentials.Principal{}, phase.Permanent(errors.New("creating the service principal needs the deployment record and access to Azure"))
	}
	e, err := p.env.Entra(p.env.Session.ID())
	if err != nil {
		return credentials.Principal{}, phase.Permanent(err)
	}
	return e.Ensure(ctx, p.env.Session.Snapshot().AzurePrincipal, credentials.Saver(ctx, p.env.Session))
}
