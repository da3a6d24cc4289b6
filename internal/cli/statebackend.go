package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

type backendView struct {
	Backend     string `json:"backend"`
	Records     string `json:"records"`
	LocalFiles  string `json:"local_files"`
	Credentials string `json:"credentials,omitempty"`
	LeaseSecs   int    `json:"lease_seconds,omitempty"`
}

func newStateShowBackendCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "show-backend",
		Short: "Say where the deployment records live (state.backend) and what stays on this machine",
		Long: `Say where the deployment records live: local files in --state-dir, or an
Azure Blob Storage container (state.backend: azure_blob), with the credentials
used. Kubeconfigs and keys always stay in --state-dir on this machine.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := o.optionalConfig(); err != nil {
				return err
			}
			v := backendView{Backend: o.backendName(), Records: o.StateDir, LocalFiles: o.StateDir}
			if v.Backend == config.StateBackendAzureBlob {
				s, err := o.blobStore(o.backend.AzureBlob)
				if err != nil {
					return err
				}
				v.Records = state.Where(s)
				v.LeaseSecs = int(s.LeaseDuration().Seconds())
				switch {
				case os.Getenv(state.EnvStorageConnectionString) != "":
					v.Credentials = state.EnvStorageConnectionString
				case os.Getenv(state.EnvStorageSASToken) != "":
					v.Credentials = state.EnvStorageSASToken
				default:
					v.Credentials = "Azure default credential chain (environment, workload or managed identity, az login)"
				}
			}
			if o.structured() {
				return ui.WriteData(o.IO.Out, o.Output, v)
			}
			fmt.Fprintf(o.IO.Out, "Backend      %s\nRecords      %s\nLocal files  %s (kubeconfigs and keys; never uploaded)\n", v.Backend, v.Records, v.LocalFiles)
			if v.Credentials != "" {
				fmt.Fprintf(o.IO.Out, "Credentials  %s\nLock         a blob lease of %ds, renewed while a command runs\n", v.Credentials, v.LeaseSecs)
			}
			return nil
		},
	}
}

func newStateMigrateCommand(o *Options) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate --to azure_blob|local",
		Short: "Move the deployment records and their history between --state-dir and Azure Blob Storage",
		Long: `Move every deployment record (with all its events) and every archived record
between the local state folder (--state-dir) and the Azure Blob Storage
container of state.azure_blob. Each copy is read back and compared before the
source is removed; if anything fails, the source is left as it was.

--to azure_blob: set state.backend: azure_blob and the state.azure_blob section
first; the records of --state-dir go to the container.
--to local: the records of the container go to --state-dir; then set
state.backend: local.

Kubeconfigs and keys are not moved: they stay in --state-dir on this machine.`,
		Example: `  k0rdentctl state migrate --to azure_blob
  k0rdentctl state migrate --to local`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if to != config.StateBackendAzureBlob && to != config.StateBackendLocal {
				return usageError(fmt.Errorf("--to %q: give azure_blob or local", to))
			}
			cfg, _, err := o.loadConfig()
			if err != nil {
				return err
			}
			if cfg.State.AzureBlob == nil {
				return usageError(fmt.Errorf("state migrate needs the state.azure_blob section (storage_account, container) in %s, with state.backend: azure_blob", o.ConfigPath))
			}
			blob, err := o.blobStore(cfg.State.AzureBlob)
			if err != nil {
				return err
			}
			files, err := o.files()
			if err != nil {
				return err
			}
			var src, dst state.Store = files, blob
			if to == config.StateBackendLocal {
				src, dst = blob, files
			}
			res, err := state.Migrate(ctx, state.WaitForLock(src, o.WaitForLock), state.WaitForLock(dst, o.WaitForLock))
			if err != nil {
				return err
			}
			if o.structured() {
				return ui.WriteData(o.IO.Out, o.Output, res)
			}
			fmt.Fprintf(o.IO.Out, "Moved %d records and %d archived records from %s to %s (each copy verified, then removed from the source).\n",
				len(res.Records), len(res.Archives), res.From, res.To)
			if to == config.StateBackendLocal {
				fmt.Fprintf(o.IO.Out, "Now set state.backend: local in %s.\n", o.ConfigPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "where to move the records: azure_blob or local")
	return cmd
}
