// Package cloudinit runs the real cloud-init's schema check (Debian's
// package, unpacked into .cache/cloudinit by hack/cloudinit.sh, `make
// cloudinit`) on user data, for the tests of what k0rdentctl gives each VM.
package cloudinit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

// Schema runs `cloud-init schema -c` on the user data in file: nil when
// cloud-init calls it valid, else an error with what cloud-init said.
func Schema(ctx context.Context, file string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(root, ".cache", "cloudinit", "bin", "cloud-init-schema")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("cloud-init is not unpacked at %s: run make cloudinit (hack/cloudinit.sh: Debian's cloud-init package, apt-get download, nothing installed): %w", bin, err)
	}
	out, err := exec.CommandContext(ctx, bin, "-c", file).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return fmt.Errorf("cloud-init schema -c %s: %s", file, strings.TrimSpace(string(out)))
	case err != nil:
		return err
	case !strings.Contains(string(out), "Valid cloud-config"):
		return fmt.Errorf("cloud-init schema -c %s did not say valid: %s", file, strings.TrimSpace(string(out)))
	}
	return nil
}
