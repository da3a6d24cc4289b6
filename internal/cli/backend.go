package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// EnvLeaseDuration sets how long a blob lease lasts between renewals (15s to
// 60s, default 60s): a dead command's lock is taken over after it.
const EnvLeaseDuration = "K0RDENTCTL_BLOB_LEASE_DURATION"

// defaultBlobPrefix goes before blob names when state.azure_blob.prefix is
// empty.
const defaultBlobPrefix = "k0rdentctl/"

// useBackend remembers the configuration's state backend: every later
// o.store() opens it. It is called wherever the configuration is loaded.
func (o *Options) useBackend(cfg *config.Config) {
	if cfg == nil {
		return
	}
	sc := cfg.State
	o.backend = &sc
}

// backendName is the state backend o.store() opens.
func (o *Options) backendName() string {
	if o.backend != nil && o.backend.Backend == config.StateBackendAzureBlob {
		return config.StateBackendAzureBlob
	}
	return config.StateBackendLocal
}

// store opens where deployment records live: the configuration's
// state.backend (local files in --state-dir, or an Azure Blob container),
// waiting for a held lock when --wait-for-lock is given. This is the one
// place the backend is chosen.
func (o *Options) store() (state.Store, error) {
	var s state.Store
	var err error
	if o.backendName() == config.StateBackendAzureBlob {
		s, err = o.blobStore(o.backend.AzureBlob)
	} else {
		s, err = o.files()
	}
	if err != nil {
		return nil, err
	}
	return state.WaitForLock(s, o.WaitForLock), nil
}

// files opens the local state folder: the record when the backend is local,
// and on every backend the kubeconfigs and keys, which never leave this
// machine.
func (o *Options) files() (*state.FileStore, error) {
	s, err := state.NewFileStore(o.StateDir)
	if err != nil {
		return nil, fmt.Errorf("opening the state folder %s: %w", o.StateDir, err)
	}
	return s, nil
}

// blobStore opens the Azure Blob container of the configuration.
func (o *Options) blobStore(b *config.AzureBlobState) (*state.BlobStore, error) {
	if b == nil {
		return nil, usageError(fmt.Errorf("state.backend azure_blob needs the state.azure_blob section (storage_account, container)"))
	}
	client, err := state.NewBlobContainerClient(state.BlobLocation{StorageAccount: b.StorageAccount, Container: b.Container, Endpoint: b.Endpoint}, os.Getenv)
	if err != nil {
		return nil, err
	}
	prefix := b.Prefix
	if prefix == "" {
		prefix = defaultBlobPrefix
	}
	lease, err := leaseDuration(os.Getenv(EnvLeaseDuration))
	if err != nil {
		return nil, err
	}
	return state.NewBlobStore(state.BlobStoreOptions{Client: client, Prefix: prefix, LeaseDuration: lease, Command: o.commandPath})
}

func leaseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < state.MinLeaseDuration || d > state.MaxLeaseDuration {
		return 0, usageError(fmt.Errorf("%s=%q: give a duration from 15s to 60s, such as 30s", EnvLeaseDuration, v))
	}
	return d, nil
}
