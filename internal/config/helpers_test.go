package config

import (
	"strings"
	"testing"
)

// baseYAML is the smallest valid configuration; test cases add sections.
const baseYAML = `metadata:
  name: test
azure:
  location: eastus
`

// indent indents every non-empty line of a block by n spaces.
func indent(block string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(block, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// withRegional is baseYAML with regional enabled and these clusters (a YAML
// list written at column 0).
func withRegional(clusters string) string {
	return baseYAML + "software:\n  k0rdent:\n    regional:\n      enabled: true\n      clusters:\n" + indent(clusters, 8)
}

// findDiag returns the first diagnostic with this path whose message
// contains msg.
func findDiag(ds Diagnostics, path, msg string) (Diagnostic, bool) {
	for _, d := range ds {
		if d.Path == path && strings.Contains(d.Message, msg) {
			return d, true
		}
	}
	return Diagnostic{}, false
}

func mustParse(t *testing.T, yml string) *Config {
	t.Helper()
	c, ds := Parse([]byte(yml))
	if ds.HasErrors() {
		t.Fatalf("unexpected errors:\n%s\n--- config:\n%s", ds.Errors().Error(), yml)
	}
	return c
}
