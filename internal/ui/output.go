// Package ui renders what commands show: tables for people, JSON and YAML
// for scripts, and the small marks and colours that make a status readable.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// Output formats accepted by -o.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
)

// ValidFormat reports whether f is an accepted -o value.
func ValidFormat(f string) bool {
	switch f {
	case FormatTable, FormatJSON, FormatYAML:
		return true
	}
	return false
}

// WriteData writes v as JSON or YAML. Keys come from the json tags, which are
// snake_case everywhere, the same names as the state record.
func WriteData(w io.Writer, format string, v any) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("writing JSON output: %w", err)
		}
		return nil
	case FormatYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("writing YAML output: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("output format %q cannot carry data; use -o json or -o yaml", format)
}

// Table writes aligned columns. The first row is the header.
type Table struct {
	rows [][]string
}

// Row adds a row.
func (t *Table) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Len is the number of rows, header included.
func (t *Table) Len() int { return len(t.rows) }

// Write renders the table with two spaces between columns.
func (t *Table) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range t.rows {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}
