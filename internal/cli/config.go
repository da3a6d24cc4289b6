package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/preflight"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newConfigCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and explain the configuration file",
		Long: `The configuration file (-c, default ./k0rdent.yaml) describes the whole
deployment: the management cluster, k0rdent, its regional clusters, child
clusters and KOF. Start from a template, validate, then plan.`,
	}
	cmd.AddCommand(newConfigInitCommand(o), newConfigTemplatesCommand(o), newConfigValidateCommand(o),
		newConfigShowCommand(o), newConfigSchemaCommand(o))
	return cmd
}

// configInitOptions are the options of `config init`.
type configInitOptions struct {
	*Options
	Template string
	Force    bool
}

func newConfigInitCommand(o *Options) *cobra.Command {
	io := &configInitOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a configuration file from a template",
		Long: `Write a configuration file (-c, default ./k0rdent.yaml) from an embedded template
or example, and the JSON Schema beside it so that editors complete and check keys.
With -c - the template goes to standard output and no file is written.

An existing configuration is never overwritten without --force; an existing
k0rdent.schema.json that differs from this version's is left as it is unless
--force is given.

See the templates with: k0rdentctl config templates`,
		Example: `  k0rdentctl config init --template existing
  k0rdentctl config init --template multi-region -c regional.yaml
  k0rdentctl config init --template production -c - | less`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return io.run() },
	}
	cmd.Flags().StringVarP(&io.Template, "template", "t", "existing", "template or example name (see: k0rdentctl config templates)")
	cmd.Flags().BoolVar(&io.Force, "force", false, "overwrite an existing configuration file and schema")
	_ = cmd.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, t := range config.Templates() {
			names = append(names, t.Name+"\t"+t.Description)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// configInitResult is what `config init` did, for -o json|yaml.
type configInitResult struct {
	Config   string `json:"config"`
	Template string `json:"template"`
	Schema   string `json:"schema,omitempty"`
	// SchemaWritten is false when an existing, different schema file was
	// left as it is.
	SchemaWritten bool `json:"schema_written"`
}

func (o *configInitOptions) run() error {
	content, err := config.TemplateContent(o.Template)
	if err != nil {
		return usageError(err)
	}
	if o.ConfigPath == "-" {
		// No schema file is written beside standard output, so the
		// editor hint that points at one is left out.
		content = bytes.TrimPrefix(content, []byte(config.SchemaComment+"\n"))
		_, err := o.IO.Out.Write(content)
		return err
	}
	if _, err := os.Stat(o.ConfigPath); err == nil && !o.Force {
		return refusedError(fmt.Errorf("%s exists; it was left as it is (use --force to overwrite it)", o.ConfigPath))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", o.ConfigPath, err)
	}
	schema, err := config.Schema()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(o.ConfigPath); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	res := configInitResult{Config: o.ConfigPath, Template: o.Template,
		Schema: filepath.Join(filepath.Dir(o.ConfigPath), config.SchemaFileName)}
	old, err := os.ReadFile(res.Schema)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && (o.Force || string(old) == string(schema))):
		if err := os.WriteFile(res.Schema, schema, 0o644); err != nil {
			return fmt.Errorf("writing the JSON Schema: %w", err)
		}
		res.SchemaWritten = true
	case err != nil:
		return fmt.Errorf("reading %s: %w", res.Schema, err)
	}
	if err := os.WriteFile(o.ConfigPath, content, 0o644); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	return o.emit(res, func(w io.Writer, _ ui.Style) {
		if res.SchemaWritten {
			fmt.Fprintf(w, "Wrote %s from template %q (and %s for editors).\n", res.Config, res.Template, res.Schema)
		} else {
			fmt.Fprintf(w, "Wrote %s from template %q. %s differs from this version's schema and was left as it is (--force replaces it).\n", res.Config, res.Template, res.Schema)
		}
		if note := config.TemplateNote(o.Template); note != "" {
			fmt.Fprintf(w, "Note: %s\n", note)
		}
		fmt.Fprintf(w, "Next: edit it, then run: k0rdentctl config validate%s && k0rdentctl plan%s\n", configFlag(o.Options), configFlag(o.Options))
	})
}

// configFlag repeats -c in suggested commands when it is not the default.
func configFlag(o *Options) string {
	if o.ConfigPath == "k0rdent.yaml" {
		return ""
	}
	return " -c " + o.ConfigPath
}

// configTemplatesOptions are the options of `config templates`.
type configTemplatesOptions struct{ *Options }

func newConfigTemplatesCommand(o *Options) *cobra.Command {
	to := &configTemplatesOptions{Options: o}
	return &cobra.Command{
		Use:   "templates",
		Short: "List the embedded templates and examples",
		RunE:  func(cmd *cobra.Command, _ []string) error { return to.run() },
	}
}

