package state

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Environment variables that give the blob store its credentials, in the
// order they are looked at. Without either, azidentity's default chain is
// used (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload or
// managed identity, `az login`).
const (
	EnvStorageConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvStorageSASToken         = "AZURE_STORAGE_SAS_TOKEN"
)

// BlobLocation says where a blob store lives, as the configuration gives it.
type BlobLocation struct {
	StorageAccount string
	Container      string
	// Endpoint is the blob service URL; empty means
	// https://<StorageAccount>.blob.core.windows.net/.
	Endpoint string
}

// blobClientOptions keep a command from hanging on an unreachable service:
// a few quick retries, then an error the operator can act on.
func blobClientOptions() *container.ClientOptions {
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{
		MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: 20 * time.Second,
	}}}
}

// NewBlobContainerClient makes the client of the container at loc with the
// credentials getenv gives: a connection string, else a SAS token, else
// azidentity's default credential chain. It makes no request.
func NewBlobContainerClient(loc BlobLocation, getenv func(string) string) (*container.Client, error) {
	opts := blobClientOptions()
	if cs := strings.TrimSpace(getenv(EnvStorageConnectionString)); cs != "" {
		c, err := container.NewClientFromConnectionString(cs, loc.Container, opts)
		if err != nil {
			return nil, fmt.Errorf("%s is not a usable storage connection string (%v); copy it again from the storage account's access keys", EnvStorageConnectionString, err)
		}
		return c, nil
	}
	endpoint := loc.Endpoint
	if endpoint == "" {
		endpoint = "https://" + loc.StorageAccount + ".blob.core.windows.net/"
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("state.azure_blob.endpoint %q is not a URL; write it like https://<account>.blob.core.windows.net/", endpoint)
	}
	containerURL := strings.TrimSuffix(endpoint, "/") + "/" + loc.Container
	if sas := strings.TrimPrefix(strings.TrimSpace(getenv(EnvStorageSASToken)), "?"); sas != "" {
		c, err := container.NewClientWithNoCredential(containerURL+"?"+sas, opts)
		if err != nil {
			return nil, fmt.Errorf("using %s for %s: %w", EnvStorageSASToken, containerURL, err)
		}
		return c, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("no credentials for the state container %s: set %s or %s, or sign in to Azure (az login, or AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET): %w",
			containerURL, EnvStorageConnectionString, EnvStorageSASToken, err)
	}
	c, err := container.NewClient(containerURL, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("state container %s: %w", containerURL, err)
	}
	return c, nil
}
