//go:build !(linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos)

package state

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// acquireLockFile creates path exclusively, on systems without flock. A lock
// file whose holder is a process of this host that no longer exists is
// removed and taken over; its content is returned as prev.
func acquireLockFile(path string) (f *os.File, prev []byte, busy bool, err error) {
	host := hostname()
	for range 3 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, prev, false, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, false, err
		}
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, err
		}
		info, ok := parseLockInfo(data)
		if !ok || info.Host != host || processAlive(info.PID) {
			return nil, nil, true, nil
		}
		prev = data
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, err
		}
	}
	return nil, nil, true, nil
}

func releaseLockFile(path string, f *os.File) error {
	err := f.Close()
	if rerr := os.Remove(path); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	return err
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	defer p.Release()
	if runtime.GOOS == "windows" {
		return true // FindProcess fails on Windows when there is no such process
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM)
}
