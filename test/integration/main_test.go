package integration

import (
	"os"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// TestMain runs the tests, or, when this binary was started as k0sctl
// (through the link standin.K0sctlOnPath makes), the k0sctl stand-in.
func TestMain(m *testing.M) {
	if standin.IsK0sctl() {
		os.Exit(standin.RunK0sctl(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
