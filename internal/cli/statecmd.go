package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newStateCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Export, import, list and move deployment records; show where they live",
		Long: `The deployment record (state/<deployment-id>.yaml, or a blob with
state.backend: azure_blob) holds what k0rdentctl did and saw: phases,
resources, regional clusters, events and the configuration used. It never
holds secrets: kubeconfigs and keys are separate 0600 files in --state-dir,
on this machine, whatever the backend.`,
	}
	cmd.AddCommand(newStateExportCommand(o), newStateImportCommand(o), newStateHistoryCommand(o),
		newStateShowBackendCommand(o), newStateMigrateCommand(o))
	return cmd
}

func newStateExportCommand(o *Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the current deployment record as YAML (default) or JSON",
		Example: `  k0rdentctl state export > backup.yaml
  k0rdentctl state export -o json --file backup.json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, _, err := o.optionalConfig()
			if err != nil {
				return err
			}
			s, err := o.store()
			if err != nil {
				return err
			}
			rec, err := o.currentRecord(ctx, s, cfg)
			if err != nil {
				return noRecordError(o, err)
			}
			format := o.Output
			if format == ui.FormatTable {
				format = ui.FormatYAML
			}
			var w io.Writer = o.IO.Out
			if file != "" {
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return fmt.Errorf("writing the export: %w", err)
				}
				defer f.Close()
				w = f
			}
			if err := state.Export(w, rec, format); err != nil {
				return err
			}
			if file != "" {
				fmt.Fprintf(o.IO.ErrOut, "Exported %s to %s.\n", rec.DeploymentID, file)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to this file (0600) instead of standard output")
	return cmd
}

func newStateImportCommand(o *Options) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Bring a deployment record (JSON or YAML, from state export) into the state folder",
		Long: `Bring a deployment record into the state folder, for example to move a deployment
to another machine. A record with the same deployment id is never replaced
unless --force is given; use - to read standard input.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("state import takes one file (or - for standard input)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(o.IO.In)
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return usageError(fmt.Errorf("reading %s: %w", args[0], err))
			}
			rec, err := state.Import(data)
			if err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
			}
			if _, _, err := o.optionalConfig(); err != nil {
				return err
			}
			s, err := o.store()
			if err != nil {
				return err
			}
			lock, err := s.Lock(ctx, rec.DeploymentID)
			if err != nil {
				return err
			}
			defer lock.Unlock()
			if _, err := s.Load(ctx, rec.DeploymentID); err == nil && !force {
				return refusedError(fmt.Errorf("a record for %s already exists at %s; it was left as it is (use --force to replace it)", rec.DeploymentID, s.Location(rec.DeploymentID)))
			} else if err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			if err := s.Save(ctx, rec); err != nil {
				return err
			}
			fmt.Fprintf(o.IO.Out, "Imported %s into %s.\n", rec.DeploymentID, s.Location(rec.DeploymentID))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing record with the same deployment id")
	return cmd
}

func newStateHistoryCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "List archived deployment records (from resets and teardowns)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := o.optionalConfig(); err != nil {
				return err
			}
			s, err := o.store()
			if err != nil {
				return err
			}
			entries, err := s.History(cmd.Context())
			if err != nil {
				return err
			}
			if entries == nil {
				entries = []state.HistoryEntry{}
			}
			if o.structured() || len(entries) == 0 {
				return o.emit(map[string]any{"history": entries}, func(w io.Writer, _ ui.Style) {
					fmt.Fprintf(w, "No archived records in %s/history.\n", o.StateDir)
				})
			}
			var t ui.Table
			t.Row("DEPLOYMENT", "NAME", "ARCHIVED", "STATUS", "FILE")
			for _, e := range entries {
				t.Row(historyRow(e)...)
			}
			return t.Write(o.IO.Out)
		},
	}
}

func historyRow(e state.HistoryEntry) []string {
	status := e.Status
	if e.Error != "" {
		status = "unreadable: " + e.Error
	} else if e.Summary != "" {
		status += " (" + e.Summary + ")"
	}
	return []string{e.ID, dash(e.Name), e.ArchivedAt.UTC().Format("2006-01-02T15:04:05Z"), status, e.Path}
}
