package mgmt

import (
	"os"
	"strings"
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

// withK0sctl makes the k0sctl stand-in the only program on the PATH, as
// the preflight wants some k0sctl there.
func withK0sctl(t testing.TB) {
	t.Helper()
	env, err := standin.K0sctlOnPath(t.TempDir(), standin.K0sctlWorld{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