func (o *configTemplatesOptions) run() error {
	type row struct {
		Name        string `json:"name"`
		Kind        string `json:"kind"`
		Description string `json:"description"`
	}
	var rows []row
	for _, t := range config.Templates() {
		kind := "template"
		if t.Example {
			kind = "example"
		}
		rows = append(rows, row{t.Name, kind, t.Description})
	}
	var werr error
	err := o.emit(map[string]any{"templates": rows}, func(w io.Writer, _ ui.Style) {
		var t ui.Table
		t.Row("NAME", "KIND", "DESCRIPTION")
		for _, r := range rows {
			t.Row(r.Name, r.Kind, r.Description)
		}
		werr = t.Write(w)
	})
	return errors.Join(err, werr)
}

// loadConfig reads, decodes and validates the configuration. Diagnostics are
// printed to stderr; an invalid file is a usage error (exit 2).
func (o *Options) loadConfig() (*config.Config, []byte, error) {
	cfg, raw, diags, err := config.Load(o.ConfigPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usageError(fmt.Errorf("no configuration at %s; write one with: k0rdentctl config init --template existing (or name another with -c)", o.ConfigPath))
		}
		return nil, nil, usageError(fmt.Errorf("reading the configuration: %w", err))
	}
	if diags.HasErrors() {
		printDiagnostics(o, diags)
		if o.structured() {
			// A script asked for data: it gets the same object as
			// `config validate -o json`, and exit code 2.
			if err := o.emit(diagnosticsView(o.ConfigPath, diags), nil); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, failed(ExitUsage)
	}
	if w := diags.Warnings(); len(w) > 0 && !o.structured() {
		printDiagnostics(o, w)
	}
	o.useBackend(cfg)
	return cfg, raw, nil
}

// diagnosticItem is one configuration problem in -o json|yaml output.
type diagnosticItem struct {
	Path     string `json:"path"`
	Line     int    `json:"line,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// diagnosticsView is the -o json|yaml object for the problems found in
// the configuration at path: what `config validate` prints, and what any
// command asked for data prints when the configuration has errors.
func diagnosticsView(path string, diags config.Diagnostics) map[string]any {
	items := []diagnosticItem{}
	for _, d := range diags {
		items = append(items, diagnosticItem{d.Path, d.Line, string(d.Severity), d.Message, d.Hint})
	}
	return map[string]any{"file": path, "valid": !diags.HasErrors(), "diagnostics": items,
		"counts": map[string]int{"errors": len(diags.Errors()), "warnings": len(diags.Warnings())}}
}

func printDiagnostics(o *Options, diags config.Diagnostics) {
	st := ui.Style{Color: !o.NoColor && o.IO.OutTerminal}
	errs, warns := diags.Errors(), diags.Warnings()
	var counts []string
	if len(errs) > 0 {
		counts = append(counts, plural(len(errs), "error"))
	}
	if len(warns) > 0 {
		counts = append(counts, plural(len(warns), "warning"))
	}
	summary := fmt.Sprintf("%s: %s", o.ConfigPath, strings.Join(counts, ", "))
	fmt.Fprintln(o.IO.ErrOut, summary)
	for _, d := range append(errs, warns...) {
		mark := st.Red("error")
		if d.Severity == config.SeverityWarning {
			mark = st.Yellow("warning")
		}
		where := d.Path
		if d.Line > 0 {
			where = fmt.Sprintf("%s (line %d)", d.Path, d.Line)
		}
		fmt.Fprintf(o.IO.ErrOut, "  %s %s: %s\n", mark, where, d.Message)
		if d.Hint != "" {
			fmt.Fprintf(o.IO.ErrOut, "      fix: %s\n", d.Hint)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// configValidateOptions are the options of `config validate`.
type configValidateOptions struct {
	*Options
	// Online: also ask the Azure subscription.
	Online bool
}

func newConfigValidateCommand(o *Options) *cobra.Command {
	vo := &configValidateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and report every problem at once",
		Long: `Check the configuration file offline: unknown or misspelt keys, missing or
conflicting settings, Azure location names, network ranges, VM sizes, versions,
and that the files it names (kubeconfigs, keys, a local chart) can be read.
Every problem is reported with its field path. Exit code 2 when any error is found.

With --online (management.mode azure) it also asks the Azure subscription,
reading only, signed in as deploy would be (az login, or the AZURE_* variables):
the subscription answers and has Microsoft.Compute and Microsoft.Network
registered; each VM size is offered in the location and in the configured zones
(restrictions included) and, for Spot, can run as Spot; the vCPU quota of each
size family (or the Spot quota) has room for the planned VMs; the image exists
there and its architecture matches the sizes'. Each problem names the field,
the value and what would work. Exit code 1 when Azure cannot be asked. It
also warns when k0sctl, which deploy runs to install k0s, is not on the PATH.`,
		Example: `  k0rdentctl config validate
  k0rdentctl config validate --online -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return vo.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&vo.Online, "online", false, "also check the Azure subscription (sizes, zones, quota, image), reading only")
	return cmd
}

