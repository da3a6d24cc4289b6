// Package azure is k0rdentctl's access to Azure: the identity (the Azure
// SDK's default credential chain), the subscription and tenant, the client
// options every ARM client shares, the tags every resource carries and the
// names of the management cluster's resources.
//
// The work on Azure itself lives in the packages below it (preflight, and
// the network and VM phases), each taking a Session.
package azure

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Environment variables read when the configuration leaves a field empty.
const (
	EnvSubscription = "AZURE_SUBSCRIPTION_ID"
	EnvTenant       = "AZURE_TENANT_ID"
)

// Session is what every Azure client is made from.
type Session struct {
	Subscription string
	Tenant       string
	Credential   azcore.TokenCredential
	// Options are the ARM client options (retries, transport); tests
	// point them at a simulation.
	Options *arm.ClientOptions
}

// Scope is the subscription's ARM scope, /subscriptions/<id>.
func (s *Session) Scope() string { return "/subscriptions/" + s.Subscription }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// MissingSubscriptionError says no subscription was given.
type MissingSubscriptionError struct{}

func (MissingSubscriptionError) Error() string {
	return "no Azure subscription: set azure.subscription_id in the configuration or " + EnvSubscription +
		" in the environment (az account show --query id -o tsv prints the one az uses)"
}

// NewSession resolves the subscription and tenant (configuration first,
// then the environment) and builds the default credential chain:
// environment (a service principal or workload identity), managed
// identity, then the Azure CLI's login. Nothing is sent to Azure here.
func NewSession(cfg *config.Config, getenv func(string) string) (*Session, error) {
	s := &Session{Subscription: cfg.Azure.SubscriptionID, Tenant: cfg.Azure.TenantID}
	if s.Subscription == "" {
		s.Subscription = strings.TrimSpace(getenv(EnvSubscription))
	}
	if s.Tenant == "" {
		s.Tenant = strings.TrimSpace(getenv(EnvTenant))
	}
	if s.Subscription == "" {
		return nil, MissingSubscriptionError{}
	}
	if !guidRE.MatchString(s.Subscription) {
		return nil, fmt.Errorf("Azure subscription %q (azure.subscription_id or %s) is not a GUID such as 00000000-0000-0000-0000-000000000000", s.Subscription, EnvSubscription)
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{TenantID: s.Tenant})
	if err != nil {
		return nil, fmt.Errorf("setting up the Azure identity (environment, managed identity or az login): %w", err)
	}
	s.Credential = cred
	s.Options = ClientOptions()
	return s, nil
}

// ClientOptions are the ARM client options k0rdentctl uses against Azure:
// more retries than the SDK's default, since a deploy makes hundreds of
// calls and ARM throttles with 429s.
func ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: 8, RetryDelay: time.Second, MaxRetryDelay: 30 * time.Second},
		Telemetry: policy.TelemetryOptions{ApplicationID: "k0rdentctl"},
	}}
}

// Tag names every resource k0rdentctl creates carries.
const (
	TagDeployment = "k0rdentctl-deployment"
	TagName       = "k0rdentctl-name"
	TagOwner      = "owner"
	TagCreated    = "created"
	TagCreatedBy  = "created-by"
	CreatedBy     = "k0rdentctl"
)

// Tags are the tags of a deployment's resources: its id and its
// metadata.name (how leftovers are found without the state record), owner
// and creation time (the deployment's, so that a second run changes
// nothing), k0rdentctl as the creator, and the configuration's azure.tags
// (which cannot override those).
func Tags(deploymentID, name, owner string, created time.Time, extra map[string]string) map[string]*string {
	out := map[string]*string{}
	for k, v := range extra {
		out[k] = ptr(v)
	}
	out[TagDeployment] = ptr(deploymentID)
	if name != "" {
		out[TagName] = ptr(name)
	}
	out[TagCreated] = ptr(created.UTC().Format(time.RFC3339))
	out[TagCreatedBy] = ptr(CreatedBy)
	if owner != "" {
		out[TagOwner] = ptr(owner)
	}
	return out
}

// TagFilter is the ARM $filter that finds a deployment's resources and
// resource groups by its id.
func TagFilter(deploymentID string) string {
	return fmt.Sprintf("tagName eq '%s' and tagValue eq '%s'", TagDeployment, deploymentID)
}

// NameFilter finds them by the configuration's metadata.name, for when the
// record (and so the id) is lost.
func NameFilter(name string) string {
	return fmt.Sprintf("tagName eq '%s' and tagValue eq '%s'", TagName, name)
}

func ptr[T any](v T) *T { return &v }
