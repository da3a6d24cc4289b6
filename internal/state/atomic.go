package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// tempInfix marks the temporary files of atomic writes: ".<name>.tmp-<random>".
const tempInfix = ".tmp-"

// WriteFileAtomic writes data to path with mode 0600 so that a crash or kill at
// any moment leaves either the old file or the new one, never a torn one: the
// data goes to a temporary file in the same folder, which is synced, renamed
// over path, and the folder is synced. Use it for kubeconfigs and keys too.
// A missing folder is created with mode 0700.
func WriteFileAtomic(ctx context.Context, path string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmpName := tmp.Name()
	fail := func(step string, err error) error {
		_ = tmp.Close()
		_ = os.Remove(tmpName)
		return fmt.Errorf("writing %s (%s): %w", path, step, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail("setting mode 0600", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail("writing the temporary file", err)
	}
	if err := tmp.Sync(); err != nil {
		return fail("syncing the temporary file", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("writing %s (closing the temporary file): %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("writing %s (renaming the temporary file into place): %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %s (syncing folder %s): %w", path, dir, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // folders cannot be synced there; renames are journaled by NTFS
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
