//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// acquireLockFile opens path and takes an exclusive flock on it without
// waiting. The kernel drops a flock when its holder exits, however it exits
// (SIGKILL included), so the lock of a dead process is free to take: the file
// is still there with the dead holder's details, which are returned as prev.
// busy is true when a live process holds the lock.
func acquireLockFile(path string) (f *os.File, prev []byte, busy bool, err error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, false, err
		}
		if err := flockNB(f); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
				return nil, nil, true, nil
			}
			return nil, nil, false, fmt.Errorf("flock: %w", err)
		}
		// The previous holder removes the file when it unlocks; if it did so
		// between our open and our flock, we hold a lock on a file nobody else
		// can see. Start again on the file that is at path now.
		held, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, nil, false, err
		}
		cur, err := os.Stat(path)
		if err == nil && os.SameFile(held, cur) {
			prev, err := io.ReadAll(f)
			if err != nil {
				_ = f.Close()
				return nil, nil, false, err
			}
			return f, prev, false, nil
		}
		_ = f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, err
		}
	}
	return nil, nil, false, errors.New("the lock file kept being replaced while taking it; try again")
}

func flockNB(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// releaseLockFile removes path, when it is still f's file, then closes f,
// which drops the flock. Removing first means nobody takes a lock on a file
// that is about to disappear without noticing (see acquireLockFile).
func releaseLockFile(path string, f *os.File) error {
	var err error
	if held, e := f.Stat(); e == nil {
		if cur, e := os.Stat(path); e == nil && os.SameFile(held, cur) {
			err = os.Remove(path)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// processAlive reports whether a process with this pid exists on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
