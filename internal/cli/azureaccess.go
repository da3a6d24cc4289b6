package cli

import (
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/graph"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
)

// Hooks replace how k0rdentctl reaches Azure, for tests.
type Hooks struct {
	// Azure returns the access to use instead of Azure's.
	Azure func(cfg *config.Config) (*AzureAccess, error)
	// SSHAddress is where deploy reaches a VM's SSH server given its
	// WireGuard address; nil: that address, port 22.
	SSHAddress func(wireGuardIP string) string
}

// AzureAccess is how commands reach Azure: ARM through Session, Microsoft
// Graph at GraphEndpoint with GraphOptions.
type AzureAccess struct {
	Session       *azure.Session
	GraphEndpoint string
	GraphOptions  *azcore.ClientOptions
	// ReplicationRetry is the pause between retries of what Entra ID
	// replication delays; 0: 5s.
	ReplicationRetry time.Duration
}

// azureAccess is the configuration's subscription with the default
// credential chain, or the hook's.
func (o *Options) azureAccess(cfg *config.Config) (*AzureAccess, error) {
	if o.Hooks.Azure != nil {
		return o.Hooks.Azure(cfg)
	}
	s, err := azure.NewSession(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	return &AzureAccess{Session: s, GraphEndpoint: graph.Endpoint, GraphOptions: &s.Options.ClientOptions}, nil
}

// entra is what manages the deployment's service principal.
func (o *Options) entra(cfg *config.Config, deploymentID string) (*credentials.Entra, error) {
	a, err := o.azureAccess(cfg)
	if err != nil {
		return nil, err
	}
	g, err := graph.New(a.Session.Credential, a.GraphEndpoint, a.GraphOptions)
	if err != nil {
		return nil, err
	}
	roles, err := armauthorization.NewRoleAssignmentsClient(a.Session.Subscription, a.Session.Credential, a.Session.Options)
	if err != nil {
		return nil, err
	}
	files, err := o.files()
	if err != nil {
		return nil, err
	}
	return &credentials.Entra{Graph: g, Roles: roles, SubscriptionID: a.Session.Subscription, TenantID: a.Session.Tenant,
		DeploymentID: deploymentID, SecretsDir: files.SecretsDir(), Progress: o.progressFunc(), Now: o.Now,
		RetryEvery: a.ReplicationRetry}, nil
}
