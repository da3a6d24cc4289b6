package mgmt

import (
	"os"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// TestMain runs the tests, or the k0sctl stand-in when this binary was
// started as k0sctl.
func TestMain(m *testing.M) {
	if standin.IsK0sctl() {
		os.Exit(standin.RunK0sctl(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
