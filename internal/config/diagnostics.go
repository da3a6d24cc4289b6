package config

import (
	"fmt"
	"strings"
)

// Severity says whether a Diagnostic stops the configuration from being used.
type Severity string

const (
	// SeverityError marks a problem that makes the configuration unusable.
	SeverityError Severity = "error"
	// SeverityWarning marks something that works but is probably not what the user wants.
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a configuration file.
//
// Path is the field path in the file, e.g.
// "software.k0rdent.regional.clusters[1].location"; it is empty for problems
// of the file as a whole (a YAML syntax error). Line is the 1-based line in the
// file where the field is (0 when unknown, e.g. for a field that is absent).
// Message says what is wrong and how to fix it; Hint adds optional detail.
type Diagnostic struct {
	Path     string   `json:"path" yaml:"path"`
	Line     int      `json:"line,omitempty" yaml:"line,omitempty"`
	Severity Severity `json:"severity" yaml:"severity"`
	Message  string   `json:"message" yaml:"message"`
	Hint     string   `json:"hint,omitempty" yaml:"hint,omitempty"`
}

// String renders the diagnostic on one line: "path (line N): message (hint)".
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Path != "" {
		b.WriteString(d.Path)
	} else {
		b.WriteString("(file)")
	}
	if d.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", d.Line)
	}
	b.WriteString(": ")
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Diagnostics is a list of problems, errors and warnings mixed, in the order
// they were found.
type Diagnostics []Diagnostic

// Errors returns the diagnostics of severity error.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns the diagnostics of severity warning.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Error renders every diagnostic, one per line, so that Diagnostics can be
// returned as an error.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}