func (o *configValidateOptions) run(ctx context.Context) error {
	cfg, _, diags, err := config.Load(o.ConfigPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageError(fmt.Errorf("no configuration at %s; write one with: k0rdentctl config init", o.ConfigPath))
		}
		return usageError(err)
	}
	// Files the configuration names must exist too.
	diags = append(diags, config.CheckFiles(cfg, filepath.Dir(o.ConfigPath))...)
	if o.Online && !diags.HasErrors() {
		online, err := o.onlineDiagnostics(ctx, cfg)
		if err != nil {
			return err
		}
		diags = append(diags, online...)
	}
	out := diagnosticsView(o.ConfigPath, diags)
	if err := o.emit(out, func(w io.Writer, _ ui.Style) {
		if len(diags) > 0 {
			printDiagnostics(o.Options, diags)
		}
		if diags.HasErrors() {
			return
		}
		fmt.Fprintf(w, "%s: valid", o.ConfigPath)
		if o.Online && cfg.Management.Mode == config.ModeAzure {
			fmt.Fprint(w, ", and the Azure subscription can hold it")
		}
		if n := len(diags.Warnings()); n > 0 {
			fmt.Fprintf(w, " (%s)", plural(n, "warning"))
		}
		fmt.Fprintln(w)
	}); err != nil {
		return err
	}
	if diags.HasErrors() {
		return failed(ExitUsage)
	}
	return nil
}

// onlineDiagnostics runs the Azure preflight of management.mode azure and
// words its problems as diagnostics of the fields they name.
func (o *configValidateOptions) onlineDiagnostics(ctx context.Context, cfg *config.Config) (config.Diagnostics, error) {
	if cfg.Management.Mode != config.ModeAzure {
		fmt.Fprintf(o.IO.ErrOut, "Note: --online checks the Azure side of management.mode azure; with mode %s there is nothing in Azure to check before deploy\n", cfg.Management.Mode)
		return nil, nil
	}
	a, err := o.azureAccess(cfg)
	if err != nil {
		var ms azure.MissingSubscriptionError
		if errors.As(err, &ms) {
			return nil, usageError(err)
		}
		return nil, err
	}
	var out config.Diagnostics
	if _, err := mgmt.FindK0sctl(); err != nil {
		out = append(out, config.Diagnostic{Path: "management.mode", Severity: config.SeverityWarning,
			Message: "k0sctl is not on this machine's PATH: deploy's first phase stops on it (k0s-install runs it)", Hint: "install k0sctl 0.28 or newer"})
	}
	clients, err := preflight.NewClients(a.Session.Subscription, a.Session.Credential, a.Session.Options)
	if err != nil {
		return nil, err
	}
	err = preflight.Check(ctx, clients, preflight.FromConfig(cfg, a.Session.Subscription))
	var pe *preflight.Error
	if !errors.As(err, &pe) {
		if err != nil {
			return nil, fmt.Errorf("checking the Azure subscription %s: %w", a.Session.Subscription, err)
		}
		return out, nil
	}
	for _, p := range pe.Problems {
		msg := p.Message
		if p.Value != "" {
			msg = fmt.Sprintf("%q: %s", p.Value, p.Message)
		}
		out = append(out, config.Diagnostic{Path: p.Field, Severity: config.SeverityError, Message: msg, Hint: p.Fix})
	}
	return out, nil
}

// configShowOptions are the options of `config show`.
type configShowOptions struct{ *Options }

func newConfigShowCommand(o *Options) *cobra.Command {
	so := &configShowOptions{Options: o}
	return &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration, with every default filled in",
		RunE:  func(cmd *cobra.Command, _ []string) error { return so.run() },
	}
}

func (o *configShowOptions) run() error {
	cfg, _, err := o.loadConfig()
	if err != nil {
		return err
	}
	b, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	var werr error
	err = o.emit(cfg, func(w io.Writer, _ ui.Style) { _, werr = w.Write(b) })
	return errors.Join(err, werr)
}

// configSchemaOptions are the options of `config schema`.
type configSchemaOptions struct{ *Options }

func newConfigSchemaCommand(o *Options) *cobra.Command {
	so := &configSchemaOptions{Options: o}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the configuration file",
		Long: `Print the JSON Schema of the configuration file, generated from the same Go types
that read it. Editors with a YAML language server use it for completion and checks;
config init writes it beside the file it creates. -o yaml prints it as YAML.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return so.run() },
	}
}

// run prints the schema: JSON, or YAML with -o yaml.
func (o *configSchemaOptions) run() error {
	b, err := config.Schema()
	if err != nil {
		return err
	}
	if o.Output == ui.FormatYAML {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("reading the generated schema: %w", err)
		}
		return ui.WriteData(o.IO.Out, o.Output, v)
	}
	_, err = o.IO.Out.Write(append(b, '\n'))
	return err
}
