package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

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

func newConfigInitCommand(o *Options) *cobra.Command {
	var template string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a configuration file from a template",
		Long: `Write a configuration file (-c, default ./k0rdent.yaml) from an embedded template
or example, and the JSON Schema beside it so that editors complete and check keys.

See the templates with: k0rdentctl config templates`,
		Example: `  k0rdentctl config init --template production
  k0rdentctl config init --template multi-region -c regional.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			content, err := config.TemplateContent(template)
			if err != nil {
				return usageError(err)
			}
			if _, err := os.Stat(o.ConfigPath); err == nil && !force {
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
			schemaPath := filepath.Join(filepath.Dir(o.ConfigPath), config.SchemaFileName)
			if err := os.WriteFile(schemaPath, schema, 0o644); err != nil {
				return fmt.Errorf("writing the JSON Schema: %w", err)
			}
			if err := os.WriteFile(o.ConfigPath, content, 0o644); err != nil {
				return fmt.Errorf("writing the configuration: %w", err)
			}
			fmt.Fprintf(o.IO.Out, "Wrote %s from template %q (and %s for editors).\n", o.ConfigPath, template, schemaPath)
			fmt.Fprintf(o.IO.Out, "Next: edit it, then run: k0rdentctl config validate%s && k0rdentctl plan%s\n", configFlag(o), configFlag(o))
			return nil
		},
	}
	cmd.Flags().StringVarP(&template, "template", "t", "minimal", "template or example name (see: k0rdentctl config templates)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	_ = cmd.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, t := range config.Templates() {
			names = append(names, t.Name+"\t"+t.Description)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// configFlag repeats -c in suggested commands when it is not the default.
func configFlag(o *Options) string {
	if o.ConfigPath == "k0rdent.yaml" {
		return ""
	}
	return " -c " + o.ConfigPath
}

func newConfigTemplatesCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "templates",
		Short: "List the embedded templates and examples",
		RunE: func(cmd *cobra.Command, _ []string) error {
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
		},
	}
}

// loadConfig reads, decodes and validates the configuration. Diagnostics are
// printed to stderr; an invalid file is a usage error (exit 2).
func (o *Options) loadConfig() (*config.Config, []byte, error) {
	cfg, raw, diags, err := config.Load(o.ConfigPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usageError(fmt.Errorf("no configuration at %s; write one with: k0rdentctl config init --template small (or name another with -c)", o.ConfigPath))
		}
		return nil, nil, usageError(fmt.Errorf("reading the configuration: %w", err))
	}
	if diags.HasErrors() {
		printDiagnostics(o, diags)
		return nil, nil, failed(ExitUsage)
	}
	if w := diags.Warnings(); len(w) > 0 && !o.structured() {
		printDiagnostics(o, w)
	}
	o.useBackend(cfg)
	return cfg, raw, nil
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

func newConfigValidateCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and report every problem at once",
		Long: `Check the configuration file offline: unknown or misspelt keys, missing or
conflicting settings, Azure location names, network ranges, VM sizes, versions,
and that the files it names (kubeconfigs, keys, a local chart) can be read.
Every problem is reported with its field path. Exit code 2 when any error is found.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, diags, err := config.Load(o.ConfigPath)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return usageError(fmt.Errorf("no configuration at %s; write one with: k0rdentctl config init", o.ConfigPath))
				}
				return usageError(err)
			}
			// Files the configuration names must exist too.
			diags = append(diags, config.CheckFiles(cfg, filepath.Dir(o.ConfigPath))...)
			type item struct {
				Path     string `json:"path"`
				Line     int    `json:"line,omitempty"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
				Hint     string `json:"hint,omitempty"`
			}
			items := []item{}
			for _, d := range diags {
				items = append(items, item{d.Path, d.Line, string(d.Severity), d.Message, d.Hint})
			}
			out := map[string]any{"file": o.ConfigPath, "valid": !diags.HasErrors(), "diagnostics": items,
				"counts": map[string]int{"errors": len(diags.Errors()), "warnings": len(diags.Warnings())}}
			if err := o.emit(out, func(w io.Writer, _ ui.Style) {
				if len(diags) > 0 {
					printDiagnostics(o, diags)
				}
				if diags.HasErrors() {
					return
				}
				fmt.Fprintf(w, "%s: valid", o.ConfigPath)
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
		},
	}
}

func newConfigShowCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration, with every default filled in",
		RunE: func(cmd *cobra.Command, _ []string) error {
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
		},
	}
}

func newConfigSchemaCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the configuration file",
		Long: `Print the JSON Schema of the configuration file, generated from the same Go types
that read it. Editors with a YAML language server use it for completion and checks;
config init writes it beside the file it creates.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := config.Schema()
			if err != nil {
				return err
			}
			_, err = o.IO.Out.Write(append(b, '\n'))
			return err
		},
	}
}
