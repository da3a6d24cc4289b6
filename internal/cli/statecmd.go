package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
		newStateArchiveCommand(o), newStateShowBackendCommand(o), newStateMigrateCommand(o))
	return cmd
}

// stateExportOptions are the options of `state export`.
type stateExportOptions struct {
	*Options
	File string
}

func newStateExportCommand(o *Options) *cobra.Command {
	eo := &stateExportOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the current deployment record as YAML (default) or JSON",
		Example: `  k0rdentctl state export > backup.yaml
  k0rdentctl state export -o json --file backup.json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return eo.run(cmd.Context()) },
	}
	cmd.Flags().StringVarP(&eo.File, "file", "f", "", "write to this file (0600) instead of standard output")
	return cmd
}

func (o *stateExportOptions) run(ctx context.Context) error {
	s, id, err := o.currentDeployment(ctx)
	if err != nil {
		return err
	}
	rec, err := s.Load(ctx, id)
	if err != nil {
		return err
	}
	format := o.Output
	if format == ui.FormatTable {
		format = ui.FormatYAML
	}
	var w io.Writer = o.IO.Out
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("writing the export: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := state.Export(w, rec, format); err != nil {
		return err
	}
	if o.File != "" {
		fmt.Fprintf(o.IO.ErrOut, "Exported %s to %s.\n", rec.DeploymentID, o.File)
	}
	return nil
}

// stateImportOptions are the options of `state import`.
type stateImportOptions struct {
	*Options
	Force bool
}

func newStateImportCommand(o *Options) *cobra.Command {
	io := &stateImportOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Bring a deployment record (JSON or YAML, from state export) into the state folder",
		Long: `Bring a deployment record into the state folder, for example to move a deployment
to another machine, or to restore one from a backup; use - to read standard input.

Nothing is replaced without --force: not a record with the same deployment id
(with --force, a record that cannot be read is first moved to the history,
where k0rdentctl state history lists it), and not a folder that already holds
another deployment (every command would then have to be told which one is
meant with --deployment; archive the other first with k0rdentctl state archive).`,
		Example: `  k0rdentctl state import backup.yaml
  k0rdentctl state import --force backup.yaml   # restore over an unreadable record`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("state import takes one file (or - for standard input)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return io.run(cmd.Context(), args[0]) },
	}
	cmd.Flags().BoolVar(&io.Force, "force", false, "replace a record with the same deployment id (also one that cannot be read), or import beside another deployment's record")
	return cmd
}

func (o *stateImportOptions) run(ctx context.Context, file string) error {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(o.IO.In)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return usageError(fmt.Errorf("reading %s: %w", file, err))
	}
	rec, err := state.Import(data)
	if err != nil {
		return usageError(fmt.Errorf("%s: %w", file, err))
	}
	if _, _, err := o.optionalConfig(); err != nil {
		return err
	}
	s, err := o.store()
	if err != nil {
		return err
	}
	ids, err := s.List(ctx)
	if err != nil {
		return err
	}
	var others []string
	for _, id := range ids {
		if id != rec.DeploymentID {
			others = append(others, id)
		}
	}
	if len(others) > 0 && !o.Force {
		return refusedError(fmt.Errorf("%s already holds deployment %s; a second record there makes every command ask which one is meant. Import into another --state-dir, archive it first with k0rdentctl state archive %s, or pass --force and choose with --deployment",
			state.Where(s), strings.Join(others, ", "), others[0]))
	}
	lock, err := s.Lock(ctx, rec.DeploymentID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	var setAside string
	switch _, err := s.Load(ctx, rec.DeploymentID); {
	case err == nil && !o.Force:
		return refusedError(fmt.Errorf("a record for %s already exists at %s; it was left as it is (use --force to replace it)", rec.DeploymentID, s.Location(rec.DeploymentID)))
	case err != nil && !errors.Is(err, state.ErrNotFound):
		if !o.Force {
			return refusedError(fmt.Errorf("%w; pass --force to replace it with %s (the unreadable record is kept in the history)", err, file))
		}
		// An unreadable record cannot be written over (its event log is
		// unknown): it goes to the history as it is, for inspection.
		if setAside, err = s.Archive(ctx, rec.DeploymentID); err != nil {
			return fmt.Errorf("moving the unreadable record of %s aside: %w", rec.DeploymentID, err)
		}
	}
	if err := s.Save(ctx, rec); err != nil {
		return err
	}
	if setAside != "" {
		fmt.Fprintf(o.IO.Out, "Moved the unreadable record to %s.\n", setAside)
	}
	fmt.Fprintf(o.IO.Out, "Imported %s into %s.\n", rec.DeploymentID, s.Location(rec.DeploymentID))
	return nil
}

// stateArchiveOptions are the options of `state archive`.
type stateArchiveOptions struct{ *Options }

func newStateArchiveCommand(o *Options) *cobra.Command {
	ao := &stateArchiveOptions{Options: o}
	return &cobra.Command{
		Use:   "archive DEPLOYMENT-ID",
		Short: "Move one deployment record into the history (state history lists it)",
		Long: `Move the record of one deployment into the history, for example when a state
folder holds records of several deployments and only one is wanted, or to set
an unreadable record aside. Nothing on the clusters or in Azure is changed,
and kubeconfigs and keys stay where they are. Asks first (-y answers).`,
		Example: `  k0rdentctl state archive k0rdent-ab12cd34 -y`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !state.ValidDeploymentID(args[0]) {
				return usageError(fmt.Errorf("state archive takes one deployment id, such as k0rdent-ab12cd34 (k0rdentctl state history and status name them)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return ao.run(cmd.Context(), args[0]) },
	}
}

func (o *stateArchiveOptions) run(ctx context.Context, id string) error {
	if _, _, err := o.optionalConfig(); err != nil {
		return err
	}
	s, err := o.store()
	if err != nil {
		return err
	}
	if err := o.confirm(fmt.Sprintf("Move the record of %s (%s) into the history?", id, s.Location(id))); err != nil {
		return err
	}
	dst, err := s.Archive(ctx, id)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return usageError(err)
		}
		return err
	}
	fmt.Fprintf(o.IO.Out, "Archived %s to %s.\n", id, dst)
	return nil
}

// stateHistoryOptions are the options of `state history`.
type stateHistoryOptions struct{ *Options }

func newStateHistoryCommand(o *Options) *cobra.Command {
	ho := &stateHistoryOptions{Options: o}
	return &cobra.Command{
		Use:   "history",
		Short: "List archived deployment records (from resets and teardowns)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return ho.run(cmd.Context()) },
	}
}

func (o *stateHistoryOptions) run(ctx context.Context) error {
	if _, _, err := o.optionalConfig(); err != nil {
		return err
	}
	s, err := o.store()
	if err != nil {
		return err
	}
	entries, err := s.History(ctx)
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
